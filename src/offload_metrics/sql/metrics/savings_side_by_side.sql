-- Definition: Documented and estimated hours saved side by side, per function or for the
-- organisation, over the range; the two are never added together.
-- hours_saved: documented hours saved (from time_saved rows).
-- estimated_hours_saved: hours saved estimated from task baselines in team-months without
--   time_saved rows; null where none applies.
-- estimated_labor_value_usd: the labor value of the estimated hours.
with documented as (
    select {dimensions}, hours_saved
    from ({net_output_summary})
),

estimated as (
    select {dimensions}, estimated_hours_saved, estimated_labor_value_usd
    from ({estimates_summary})
),

final as (
    select
        {dimensions},
        coalesce(documented.hours_saved, 0) as hours_saved,
        estimated.estimated_hours_saved,
        estimated.estimated_labor_value_usd
    from documented
    full outer join estimated using ({dimensions})
)

select * from final order by {dimensions}
