-- Definition: The performance gate of each agent, over the window_days days ending at as_of
-- (inclusive), from the daily rollup.
-- tasks: tasks the agent ran in the gate window.
-- reviewed: tasks in the window with a review (correct + incorrect).
-- accuracy: correct / (correct + incorrect) in the window; null when nothing was reviewed.
-- automation: completed / tasks in the window (no human needed); null without tasks.
-- gate: insufficient_data if tasks < min_tasks or reviewed < min_reviewed; else pass if
--   accuracy >= min_accuracy and automation >= min_automation; else fail (the cull list).
--   Thresholds allow 1e-9 for floating-point rounding, here and in every metric.
-- Grain: one row per agent with usage in the window.
with window_usage as (
    select
        agent_id,
        cast(sum(tasks) as bigint) as tasks,
        cast(sum(completed) as bigint) as completed,
        cast(sum(correct) as bigint) as correct,
        cast(sum(incorrect) as bigint) as incorrect
    from ({usage_selected})
    where day between cast($as_of as date) - ($window_days - 1) and $as_of
    group by agent_id
),

measured as (
    select
        agent_id,
        tasks,
        correct + incorrect as reviewed,
        case when correct + incorrect > 0 then correct / (correct + incorrect) end as accuracy,
        case when tasks > 0 then completed / tasks end as automation
    from window_usage
),

final as (
    select
        *,
        case
            when tasks < $min_tasks or reviewed < $min_reviewed then 'insufficient_data'
            when accuracy >= $min_accuracy - $tolerance and automation >= $min_automation - $tolerance then 'pass'
            else 'fail'
        end as gate
    from measured
)

select * from final order by agent_id
