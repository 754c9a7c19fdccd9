-- Definition: Replication Velocity per function (or for the organisation, or per seeding strategy
-- or source of the agents), over agents validated within [from, to].
-- Definition, in words: How fast validated agents are copied, counting the ones still waiting.
-- validated_agents: agents whose first validated event falls in the range.
-- validated_agents, in words: Agents validated in the chosen months.
-- replicated_agents: those of them replicated by as_of.
-- replicated_agents, in words: Of those, how many another business unit has copied.
-- waiting_agents: validated_agents - replicated_agents: those not replicated by as_of.
-- waiting_agents, in words: Agents validated in the chosen months that no other business unit has
--   copied yet; the backlog below lists them, longest waiting first.
-- median_replication_days: median replication_days over replicated agents only (flatters a
--   program that leaves agents unreplicated).
-- median_replication_days, in words: The typical days to a first copy, counting only agents already
--   copied: it looks fast when many are still waiting.
-- total_replications: business units beyond the pilot units that copied these agents, summed over them.
-- km_median_replication_days: the Kaplan-Meier median, the first time at which the survival
--   curve reaches 0.5, counting agents not yet replicated as censored at as_of; null when the
--   curve never reaches 0.5.
-- km_median_replication_days, in words: The typical days to a first copy, counting the agents still
--   waiting (Kaplan-Meier): 'not reached' while more than half are still waiting.
-- Grain: one row per function (or seeding strategy, or source) with validated agents, or one for
-- the organisation.
-- Parameters: tolerance
with agents as (
    select *, 'organisation' as organisation
    from ({replication_drivers})
    where is_in_range
),

curve as (
    select * from ({replication_curve})
),

km as (
    select {dimensions}, min(days) filter (where survival <= 0.5 + $tolerance) as km_median_replication_days
    from curve
    group by {dimensions}
),

counts as (
    select
        {dimensions},
        count(*) as validated_agents,
        count(first_replicated_on) as replicated_agents,
        count(*) - count(first_replicated_on) as waiting_agents,
        median(replication_days) as median_replication_days,
        cast(sum(replications) as bigint) as total_replications
    from agents
    group by {dimensions}
),

final as (
    select counts.*, km.km_median_replication_days
    from counts
    left join km using ({dimensions})
)

select * from final order by {dimensions}
