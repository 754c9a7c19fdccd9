-- Definition: The performance gate of each agent, over the window_days days ending at as_of
-- (inclusive), from the daily rollup.
-- Definition, in words: Whether each agent is good enough to keep: over the last {window_days} days, at
--   least {min_accuracy} of its reviewed answers right and at least {min_automation} of its tasks
--   finished without a person.
-- tasks: tasks the agent ran in the gate window.
-- tasks, in words: Tasks the agent ran in the last {window_days} days.
-- reviewed: tasks in the window with a review (correct + incorrect).
-- reviewed, in words: Of those, how many a person reviewed.
-- accuracy: correct / (correct + incorrect) in the window; null when nothing was reviewed.
-- accuracy, in words: Of the reviewed tasks in the last {window_days} days, the share a person marked
--   correct (the bar is {min_accuracy}).
-- automation: completed / tasks in the window (no human needed); null without tasks.
-- automation, in words: Of the tasks in the last {window_days} days, the share finished with no person
--   needed (the bar is {min_automation}).
-- gate: insufficient_data if tasks < min_tasks or reviewed < min_reviewed; else pass if
--   accuracy >= min_accuracy and automation >= min_automation; else fail (the cull list).
--   Thresholds allow 1e-9 for floating-point rounding, here and in every metric.
-- gate, in words: Pass: at least {min_accuracy} accuracy and {min_automation} automation over the last
--   {window_days} days. Fail: below either bar, so the agent is on the cull list. Insufficient data:
--   fewer than {min_tasks} tasks or {min_reviewed} reviews, too few to judge.
-- Grain: one row per agent with usage in the window.
-- Parameters: as_of, min_accuracy, min_automation, min_reviewed, min_tasks, tolerance, window_days
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
