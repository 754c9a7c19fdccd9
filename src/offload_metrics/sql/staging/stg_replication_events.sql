-- Definition: The life of each agent across business units, one row per event.
select event_id, agent_id, event_type, occurred_on, function, business_unit, team
from replication_events
