-- Definition: Savings, cost and the reinvestment pool per function-month over the range. Money
-- stays DECIMAL, exact from the minutes (read to 6 decimal places) and the rates; it is rounded to
-- cents only when shown.
-- Definition, in words: What the hours saved are worth against what the agents cost, and the money set
--   aside to reinvest, month by month.
-- labor_value_usd: hours_saved x the team's loaded_hourly_cost_usd (default_hourly_cost_usd where
--   the team has no baseline).
-- labor_value_usd, in words: What the hours saved would have cost in people's time, at each team's hourly
--   cost ({default_hourly_cost_usd} an hour where a team has none).
-- agent_cost_usd: the agent cost finance uses, by the cost_source setting: usage (usage_cost_usd),
--   vendor (vendor_cost_usd) or larger (the larger of the two in the function-month).
-- agent_cost_usd, in words: What running the agents cost, from the {cost_source} cost source.
-- usage_cost_usd: sum of cost_usd of the usage in the month.
-- vendor_cost_usd: sum of the vendor cost rows the organisation mapping assigns to the function in
--   the month (by the day billed).
-- net_savings_usd: labor_value_usd - agent_cost_usd.
-- net_savings_usd, in words: The value of the hours saved minus what the agents cost.
-- reinvestment_pool_usd: reinvestment_share x max(net_savings_usd, 0), per function-month.
-- reinvestment_pool_usd, in words: {reinvestment_share} of each month's positive net savings, set aside
--   to reinvest.
-- tasks: tasks run by agents in the month (usage).
-- documented_tasks: tasks in the month's documented time-saved rows.
-- human_cost_usd: sum of tasks x baseline_minutes_per_task / 60 x rate over the documented rows:
--   what the same tasks cost done by a person (finance_summary divides it by documented_tasks).
-- human_cost_usd, in words: What the same tasks cost when people did them.
-- Grain: one row per function and month with time savings, usage or vendor cost.
-- Parameters: cost_source, default_hourly_cost_usd, reinvestment_share
with saved as (
    select
        saved.*,
        coalesce(baseline.loaded_hourly_cost_usd, cast($default_hourly_cost_usd as decimal(18, 8))) as rate
    from ({time_saved_in_range}) as saved
    left join stg_org_baseline as baseline
        on baseline.business_unit = saved.business_unit and baseline.team = saved.team
),

labor as (
    select
        function,
        month,
        from_minutes(sum(tasks * (cast(baseline_minutes_per_task as decimal(18, 6))
            - cast(minutes_per_task as decimal(18, 6))) * rate)) as labor_value_usd,
        from_minutes(sum(tasks * cast(baseline_minutes_per_task as decimal(18, 6)) * rate)) as human_cost_usd,
        cast(sum(tasks) as bigint) as documented_tasks
    from saved
    group by function, month
),

usage as (
    select * from ({usage_function_months})
),

vendor as (
    select * from ({vendor_function_months})
),

costs as (
    select
        coalesce(usage.function, vendor.function) as function,
        coalesce(usage.month, vendor.month) as month,
        coalesce(usage.usage_cost_usd, 0) as usage_cost_usd,
        coalesce(vendor.vendor_cost_usd, 0) as vendor_cost_usd,
        coalesce(usage.tasks, 0) as tasks
    from usage
    full outer join vendor on vendor.function = usage.function and vendor.month = usage.month
),

chosen_costs as (
    select
        *,
        case $cost_source
            when 'vendor' then vendor_cost_usd
            when 'larger' then greatest(usage_cost_usd, vendor_cost_usd)
            else usage_cost_usd
        end as agent_cost_usd
    from costs
),

months as (
    select
        coalesce(labor.function, usage.function) as function,
        coalesce(labor.month, usage.month) as month,
        coalesce(labor.labor_value_usd, 0) as labor_value_usd,
        coalesce(usage.agent_cost_usd, 0) as agent_cost_usd,
        coalesce(usage.usage_cost_usd, 0) as usage_cost_usd,
        coalesce(usage.vendor_cost_usd, 0) as vendor_cost_usd,
        coalesce(usage.tasks, 0) as tasks,
        labor.human_cost_usd,
        coalesce(labor.documented_tasks, 0) as documented_tasks
    from labor
    full outer join chosen_costs as usage on usage.function = labor.function and usage.month = labor.month
),

final as (
    select
        function,
        month,
        labor_value_usd,
        agent_cost_usd,
        labor_value_usd - agent_cost_usd as net_savings_usd,
        cast($reinvestment_share as decimal(9, 6))
            * cast(greatest(labor_value_usd - agent_cost_usd, 0) as decimal(38, 10))
            as reinvestment_pool_usd,
        tasks,
        documented_tasks,
        human_cost_usd,
        usage_cost_usd,
        vendor_cost_usd
    from months
)

select * from final order by function, month
