-- Definition: The usage rollup in the selection: rows whose function and business unit pass the
-- filters, with a constant organisation column to group the whole selection by.
select *, 'organisation' as organisation
from stg_usage_daily
where chosen($functions, function)
    and chosen($business_units, business_unit)
