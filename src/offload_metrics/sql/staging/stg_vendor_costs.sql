-- Definition: Vendor costs as billed, per day, vendor, account, line item and model, with the
-- month of the day billed; function, business unit and team are those the organisation mapping
-- gives the account.
select
    day,
    cast(date_trunc('month', day) as date) as month,
    vendor,
    account,
    line_item,
    model,
    amount_usd,
    function,
    business_unit,
    team
from vendor_costs
