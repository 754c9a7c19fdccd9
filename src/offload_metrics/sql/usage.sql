-- Definition: Agent usage over the report range, per function (and per business unit, team, agent
-- or month when asked), from the daily rollup; only days in [from, to] count.
-- tasks: count of usage events (tasks agents ran).
-- api_calls: sum of api_calls over those tasks.
-- tokens: sum of input_tokens + output_tokens.
-- agent_cost_usd: sum of cost_usd, what the agents cost.
-- active_agents: number of distinct agents that ran at least one task.
-- escalation_rate: escalated tasks / tasks (handed to a person).
-- failure_rate: failed tasks / tasks.
-- automation_rate: completed tasks / tasks (no human needed).
-- Grain: the dimensions asked for ({dimensions}), chosen by the code from a fixed list.
with usage_in_range as (
    select *, 'organisation' as organisation
    from stg_usage_daily
    where day between $date_from and $date_to
        and (len($functions) = 0 or list_contains($functions, function))
        and (len($business_units) = 0 or list_contains($business_units, business_unit))
),

final as (
    select
        {dimensions},
        cast(sum(tasks) as bigint) as tasks,
        cast(sum(api_calls) as bigint) as api_calls,
        cast(sum(tokens) as bigint) as tokens,
        sum(cost_usd) as agent_cost_usd,
        count(distinct agent_id) as active_agents,
        sum(escalated) / sum(tasks) as escalation_rate,
        sum(failed) / sum(tasks) as failure_rate,
        sum(completed) / sum(tasks) as automation_rate
    from usage_in_range
    group by {dimensions}
)

select * from final order by {dimensions}
