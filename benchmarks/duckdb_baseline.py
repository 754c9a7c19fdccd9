"""Hand-written DuckDB SQL for three metric families, a baseline for the engine benchmark.

What an analyst who knows DuckDB would write: the inputs copied once into plain tables of a
database file (`CREATE TABLE ... AS SELECT * FROM read_parquet(...)` / `read_csv(...)`, nothing
else), then one query per table — usage per function, the performance gates, Net Output per
team-month — with the same definitions as the engine (docs/metrics.md), so the benchmark compares
time on equal results. It deliberately shares no code with offload_metrics or the other baselines.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd

USAGE_SQL = """
select
    function,
    count(*) as tasks,
    sum(coalesce(api_calls, 0)) as api_calls,
    sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0)) as tokens,
    sum(coalesce(cost_usd, 0)) as agent_cost_usd,
    count(distinct agent_id) as active_agents,
    count(*) filter (where status = 'escalated') / count(*) as escalation_rate,
    count(*) filter (where status = 'failed') / count(*) as failure_rate
from usage_events
where occurred_at >= $start and occurred_at < $end
group by function
order by function
"""

GATES_SQL = """
-- count(*) filter, not count_if: count_if over an agent's reviews, all missing, is NULL rather than 0.
with agents as (
    select
        agent_id,
        count(*) as tasks,
        count(*) filter (where status = 'completed') as completed,
        count(*) filter (where review = 'correct') as correct,
        count(*) filter (where review in ('correct', 'incorrect')) as reviewed
    from usage_events
    where occurred_at >= $start and occurred_at < $end
    group by agent_id
),

rated as (
    select agent_id, tasks, reviewed, correct / nullif(reviewed, 0) as accuracy, completed / tasks as automation
    from agents
)

select
    *,
    case
        when tasks < $min_tasks or reviewed < $min_reviewed then 'insufficient_data'
        when accuracy >= $min_accuracy and automation >= $min_automation then 'pass'
        else 'fail'
    end as gate
from rated
order by agent_id
"""

NET_OUTPUT_SQL = """
with team_months as (
    select
        function, business_unit, team,
        cast(date_trunc('month', period_start) as DATE) as month,
        sum(tasks * baseline_minutes_per_task / 60) as delegated_hours,
        sum(tasks * (baseline_minutes_per_task - minutes_per_task) / 60) as hours_saved,
        max(headcount) as reported_headcount
    from time_saved
    where period_start between $date_from and $date_to
    group by all
),

staffed as (
    select
        t.*,
        coalesce(t.reported_headcount, b.headcount) as headcount,
        b.headcount as baseline_headcount
    from team_months as t
    left join org_baseline as b on b.business_unit = t.business_unit and b.team = t.team
)

select
    function, business_unit, team, month, delegated_hours, hours_saved, headcount,
    headcount * $hours_per_fte_month as capacity_hours,
    hours_saved / (headcount * $hours_per_fte_month) as net_output_uplift,
    -- Without a baseline the comparisons are null, which both flags read as false.
    coalesce(hours_saved / (headcount * $hours_per_fte_month) >= $validation_uplift
             and headcount <= baseline_headcount, false) as has_validated_net_output,
    coalesce(headcount > baseline_headcount, false) as has_grown_headcount
from staffed
order by function, business_unit, team, month
"""


def connect(db: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection whose dates are UTC dates (the engine's days are UTC days)."""
    conn = duckdb.connect(str(db), read_only=read_only)
    conn.execute("SET TimeZone = 'UTC'")
    return conn


def build(
    db: str | Path, usage_file: str | Path, time_saved_csv: str | Path, baseline_csv: str | Path
) -> None:
    """The database file: each input copied as it is into a plain table."""
    usage_reader = "read_parquet" if str(usage_file).endswith(".parquet") else "read_csv"
    with connect(db) as conn:
        conn.execute(
            f"create or replace table usage_events as select * from {usage_reader}(?)", [str(usage_file)]
        )
        # Time saved often leaves headcount empty in every row, which would read as text.
        conn.execute(
            "create or replace table time_saved as select * from read_csv(?, types = {'headcount': 'BIGINT'})",
            [str(time_saved_csv)],
        )
        conn.execute("create or replace table org_baseline as select * from read_csv(?)", [str(baseline_csv)])


def _instants(first: dt.date, last: dt.date) -> dict[str, dt.datetime]:
    """The UTC days first..last as a half-open range of instants."""
    return {
        "start": dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC),
        "end": dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC),
    }


def usage_by_function(conn: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date) -> pd.DataFrame:
    """Tasks, API calls, tokens, cost, active agents and rates per function over [date_from, date_to]."""
    return conn.execute(USAGE_SQL, _instants(date_from, date_to)).df()


def gates(
    conn: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    window_days: int = 90,
    min_tasks: int = 50,
    min_reviewed: int = 20,
    min_accuracy: float = 0.80,
    min_automation: float = 0.90,
) -> pd.DataFrame:
    """Per agent with usage in the window_days days ending at as_of: tasks, accuracy, automation, gate."""
    first = as_of - dt.timedelta(days=window_days - 1)
    thresholds = {
        "min_tasks": min_tasks,
        "min_reviewed": min_reviewed,
        "min_accuracy": min_accuracy,
        "min_automation": min_automation,
    }
    return conn.execute(GATES_SQL, _instants(first, as_of) | thresholds).df()


def net_output_teams(
    conn: duckdb.DuckDBPyConnection,
    date_from: dt.date,
    date_to: dt.date,
    hours_per_fte_month: float = 160,
    validation_uplift: float = 0.30,
) -> pd.DataFrame:
    """Per team-month with time savings starting in [date_from, date_to]: hours, capacity, uplift."""
    parameters = {
        "date_from": date_from,
        "date_to": date_to,
        "hours_per_fte_month": hours_per_fte_month,
        "validation_uplift": validation_uplift,
    }
    return conn.execute(NET_OUTPUT_SQL, parameters).df()


def tables(
    conn: duckdb.DuckDBPyConnection, as_of: dt.date, date_from: dt.date, date_to: dt.date
) -> dict[str, pd.DataFrame]:
    """The three tables on an open connection to a database file that build() wrote."""
    return {
        "usage": usage_by_function(conn, date_from, date_to),
        "gates": gates(conn, as_of),
        "net_output": net_output_teams(conn, date_from, date_to),
    }


def report(db: str | Path, as_of: dt.date, date_from: dt.date, date_to: dt.date) -> dict[str, pd.DataFrame]:
    """Open the database file that build() wrote and compute the three tables."""
    with connect(db, read_only=True) as conn:
        return tables(conn, as_of, date_from, date_to)
