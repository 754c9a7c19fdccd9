-- Definition: Documented time savings per agent over the range.
-- Definition, in words: Hours saved per agent, as the teams using it documented them.
-- delegated_hours: sum of tasks x baseline_minutes_per_task / 60 done by the agent.
-- hours_saved: sum of tasks x (baseline_minutes_per_task - minutes_per_task) / 60 by the agent.
-- hours_saved, in words: The hours people no longer spend because of this agent.
-- documented_tasks: tasks recorded in time-saved rows for the agent.
-- teams: distinct teams that documented savings with the agent.
-- teams, in words: How many teams documented savings with this agent.
with saved as (
    select * from ({time_saved_in_range})
),

final as (
    select
        agent_id,
        sum(delegated_hours) as delegated_hours,
        sum(hours_saved) as hours_saved,
        cast(sum(tasks) as bigint) as documented_tasks,
        count(distinct (business_unit, team)) as teams
    from saved
    group by agent_id
)

select * from final order by hours_saved desc, agent_id
