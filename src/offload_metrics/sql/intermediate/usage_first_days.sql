-- Definition: Usage up to as_of per function x business unit x team x agent: its first day of usage
-- and its tasks. A month that ends by as_of comes from the monthly rollup (its rows' first days and
-- sums), the days of as_of's own month, when as_of cuts it, from the daily one, so both equal the
-- same figures over usage_daily's days up to as_of.
-- first_used_on: the least day of the key's usage rows up to as_of.
-- tasks: tasks the key's agent ran there up to as_of.
-- Grain: one row per function, business unit, team and agent with usage up to as_of.
-- Parameters: as_of
with up_to_as_of as (
    select function, business_unit, team, agent_id, first_day as first_used_on, tasks
    from stg_usage_monthly
    where last_day(month) <= $as_of
    union all
    select function, business_unit, team, agent_id, day as first_used_on, tasks
    from stg_usage_daily
    where day between cast(date_trunc('month', cast($as_of as date)) as date) and $as_of
        and last_day(cast($as_of as date)) > $as_of
),

final as (
    select function, business_unit, team, agent_id, min(first_used_on) as first_used_on, sum(tasks) as tasks
    from up_to_as_of
    group by all
)

select * from final
