-- Definition: Per validated agent, the business units other than its pilot unit in which it ran
-- (usage events) or documented savings over the range, with no deployed event of it there by
-- as_of (use that replication does not count).
-- Definition, in words: Where a validated agent is in use without a recorded copy.
-- units_without_deployment: how many such business units.
-- units_without_deployment, in words: Other business units that use the agent without a recorded
--   deployment: Replication Velocity does not count them.
-- business_units_without_deployment: those business units, in name order.
-- business_units_without_deployment, in words: The business units that use the agent without a
--   recorded deployment.
-- Grain: one row per validated agent in use in at least one such business unit.
with validations as (
    select agent_id, pilot_unit from ({replication_validations})
),

used as (
    select agent_id, business_unit from ({usage_months_in_range})
    union
    select agent_id, business_unit from ({time_saved_in_range})
),

deployed as (
    select agent_id, business_unit from ({replication_deployments})
),

final as (
    select
        used.agent_id,
        count(*) as units_without_deployment,
        list(used.business_unit order by used.business_unit) as business_units_without_deployment
    from used
    inner join validations
        on validations.agent_id = used.agent_id
        and used.business_unit <> validations.pilot_unit
    anti join deployed
        on deployed.agent_id = used.agent_id
        and deployed.business_unit = used.business_unit
    group by used.agent_id
)

select * from final order by agent_id
