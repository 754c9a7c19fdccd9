-- Definition: Adoption per function-month, for every month from the start of the data to the as_of
-- month (is_in_range marks the months within [from, to]).
-- Definition, in words: How much of each function's routine work agents now do, month by month.
-- delegated_hours: sum of tasks x baseline_minutes_per_task / 60 in time-saved rows whose
--   period_start falls in the month.
-- routine_hours: sum of routine_hours_per_month over the function's teams in org_baseline.
-- offloaded_share: delegated_hours / routine_hours, capped at 1.0; 0 in a month without time-saved
--   rows; null where the function has no baseline.
-- offloaded_share, in words: The share of the function's routine hours that agents now do.
-- phase: pilot_plateau when the share is below 0.10, crossing_point below 0.15, acceleration below
--   0.60, else saturation (adoption.phase_bounds).
-- phase, in words: Where the function is on the S-curve: pilot plateau below {phase_pilot} of routine
--   work, crossing point below {phase_crossing}, acceleration below {phase_saturation}, then saturation.
-- Grain: one row per function and month.
-- Parameters: as_of, business_units, date_from, date_to, history_from, phase_crossing, phase_pilot, phase_saturation, tolerance
with months as (
    select cast(month as date) as month
    from (
        select unnest(
            generate_series(
                date_trunc('month', cast($history_from as date)),
                date_trunc('month', cast($as_of as date)),
                interval 1 month
            )
        ) as month
    )
),

functions as (
    select * from ({functions})
),

routine as (
    select function, sum(routine_hours_per_month) as routine_hours
    from stg_org_baseline
    where chosen($business_units, business_unit)
    group by function
),

delegated as (
    select function, month, sum(delegated_hours) as delegated_hours
    from ({time_saved_selected})
    where period_start <= $as_of
    group by function, month
),

shares as (
    select
        functions.function,
        months.month,
        coalesce(delegated.delegated_hours, 0) as delegated_hours,
        routine.routine_hours,
        -- least() skips nulls: without a baseline the share must stay null, not become the cap.
        case
            when routine.routine_hours is not null
                then least(coalesce(delegated.delegated_hours, 0) / routine.routine_hours, 1.0)
        end as offloaded_share
    from functions
    cross join months
    left join delegated on delegated.function = functions.function and delegated.month = months.month
    left join routine on routine.function = functions.function
),

final as (
    select
        function,
        month,
        delegated_hours,
        routine_hours,
        offloaded_share,
        adoption_phase(offloaded_share, $phase_pilot, $phase_crossing, $phase_saturation, $tolerance) as phase,
        month between date_trunc('month', cast($date_from as date))
            and date_trunc('month', cast($date_to as date)) as is_in_range
    from shares
)

select * from final order by function, month
