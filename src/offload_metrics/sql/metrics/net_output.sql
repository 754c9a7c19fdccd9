-- Definition: Net Output per team-month, from documented time savings whose period_start falls
-- in [from, to] (a row counts in the month of period_start). A team is (function, business unit,
-- team); its baseline is the org_baseline row of its (business unit, team).
-- Definition, in words: What each team got back from its agents each month, against the hours its people
--   have.
-- delegated_hours: sum of tasks x baseline_minutes_per_task / 60, the manual work handed to agents.
-- delegated_hours, in words: The hours the handed-over tasks used to take people.
-- hours_saved: sum of tasks x (baseline_minutes_per_task - minutes_per_task) / 60.
-- hours_saved, in words: The hours people no longer spend on the tasks agents now do, as the teams
--   documented them.
-- headcount: the largest headcount on the team-month's rows, else the team's baseline headcount.
-- capacity_hours: headcount x hours_per_fte_month; null when neither headcount is known.
-- capacity_hours, in words: The team's working hours in a month: headcount x {hours_per_fte_month} hours.
-- net_output_uplift: hours_saved / capacity_hours.
-- net_output_uplift, in words: Hours saved as a share of the team's working hours: how much more the same
--   people can do.
-- has_validated_net_output: uplift >= validation_uplift with headcount <= baseline headcount (false
--   without a baseline).
-- has_validated_net_output, in words: A team-month counts as proof when the team got at least
--   {validation_uplift} more capacity from its agents without adding people.
-- has_grown_headcount: headcount above the baseline headcount.
-- has_grown_headcount, in words: The team has more people than in its baseline: the saving went into hiring
--   instead of output.
-- Grain: one row per team-month with time-saved rows.
-- Parameters: hours_per_fte_month, tolerance, validation_uplift
with saved as (
    select * from ({time_saved_in_range})
),

team_months as (
    select
        function,
        business_unit,
        team,
        month,
        cast(sum(tasks) as bigint) as tasks,
        sum(delegated_hours) as delegated_hours,
        sum(hours_saved) as hours_saved,
        max(headcount) as reported_headcount
    from saved
    group by function, business_unit, team, month
),

measured as (
    select
        team_months.*,
        baseline.headcount as baseline_headcount,
        coalesce(team_months.reported_headcount, baseline.headcount) as headcount,
        coalesce(team_months.reported_headcount, baseline.headcount) * $hours_per_fte_month as capacity_hours
    from team_months
    left join stg_org_baseline as baseline
        on baseline.business_unit = team_months.business_unit and baseline.team = team_months.team
),

final as (
    select
        function,
        business_unit,
        team,
        month,
        tasks,
        delegated_hours,
        hours_saved,
        headcount,
        baseline_headcount,
        capacity_hours,
        hours_saved / capacity_hours as net_output_uplift,
        coalesce(
            hours_saved / capacity_hours >= $validation_uplift - $tolerance and headcount <= baseline_headcount, false
        ) as has_validated_net_output,
        coalesce(headcount > baseline_headcount, false) as has_grown_headcount
    from measured
)

select * from final order by function, business_unit, team, month
