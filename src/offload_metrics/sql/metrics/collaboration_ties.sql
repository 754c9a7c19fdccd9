-- Definition: The collaboration network over the range: one tie per pair of teams that spent time
-- together in a month of [from, to], weighted by their hours. The network is the organisation's
-- whatever the function and business unit filters: they choose which teams a page lists, not
-- whose ties count.
-- collaboration_hours: hours the two teams spent working together in the range (both directions).
-- Grain: one row per unordered pair of teams with hours above zero.
-- Parameters: date_from, date_to
with final as (
    select
        max(a_function) as a_function,
        a_business_unit,
        a_team,
        max(b_function) as b_function,
        b_business_unit,
        b_team,
        sum(collaboration_hours) as collaboration_hours,
        sum(meeting_count) as meeting_count,
        sum(email_count) as email_count
    from stg_team_ties
    where month between $date_from and $date_to
    group by a_business_unit, a_team, b_business_unit, b_team
    having sum(collaboration_hours) > 0
)

select * from final order by a_business_unit, a_team, b_business_unit, b_team
