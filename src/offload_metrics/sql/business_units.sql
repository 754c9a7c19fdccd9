-- Definition: Every business unit named in usage, time savings, replication events or the
-- baseline, within the chosen functions: the choices of the business unit filter.
with mentioned as (
    select function, business_unit from stg_usage_daily
    union all
    select function, business_unit from stg_time_saved
    union all
    select function, business_unit from stg_replication_events
    union all
    select function, business_unit from stg_org_baseline
),

final as (
    select distinct business_unit
    from mentioned
    where chosen($functions, function)
)

select * from final order by business_unit
