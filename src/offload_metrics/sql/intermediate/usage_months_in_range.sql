-- Definition: The usage in the selection over the days from date_from to date_to, per month x
-- function x business unit x team x agent x task type: a month the range covers whole comes from
-- the monthly rollup, the days of a month it covers in part from the daily one, so every sum equals
-- the sum over the range's days. A key can hold several rows; every reader sums over it. A constant
-- organisation column groups the whole selection.
-- Parameters: business_units, date_from, date_to, functions
with bounds as (
    select
        case
            when $date_from = cast(date_trunc('month', $date_from) as date) then cast($date_from as date)
            else cast(date_trunc('month', $date_from) + interval 1 month as date)
        end as first_whole_month,
        cast(date_trunc('month', $date_to + interval 1 day) - interval 1 month as date) as last_whole_month
),

whole_months as (
    select monthly.*
    from stg_usage_monthly as monthly, bounds
    where monthly.month between bounds.first_whole_month and bounds.last_whole_month
),

part_months as (
    select daily.* exclude (day)
    from stg_usage_daily as daily, bounds
    where daily.day between $date_from and $date_to
        and (daily.day < bounds.first_whole_month or daily.day >= bounds.last_whole_month + interval 1 month)
),

final as (
    select *, 'organisation' as organisation
    from (select * from whole_months union all by name select * from part_months)
    where chosen($functions, function)
        and chosen($business_units, business_unit)
)

select * from final
