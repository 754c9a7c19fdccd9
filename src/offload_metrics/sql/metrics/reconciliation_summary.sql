-- Definition: The reconciliation at a coarser grain (function, month or the organisation),
-- summing the function-months, with the vendor cost no rule assigns beside it.
-- usage_cost_usd: sum of the usage-log cost.
-- vendor_cost_usd: sum of the vendor cost assigned to functions.
-- vendor_cost_usd, in words: What the vendors billed for the accounts the organisation mapping
--   assigns to functions.
-- difference_usd: vendor_cost_usd - usage_cost_usd.
-- difference_usd, in words: What the vendors billed minus what the usage log records; above zero,
--   the log misses some cost.
-- difference_share: difference_usd / vendor_cost_usd; null when the vendor cost is 0.
-- unassigned_vendor_cost_usd: vendor cost no mapping rule assigns; it belongs to no function, so by
--   function it is a row of its own with no function (shown as unassigned).
-- unassigned_vendor_cost_usd, in words: What the vendors billed for accounts no mapping rule
--   assigns: it belongs to no function.
-- billed_usd: vendor_cost_usd + unassigned_vendor_cost_usd, what the vendors billed in all.
-- usage_tokens: sum of the usage log's input and output tokens.
-- vendor_tokens: sum of the input and output tokens the vendors counted for assigned accounts.
with function_months as (
    select *, 'organisation' as organisation
    from ({reconciliation})
),

unassigned as (
    select month, 'organisation' as organisation, sum(unassigned_vendor_cost_usd) as unassigned_vendor_cost_usd
    from ({vendor_unassigned})
    group by month
),

assigned as (
    select
        {dimensions},
        sum(usage_cost_usd) as usage_cost_usd,
        sum(vendor_cost_usd) as vendor_cost_usd,
        cast(sum(usage_tokens) as bigint) as usage_tokens,
        cast(sum(vendor_tokens) as bigint) as vendor_tokens
    from function_months
    group by {dimensions}
),

unassigned_grouped as (
    select {dimensions}, sum(unassigned_vendor_cost_usd) as unassigned_vendor_cost_usd
    from (select *, NULL::VARCHAR as function from unassigned)
    group by {dimensions}
),

final as (
    select
        {dimensions},
        coalesce(assigned.usage_cost_usd, 0) as usage_cost_usd,
        coalesce(assigned.vendor_cost_usd, 0) as vendor_cost_usd,
        coalesce(assigned.vendor_cost_usd, 0) - coalesce(assigned.usage_cost_usd, 0) as difference_usd,
        (coalesce(assigned.vendor_cost_usd, 0) - coalesce(assigned.usage_cost_usd, 0))
            / nullif(coalesce(assigned.vendor_cost_usd, 0), 0) as difference_share,
        unassigned_grouped.unassigned_vendor_cost_usd,
        coalesce(assigned.vendor_cost_usd, 0) + coalesce(unassigned_grouped.unassigned_vendor_cost_usd, 0)
            as billed_usd,
        coalesce(assigned.usage_tokens, 0) as usage_tokens,
        coalesce(assigned.vendor_tokens, 0) as vendor_tokens
    from assigned
    full outer join unassigned_grouped using ({dimensions})
)

select * from final order by {dimensions}
