-- Definition: The rows of replication_ties in no particular order: one per replication and
-- candidate unit (replication_ties defines the columns; replication_spread sums them per replication).
-- Parameters: as_of, date_from, date_to, min_tie_hours
with replications as (
    select *
    from ({replication_deployments})
    where deployed_on between $date_from and $date_to
),

units as (
    select business_unit from stg_org_baseline
    union
    select a_business_unit from stg_team_ties
    union
    select b_business_unit from stg_team_ties
    union
    select business_unit from stg_replication_events where occurred_on <= $as_of
),

unit_months as (
    select unit, other, month, sum(collaboration_hours) as collaboration_hours
    from (
        select month, a_business_unit as unit, b_business_unit as other, collaboration_hours
        from stg_team_ties
        where a_business_unit <> b_business_unit
        union all
        select month, b_business_unit, a_business_unit, collaboration_hours
        from stg_team_ties
        where a_business_unit <> b_business_unit
    )
    group by unit, other, month
),

candidates as (
    select replications.*, units.business_unit as candidate_unit
    from replications
    inner join units on units.business_unit <> replications.pilot_unit
),

-- The hours between each candidate unit and pilot unit before each deployment month, summed once
-- per pair and month rather than per replication.
tie_totals as (
    select pairs.candidate_unit, pairs.pilot_unit, pairs.deployed_month, sum(unit_months.collaboration_hours) as hours
    from (
        select distinct candidate_unit, pilot_unit, date_trunc('month', deployed_on) as deployed_month
        from candidates
    ) as pairs
    inner join unit_months
        on unit_months.unit = pairs.candidate_unit
        and unit_months.other = pairs.pilot_unit
        and unit_months.month < pairs.deployed_month
    group by pairs.candidate_unit, pairs.pilot_unit, pairs.deployed_month
),

final as (
    select
        candidates.agent_id,
        candidates.function,
        candidates.pilot_unit,
        candidates.validated_on,
        candidates.business_unit,
        candidates.deployed_on,
        candidates.deployed_on - candidates.validated_on as replication_days,
        candidates.candidate_unit,
        candidates.candidate_unit = candidates.business_unit as is_actual,
        coalesce(tie_totals.hours, 0) as tie_hours,
        coalesce(tie_totals.hours, 0) > $min_tie_hours as is_tied
    from candidates
    left join tie_totals
        on tie_totals.candidate_unit = candidates.candidate_unit
        and tie_totals.pilot_unit = candidates.pilot_unit
        and tie_totals.deployed_month = date_trunc('month', candidates.deployed_on)
)

select * from final
