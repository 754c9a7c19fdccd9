-- Definition: The agent catalog for replication: every catalogued agent with its validation,
-- gate, replications and Net Output proof.
-- Definition, in words: The agents worth copying: validated by a pilot team, with their proof and their
--   recipe.
-- hours_saved: documented hours the agent saved over the range (the Net Output proof).
-- hours_saved, in words: The hours the agent saved in the chosen months: its proof.
-- teams: distinct teams that documented savings with the agent over the range.
-- teams, in words: How many teams documented savings with the agent.
-- is_validated: the agent has a validated event up to as_of (within the filters).
-- Grain: one row per agent in the catalog.
with catalog as (
    select * from stg_agents
    where chosen($functions, owner_function)
        and chosen($business_units, owner_business_unit)
),

agents as (
    select * from ({agents})
),

replication as (
    select * from ({replication})
),

hours as (
    select * from ({hours_by_agent})
),

final as (
    select
        catalog.agent_id,
        catalog.name,
        catalog.description,
        coalesce(replication.function, catalog.owner_function) as function,
        catalog.owner_business_unit,
        catalog.owner_team,
        catalog.risk_class,
        catalog.blueprint,
        catalog.created_on,
        replication.validated_on,
        replication.pilot_unit,
        replication.first_replicated_on,
        replication.replications,
        agents.gate,
        agents.accuracy,
        agents.automation,
        coalesce(hours.hours_saved, 0) as hours_saved,
        coalesce(hours.teams, 0) as teams,
        replication.validated_on is not null as is_validated
    from catalog
    left join replication on replication.agent_id = catalog.agent_id
    left join agents on agents.agent_id = catalog.agent_id
    left join hours on hours.agent_id = catalog.agent_id
)

select * from final order by is_validated desc, function, name
