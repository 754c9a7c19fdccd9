-- Definition: Did replication follow the collaboration network, per replication: the row of
-- replication_ties for the unit the copy went to, with how many units it could have gone to and how
-- many of those were tied to the pilot unit.
-- candidates: business units the copy could have gone to (every unit but the pilot unit).
-- tied_candidates: of those, the units tied to the pilot unit before the deployment's month.
-- tie_flags: is_tied of each candidate unit, by unit name; the permutation test draws from them.
-- Grain: one row per replication (agent and business unit it was deployed in), by deployment day.
with ties as (
    select * from ({replication_ties})
),

candidates as (
    select
        agent_id,
        business_unit,
        count(*) as candidates,
        count(*) filter (where is_tied) as tied_candidates,
        list(is_tied order by candidate_unit) as tie_flags
    from ties
    group by agent_id, business_unit
),

final as (
    select
        ties.agent_id,
        ties.function,
        ties.pilot_unit,
        ties.business_unit,
        ties.validated_on,
        ties.deployed_on,
        ties.replication_days,
        ties.tie_hours,
        ties.is_tied,
        candidates.candidates,
        candidates.tied_candidates,
        candidates.tie_flags
    from ties
    inner join candidates
        on candidates.agent_id = ties.agent_id
        and candidates.business_unit = ties.business_unit
    where ties.is_actual
)

select * from final order by deployed_on, agent_id, business_unit
