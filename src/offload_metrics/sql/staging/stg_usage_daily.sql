-- Definition: Usage per day x function x business unit x team x agent x task type, read from the
-- rollup that each load maintains (a key can hold one row per load; every reader sums over it).
select
    day,
    cast(date_trunc('month', day) as date) as month,
    function,
    business_unit,
    team,
    agent_id,
    task_type,
    tasks,
    completed,
    escalated,
    failed,
    correct,
    incorrect,
    api_calls,
    input_tokens + output_tokens as tokens,
    cost_usd,
    latency_ms_sum,
    latency_count,
    estimated_cost_usd
from usage_daily
