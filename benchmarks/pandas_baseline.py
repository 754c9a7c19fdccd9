"""A plain pandas implementation of three metric families, the baseline for the engine benchmark.

It reads the raw CSV inputs with pandas and computes usage per function, the performance gates and
Net Output per team-month the way an ordinary pandas user would, with the same definitions as the
DuckDB engine (docs/metrics.md), so the benchmark compares time and peak memory on equal results.
It deliberately shares no code with offload_metrics.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

TEAM = ("function", "business_unit", "team")


def load(
    usage_csv: str | Path, time_saved_csv: str | Path, baseline_csv: str | Path
) -> dict[str, pd.DataFrame]:
    """The three inputs as DataFrames, with timestamps in UTC and periods as dates."""
    usage = pd.read_csv(usage_csv)
    # Offsets differ from row to row (and may be absent, meaning UTC), so parse them all into UTC.
    usage["occurred_at"] = pd.to_datetime(usage["occurred_at"], utc=True, format="ISO8601")
    # The contract defaults these to 0; an empty cell must not turn a row's tokens into NaN.
    usage = usage.fillna({"api_calls": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0})
    time_saved = pd.read_csv(time_saved_csv, parse_dates=["period_start", "period_end"])
    baseline = pd.read_csv(baseline_csv)
    return {"usage": usage, "time_saved": time_saved, "baseline": baseline}


def _on_days(timestamps: pd.Series, first: dt.date, last: dt.date) -> pd.Series:
    """Whether each UTC timestamp falls on a UTC date in [first, last]."""
    days = timestamps.dt.floor("D")
    return days.between(pd.Timestamp(first, tz="UTC"), pd.Timestamp(last, tz="UTC"))


def usage_by_function(usage: pd.DataFrame, date_from: dt.date, date_to: dt.date) -> pd.DataFrame:
    """Tasks, API calls, tokens, cost, active agents and rates per function over [date_from, date_to]."""
    events = usage[_on_days(usage["occurred_at"], date_from, date_to)].assign(
        tokens=lambda frame: frame["input_tokens"] + frame["output_tokens"],
        escalated=lambda frame: frame["status"].eq("escalated"),
        failed=lambda frame: frame["status"].eq("failed"),
    )
    return (
        events.groupby("function")
        .agg(
            tasks=("event_id", "size"),
            api_calls=("api_calls", "sum"),
            tokens=("tokens", "sum"),
            agent_cost_usd=("cost_usd", "sum"),
            active_agents=("agent_id", "nunique"),
            escalation_rate=("escalated", "mean"),
            failure_rate=("failed", "mean"),
        )
        .reset_index()
    )


def gates(
    usage: pd.DataFrame,
    as_of: dt.date,
    window_days: int = 90,
    min_tasks: int = 50,
    min_reviewed: int = 20,
    min_accuracy: float = 0.80,
    min_automation: float = 0.90,
) -> pd.DataFrame:
    """Per agent with usage in the window_days days ending at as_of: tasks, accuracy, automation, gate."""
    first = as_of - dt.timedelta(days=window_days - 1)
    events = usage[_on_days(usage["occurred_at"], first, as_of)].assign(
        completed=lambda frame: frame["status"].eq("completed"),
        correct=lambda frame: frame["review"].eq("correct"),
        incorrect=lambda frame: frame["review"].eq("incorrect"),
    )
    agents = (
        events.groupby("agent_id")
        .agg(
            tasks=("event_id", "size"),
            completed=("completed", "sum"),
            correct=("correct", "sum"),
            incorrect=("incorrect", "sum"),
        )
        .reset_index()
    )
    agents["reviewed"] = agents["correct"] + agents["incorrect"]
    # Dividing by NaN rather than 0 leaves accuracy missing for an agent nobody reviewed.
    agents["accuracy"] = agents["correct"] / agents["reviewed"].where(agents["reviewed"] > 0)
    agents["automation"] = agents["completed"] / agents["tasks"]
    agents["gate"] = np.select(
        [
            (agents["tasks"] < min_tasks) | (agents["reviewed"] < min_reviewed),
            (agents["accuracy"] >= min_accuracy) & (agents["automation"] >= min_automation),
        ],
        ["insufficient_data", "pass"],
        default="fail",
    )
    return agents[["agent_id", "tasks", "reviewed", "accuracy", "automation", "gate"]]


def net_output_teams(
    time_saved: pd.DataFrame,
    baseline: pd.DataFrame,
    date_from: dt.date,
    date_to: dt.date,
    hours_per_fte_month: float = 160,
    validation_uplift: float = 0.30,
) -> pd.DataFrame:
    """Per team-month with time savings starting in [date_from, date_to]: hours, capacity, uplift."""
    rows = time_saved[time_saved["period_start"].between(pd.Timestamp(date_from), pd.Timestamp(date_to))]
    rows = rows.assign(
        month=rows["period_start"].dt.to_period("M").dt.to_timestamp(),
        delegated_hours=rows["tasks"] * rows["baseline_minutes_per_task"] / 60,
        hours_saved=rows["tasks"] * (rows["baseline_minutes_per_task"] - rows["minutes_per_task"]) / 60,
    )
    team_months = (
        rows.groupby([*TEAM, "month"])
        .agg(
            delegated_hours=("delegated_hours", "sum"),
            hours_saved=("hours_saved", "sum"),
            reported_headcount=("headcount", "max"),
        )
        .reset_index()
    )
    baseline_headcount = baseline[["business_unit", "team", "headcount"]].rename(
        columns={"headcount": "baseline_headcount"}
    )
    # A left merge keeps the sorted order of the team-months.
    teams = team_months.merge(baseline_headcount, on=["business_unit", "team"], how="left")
    teams["headcount"] = teams["reported_headcount"].fillna(teams["baseline_headcount"])
    teams["capacity_hours"] = teams["headcount"] * hours_per_fte_month
    teams["net_output_uplift"] = teams["hours_saved"] / teams["capacity_hours"]
    # Comparisons with a missing baseline are False, which is what both flags need there.
    teams["has_validated_net_output"] = (teams["net_output_uplift"] >= validation_uplift) & (
        teams["headcount"] <= teams["baseline_headcount"]
    )
    teams["has_grown_headcount"] = teams["headcount"] > teams["baseline_headcount"]
    return teams[
        [
            *TEAM,
            "month",
            "delegated_hours",
            "hours_saved",
            "headcount",
            "capacity_hours",
            "net_output_uplift",
            "has_validated_net_output",
            "has_grown_headcount",
        ]
    ]


def report(
    usage_csv: str | Path,
    time_saved_csv: str | Path,
    baseline_csv: str | Path,
    as_of: dt.date,
    date_from: dt.date,
    date_to: dt.date,
) -> dict[str, pd.DataFrame]:
    """Load the inputs and compute the three tables: what the benchmark times."""
    inputs = load(usage_csv, time_saved_csv, baseline_csv)
    return {
        "usage": usage_by_function(inputs["usage"], date_from, date_to),
        "gates": gates(inputs["usage"], as_of),
        "net_output": net_output_teams(inputs["time_saved"], inputs["baseline"], date_from, date_to),
    }
