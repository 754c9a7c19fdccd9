-- Definition: Net Output over the range at a coarser grain (function, business unit,
-- month or the organisation), from the team-months.
-- Definition, in words: Hours saved and the extra capacity they give, added up by function, business
--   unit, team or for everyone.
-- delegated_hours: sum over the team-months.
-- delegated_hours, in words: The hours the handed-over tasks used to take people, added up.
-- hours_saved: sum over the team-months.
-- hours_saved, in words: The hours people no longer spend on tasks agents now do, added up over the teams
--   and months.
-- net_output_uplift: sum of hours_saved / sum of capacity_hours, both over the team-months that
--   have a known capacity.
-- net_output_uplift, in words: Hours saved as a share of the working hours of the teams that documented
--   savings: how much more the same people can do.
-- validated_teams: distinct teams with validated Net Output in at least one month.
-- validated_teams, in words: Teams that, in at least one month, got at least {validation_uplift} more
--   capacity without adding people.
-- teams_grew_headcount: distinct teams whose headcount rose above baseline in some month.
-- teams_grew_headcount, in words: Teams that added people beyond their baseline in some month.
-- validated_months: team-months with validated Net Output.
-- validated_months, in words: Months in which the team got at least {validation_uplift} more capacity
--   without adding people.
-- best_uplift: the highest net_output_uplift of a team-month.
-- best_uplift, in words: The team's best month: hours saved as a share of its working hours.
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
        count(distinct (business_unit, team)) filter (where has_validated_net_output) as validated_teams,
        count(distinct (business_unit, team)) filter (where has_grown_headcount) as teams_grew_headcount,
        count(*) filter (where has_validated_net_output) as validated_months,
        max(net_output_uplift) as best_uplift,
        sum(capacity_hours) as capacity_hours
    from team_months
    group by {dimensions}
)

select * from final order by {dimensions}
