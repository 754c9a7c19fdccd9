-- Definition: A function's measured appetite for risk: how fast its first agents went from first
-- use to validation. For each agent, days from its first day of usage to its first validated event
-- (agents validated before any recorded use count 0 days); for each function, the median over its
-- first first_agents agents by validation date, up to as_of.
-- time_to_validation_days: median days from first use to validation of the function's first agents.
-- agents_measured: how many agents that median is over.
-- Grain: one row per function with a validated agent that has usage.
-- Parameters: as_of, first_agents
with first_use as (
    select agent_id, min(first_used_on) as first_used_on
    from ({usage_first_days})
    group by agent_id
),

validations as (
    select
        agent_id,
        arg_min(function, (occurred_on, event_id)) as function,
        min(occurred_on) as validated_on
    from stg_replication_events
    where event_type = 'validated' and occurred_on <= $as_of
    group by agent_id
),

ranked as (
    select
        validations.function,
        greatest(validations.validated_on - first_use.first_used_on, 0) as days,
        row_number() over (
            partition by validations.function order by validations.validated_on, validations.agent_id
        ) as position
    from validations
    inner join first_use using (agent_id)
),

final as (
    select function, median(days) as time_to_validation_days, count(*) as agents_measured
    from ranked
    where position <= $first_agents
    group by function
)

select * from final order by function
