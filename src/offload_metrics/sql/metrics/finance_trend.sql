-- Definition: Finance of the organisation per month over the range, with the pool as it builds up.
-- Definition, in words: The organisation's savings, cost and reinvestment pool month by month.
-- labor_value_usd: labor value of the month, summed over functions.
-- agent_cost_usd: agent cost of the month, summed over functions.
-- usage_cost_usd: usage-log cost of the month, summed over functions.
-- vendor_cost_usd: assigned vendor cost of the month, summed over functions.
-- net_savings_usd: net savings of the month, summed over functions.
-- reinvestment_pool_usd: the pools of the month's function-months, summed (as in finance.sql).
-- reinvestment_pool_usd, in words: What the month adds to the reinvestment pool.
-- cumulative_pool_usd: the reinvestment pool earmarked from the start of the range to the month.
-- cumulative_pool_usd, in words: The money set aside to reinvest so far in the chosen months:
--   {reinvestment_share} of each month's positive net savings, added up.
-- Grain: one row per month with time savings, usage or vendor cost.
with months as (
    select
        month,
        sum(labor_value_usd) as labor_value_usd,
        sum(agent_cost_usd) as agent_cost_usd,
        sum(net_savings_usd) as net_savings_usd,
        sum(reinvestment_pool_usd) as reinvestment_pool_usd,
        sum(usage_cost_usd) as usage_cost_usd,
        sum(vendor_cost_usd) as vendor_cost_usd
    from ({finance})
    group by month
),

final as (
    select
        *,
        sum(reinvestment_pool_usd) over (order by month rows between unbounded preceding and current row)
            as cumulative_pool_usd
    from months
)

select * from final order by month
