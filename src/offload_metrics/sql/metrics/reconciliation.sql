-- Definition: Agent cost from the usage log against agent cost from the vendors' cost reports, per
-- function-month over the range (vendor cost by the day billed, assigned to a function by the
-- organisation mapping). Money stays DECIMAL.
-- usage_cost_usd: sum of cost_usd of the usage in the function-month.
-- vendor_cost_usd: sum of the vendor cost rows the mapping assigns to the function in the month.
-- difference_usd: vendor_cost_usd - usage_cost_usd (positive: the vendors billed more than the
--   usage log records).
-- difference_share: difference_usd / vendor_cost_usd; null when the vendor cost is 0.
-- usage_tokens: input and output tokens of the usage in the function-month.
-- vendor_tokens: input and output tokens the vendors' usage reports count for the accounts the mapping
--   assigns to the function, in the month.
-- Grain: one row per function and month with usage, vendor cost or vendor usage.
-- Parameters: business_units, date_from, date_to, functions
with usage as (
    select * from ({usage_function_months})
),

vendor as (
    select * from ({vendor_function_months})
),

vendor_usage as (
    select function, month, cast(sum(input_tokens + output_tokens) as bigint) as vendor_tokens
    from stg_vendor_usage
    where day between $date_from and $date_to
        and chosen($functions, function)
        and chosen($business_units, business_unit)
    group by function, month
),

keys as (
    select function, month from usage
    union
    select function, month from vendor
    union
    select function, month from vendor_usage
),

months as (
    select
        keys.function,
        keys.month,
        coalesce(usage.usage_cost_usd, 0) as usage_cost_usd,
        coalesce(vendor.vendor_cost_usd, 0) as vendor_cost_usd,
        coalesce(usage.usage_tokens, 0) as usage_tokens,
        coalesce(vendor_usage.vendor_tokens, 0) as vendor_tokens
    from keys
    left join usage on usage.function = keys.function and usage.month = keys.month
    left join vendor on vendor.function = keys.function and vendor.month = keys.month
    left join vendor_usage on vendor_usage.function = keys.function and vendor_usage.month = keys.month
),

final as (
    select
        function,
        month,
        usage_cost_usd,
        vendor_cost_usd,
        vendor_cost_usd - usage_cost_usd as difference_usd,
        (vendor_cost_usd - usage_cost_usd) / nullif(vendor_cost_usd, 0) as difference_share,
        usage_tokens,
        vendor_tokens
    from months
)

select * from final order by function, month
