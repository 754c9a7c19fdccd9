-- Definition: Collaboration between teams per calendar month, one row per unordered pair of teams
-- (a team is its business unit and team, named in the pair's first order by business unit, then
-- team): the hours of every row on the pair, in either order and either direction, summed in the
-- month of the row's period_start. So weekly rows add up to their month, and a directed row (the
-- time one team invested with the other) adds to the other direction's. Viva Insights rows are
-- directed rows of their mapped teams, dated by MetricDate; their within-team and unclassified
-- time is not a tie (stg_team_collaboration keeps it).
with pairs as (
    select
        period_start, source_function, source_business_unit, source_team, target_function,
        target_business_unit, target_team, collaboration_hours, meeting_count, email_count
    from collaboration
    union all
    select
        metric_date, source_function, source_business_unit, source_team, target_function,
        target_business_unit, target_team, collaboration_hours, meeting_count, email_count
    from stg_collaboration_viva
    where not is_within and not is_unclassified
),

ordered as (
    select
        cast(date_trunc('month', period_start) as date) as month,
        (source_business_unit, source_team) <= (target_business_unit, target_team) as source_first,
        *
    from pairs
),

final as (
    select
        month,
        max(case when source_first then source_function else target_function end) as a_function,
        case when source_first then source_business_unit else target_business_unit end as a_business_unit,
        case when source_first then source_team else target_team end as a_team,
        max(case when source_first then target_function else source_function end) as b_function,
        case when source_first then target_business_unit else source_business_unit end as b_business_unit,
        case when source_first then target_team else source_team end as b_team,
        sum(collaboration_hours) as collaboration_hours,
        sum(meeting_count) as meeting_count,
        sum(email_count) as email_count
    from ordered
    group by all
)

select * from final
