-- Definition: Vendor cost in the selection per function-month over the range (by the day billed,
-- assigned to a function by the organisation mapping).
-- vendor_cost_usd: sum of the vendor cost rows the mapping assigns to the function in the month.
-- Grain: one row per function and month with vendor cost.
-- Parameters: date_from, date_to
with vendor as (
    select *
    from ({vendor_costs_selected})
    where day between $date_from and $date_to
),

final as (
    select function, month, sum(amount_usd) as vendor_cost_usd
    from vendor
    group by function, month
)

select * from final
