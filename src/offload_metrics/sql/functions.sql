-- Definition: Every business function that appears in any input (usage, time saved, replication,
-- the catalog's owner_function, the baseline), narrowed by the function and business unit filters.
with mentioned as (
    select function, business_unit from stg_usage_daily
    union all
    select function, business_unit from stg_time_saved
    union all
    select function, business_unit from stg_replication_events
    union all
    select owner_function as function, owner_business_unit as business_unit from stg_agents
    union all
    select function, business_unit from stg_org_baseline
),

final as (
    select distinct function
    from mentioned
    where chosen($functions, function)
        and chosen($business_units, business_unit)
)

select * from final order by function
