-- Definition: Each team's collaboration time that is not a tie to another team, per calendar month,
-- from Viva Insights rows: within_team_hours (Within Group, or two groups of the same team) and
-- unclassified_hours (time with people outside the query's population).
select
    month,
    source_function as function,
    source_business_unit as business_unit,
    source_team as team,
    sum(collaboration_hours) filter (where is_within) as within_team_hours,
    sum(collaboration_hours) filter (where is_unclassified) as unclassified_hours
from stg_collaboration_viva
where is_within or is_unclassified
group by all
