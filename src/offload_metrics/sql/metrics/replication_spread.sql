-- Definition: Did replication follow the collaboration network, per replication: the row of
-- replication_ties for the unit the copy went to, with how many units it could have gone to and how
-- many of those were tied to the pilot unit.
-- candidates: business units the copy could have gone to (every unit but the pilot unit).
-- tied_candidates: of those, the units tied to the pilot unit before the deployment's month.
-- tie_flags: is_tied of each candidate unit, by unit name; the permutation test draws from them.
-- Grain: one row per replication (agent and business unit it was deployed in), by deployment day.
with replications as (
    select
        agent_id,
        business_unit,
        any_value(function) as function,
        any_value(pilot_unit) as pilot_unit,
        any_value(validated_on) as validated_on,
        any_value(deployed_on) as deployed_on,
        any_value(replication_days) as replication_days,
        any_value(tie_hours) filter (where is_actual) as tie_hours,
        any_value(is_tied) filter (where is_actual) as is_tied,
        count(*) filter (where is_actual) as actual_rows,
        count(*) as candidates,
        count(*) filter (where is_tied) as tied_candidates,
        list(is_tied order by candidate_unit) as tie_flags
    from ({replication_candidates})
    group by agent_id, business_unit
),

final as (
    select
        agent_id, function, pilot_unit, business_unit, validated_on, deployed_on, replication_days,
        tie_hours, is_tied, candidates, tied_candidates, tie_flags
    from replications
    where actual_rows > 0
)

select * from final order by deployed_on, agent_id, business_unit
