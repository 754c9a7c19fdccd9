-- Definition: The teams of the collaboration network: every team of the organisation baseline and
-- every team named in collaboration data, with its function (the baseline's where it has one),
-- headcount and routine hours per month (null without a baseline). A team with no tie in the
-- range is isolated, and still listed.
-- Grain: one row per team (business unit, team).
with named as (
    select a_function as function, a_business_unit as business_unit, a_team as team
    from stg_team_ties
    union all
    select b_function, b_business_unit, b_team
    from stg_team_ties
),

teams as (
    select business_unit, team, max(function) as function
    from named
    group by business_unit, team
),

final as (
    select
        coalesce(baseline.function, teams.function) as function,
        coalesce(baseline.business_unit, teams.business_unit) as business_unit,
        coalesce(baseline.team, teams.team) as team,
        baseline.headcount,
        baseline.routine_hours_per_month
    from stg_org_baseline as baseline
    full outer join teams
        on teams.business_unit = baseline.business_unit and teams.team = baseline.team
)

select * from final order by business_unit, team
