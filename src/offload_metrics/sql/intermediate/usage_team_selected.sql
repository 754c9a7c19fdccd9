-- Definition: The team-day usage rollup in the selection: rows whose function and business unit
-- pass the filters, with a constant organisation column to group the whole selection by.
-- Parameters: business_units, functions
select *, 'organisation' as organisation
from stg_usage_team_daily
where chosen($functions, function)
    and chosen($business_units, business_unit)
