-- Definition: How much of the agents' usage has documented time savings, over the range: a usage
-- task is covered when its team-month (business unit, team, month) has time_saved rows. Cost here is
-- the usage log's.
-- tasks: usage tasks in the range.
-- documented_tasks: usage tasks in team-months with time_saved rows.
-- documented_task_share: documented_tasks / tasks.
-- documented_task_share, in words: Of the tasks agents ran, the share in team-months whose time
--   savings are documented.
-- usage_cost_usd: usage-log cost in the range.
-- usage_cost_usd, in words: What the usage log records the agents cost.
-- documented_cost_usd: usage-log cost in team-months with time_saved rows.
-- documented_cost_share: documented_cost_usd / usage_cost_usd; null when the cost is 0.
-- documented_cost_share, in words: Of what the agents cost in the usage log, the share in
--   team-months whose time savings are documented.
-- estimated_tasks: completed tasks in team-months without time_saved rows that an estimate covers.
-- estimated_task_share: estimated_tasks / tasks.
with usage as (
    select *
    from ({usage_months_in_range})
),

documented as (
    select * from ({documented_team_months})
),

marked as (
    select
        usage.*,
        exists (
            select 1
            from documented
            where documented.business_unit = usage.business_unit
                and documented.team = usage.team
                and documented.month = usage.month
        ) as is_documented
    from usage
),

estimated as (
    select {dimensions}, sum(estimated_tasks) as estimated_tasks
    from (select *, 'organisation' as organisation from ({estimates}))
    group by {dimensions}
),

covered as (
    select
        {dimensions},
        cast(sum(tasks) as bigint) as tasks,
        cast(coalesce(sum(tasks) filter (where is_documented), 0) as bigint) as documented_tasks,
        sum(cost_usd) as usage_cost_usd,
        coalesce(sum(cost_usd) filter (where is_documented), 0) as documented_cost_usd
    from marked
    group by {dimensions}
),

final as (
    select
        {dimensions},
        covered.tasks,
        covered.documented_tasks,
        covered.documented_tasks / nullif(covered.tasks, 0) as documented_task_share,
        covered.usage_cost_usd,
        covered.documented_cost_usd,
        covered.documented_cost_usd / nullif(covered.usage_cost_usd, 0) as documented_cost_share,
        cast(coalesce(estimated.estimated_tasks, 0) as bigint) as estimated_tasks,
        coalesce(estimated.estimated_tasks, 0) / nullif(covered.tasks, 0) as estimated_task_share
    from covered
    left join estimated using ({dimensions})
)

select * from final order by {dimensions}
