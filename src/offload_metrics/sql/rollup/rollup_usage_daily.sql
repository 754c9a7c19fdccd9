-- Definition: Usage_daily rolls the usage log up per day x function x business unit x team x agent x
-- task type, so that no page scans raw events. Each load appends the rollup of its own accepted rows inside its
-- transaction; a key may therefore have one row per load, and every reader sums over the key. The
-- sum over usage_daily always equals the same aggregate over all of usage_events. Plain INSERT ...
-- SELECT ... GROUP BY, so the same statement runs in the warehouse where raw events live.
-- A query: the load inserts its rows into usage_daily, and unloading the load
-- inserts their negation.
-- Parameters: load_id
with load_rows as (
    select *
    from usage_events
    where load_id = $load_id
),

final as (
    select
        cast(occurred_at as date) as day,
        function,
        business_unit,
        team,
        agent_id,
        task_type,
        count(*) as tasks,
        count(*) filter (where status = 'completed') as completed,
        count(*) filter (where status = 'escalated') as escalated,
        count(*) filter (where status = 'failed') as failed,
        count(*) filter (where review = 'correct') as correct,
        count(*) filter (where review = 'incorrect') as incorrect,
        sum(api_calls) as api_calls,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
        sum(cost_usd) as cost_usd,
        coalesce(sum(latency_ms), 0) as latency_ms_sum,
        count(latency_ms) as latency_count,
        coalesce(sum(estimated_cost_usd), 0) as estimated_cost_usd
    from load_rows
    group by 1, 2, 3, 4, 5, 6
)

select * from final
