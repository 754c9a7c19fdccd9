-- Definition: The functional cascade, over all months up to as_of.
-- crossed_on: the first month (YYYY-MM) in which the function's offloaded_share reached 0.15 (the
--   crossing point into acceleration); null if never.
-- cascade_rank: dense rank of crossed_on: 1 for the functions that crossed first; null if never.
-- entered_crossing_point_on: first month with share at or above 0.10.
-- entered_saturation_on: first month with share at or above 0.60.
-- offloaded_share: the function's offloaded share in the as_of month.
-- phase: the function's phase in the as_of month.
-- Grain: one row per function.
with adoption as (
    select * from ({adoption})
),

milestones as (
    select
        function,
        min(month) filter (where offloaded_share >= $phase_pilot - $tolerance) as entered_crossing_point_on,
        min(month) filter (where offloaded_share >= $phase_crossing - $tolerance) as crossed_on,
        min(month) filter (where offloaded_share >= $phase_saturation - $tolerance) as entered_saturation_on,
        arg_max(offloaded_share, month) as offloaded_share,
        arg_max(phase, month) as phase
    from adoption
    group by function
),

final as (
    select
        function,
        offloaded_share,
        phase,
        crossed_on,
        case when crossed_on is not null then dense_rank() over (order by crossed_on) end as cascade_rank,
        entered_crossing_point_on,
        entered_saturation_on
    from milestones
)

select * from final order by cascade_rank nulls last, function
