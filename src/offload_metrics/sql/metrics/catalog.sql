-- Definition: The agent catalog for replication: every catalogued agent with its validation,
-- gate, replications and Net Output proof.
-- Definition, in words: The agents worth copying: validated by a pilot team, with their proof and their
--   recipe.
-- hours_saved: documented hours the agent saved over the range (the Net Output proof).
-- hours_saved, in words: The hours the agent saved in the chosen months: its proof.
-- teams: distinct teams that documented savings with the agent over the range.
-- teams, in words: How many teams documented savings with the agent.
-- is_validated: the agent has a validated event up to as_of (within the filters).
-- is_in_catalog: the agent has an accepted catalog row; a validated agent without one is still listed
--   (its name and blueprint null), so every count of validated agents agrees.
-- is_in_catalog, in words: Whether the agent has an accepted row in the agent catalog.
-- Grain: one row per agent in the catalog or with a validated event.
-- Parameters: business_units, functions
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

listed as (
    select agent_id from catalog
    union
    select agent_id from replication
),

final as (
    select
        listed.agent_id,
        catalog.name,
        catalog.description,
        coalesce(replication.function, catalog.owner_function) as function,
        catalog.owner_business_unit,
        catalog.owner_team,
        catalog.risk_class,
        catalog.blueprint,
        catalog.created_on,
        catalog.seeding_strategy,
        catalog.source,
        replication.validated_on,
        replication.pilot_unit,
        replication.first_replicated_on,
        replication.replications,
        agents.gate,
        agents.accuracy,
        agents.automation,
        coalesce(hours.hours_saved, 0) as hours_saved,
        coalesce(hours.teams, 0) as teams,
        replication.validated_on is not null as is_validated,
        catalog.agent_id is not null as is_in_catalog,
        replication.is_in_range as is_validated_in_range
    from listed
    left join catalog on catalog.agent_id = listed.agent_id
    left join replication on replication.agent_id = listed.agent_id
    left join agents on agents.agent_id = listed.agent_id
    left join hours on hours.agent_id = listed.agent_id
)

select * from final order by is_validated desc, function, name, agent_id
