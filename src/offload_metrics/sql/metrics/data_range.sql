-- Definition: The dates the loaded data spans: first_date is the earliest, last_date the latest
-- date in usage (UTC day), time saved (period_start, period_end), replication events and
-- collaboration (period_start, period_end; a Viva Insights row's MetricDate), so a network loaded
-- before any agent has a range. The
-- report's as_of defaults to last_date, its range to [first_date, as_of].
with dates as (
    select min(day) as first_date, max(day) as last_date from usage_daily
    union all
    select min(period_start), max(period_end) from time_saved
    union all
    select min(occurred_on), max(occurred_on) from replication_events
    union all
    select min(period_start), max(period_end) from collaboration
    union all
    select min(metric_date), max(metric_date) from viva_collaboration
),

final as (
    select min(first_date) as first_date, max(last_date) as last_date
    from dates
)

select * from final
