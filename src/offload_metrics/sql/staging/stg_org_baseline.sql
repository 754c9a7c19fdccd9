-- Definition: The organisation baseline, one row per team: headcount, routine hours per month and
-- the loaded hourly cost.
select function, business_unit, team, headcount, routine_hours_per_month, loaded_hourly_cost_usd
from org_baseline
