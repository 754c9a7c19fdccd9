-- Definition: Documented time savings with their month (the month of period_start) and hours:
-- delegated_hours = tasks x baseline_minutes_per_task / 60; hours_saved = tasks x
-- (baseline_minutes_per_task - minutes_per_task) / 60.
select
    record_id,
    period_start,
    period_end,
    cast(date_trunc('month', period_start) as date) as month,
    function,
    business_unit,
    team,
    agent_id,
    task_type,
    tasks,
    baseline_minutes_per_task,
    minutes_per_task,
    headcount,
    tasks * baseline_minutes_per_task / 60 as delegated_hours,
    tasks * (baseline_minutes_per_task - minutes_per_task) / 60 as hours_saved
from time_saved
