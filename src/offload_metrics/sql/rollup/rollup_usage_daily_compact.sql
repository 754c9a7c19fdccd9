-- Definition: Compaction folds the per-load rows of usage_daily into one row per key, without
-- changing any sum. Runs inside a load's transaction when the rollup has grown to twice the rows it
-- had after the last compaction.
create or replace temp table usage_daily_compacted as
with final as (
    select
        day,
        function,
        business_unit,
        team,
        agent_id,
        task_type,
        sum(tasks) as tasks,
        sum(completed) as completed,
        sum(escalated) as escalated,
        sum(failed) as failed,
        sum(correct) as correct,
        sum(incorrect) as incorrect,
        sum(api_calls) as api_calls,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
        sum(cost_usd) as cost_usd,
        sum(latency_ms_sum) as latency_ms_sum,
        sum(latency_count) as latency_count,
        sum(estimated_cost_usd) as estimated_cost_usd
    from usage_daily
    group by day, function, business_unit, team, agent_id, task_type
)

select * from final
