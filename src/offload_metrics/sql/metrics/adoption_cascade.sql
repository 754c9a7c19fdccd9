-- Definition: The functional cascade, over all months up to as_of.
-- Definition, in words: The order in which functions took off: when each entered each phase of the
--   S-curve.
-- crossed_on: the first month (YYYY-MM) in which the function's offloaded_share reached 0.15 (out of
--   the crossing-point phase, which starts at 0.10, into acceleration); null if never.
-- crossed_on, in words: The month the function's share first reached {phase_crossing}: it left the
--   crossing-point phase (from {phase_pilot}) for acceleration.
-- cascade_rank: dense rank of crossed_on: 1 for the functions that crossed first; null if never.
-- cascade_rank, in words: 1 for the functions that crossed {phase_crossing} first, 2 for the next, and so
--   on.
-- entered_crossing_point_on: first month with share at or above 0.10.
-- entered_crossing_point_on, in words: The month the function's share first reached {phase_pilot}.
-- entered_saturation_on: first month with share at or above 0.60.
-- entered_saturation_on, in words: The month the function's share first reached {phase_saturation}.
-- offloaded_share: the function's offloaded share in the as_of month.
-- offloaded_share, in words: The share of the function's routine work agents do in the as-of month.
-- phase: the function's phase in the as_of month.
-- phase, in words: Where the function is on the S-curve in the as-of month: pilot plateau below
--   {phase_pilot}, crossing point below {phase_crossing}, acceleration below {phase_saturation}, then
--   saturation.
-- Grain: one row per function.
-- Parameters: phase_crossing, phase_pilot, phase_saturation, tolerance
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
