-- Definition: Every function and business unit an input names, with the input that names it
-- (named_in: usage_daily, time_saved, replication_events, agents for the catalog's owner_function
-- and owner_business_unit, org_baseline): what the function and business unit filters offer.
-- Grain: one row per distinct function, business unit and input.
with mentioned as (
    select function, business_unit, 'usage_daily' as named_in from stg_usage_monthly
    union
    select function, business_unit, 'time_saved' from stg_time_saved
    union
    select function, business_unit, 'replication_events' from stg_replication_events
    union
    select owner_function, owner_business_unit, 'agents' from stg_agents
    union
    select function, business_unit, 'org_baseline' from stg_org_baseline
),

final as (
    select * from mentioned
)

select * from final
