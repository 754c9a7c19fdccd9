-- Definition: Self-selected (grassroots) teams: teams without a validated agent whose usage up to
-- as_of shows an agent that is not in the catalog, or an agent run before any validated agent
-- reached their business unit (its first validated or deployed event there).
-- first_used_on: the team's first day of usage of the agent.
-- is_in_catalog: whether the agent is in the agent catalog.
-- unit_reached_on: the first day a validated agent reached the team's business unit (validated or
--   deployed there after a validation); null if none has yet.
-- Grain: one row per team and agent that qualifies, within the function and business unit filters.
-- Parameters: as_of, business_units, functions
with used as (
    select function, business_unit, team, agent_id, first_used_on, tasks
    from ({usage_first_days})
    where team is not null
),

validated as (
    select agent_id, min(occurred_on) as validated_on
    from stg_replication_events
    where event_type = 'validated' and occurred_on <= $as_of
    group by agent_id
),

reached as (
    select events.business_unit, min(events.occurred_on) as unit_reached_on
    from stg_replication_events as events
    inner join validated using (agent_id)
    where events.event_type in ('validated', 'deployed')
        and events.occurred_on >= validated.validated_on
        and events.occurred_on <= $as_of
    group by events.business_unit
),

pilots as (
    select distinct business_unit, team
    from stg_replication_events
    where event_type = 'validated' and occurred_on <= $as_of and team is not null
),

final as (
    select
        used.function,
        used.business_unit,
        used.team,
        used.agent_id,
        used.first_used_on,
        cast(used.tasks as bigint) as tasks,
        catalog.agent_id is not null as is_in_catalog,
        reached.unit_reached_on
    from used
    left join stg_agents as catalog on catalog.agent_id = used.agent_id
    left join reached on reached.business_unit = used.business_unit
    where not exists (
            select 1 from pilots where pilots.business_unit = used.business_unit and pilots.team = used.team
        )
        and (
            catalog.agent_id is null
            or reached.unit_reached_on is null
            or used.first_used_on < reached.unit_reached_on
        )
        and chosen($functions, used.function)
        and chosen($business_units, used.business_unit)
)

select * from final order by business_unit, team, first_used_on, agent_id
