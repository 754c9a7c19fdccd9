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
select * from ({replication_candidates})
order by deployed_on, agent_id, business_unit, candidate_unit
