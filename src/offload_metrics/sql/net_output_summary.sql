-- Definition: Net Output over the range at a coarser grain ({dimensions}: function, business unit,
-- month or the organisation), from the team-months.
-- delegated_hours: sum over the team-months.
-- hours_saved: sum over the team-months.
-- net_output_uplift: sum of hours_saved / sum of capacity_hours, both over the team-months that
--   have a known capacity.
-- validated_teams: distinct teams with validated Net Output in at least one month.
-- teams_grew_headcount: distinct teams whose headcount rose above baseline in some month.
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
        count(distinct (business_unit, team)) filter (where grew_headcount) as teams_grew_headcount
    from team_months
    group by {dimensions}
)

select * from final order by {dimensions}
