-- Definition: Each agent's first validated event up to as_of, whose function and business unit
-- pass the filters; ties on a day go to the smaller event_id.
-- validated_on: date of the agent's first validated event.
-- pilot_unit: business_unit of that event.
-- pilot_team: team of that event (the pilot team), null when the event names none.
-- Grain: one row per validated agent.
-- Parameters: as_of, business_units, functions
with events as (
    select *
    from stg_replication_events
    where occurred_on <= $as_of
        and event_type = 'validated'
),

ordered as (
    select *, row_number() over (partition by agent_id order by occurred_on, event_id) as position
    from events
),

final as (
    select agent_id, occurred_on as validated_on, business_unit as pilot_unit, team as pilot_team, function
    from ordered
    where position = 1
        and chosen($functions, function)
        and chosen($business_units, business_unit)
)

select * from final
