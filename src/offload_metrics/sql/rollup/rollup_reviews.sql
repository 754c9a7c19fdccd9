-- Definition: Reviews that arrive apart from their events (a Langfuse scores file, loaded before or
-- after the observations) change the correct and incorrect counts in usage_daily. For every event a
-- load touches (its own events, or the events its reviews name), the review that holds is the
-- latest review naming the event, else the latest naming its trace, else the event's own review;
-- the rollup gets the difference between that and the review it counted before the load, on the
-- event's day, function, business unit, team, agent and task type.
-- Parameters: load_id
create or replace temp table _review_changes as
with event_links as (
    select e.event_id, r.review, r.reviewed_at, r.review_id, r.load_id, 1 as specificity
    from reviews as r
    join usage_events as e on e.event_id = r.event_id
),

trace_links as (
    select e.event_id, r.review, r.reviewed_at, r.review_id, r.load_id, 2 as specificity
    from reviews as r
    join usage_events as e on e.trace_id = r.trace_id
    where r.event_id is null or r.event_id not in (select event_id from usage_events)
),

links as (
    select * from event_links
    union all
    select * from trace_links
),

holding as (
    select event_id, arg_min(review, (specificity, -epoch_us(reviewed_at), review_id)) as review
    from links
    group by event_id
),

touched as (
    select event_id from links where load_id = $load_id
    union
    select event_id from usage_events where load_id = $load_id
),

counted as (
    select event_id, arg_max(review, load_id) as review
    from reviews_counted
    group by event_id
),

final as (
    select
        e.event_id,
        cast(e.occurred_at as date) as day,
        e.function,
        e.business_unit,
        e.team,
        e.agent_id,
        e.task_type,
        coalesce(c.review, cast(e.review as VARCHAR)) as review_before,
        cast(h.review as VARCHAR) as review_after
    from touched as t
    join usage_events as e on e.event_id = t.event_id
    join holding as h on h.event_id = t.event_id
    left join counted as c on c.event_id = t.event_id
    where coalesce(c.review, cast(e.review as VARCHAR)) is distinct from cast(h.review as VARCHAR)
)

select * from final
