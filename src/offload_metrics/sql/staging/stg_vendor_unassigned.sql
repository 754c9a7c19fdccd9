-- Definition: Vendor cost rows that no mapping rule assigns: the rows rejected for their account
-- (no rule maps it, or the report names none) whose day and amount are readable, one per day,
-- vendor, account, line item and model (the latest load's), leaving out those that a later load
-- stored once the mapping covered them.
with rejected as (
    select
        rejected_rows.load_id,
        try_cast(json_extract_string(rejected_rows.raw, '$.day') as date) as day,
        json_extract_string(rejected_rows.raw, '$.vendor') as vendor,
        json_extract_string(rejected_rows.raw, '$.account') as account,
        json_extract_string(rejected_rows.raw, '$.line_item') as line_item,
        json_extract_string(rejected_rows.raw, '$.model') as model,
        try_cast(json_extract_string(rejected_rows.raw, '$.amount_usd') as decimal(18, 8)) as amount_usd
    from rejected_rows
    join loads on loads.load_id = rejected_rows.load_id
    where loads.kind = 'vendor_costs'
        and rejected_rows.outcome = 'rejected'
        and rejected_rows.column_name = 'account'
),

latest as (
    select day, vendor, account, line_item, model, arg_max(amount_usd, load_id) as amount_usd, max(load_id) as load_id
    from rejected
    where day is not null and amount_usd is not null
    group by day, vendor, account, line_item, model
),

final as (
    select
        latest.day,
        cast(date_trunc('month', latest.day) as date) as month,
        latest.vendor,
        latest.account,
        latest.line_item,
        latest.model,
        latest.amount_usd,
        latest.load_id
    from latest
    where not exists (
        select 1
        from vendor_costs as stored
        where stored.day = latest.day
            and stored.vendor = latest.vendor
            and stored.account is not distinct from latest.account
            and stored.line_item is not distinct from latest.line_item
            and stored.model is not distinct from latest.model
    )
)

select * from final
