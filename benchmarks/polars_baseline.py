"""A Polars implementation of three metric families, a baseline for the engine benchmark.

It computes usage per function, the performance gates and Net Output per team-month the way a good
Polars user would: lazy scans (a typed usage Parquet file; the time-saved and baseline CSV files),
filters and group-bys planned as one query per table, all three collected together so Polars can
share the usage scan. The definitions are the engine's (docs/metrics.md), so the benchmark compares
time on equal results. It deliberately shares no code with offload_metrics or the other baselines.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

TEAM = ("function", "business_unit", "team")


def scan(
    usage_parquet: str | Path, time_saved_csv: str | Path, baseline_csv: str | Path
) -> dict[str, pl.LazyFrame]:
    """The three inputs as lazy frames. The usage file is typed Parquet (occurred_at a UTC
    timestamp, cost a decimal); the CSV files get the types of the columns used, since a column
    left empty in every row (time saved's headcount, often) would otherwise be read as text."""
    return {
        "usage": pl.scan_parquet(usage_parquet),
        "time_saved": pl.scan_csv(
            time_saved_csv,
            schema_overrides={
                "period_start": pl.Date,
                "period_end": pl.Date,
                "tasks": pl.Int64,
                "baseline_minutes_per_task": pl.Float64,
                "minutes_per_task": pl.Float64,
                "headcount": pl.Int64,
            },
        ),
        "baseline": pl.scan_csv(baseline_csv, schema_overrides={"headcount": pl.Int64}),
    }


def _on_days(first: dt.date, last: dt.date) -> pl.Expr:
    """Whether occurred_at falls on a UTC date in [first, last]: a half-open range of instants."""
    start = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return pl.col("occurred_at").is_between(start, end, closed="left")


def usage_by_function(usage: pl.LazyFrame, date_from: dt.date, date_to: dt.date) -> pl.LazyFrame:
    """Tasks, API calls, tokens, cost, active agents and rates per function over [date_from, date_to]."""
    return (
        usage.filter(_on_days(date_from, date_to))
        .group_by("function")
        .agg(
            tasks=pl.len(),
            api_calls=pl.col("api_calls").fill_null(0).sum(),
            tokens=(pl.col("input_tokens").fill_null(0) + pl.col("output_tokens").fill_null(0)).sum(),
            agent_cost_usd=pl.col("cost_usd").fill_null(0).sum(),
            active_agents=pl.col("agent_id").n_unique(),
            escalation_rate=pl.col("status").eq_missing("escalated").mean(),
            failure_rate=pl.col("status").eq_missing("failed").mean(),
        )
        .sort("function")
    )


def gates(
    usage: pl.LazyFrame,
    as_of: dt.date,
    window_days: int = 90,
    min_tasks: int = 50,
    min_reviewed: int = 20,
    min_accuracy: float = 0.80,
    min_automation: float = 0.90,
) -> pl.LazyFrame:
    """Per agent with usage in the window_days days ending at as_of: tasks, accuracy, automation, gate."""
    first = as_of - dt.timedelta(days=window_days - 1)
    tasks, reviewed = pl.col("tasks"), pl.col("reviewed")
    accuracy, automation = pl.col("accuracy"), pl.col("automation")
    return (
        usage.filter(_on_days(first, as_of))
        .group_by("agent_id")
        .agg(
            tasks=pl.len(),
            completed=pl.col("status").eq_missing("completed").sum(),
            correct=pl.col("review").eq_missing("correct").sum(),
            incorrect=pl.col("review").eq_missing("incorrect").sum(),
        )
        .with_columns(reviewed=pl.col("correct") + pl.col("incorrect"))
        .with_columns(
            # No review at all leaves accuracy missing (null), not zero.
            accuracy=pl.when(reviewed > 0).then(pl.col("correct") / reviewed),
            automation=pl.col("completed") / tasks,
        )
        .with_columns(
            gate=pl.when((tasks < min_tasks) | (reviewed < min_reviewed))
            .then(pl.lit("insufficient_data"))
            .when((accuracy >= min_accuracy) & (automation >= min_automation))
            .then(pl.lit("pass"))
            .otherwise(pl.lit("fail"))
        )
        .select("agent_id", "tasks", "reviewed", "accuracy", "automation", "gate")
        .sort("agent_id")
    )


def net_output_teams(
    time_saved: pl.LazyFrame,
    baseline: pl.LazyFrame,
    date_from: dt.date,
    date_to: dt.date,
    hours_per_fte_month: float = 160,
    validation_uplift: float = 0.30,
) -> pl.LazyFrame:
    """Per team-month with time savings starting in [date_from, date_to]: hours, capacity, uplift."""
    tasks, before, after = pl.col("tasks"), pl.col("baseline_minutes_per_task"), pl.col("minutes_per_task")
    headcount, baseline_headcount = pl.col("headcount"), pl.col("baseline_headcount")
    return (
        time_saved.filter(pl.col("period_start").is_between(date_from, date_to))
        .group_by(*TEAM, month=pl.col("period_start").dt.truncate("1mo"))
        .agg(
            delegated_hours=(tasks * before / 60).sum(),
            hours_saved=(tasks * (before - after) / 60).sum(),
            reported_headcount=pl.col("headcount").max(),
        )
        .join(
            baseline.select("business_unit", "team", baseline_headcount="headcount"),
            on=["business_unit", "team"],
            how="left",
        )
        .with_columns(headcount=pl.coalesce("reported_headcount", "baseline_headcount"))
        .with_columns(capacity_hours=headcount * hours_per_fte_month)
        .with_columns(net_output_uplift=pl.col("hours_saved") / pl.col("capacity_hours"))
        .with_columns(
            # Without a baseline the comparisons are null, which both flags read as false.
            has_validated_net_output=(
                (pl.col("net_output_uplift") >= validation_uplift) & (headcount <= baseline_headcount)
            ).fill_null(False),
            has_grown_headcount=(headcount > baseline_headcount).fill_null(False),
        )
        .select(
            *TEAM,
            "month",
            "delegated_hours",
            "hours_saved",
            "headcount",
            "capacity_hours",
            "net_output_uplift",
            "has_validated_net_output",
            "has_grown_headcount",
        )
        .sort(*TEAM, "month")
    )


def report(
    usage_parquet: str | Path,
    time_saved_csv: str | Path,
    baseline_csv: str | Path,
    as_of: dt.date,
    date_from: dt.date,
    date_to: dt.date,
) -> dict[str, pl.DataFrame]:
    """Scan the inputs and compute the three tables in one collect: what the benchmark times."""
    inputs = scan(usage_parquet, time_saved_csv, baseline_csv)
    usage, gate_rows, net_output = pl.collect_all(
        [
            usage_by_function(inputs["usage"], date_from, date_to),
            gates(inputs["usage"], as_of),
            net_output_teams(inputs["time_saved"], inputs["baseline"], date_from, date_to),
        ]
    )
    return {"usage": usage, "gates": gate_rows, "net_output": net_output}
