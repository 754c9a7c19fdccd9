-- Definition: The Kaplan-Meier curve of time to first replication per function (or for the whole
-- organisation, or per seeding strategy or source), over agents validated within [from, to]. An
-- agent replicated after d days is an event at d; an agent not yet replicated by as_of is
-- censored at as_of - validated_on. At each time, events come before censorings (an agent
-- censored at d is still at risk at d).
-- Definition, in words: Of the agents validated in the chosen months, the share still not copied after a
--   number of days, counting the ones still waiting.
-- survival: the share of validated agents not yet replicated after `days` days:
--   product over event times t <= days of (1 - replicated at t / at risk at t).
-- survival, in words: The share of validated agents not yet copied by another business unit after this
--   many days.
-- Grain: one row per function (or the organisation) and distinct time.
with subjects as (
    select
        {dimensions},
        coalesce(replication_days, waiting_days) as days,
        replication_days is not null as is_replicated
    from (select *, 'organisation' as organisation from ({replication_drivers}))
    where is_in_range
),

times as (
    select
        {dimensions},
        days,
        count(*) filter (where is_replicated) as replicated,
        count(*) as leaving
    from subjects
    group by {dimensions}, days
),

at_risk as (
    select
        *,
        cast(sum(leaving) over (
            partition by {dimensions} order by days desc rows between unbounded preceding and current row
        ) as bigint) as at_risk
    from times
),

final as (
    select
        {dimensions},
        days,
        replicated,
        leaving - replicated as censored,
        at_risk,
        product(1 - replicated / at_risk) over (
            partition by {dimensions} order by days rows between unbounded preceding and current row
        ) as survival
    from at_risk
)

select * from final order by {dimensions}, days
