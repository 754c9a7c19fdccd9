-- Definition: Documented time savings in the selection whose period_start falls in [from, to]: the
-- rows every figure over the range counts, each in the month of its period_start.
-- Grain: one row per time-saved row.
-- Parameters: date_from, date_to
select *
from ({time_saved_selected})
where period_start between $date_from and $date_to
