-- Definition: Adoption of the organisation (the selection) per month.
-- Definition, in words: How much of the organisation's routine work agents now do, month by month.
-- offloaded_share: sum of delegated_hours / sum of routine_hours over the functions that have a
--   baseline, capped at 1.0.
-- offloaded_share, in words: The share of the organisation's routine hours that agents now do.
-- phase: the organisation's phase from its offloaded_share, with the same bounds as a function's.
-- phase, in words: Where the organisation is on the S-curve: pilot plateau below {phase_pilot}, crossing
--   point below {phase_crossing}, acceleration below {phase_saturation}, then saturation.
-- functions_at_scale: functions whose offloaded_share is at least scale_share (0.40) that month.
-- functions_at_scale, in words: Functions where agents do at least {scale_share} of the routine work this
--   month.
-- is_at_scale: at least scale_min_functions (2) functions at scale that month.
-- is_at_scale, in words: The organisation is at scale when at least {scale_min_functions} functions are.
-- leading_function: the function with the highest offloaded share that month.
-- leading_function, in words: The function where agents do the largest share of routine work this month.
-- leading_share: the offloaded share of the leading function.
-- lagging_function: the function with a baseline and the lowest offloaded share that month.
-- lagging_function, in words: The function where agents do the smallest share of routine work this month.
-- lagging_share: the offloaded share of the lagging function.
-- gap: leading_share - lagging_share, how far the cascade is spread out.
-- gap, in words: How far the lagging function is behind the leading one, in percentage points: how spread
--   out the cascade is.
-- Grain: one row per month up to as_of.
-- Parameters: phase_crossing, phase_pilot, phase_saturation, scale_min_functions, scale_share, tolerance
with adoption as (
    select * from ({adoption})
),

totals as (
    select
        month,
        bool_or(is_in_range) as is_in_range,
        sum(delegated_hours) filter (where routine_hours is not null) as delegated_hours,
        sum(routine_hours) as routine_hours,
        count(*) filter (where offloaded_share >= $scale_share - $tolerance) as functions_at_scale,
        arg_max(function, (offloaded_share, function)) filter (where offloaded_share is not null) as leading_function,
        max(offloaded_share) as leading_share,
        arg_min(function, (offloaded_share, function)) filter (where offloaded_share is not null) as lagging_function,
        min(offloaded_share) as lagging_share
    from adoption
    group by month
),

shares as (
    select
        *,
        -- least() skips nulls: without any baseline the share must stay null, not become the cap.
        case when routine_hours is not null then least(delegated_hours / routine_hours, 1.0) end as offloaded_share
    from totals
),

final as (
    select
        month,
        is_in_range,
        delegated_hours,
        routine_hours,
        offloaded_share,
        adoption_phase(offloaded_share, $phase_pilot, $phase_crossing, $phase_saturation, $tolerance) as phase,
        functions_at_scale,
        functions_at_scale >= $scale_min_functions as is_at_scale,
        leading_function,
        leading_share,
        lagging_function,
        lagging_share,
        leading_share - lagging_share as gap
    from shares
)

select * from final order by month
