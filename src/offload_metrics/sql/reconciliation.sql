-- Definition: Agent cost from the usage log against agent cost from the vendors' cost reports, per
-- function-month over the range (vendor cost by the day billed, assigned to a function by the
-- organisation mapping). Money stays DECIMAL.
-- usage_cost_usd: sum of cost_usd of the usage in the function-month.
-- vendor_cost_usd: sum of the vendor cost rows the mapping assigns to the function in the month.
-- difference_usd: vendor_cost_usd - usage_cost_usd (positive: the vendors billed more than the
--   usage log records).
-- difference_share: difference_usd / vendor_cost_usd; null when the vendor cost is 0.
-- Grain: one row per function and month with usage or vendor cost.
with usage as (
    select function, month, sum(cost_usd) as usage_cost_usd
    from ({usage_selected})
    where day between $date_from and $date_to
    group by function, month
),

vendor as (
    select function, month, sum(amount_usd) as vendor_cost_usd
    from ({vendor_costs_selected})
    where day between $date_from and $date_to
    group by function, month
),

months as (
    select
        coalesce(usage.function, vendor.function) as function,
        coalesce(usage.month, vendor.month) as month,
        coalesce(usage.usage_cost_usd, 0) as usage_cost_usd,
        coalesce(vendor.vendor_cost_usd, 0) as vendor_cost_usd
    from usage
    full outer join vendor on vendor.function = usage.function and vendor.month = usage.month
),

final as (
    select
        function,
        month,
        usage_cost_usd,
        vendor_cost_usd,
        vendor_cost_usd - usage_cost_usd as difference_usd,
        (vendor_cost_usd - usage_cost_usd) / nullif(vendor_cost_usd, 0) as difference_share
    from months
)

select * from final order by function, month
