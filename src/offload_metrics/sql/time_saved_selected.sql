-- Definition: Documented time savings in the selection: rows whose function and business unit pass
-- the filters.
select *
from stg_time_saved
where (len($functions) = 0 or list_contains($functions, function))
    and (len($business_units) = 0 or list_contains($business_units, business_unit))
