-- Definition: The team-months (business unit, team, month) of the selection with documented time
-- savings in [from, to]: where usage counts as documented, and where nothing is estimated.
-- Grain: one row per team-month.
select distinct business_unit, team, month
from ({time_saved_in_range})
