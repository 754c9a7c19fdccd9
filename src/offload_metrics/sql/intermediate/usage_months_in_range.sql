-- Definition: The usage in the selection over the days from date_from to date_to, per month x
-- function x business unit x team x agent x task type: a month the range covers whole comes from
-- the monthly rollup, the days of a month it covers in part from the daily one, so every sum equals
-- the sum over the range's days. A key can hold several rows; every reader sums over it. A constant
-- organisation column groups the whole selection.
-- Parameters: business_units, date_from, date_to, functions, whole_months_from, whole_months_until
with whole_months as (
    select * exclude (first_day)
    from stg_usage_monthly
    where month >= $whole_months_from and month < $whole_months_until
),

part_months as (
    select * exclude (day)
    from stg_usage_daily
    where day between $date_from and $date_to
        and (day < $whole_months_from or day >= $whole_months_until)
),

final as (
    select *, 'organisation' as organisation
    from (select * from whole_months union all by name select * from part_months)
    where chosen($functions, function)
        and chosen($business_units, business_unit)
)

select * from final
