-- Definition: The agent catalog for replication: every catalogued agent with its validation,
-- gate, replications and Net Output proof.
-- Definition, in words: The agents worth copying: validated by a pilot team, with their proof and their
--   recipe.
-- hours_saved: documented hours the agent saved over the range (the Net Output proof).
-- hours_saved, in words: The hours the agent saved in the chosen months: its proof.
-- teams: distinct teams that documented savings with the agent over the range.
-- teams, in words: How many teams documented savings with the agent.
-- pilot_team: the team named on the agent's first validated event (null when it names none).
-- pilot_team, in words: The team that validated the agent.
-- pilot_hours_saved: documented hours the agent saved in its pilot team over the range.
-- pilot_hours_saved, in words: The hours the agent saved the team that validated it, in the chosen
--   months.
-- pilot_months: months in the range in which the pilot team documented savings with the agent.
-- pilot_best_uplift: the pilot team's highest Net Output uplift among those months (all the team's
--   agents together); pilot_best_month is that month (the earliest of equal ones).
-- pilot_best_uplift, in words: The most capacity the pilot team got back in a month it used the
--   agent: the proof that the same people did more.
-- pilot_best_month_outcome: validated, else why that month is not validated Net Output: grown_headcount
--   (more people than the baseline), no_baseline (no baseline headcount), below_uplift.
-- pilot_validated_months: months with the agent in which the pilot team has validated Net Output.
-- pilot_validated_months, in words: Months with the agent in which the pilot team got at least
--   {validation_uplift} more capacity without adding people.
-- units_without_deployment: replication_undeployed.sql's count for a validated agent (0 when it
--   has none).
-- units_without_deployment, in words: Other business units that use the agent without a recorded
--   deployment: Replication Velocity does not count them.
-- is_validated: the agent has a validated event up to as_of (within the filters).
-- is_in_catalog: the agent has an accepted catalog row; a validated agent without one is still listed
--   (its name and blueprint null), so every count of validated agents agrees.
-- is_in_catalog, in words: Whether the agent has an accepted row in the agent catalog.
-- Grain: one row per agent in the catalog or with a validated event.
-- Parameters: business_units, functions
with catalog as (
    select * from stg_agents
    where chosen($functions, owner_function)
        and chosen($business_units, owner_business_unit)
),

agents as (
    select * from ({agents})
),

replication as (
    select * from ({replication})
),

hours as (
    select * from ({hours_by_agent})
),

pilots as (
    select agent_id, pilot_unit, pilot_team from ({replication_validations})
),

pilot_months as (
    select pilots.agent_id, pilots.pilot_unit, pilots.pilot_team, saved.month, sum(saved.hours_saved) as hours_saved
    from pilots
    inner join ({time_saved_in_range}) as saved
        on saved.agent_id = pilots.agent_id
        and saved.business_unit = pilots.pilot_unit
        and saved.team = pilots.pilot_team
    group by all
),

pilot_hours as (
    select agent_id, sum(hours_saved) as pilot_hours_saved, count(distinct month) as pilot_months
    from pilot_months
    group by agent_id
),

pilot_output as (
    select
        pilot_months.agent_id,
        -- The best month: the highest uplift, the earliest of equal ones.
        arg_max(
            {
                'uplift': output.net_output_uplift,
                'month': output.month,
                'outcome': case
                    when output.has_validated_net_output then 'validated'
                    when output.has_grown_headcount then 'grown_headcount'
                    when output.baseline_headcount is null then 'no_baseline'
                    else 'below_uplift'
                end
            },
            (output.net_output_uplift, -epoch(output.month))
        ) filter (where output.net_output_uplift is not null) as best,
        count(distinct output.month) filter (where output.has_validated_net_output) as pilot_validated_months
    from pilot_months
    inner join ({net_output}) as output
        on output.business_unit = pilot_months.pilot_unit
        and output.team = pilot_months.pilot_team
        and output.month = pilot_months.month
    group by pilot_months.agent_id
),

undeployed as (
    select agent_id, units_without_deployment from ({replication_undeployed})
),

listed as (
    select agent_id from catalog
    union
    select agent_id from replication
),

final as (
    select
        listed.agent_id,
        catalog.name,
        catalog.description,
        coalesce(replication.function, catalog.owner_function) as function,
        catalog.owner_business_unit,
        catalog.owner_team,
        catalog.risk_class,
        catalog.blueprint,
        catalog.created_on,
        catalog.seeding_strategy,
        catalog.source,
        replication.validated_on,
        replication.pilot_unit,
        replication.first_replicated_on,
        replication.replications,
        agents.gate,
        agents.accuracy,
        agents.automation,
        coalesce(hours.hours_saved, 0) as hours_saved,
        coalesce(hours.teams, 0) as teams,
        pilots.pilot_team,
        case when pilots.pilot_team is not null then coalesce(pilot_hours.pilot_hours_saved, 0) end
            as pilot_hours_saved,
        case when pilots.pilot_team is not null then coalesce(pilot_hours.pilot_months, 0) end as pilot_months,
        pilot_output.best.uplift as pilot_best_uplift,
        pilot_output.best.month as pilot_best_month,
        pilot_output.best.outcome as pilot_best_month_outcome,
        case when pilots.pilot_team is not null then coalesce(pilot_output.pilot_validated_months, 0) end
            as pilot_validated_months,
        case when replication.validated_on is not null then coalesce(undeployed.units_without_deployment, 0) end
            as units_without_deployment,
        replication.validated_on is not null as is_validated,
        catalog.agent_id is not null as is_in_catalog,
        replication.is_in_range as is_validated_in_range
    from listed
    left join catalog on catalog.agent_id = listed.agent_id
    left join replication on replication.agent_id = listed.agent_id
    left join agents on agents.agent_id = listed.agent_id
    left join hours on hours.agent_id = listed.agent_id
    left join pilots on pilots.agent_id = listed.agent_id
    left join pilot_hours on pilot_hours.agent_id = listed.agent_id
    left join pilot_output on pilot_output.agent_id = listed.agent_id
    left join undeployed on undeployed.agent_id = listed.agent_id
)

select * from final order by is_validated desc, function, name, agent_id
