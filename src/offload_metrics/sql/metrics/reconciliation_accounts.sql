-- Definition: Vendor cost per vendor account over the range, with the function, business unit and
-- team the organisation mapping assigns the account to, and the usage-log cost of that unit.
-- vendor_cost_usd: sum of the account's vendor cost in the range, assigned or not.
-- is_unassigned: no mapping rule maps the account; its rows were rejected, and their amounts count
--   here so that the accounts add up to what the vendors billed.
-- assigned_to: function / business unit / team the mapping gives the account, or unassigned.
-- unit_vendor_cost_usd: vendor cost of every account the mapping assigns to the same function,
--   business unit and team.
-- unit_usage_cost_usd: usage-log cost of that unit (its team, or the whole business unit when the
--   rule names no team).
-- difference_usd: unit_vendor_cost_usd - unit_usage_cost_usd.
-- difference_share: difference_usd / unit_vendor_cost_usd; null when that is 0.
-- Grain: one row per vendor and account with cost in the range.
-- Parameters: date_from, date_to
with assigned as (
    select vendor, account, function, business_unit, team, sum(amount_usd) as vendor_cost_usd
    from ({vendor_costs_selected})
    where day between $date_from and $date_to
    group by vendor, account, function, business_unit, team
),

units as (
    select function, business_unit, team, sum(vendor_cost_usd) as unit_vendor_cost_usd
    from assigned
    group by function, business_unit, team
),

unit_usage as (
    select
        units.function,
        units.business_unit,
        units.team,
        coalesce(sum(usage.cost_usd), 0) as unit_usage_cost_usd
    from units
    left join ({usage_months_in_range}) as usage
        on usage.function = units.function
        and usage.business_unit = units.business_unit
        and (units.team is null or usage.team = units.team)
    group by units.function, units.business_unit, units.team
),

unassigned as (
    select vendor, account, sum(unassigned_vendor_cost_usd) as vendor_cost_usd
    from ({vendor_unassigned})
    group by vendor, account
),

final as (
    select
        assigned.vendor,
        assigned.account,
        assigned.function,
        assigned.business_unit,
        assigned.team,
        assigned.vendor_cost_usd,
        false as is_unassigned,
        assigned.function || ' / ' || assigned.business_unit || coalesce(' / ' || assigned.team, '') as assigned_to,
        units.unit_vendor_cost_usd,
        unit_usage.unit_usage_cost_usd,
        units.unit_vendor_cost_usd - unit_usage.unit_usage_cost_usd as difference_usd,
        (units.unit_vendor_cost_usd - unit_usage.unit_usage_cost_usd) / nullif(units.unit_vendor_cost_usd, 0)
            as difference_share
    from assigned
    join units
        on units.function = assigned.function
        and units.business_unit = assigned.business_unit
        and units.team is not distinct from assigned.team
    join unit_usage
        on unit_usage.function = assigned.function
        and unit_usage.business_unit = assigned.business_unit
        and unit_usage.team is not distinct from assigned.team
    union all
    select
        vendor,
        account,
        NULL::VARCHAR as function,
        NULL::VARCHAR as business_unit,
        NULL::VARCHAR as team,
        vendor_cost_usd,
        true as is_unassigned,
        'unassigned' as assigned_to,
        NULL::DECIMAL(38, 8) as unit_vendor_cost_usd,
        NULL::DECIMAL(38, 8) as unit_usage_cost_usd,
        NULL::DECIMAL(38, 8) as difference_usd,
        NULL::DOUBLE as difference_share
    from unassigned
)

select * from final order by is_unassigned, vendor, account, function, business_unit, team
