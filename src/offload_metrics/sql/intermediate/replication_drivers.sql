-- Definition: Replication Velocity per agent with what the domain says drives spread, from the
-- agent catalog: how the agent was seeded and whether it was bought or built.
-- seeding_strategy: the catalog's seeding_strategy (influencer, pilot_program, champion,
--   self_selected), or not_recorded.
-- source: the catalog's source (vendor or built), or not_recorded.
-- validation_quarter: the calendar quarter of validated_on (YYYY-Qn), to follow the spread by when
--   agents were validated.
-- Grain: one row per agent, as in the replication rows.
with replication as (
    select * from ({replication})
),

final as (
    select
        replication.*,
        coalesce(catalog.seeding_strategy, 'not_recorded') as seeding_strategy,
        coalesce(catalog.source, 'not_recorded') as source,
        cast(year(replication.validated_on) as varchar) || '-Q' || cast(quarter(replication.validated_on) as varchar)
            as validation_quarter
    from replication
    left join stg_agents as catalog on catalog.agent_id = replication.agent_id
)

select * from final order by agent_id
