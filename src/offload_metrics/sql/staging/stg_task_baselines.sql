-- Definition: Task baselines with the level they apply at: a team (business unit and team), a
-- business unit, or a whole function; an empty task_type applies to every task type.
select
    function,
    business_unit,
    team,
    task_type,
    baseline_minutes_per_task,
    minutes_per_task_with_agent,
    source,
    note,
    case when team is not null then 'team' when business_unit is not null then 'business_unit' else 'function' end
        as level
from task_baselines
