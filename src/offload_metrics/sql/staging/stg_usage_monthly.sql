-- Definition: Usage per month x function x business unit x team x agent x task type, read from the
-- monthly rollup each load maintains beside usage_daily (the same sums; a key can hold one row per
-- load, and every reader sums over it), with tokens as in stg_usage_daily, and each row's first_day:
-- the least day of the usage_daily rows it sums.
select * exclude (input_tokens, output_tokens), input_tokens + output_tokens as tokens
from usage_monthly
