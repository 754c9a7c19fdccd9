-- Definition: Vendor cost that no mapping rule assigns, per vendor account and month over the range
-- (by the day billed). It belongs to no function or business unit, so it counts only when no
-- function or business unit filter is set.
-- unassigned_vendor_cost_usd: sum of the unassigned rows' amounts.
-- Grain: one row per vendor, account and month with unassigned cost.
-- Parameters: business_units, date_from, date_to, functions
with final as (
    select
        vendor,
        account,
        month,
        sum(amount_usd) as unassigned_vendor_cost_usd
    from stg_vendor_unassigned
    where day between $date_from and $date_to
        and len($functions) = 0
        and len($business_units) = 0
    group by vendor, account, month
)

select * from final order by vendor, account, month
