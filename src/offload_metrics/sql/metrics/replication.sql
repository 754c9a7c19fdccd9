-- Definition: Replication Velocity per agent, from replication events up to as_of. The first
-- validated event names the pilot unit (its business_unit) and the agent's function; ties on a
-- day go to the smaller event_id.
-- Definition, in words: How fast each validated agent was copied by another business unit.
-- validated_on: date of the agent's first validated event.
-- validated_on, in words: The day a pilot team validated the agent.
-- first_replicated_on: first deployed event on or after validated_on in a business unit other
--   than the pilot unit.
-- first_replicated_on, in words: The first day another business unit started using it.
-- replication_days: first_replicated_on - validated_on, in days; null while not replicated.
-- replication_days, in words: Days from validation to the first copy in another business unit.
-- replications: distinct business units other than the pilot unit with a deployed event on or
--   after validated_on and up to as_of.
-- replications, in words: How many other business units have a recorded deployment of the agent (one that
--   uses it without a recorded deployment is not counted: the Replication page's backlog names those).
-- waiting_days: as_of - validated_on for an agent not yet replicated (its censoring time).
-- waiting_days, in words: Days since validation for an agent no other business unit has copied yet.
-- Grain: one row per agent with a validated event up to as_of whose function and pilot unit pass
-- the filters. Totals per function count agents validated within [from, to].
-- Parameters: as_of, date_from, date_to
with first_validation as (
    select * from ({replication_validations})
),

deployments as (
    select * from ({replication_deployments})
),

final as (
    select
        validation.agent_id,
        validation.function,
        validation.pilot_unit,
        validation.validated_on,
        min(deployments.deployed_on) as first_replicated_on,
        min(deployments.deployed_on) - validation.validated_on as replication_days,
        count(deployments.business_unit) as replications,
        case
            when min(deployments.deployed_on) is null then cast($as_of as date) - validation.validated_on
        end as waiting_days,
        validation.validated_on between $date_from and $date_to as is_in_range
    from first_validation as validation
    left join deployments on deployments.agent_id = validation.agent_id
    group by validation.agent_id, validation.function, validation.pilot_unit, validation.validated_on
)

select * from final order by agent_id
