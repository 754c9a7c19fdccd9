-- Definition: Finance over the range at a coarser grain (function, month or the
-- organisation), summing the function-months.
-- Definition, in words: The value of hours saved, agent cost, net savings and the reinvestment pool over
--   the chosen months.
-- labor_value_usd: sum of labor value.
-- labor_value_usd, in words: What the hours saved would have cost in people's time.
-- agent_cost_usd: sum of agent cost (of the cost_source setting's source, per function-month).
-- agent_cost_usd, in words: What running the agents cost, from the {cost_source} cost source.
-- usage_cost_usd: sum of the usage-log cost.
-- vendor_cost_usd: sum of the vendor cost assigned to functions.
-- net_savings_usd: sum of net savings.
-- net_savings_usd, in words: The value of the hours saved minus what the agents cost.
-- reinvestment_pool_usd: sum of the per function-month pools (a month with negative net savings
--   adds nothing).
-- reinvestment_pool_usd, in words: {reinvestment_share} of the positive net savings of each function and
--   month, set aside to reinvest.
-- roi: net_savings_usd / agent_cost_usd; null when the cost is 0.
-- roi, in words: Net savings for each dollar spent on agents: 98.7x means $98.70 saved per $1 of agent
--   cost.
-- agent_cost_per_task: agent_cost_usd / tasks run by agents.
-- agent_cost_per_task, in words: What one task costs when an agent does it.
-- human_cost_per_task: documented human cost / documented tasks.
-- human_cost_per_task, in words: What one of the documented tasks cost when a person did it.
with function_months as (
    select *, 'organisation' as organisation
    from ({finance})
),

final as (
    select
        {dimensions},
        sum(labor_value_usd) as labor_value_usd,
        sum(agent_cost_usd) as agent_cost_usd,
        sum(net_savings_usd) as net_savings_usd,
        sum(reinvestment_pool_usd) as reinvestment_pool_usd,
        sum(net_savings_usd) / nullif(sum(agent_cost_usd), 0) as roi,
        sum(agent_cost_usd) / nullif(sum(tasks), 0) as agent_cost_per_task,
        sum(human_cost_usd) / nullif(sum(documented_tasks), 0) as human_cost_per_task,
        cast(sum(tasks) as bigint) as tasks,
        cast(sum(documented_tasks) as bigint) as documented_tasks,
        sum(usage_cost_usd) as usage_cost_usd,
        sum(vendor_cost_usd) as vendor_cost_usd
    from function_months
    group by {dimensions}
)

select * from final order by {dimensions}
