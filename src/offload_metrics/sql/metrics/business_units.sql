-- Definition: Every business unit named in usage, time savings, replication events or the
-- baseline, within the chosen functions: the choices of the business unit filter.
-- Parameters: functions
with final as (
    select distinct business_unit
    from ({dimensions_mentioned})
    where named_in <> 'agents'
        and chosen($functions, function)
)

select * from final order by business_unit
