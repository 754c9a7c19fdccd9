-- Definition: Usage in the selection per function-month over the range.
-- usage_cost_usd: sum of cost_usd of the usage in the function-month.
-- tasks: tasks run by agents in the function-month.
-- usage_tokens: input and output tokens of the usage in the function-month.
-- Grain: one row per function and month with usage.
with usage as (
    select *
    from ({usage_months_in_range})
),

final as (
    select
        function,
        month,
        sum(cost_usd) as usage_cost_usd,
        cast(sum(tasks) as bigint) as tasks,
        cast(sum(tokens) as bigint) as usage_tokens
    from usage
    group by function, month
)

select * from final
