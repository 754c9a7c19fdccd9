-- Definition: Replication Velocity by the quarter agents were validated, over agents validated
-- within [from, to]: are validated agents copied faster than they used to be?
-- Definition, in words: Are agents copied faster than they used to be? By the quarter they were
--   validated.
-- quarter: the calendar quarter of validated_on (YYYY-Qn; replication_drivers.sql's validation_quarter).
-- validated_agents: agents first validated in the quarter.
-- replicated_agents: those of them replicated by as_of.
-- median_replication_days: median replication_days over the quarter's replicated agents.
-- median_replication_days, in words: The typical days to a first copy for the quarter's agents already
--   copied.
-- replicated_within_90_days: share of the quarter's agents replicated within 90 days of validation.
-- replicated_within_90_days, in words: The share of the quarter's agents copied within 90 days.
-- Grain: one row per quarter with validated agents.
with agents as (
    select *
    from ({replication_drivers})
    where is_in_range
),

final as (
    select
        validation_quarter as quarter,
        count(*) as validated_agents,
        count(first_replicated_on) as replicated_agents,
        median(replication_days) as median_replication_days,
        count(*) filter (where replication_days <= 90) / count(*) as replicated_within_90_days
    from agents
    group by 1
)

select * from final order by quarter
