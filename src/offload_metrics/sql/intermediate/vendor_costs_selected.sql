-- Definition: Vendor costs in the selection: rows whose mapped function and business unit pass the
-- filters, with a constant organisation column to group the whole selection by.
-- Parameters: business_units, functions
select *, 'organisation' as organisation
from stg_vendor_costs
where chosen($functions, function)
    and chosen($business_units, business_unit)
