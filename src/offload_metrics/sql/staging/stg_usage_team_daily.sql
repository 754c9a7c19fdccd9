-- Definition: Usage per day x function x business unit x team, summed over agents and task types,
-- read from the team-day rollup each load maintains beside usage_daily (the same sums, a seventh of
-- the rows on realistic data); for the metrics that need neither agent nor task type.
select
    day,
    cast(date_trunc('month', day) as date) as month,
    function,
    business_unit,
    team,
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
from usage_team_daily
