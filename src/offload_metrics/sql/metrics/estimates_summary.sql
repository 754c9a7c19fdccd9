-- Definition: Estimated time saved at a coarser grain (function, business unit, team, month or the
-- organisation), summing the team-months without documented savings; shown beside documented
-- hours, never added to them.
-- completed_tasks: completed usage tasks in team-months without time_saved rows.
-- estimated_tasks: of those, the tasks a baseline or the chosen preset covers.
-- estimated_hours_saved: sum of the team-months' estimates.
-- estimated_labor_value_usd: sum of the team-months' estimated labor value.
with team_months as (
    select *, 'organisation' as organisation
    from ({estimates})
),

final as (
    select
        {dimensions},
        cast(sum(completed_tasks) as bigint) as completed_tasks,
        cast(sum(estimated_tasks) as bigint) as estimated_tasks,
        sum(estimated_hours_saved) as estimated_hours_saved,
        sum(estimated_labor_value_usd) as estimated_labor_value_usd
    from team_months
    group by {dimensions}
)

select * from final order by {dimensions}
