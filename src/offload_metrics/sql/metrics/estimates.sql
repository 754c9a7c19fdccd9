-- Definition: Estimated time saved per team-month that has usage but no documented time savings (no
-- time_saved row for its business unit, team and month), from task baselines. An estimate is never
-- part of hours_saved, uplift or validated Net Output, and is always shown as estimated.
-- completed_tasks: usage tasks the agents completed (not escalated, not failed) in the team-month.
-- estimated_tasks: completed tasks that a baseline or the chosen preset covers.
-- estimated_hours_saved: sum over task types of completed tasks x (baseline_minutes_per_task -
--   minutes_per_task_with_agent) / 60, with the most specific baseline: the team's for the task type,
--   the team's for every type, then the business unit's, then the function's (each for the task type
--   before every type), else the chosen preset; null when none applies.
-- estimated_hours_saved, in words: Hours the agents' completed tasks would have saved by the task
--   baselines, where no time savings are documented; never counted in hours saved.
-- estimated_labor_value_usd: estimated_hours_saved x the team's loaded_hourly_cost_usd
--   (default_hourly_cost_usd where the team has no baseline).
-- estimated_labor_value_usd, in words: What the estimated hours would have cost in people's time,
--   at each team's hourly cost ({default_hourly_cost_usd} an hour where a team has none).
-- basis: the baselines used, in words (where each applies, its minutes, its source and note),
--   separated by " | ".
-- Grain: one row per team-month with completed usage tasks and no time_saved rows.
-- Parameters: default_hourly_cost_usd, preset_baseline_minutes, preset_name, preset_with_agent_minutes
with usage as (
    select function, business_unit, team, month, task_type, cast(sum(completed) as bigint) as completed_tasks
    from ({usage_months_in_range})
    group by function, business_unit, team, month, task_type
),

documented as (
    select * from ({documented_team_months})
),

undocumented as (
    select *
    from usage
    where completed_tasks > 0
        and not exists (
            select 1
            from documented
            where documented.business_unit = usage.business_unit
                and documented.team = usage.team
                and documented.month = usage.month
        )
),

matched as (
    select
        undocumented.*,
        baseline.baseline_minutes_per_task,
        baseline.minutes_per_task_with_agent,
        case baseline.level
            when 'team' then 'team ' || baseline.business_unit || ' / ' || baseline.team
            when 'business_unit' then 'business unit ' || baseline.business_unit
            else 'function ' || baseline.function
        end || coalesce(', ' || baseline.task_type, ', every task type') || ': '
            || printf('%g', baseline.baseline_minutes_per_task) || ' -> '
            || printf('%g', baseline.minutes_per_task_with_agent) || ' minutes per task ('
            || baseline.source || coalesce('; ' || baseline.note, '') || ')' as baseline_basis
    from undocumented
    left join stg_task_baselines as baseline
        on (
            (baseline.level = 'team' and baseline.business_unit = undocumented.business_unit
                and baseline.team = undocumented.team)
            or (baseline.level = 'business_unit' and baseline.business_unit = undocumented.business_unit)
            or (baseline.level = 'function' and baseline.function = undocumented.function)
        )
        and (baseline.task_type is null or baseline.task_type = undocumented.task_type)
    qualify row_number() over (
        partition by undocumented.function, undocumented.business_unit, undocumented.team, undocumented.month,
            undocumented.task_type
        order by
            case baseline.level when 'team' then 0 when 'business_unit' then 1 when 'function' then 2 end nulls last,
            baseline.task_type is null
    ) = 1
),

with_preset as (
    select
        *,
        coalesce(baseline_minutes_per_task, cast($preset_baseline_minutes as double)) as baseline_minutes,
        coalesce(minutes_per_task_with_agent, cast($preset_with_agent_minutes as double)) as with_agent_minutes,
        coalesce(
            baseline_basis,
            'preset "' || cast($preset_name as varchar) || '": ' || printf('%g', cast($preset_baseline_minutes as double))
                || ' -> ' || printf('%g', cast($preset_with_agent_minutes as double)) || ' minutes per task (estimate)'
        ) as basis
    from matched
),

team_months as (
    select
        function,
        business_unit,
        team,
        month,
        cast(sum(completed_tasks) as bigint) as completed_tasks,
        cast(coalesce(sum(completed_tasks) filter (where baseline_minutes is not null), 0) as bigint)
            as estimated_tasks,
        sum(completed_tasks * (baseline_minutes - with_agent_minutes) / 60) as estimated_hours_saved,
        sum(completed_tasks * (cast(baseline_minutes as decimal(18, 6)) - cast(with_agent_minutes as decimal(18, 6))))
            as estimated_minutes_saved,
        string_agg(distinct basis, ' | ' order by basis) as basis
    from with_preset
    group by function, business_unit, team, month
),

final as (
    select
        team_months.function,
        team_months.business_unit,
        team_months.team,
        team_months.month,
        team_months.completed_tasks,
        team_months.estimated_tasks,
        team_months.estimated_hours_saved,
        from_minutes(
            team_months.estimated_minutes_saved
            * coalesce(rates.loaded_hourly_cost_usd, cast($default_hourly_cost_usd as decimal(18, 8)))
        ) as estimated_labor_value_usd,
        team_months.basis
    from team_months
    left join stg_org_baseline as rates
        on rates.business_unit = team_months.business_unit and rates.team = team_months.team
)

select * from final order by function, business_unit, team, month
