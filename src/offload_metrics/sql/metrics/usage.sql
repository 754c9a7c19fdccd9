-- Definition: Agent usage over the report range, per function (and per business unit, team, agent
-- or month when asked), from the usage rollups; only days in [from, to] count.
-- Definition, in words: What the agents did over the chosen months: tasks, calls, tokens and what they
--   cost.
-- tasks: count of usage events (tasks agents ran).
-- tasks, in words: How many tasks agents ran in the chosen months.
-- api_calls: sum of api_calls over those tasks.
-- api_calls, in words: How many calls to AI services those tasks made.
-- tokens: sum of input_tokens + output_tokens.
-- tokens, in words: How much text the AI services read and wrote for those tasks, in tokens.
-- agent_cost_usd: sum of cost_usd, what the agents cost.
-- agent_cost_usd, in words: What running the agents cost in the chosen months.
-- estimated_agent_cost_usd: the part of agent_cost_usd worked out from the price table setting for
--   telemetry that carried no cost (tokens x USD per million); the rest came with the events.
-- active_agents: number of distinct agents that ran at least one task.
-- active_agents, in words: How many different agents ran at least one task.
-- escalation_rate: escalated tasks / tasks (handed to a person).
-- escalation_rate, in words: The share of tasks an agent handed to a person.
-- failure_rate: failed tasks / tasks.
-- failure_rate, in words: The share of tasks that failed.
-- automation_rate: completed tasks / tasks (no human needed).
-- automation_rate, in words: The share of tasks an agent finished with no person needed.
-- average_latency_ms: mean latency_ms over the tasks that report one; null when none does.
-- Grain: the dimensions asked for (function, business unit, team, agent, month or the
--   organisation), chosen by the code from a fixed list.
with usage_in_range as (
    select * from ({usage_months_in_range})
),

final as (
    select
        {dimensions},
        cast(sum(tasks) as bigint) as tasks,
        cast(sum(api_calls) as bigint) as api_calls,
        cast(sum(tokens) as bigint) as tokens,
        sum(cost_usd) as agent_cost_usd,
        sum(estimated_cost_usd) as estimated_agent_cost_usd,
        count(distinct agent_id) as active_agents,
        sum(escalated) / sum(tasks) as escalation_rate,
        sum(failed) / sum(tasks) as failure_rate,
        sum(completed) / sum(tasks) as automation_rate,
        sum(latency_ms_sum) / nullif(sum(latency_count), 0) as average_latency_ms
    from usage_in_range
    group by {dimensions}
)

select * from final order by {dimensions}
