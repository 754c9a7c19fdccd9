-- Definition: Vendor usage as counted, per day, vendor, account, model and other grouping, with the
-- month of the day counted; function, business unit and team are those the organisation mapping
-- gives the account.
select
    day,
    cast(date_trunc('month', day) as date) as month,
    vendor,
    account,
    model,
    line_item,
    input_tokens,
    cached_input_tokens,
    output_tokens,
    requests,
    function,
    business_unit,
    team
from vendor_usage
