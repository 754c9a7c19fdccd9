-- Definition: Usage per month x function x business unit x team x agent x task type, read from the
-- monthly rollup each load maintains beside usage_daily (the same sums; a key can hold one row per
-- load, and every reader sums over it).
select
    month,
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
from usage_monthly
