-- Definition: The usage rollup in the selection: rows whose function and business unit pass the
-- filters, with a constant organisation column to group the whole selection by.
select *, 'organisation' as organisation
from stg_usage_daily
where (len($functions) = 0 or list_contains($functions, function))
    and (len($business_units) = 0 or list_contains($business_units, business_unit))
