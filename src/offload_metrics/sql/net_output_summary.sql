-- Definition: Net Output over the range at a coarser grain (function, business unit,
-- month or the organisation), from the team-months.
-- delegated_hours: sum over the team-months.
-- hours_saved: sum over the team-months.
-- net_output_uplift: sum of hours_saved / sum of capacity_hours, both over the team-months that
--   have a known capacity.
-- validated_teams: distinct teams with validated Net Output in at least one month.
-- teams_grew_headcount: distinct teams whose headcount rose above baseline in some month.
-- validated_months: team-months with validated Net Output.
-- best_uplift: the highest net_output_uplift of a team-month.
-- capacity_hours: sum of capacity_hours over the team-months that have one.
with team_months as (
    select *, 'organisation' as organisation
    from ({net_output})
),

final as (
    select
        {dimensions},
        sum(delegated_hours) as delegated_hours,
        sum(hours_saved) as hours_saved,
        sum(hours_saved) filter (where capacity_hours is not null)
            / sum(capacity_hours) as net_output_uplift,
        count(distinct (business_unit, team)) filter (where validated_net_output) as validated_teams,
        count(distinct (business_unit, team)) filter (where grew_headcount) as teams_grew_headcount,
        count(*) filter (where validated_net_output) as validated_months,
        max(net_output_uplift) as best_uplift,
        sum(capacity_hours) as capacity_hours
    from team_months
    group by {dimensions}
)

select * from final order by {dimensions}
