-- Definition: Every agent with usage in [from, to], usage in the gate window, or a validated event
-- in [from, to], with its gate (over the gate window), its replication and its catalog entry. An
-- agent failing the gate is listed whatever the range, so the cull list is the gate's.
-- Definition, in words: Every agent that ran or was validated in the chosen months, with its gate over
--   the last {window_days} days.
-- function: the function of the agent's first validated event, else its catalog owner_function,
--   else the function where it ran the most tasks up to as_of.
-- range_tasks: tasks the agent ran in [from, to].
-- range_tasks, in words: Tasks the agent ran in the chosen months.
-- Grain: one row per agent.
-- Parameters: as_of, business_units, date_from, date_to, functions
with gates as (
    select * from ({gates})
),

replication as (
    select * from ({replication})
),

-- The usage up to as_of: a month that as_of, from or to does not cut comes whole from the monthly
-- rollup (in the range or not as a whole), the days of the others from the daily one, so the sums
-- are the days' sums.
usage_up_to_as_of as (
    select agent_id, function, tasks, month >= $date_from and last_day(month) <= $date_to as is_in_range
    from stg_usage_monthly
    where last_day(month) <= $as_of
        and not (month < $date_from and last_day(month) >= $date_from)
        and not (month <= $date_to and last_day(month) > $date_to)
        and chosen($functions, function)
        and chosen($business_units, business_unit)
    union all
    select agent_id, function, tasks, day between $date_from and $date_to as is_in_range
    from ({usage_selected})
    where day <= $as_of
        -- The months as_of, from and to cut, said of the day itself, so that only the row groups
        -- holding their days are read (usage_daily is stored by day).
        and (
            (day >= cast(date_trunc('month', cast($as_of as date)) as date) and last_day(cast($as_of as date)) > $as_of)
            or (
                day between cast(date_trunc('month', cast($date_from as date)) as date) and last_day(cast($date_from as date))
                and day(cast($date_from as date)) > 1
            )
            or (
                day between cast(date_trunc('month', cast($date_to as date)) as date) and last_day(cast($date_to as date))
                and last_day(cast($date_to as date)) > $date_to
            )
        )
),

usage_by_function as (
    select
        agent_id,
        function,
        cast(sum(tasks) as bigint) as tasks,
        cast(coalesce(sum(tasks) filter (where is_in_range), 0) as bigint) as range_tasks
    from usage_up_to_as_of
    group by agent_id, function
),

used as (
    select
        agent_id,
        arg_max(function, (tasks, function)) as usage_function,
        cast(sum(range_tasks) as bigint) as range_tasks
    from usage_by_function
    group by agent_id
),

listed as (
    select agent_id from used where range_tasks > 0
    union
    select agent_id from gates
    union
    select agent_id from replication where is_in_range
),

final as (
    select
        listed.agent_id,
        coalesce(replication.function, catalog.owner_function, used.usage_function) as function,
        catalog.name,
        catalog.risk_class,
        catalog.owner_business_unit,
        catalog.owner_team,
        coalesce(gates.tasks, 0) as tasks,
        coalesce(gates.reviewed, 0) as reviewed,
        gates.accuracy,
        gates.automation,
        coalesce(gates.gate, 'insufficient_data') as gate,
        coalesce(used.range_tasks, 0) as range_tasks,
        replication.pilot_unit,
        replication.validated_on,
        replication.first_replicated_on,
        replication.replication_days,
        replication.replications,
        replication.waiting_days
    from listed
    left join used on used.agent_id = listed.agent_id
    left join gates on gates.agent_id = listed.agent_id
    left join replication on replication.agent_id = listed.agent_id
    left join stg_agents as catalog on catalog.agent_id = listed.agent_id
)

select * from final order by function, agent_id
