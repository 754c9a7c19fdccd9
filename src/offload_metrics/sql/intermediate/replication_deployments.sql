-- Definition: Each validated agent's first deployment up to as_of in every business unit other
-- than its pilot unit, on or after validation.
-- deployed_on: date of the first deployed event in the business unit.
-- Grain: one row per validated agent and business unit it was copied to.
-- Parameters: as_of
with validations as (
    select * from ({replication_validations})
),

deployed as (
    select *
    from stg_replication_events
    where occurred_on <= $as_of
        and event_type = 'deployed'
),

final as (
    select
        validations.agent_id,
        validations.function,
        validations.pilot_unit,
        validations.validated_on,
        deployed.business_unit,
        min(deployed.occurred_on) as deployed_on
    from validations
    inner join deployed
        on deployed.agent_id = validations.agent_id
        and deployed.occurred_on >= validations.validated_on
        and deployed.business_unit <> validations.pilot_unit
    group by all
)

select * from final
