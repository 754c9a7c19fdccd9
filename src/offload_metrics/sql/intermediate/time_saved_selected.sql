-- Definition: Documented time savings in the selection: rows whose function and business unit pass
-- the filters.
-- Parameters: business_units, functions
select *
from stg_time_saved
where chosen($functions, function)
    and chosen($business_units, business_unit)
