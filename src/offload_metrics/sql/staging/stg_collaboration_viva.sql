-- Definition: Viva Insights group-to-group rows with their groups mapped to teams, by what the
-- organisation mapping said when the row was loaded (viva_groups). A group whose rule names no
-- team is a team of its own, named by the group. `Within Group` rows, and rows whose two groups
-- map to the same team, are the team's time with itself (is_within); `Unclassified
-- Collaborators` rows are its time with people outside the query's population (is_unclassified).
select
    viva.metric_date,
    cast(date_trunc('month', viva.metric_date) as date) as month,
    viva.primary_collaborator,
    viva.secondary_collaborator,
    primary_group.function as source_function,
    primary_group.business_unit as source_business_unit,
    coalesce(primary_group.team, viva.primary_collaborator) as source_team,
    secondary_group.function as target_function,
    secondary_group.business_unit as target_business_unit,
    coalesce(secondary_group.team, viva.secondary_collaborator) as target_team,
    viva.primary_group_size,
    viva.collaboration_hours,
    viva.meeting_count,
    viva.email_count,
    viva.secondary_collaborator = 'Within Group'
    or (
        primary_group.business_unit = secondary_group.business_unit
        and coalesce(primary_group.team, viva.primary_collaborator)
        = coalesce(secondary_group.team, viva.secondary_collaborator)
    ) as is_within,
    viva.secondary_collaborator = 'Unclassified Collaborators' as is_unclassified
from viva_collaboration as viva
inner join viva_groups as primary_group
    on primary_group.load_id = viva.load_id and primary_group.value = viva.primary_collaborator
left join viva_groups as secondary_group
    on secondary_group.load_id = viva.load_id and secondary_group.value = viva.secondary_collaborator
