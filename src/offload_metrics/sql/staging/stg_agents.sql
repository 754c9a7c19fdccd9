-- Definition: The agent catalog.
select
    agent_id,
    name,
    description,
    owner_function,
    owner_business_unit,
    owner_team,
    risk_class,
    blueprint,
    created_on,
    seeding_strategy,
    source
from agents
