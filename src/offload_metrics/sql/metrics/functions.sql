-- Definition: Every business function that appears in any input (usage, time saved, replication,
-- the catalog's owner_function, the baseline), narrowed by the function and business unit filters.
-- Parameters: business_units, functions
with final as (
    select distinct function
    from ({dimensions_mentioned})
    where chosen($functions, function)
        and chosen($business_units, business_unit)
)

select * from final order by function
