-- Definition: Every agent with usage in [from, to] or a validated event in [from, to], with its
-- gate (over the gate window), its replication and its catalog entry.
-- function: the function of the agent's first validated event, else its catalog owner_function,
--   else the function where it ran the most tasks.
-- Grain: one row per agent.
with gates as (
    select * from ({gates})
),

replication as (
    select * from ({replication})
),

usage_by_function as (
    select agent_id, function, cast(sum(tasks) as bigint) as tasks
    from stg_usage_daily
    where day between $date_from and $date_to
        and (len($functions) = 0 or list_contains($functions, function))
        and (len($business_units) = 0 or list_contains($business_units, business_unit))
    group by agent_id, function
),

used as (
    select agent_id, arg_max(function, (tasks, function)) as usage_function, cast(sum(tasks) as bigint) as range_tasks
    from usage_by_function
    group by agent_id
),

listed as (
    select agent_id from used
    union
    select agent_id from replication where in_range
),

final as (
    select
        listed.agent_id,
        coalesce(replication.function, catalog.owner_function, used.usage_function) as function,
        catalog.name,
        catalog.risk_class,
        catalog.owner_business_unit,
        catalog.owner_team,
        coalesce(gates.tasks, 0) as tasks,
        coalesce(gates.reviewed, 0) as reviewed,
        gates.accuracy,
        gates.automation,
        coalesce(gates.gate, 'insufficient_data') as gate,
        coalesce(used.range_tasks, 0) as range_tasks,
        replication.pilot_unit,
        replication.validated_on,
        replication.first_replicated_on,
        replication.replication_days,
        replication.replications,
        replication.days_waiting
    from listed
    left join used on used.agent_id = listed.agent_id
    left join gates on gates.agent_id = listed.agent_id
    left join replication on replication.agent_id = listed.agent_id
    left join stg_agents as catalog on catalog.agent_id = listed.agent_id
)

select * from final order by function, agent_id
