-- Definition: Savings, cost and the reinvestment pool per function-month over the range. Money
-- stays DECIMAL; it is rounded to cents only when shown.
-- labor_value_usd: hours_saved x the team's loaded_hourly_cost_usd (default_hourly_cost_usd where
--   the team has no baseline).
-- agent_cost_usd: sum of cost_usd of the usage in the month.
-- net_savings_usd: labor_value_usd - agent_cost_usd.
-- reinvestment_pool_usd: reinvestment_share x max(net_savings_usd, 0), per function-month.
-- roi: net_savings_usd / agent_cost_usd; null when the cost is 0.
-- agent_cost_per_task: agent_cost_usd / tasks run by agents.
-- human_cost_per_task: sum of tasks x baseline_minutes_per_task / 60 x rate / sum of tasks, over
--   the documented time-saved rows: what the same task costs done by a person.
-- Grain: one row per function and month with time savings or usage.
with saved as (
    select
        saved.*,
        coalesce(baseline.loaded_hourly_cost_usd, cast($default_hourly_cost_usd as decimal(18, 8))) as rate
    from stg_time_saved as saved
    left join stg_org_baseline as baseline
        on baseline.business_unit = saved.business_unit and baseline.team = saved.team
    where saved.period_start between $date_from and $date_to
        and (len($functions) = 0 or list_contains($functions, saved.function))
        and (len($business_units) = 0 or list_contains($business_units, saved.business_unit))
),

labor as (
    select
        function,
        month,
        sum(cast(hours_saved as decimal(38, 10)) * rate) as labor_value_usd,
        sum(cast(delegated_hours as decimal(38, 10)) * rate) as human_cost_usd,
        cast(sum(tasks) as bigint) as documented_tasks
    from saved
    group by function, month
),

usage as (
    select function, month, sum(cost_usd) as agent_cost_usd, cast(sum(tasks) as bigint) as tasks
    from stg_usage_daily
    where day between $date_from and $date_to
        and (len($functions) = 0 or list_contains($functions, function))
        and (len($business_units) = 0 or list_contains($business_units, business_unit))
    group by function, month
),

months as (
    select
        coalesce(labor.function, usage.function) as function,
        coalesce(labor.month, usage.month) as month,
        coalesce(labor.labor_value_usd, 0) as labor_value_usd,
        coalesce(usage.agent_cost_usd, 0) as agent_cost_usd,
        coalesce(usage.tasks, 0) as tasks,
        labor.human_cost_usd,
        coalesce(labor.documented_tasks, 0) as documented_tasks
    from labor
    full outer join usage on usage.function = labor.function and usage.month = labor.month
),

final as (
    select
        function,
        month,
        labor_value_usd,
        agent_cost_usd,
        labor_value_usd - agent_cost_usd as net_savings_usd,
        cast($reinvestment_share as decimal(9, 6)) * greatest(labor_value_usd - agent_cost_usd, 0)
            as reinvestment_pool_usd,
        tasks,
        documented_tasks,
        human_cost_usd
    from months
)

select * from final order by function, month
