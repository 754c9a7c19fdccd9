-- Definition: Teams with a validated agent: the team named on a validated replication event up to
-- as_of (a pilot team), with the agents it validated.
-- Grain: one row per team (business unit, team).
-- Parameters: as_of
select business_unit, team, list(distinct agent_id order by agent_id) as agents
from stg_replication_events
where event_type = 'validated' and occurred_on <= $as_of and team is not null
group by business_unit, team
order by business_unit, team
