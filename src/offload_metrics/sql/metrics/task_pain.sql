-- Definition: How long each documented task type takes by hand, per function: the task-weighted
-- mean of baseline_minutes_per_task over the time-saved rows up to as_of. A function's most
-- time-consuming task types are the pain an agent there would take away first.
-- baseline_minutes: sum of tasks x baseline_minutes_per_task / sum of tasks (the plain mean where
--   no row has tasks).
-- Grain: one row per function and task type, longest first within a function.
-- Parameters: as_of
with final as (
    select
        function,
        coalesce(task_type, agent_id) as task_type,
        coalesce(
            sum(tasks * baseline_minutes_per_task) / nullif(sum(tasks), 0), avg(baseline_minutes_per_task)
        ) as baseline_minutes
    from stg_time_saved
    where period_start <= $as_of
    group by all
)

select * from final order by function, baseline_minutes desc, task_type
