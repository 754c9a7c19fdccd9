-- Definition: Where the program stands in the as_of month. Month spans are calendar-month
-- differences (12 x years + months).
-- Definition, in words: Where the whole programme stands now, counted from the first validated agent.
-- months_since_first_deployment: from the month of the first validated agent (the earliest of the
--   selected agents' first validated events, as replication counts them) to the as_of month.
-- months_since_first_deployment, in words: Months since the first agent was validated.
-- time_to_scale_months: from that month to the first month at scale from it on; null if none yet.
-- time_to_scale_months, in words: Months from the first validated agent to the first month at scale.
-- trajectory: once some month up to as_of has been at scale, by time_to_scale_months: fast (< 18),
--   on_track (18 to 36), slow (> 36) (adoption.scale_months); otherwise, by
--   months_since_first_deployment: pilot_purgatory if above 18 with the organisation's share
--   below 0.10 in the as_of month, stalled if above 36, else in_progress. Null before any
--   validated agent.
-- trajectory, in words: How fast the programme got to scale, against the usual {scale_months_low} to
--   {scale_months_high} months: fast, on track or slow once at scale; before that, pilot purgatory (over
--   {scale_months_low} months and still below {phase_pilot}), stalled (over {scale_months_high} months)
--   or in progress.
-- Grain: one row.
-- Parameters: as_of, phase_pilot, scale_months_high, scale_months_low, tolerance
with organisation as (
    select * from ({adoption_org})
),

first_validation as (
    -- Each agent's own first validated event (its function and pilot unit pass the filters), as
    -- the agents and replication count it: a later validation in another unit is no pilot.
    select cast(date_trunc('month', min(validated_on)) as date) as month
    from ({replication_validations})
),

as_of_month as (
    select *
    from organisation
    where month = date_trunc('month', cast($as_of as date))
),

first_scale as (
    -- Scale is reached by the program: months before its first validated agent do not count.
    select min(organisation.month) as month
    from organisation, first_validation
    where organisation.is_at_scale and organisation.month >= first_validation.month
),

spans as (
    select
        as_of_month.offloaded_share,
        as_of_month.phase,
        coalesce(as_of_month.functions_at_scale, 0) as functions_at_scale,
        coalesce(as_of_month.is_at_scale, false) as is_at_scale,
        first_validation.month as first_deployment_month,
        first_scale.month as first_scale_month,
        12 * (year(cast($as_of as date)) - year(first_validation.month))
            + month(cast($as_of as date)) - month(first_validation.month) as months_since_first_deployment,
        12 * (year(first_scale.month) - year(first_validation.month))
            + month(first_scale.month) - month(first_validation.month) as time_to_scale_months
    from first_validation
    cross join first_scale
    left join as_of_month on true
),

final as (
    select
        *,
        case
            when time_to_scale_months is not null then
                case
                    when time_to_scale_months < $scale_months_low then 'fast'
                    when time_to_scale_months <= $scale_months_high then 'on_track'
                    else 'slow'
                end
            when months_since_first_deployment is null then null
            when months_since_first_deployment > $scale_months_low
                and offloaded_share < $phase_pilot - $tolerance then 'pilot_purgatory'
            when months_since_first_deployment > $scale_months_high then 'stalled'
            else 'in_progress'
        end as trajectory
    from spans
)

select * from final
