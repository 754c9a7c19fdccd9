-- Definition: Did replication follow the collaboration network? One row per replication (a
-- validated agent's first deployment in a business unit other than its pilot unit, on or after
-- validation, in [from, to]) and per business unit it could have gone to instead: every unit of
-- the organisation (baseline, collaboration or replication data) but the pilot unit.
-- tie_hours: hours the candidate unit's teams spent with the pilot unit's teams in the months
--   before the deployment's month.
-- is_tied: tie_hours above min_tie_hours.
-- is_actual: whether the candidate is the unit the copy went to.
-- replication_days: deployed_on - validated_on.
-- Grain: one row per replication and candidate unit; replications of agents whose function and
-- pilot unit pass the filters.
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
    select month, a_business_unit as unit, b_business_unit as other, collaboration_hours
    from stg_team_ties
    where a_business_unit <> b_business_unit
    union all
    select month, b_business_unit, a_business_unit, collaboration_hours
    from stg_team_ties
    where a_business_unit <> b_business_unit
),

candidates as (
    select replications.*, units.business_unit as candidate_unit
    from replications
    inner join units on units.business_unit <> replications.pilot_unit
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
        coalesce(sum(unit_months.collaboration_hours), 0) as tie_hours,
        coalesce(sum(unit_months.collaboration_hours), 0) > $min_tie_hours as is_tied
    from candidates
    left join unit_months
        on unit_months.unit = candidates.candidate_unit
        and unit_months.other = candidates.pilot_unit
        and unit_months.month < date_trunc('month', candidates.deployed_on)
    group by all
)

select * from final order by deployed_on, agent_id, business_unit, candidate_unit
