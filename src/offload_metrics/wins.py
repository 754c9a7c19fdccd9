"""Wins to celebrate in the applied range: what first happened between `from` and `to`.

A win is new in the range: teams that validated Net Output for the first time, agents copied to
business units they had not reached before, functions entering a phase they had never reached, and
agents passing their gate at the end of the range that did not pass the day before it began. No
win carries money, so every role may see them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection
from typing import Any

import duckdb
import pandas as pd

from offload_metrics import display, metrics
from offload_metrics.config import Settings

PHASES = ("pilot_plateau", "crossing_point", "acceleration", "saturation")


@dataclasses.dataclass(frozen=True)
class Win:
    kind: str
    subject: str
    on: str  # YYYY-MM-DD or YYYY-MM: when it happened
    message: str
    page: str
    figures: dict[str, object]


def evaluate(conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings) -> list[Win]:
    """Every win in [from, to], newest first, then by kind and subject."""
    filters = filters.resolve(conn)
    found = [
        *teams_validating(conn, filters, settings),
        *agents_copied(conn, filters, settings),
        *functions_entering_a_phase(conn, filters, settings),
        *agents_passing(conn, filters, settings),
    ]
    return sorted(
        sorted(found, key=lambda win: (win.kind, win.subject)), key=lambda win: win.on, reverse=True
    )


def _before(filters: metrics.Filters) -> metrics.Filters:
    """The same selection as of the day before the range began."""
    return metrics.Filters(
        as_of=filters.dates.date_from - dt.timedelta(days=1),
        functions=filters.functions,
        business_units=filters.business_units,
    )


def _end(filters: metrics.Filters) -> metrics.Filters:
    """The same selection as of the end of the range."""
    end = min(filters.dates.date_to, filters.dates.as_of)
    return metrics.Filters(as_of=end, functions=filters.functions, business_units=filters.business_units)


def teams_validating(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> list[Win]:
    """Teams whose first month of validated Net Output is in the range."""
    history = dataclasses.replace(filters, date_from=filters.dates.history_from.replace(day=1))
    teams = metrics.net_output_teams(conn, history, settings)
    validated = teams[teams["has_validated_net_output"]]
    first = validated.groupby(["function", "business_unit", "team"], as_index=False).agg(
        month=("month", "min"), uplift=("net_output_uplift", "first")
    )
    start = pd.Timestamp(filters.date_from)
    wins = []
    for row in first[first["month"] >= start].itertuples(index=False):
        month = f"{pd.Timestamp(row.month):%Y-%m}"
        wins.append(
            Win(
                "team_validated",
                f"{row.business_unit} / {row.team}",
                month,
                f"{row.team} ({row.business_unit}) validated Net Output for the first time in {month}: "
                f"uplift {display.share(row.uplift)} without more headcount",
                "/net_output",
                {
                    "function": row.function,
                    "business_unit": row.business_unit,
                    "team": row.team,
                    "month": month,
                    "net_output_uplift": float(row.uplift),
                },
            )
        )
    return wins


def agents_copied(conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings) -> list[Win]:
    """Agents deployed in the range to business units beyond their pilot unit that had no copy before."""
    now = metrics.replication(conn, _end(filters), settings)
    before = metrics.replication(conn, _before(filters), settings)
    # Plain columns, not a row Series per agent: thousands of agents.
    copies_before = dict(zip(before["agent_id"].tolist(), before["replications"].tolist(), strict=True))
    names = metrics.agent_names(conn)
    wins = []
    for agent, function, replications in zip(
        now["agent_id"].tolist(), now["function"].tolist(), now["replications"].tolist(), strict=True
    ):
        new_units = int(replications) - int(copies_before.get(agent, 0))
        if new_units <= 0:
            continue
        wins.append(
            Win(
                "agent_copied",
                str(agent),
                f"{_end(filters).as_of:%Y-%m-%d}",
                f"{display.agent(agent, names)} was copied to {display.plural(new_units, 'new business unit')} "
                f"({int(replications)} beyond its pilot unit in all)",
                "/replication",
                {
                    "agent_id": str(agent),
                    "function": function,
                    "new_business_units": new_units,
                    "replications": int(replications),
                },
            )
        )
    return wins


def functions_entering_a_phase(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> list[Win]:
    """Functions whose share first reached a phase's bound in a month of the range."""
    adoption = metrics.adoption(conn, filters, settings)
    wins = []
    for function, rows in adoption.groupby("function", sort=True):
        reached = 0
        for row in rows.sort_values("month").itertuples(index=False):
            if row.phase not in PHASES:
                continue
            rank = PHASES.index(row.phase)
            if rank > reached and row.is_in_range:
                month = f"{pd.Timestamp(row.month):%Y-%m}"
                wins.append(
                    Win(
                        "function_new_phase",
                        str(function),
                        month,
                        f"{function} entered {display.label(row.phase).lower()} in {month} "
                        f"({display.share(row.offloaded_share)} of routine work offloaded)",
                        "/adoption",
                        {
                            "function": str(function),
                            "phase": row.phase,
                            "month": month,
                            "offloaded_share": float(row.offloaded_share),
                        },
                    )
                )
            reached = max(reached, rank)
    return wins


def agents_passing(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> list[Win]:
    """Agents that pass their gate at the end of the range and did not the day before it began."""
    end = _end(filters)
    now = metrics.gates(conn, end, settings)
    before = metrics.gates(conn, _before(filters), settings)
    passed_before = set(before.loc[before["gate"] == "pass", "agent_id"])
    names = metrics.agent_names(conn)
    return [
        Win(
            "agent_passed_gate",
            row.agent_id,
            f"{end.as_of:%Y-%m-%d}",
            f"{display.agent(row.agent_id, names)} passes its gate as of {end.as_of:%Y-%m-%d}: accuracy "
            f"{display.share(row.accuracy)}, automation {display.share(row.automation)}",
            "/fleet",
            {"agent_id": row.agent_id, "accuracy": float(row.accuracy), "automation": float(row.automation)},
        )
        for row in now[(now["gate"] == "pass") & ~now["agent_id"].isin(passed_before)].itertuples(index=False)
    ]


# What a copy of an agent on the cull list adds to its win, wherever the win is said.
FAILING_COPY = ", though it fails its gate: it is on the cull list, so fix it before it spreads further"


def said(win: dict[str, Any], failing: Collection[str]) -> tuple[str, bool]:
    """A win's sentence as the pages and the summary say it, and whether it warns rather than
    celebrates: a copy of an agent in `failing` (the cull list) is not to be celebrated."""
    warns = win["kind"] == "agent_copied" and win["subject"] in failing
    return (f"{win['message']}{FAILING_COPY}" if warns else str(win["message"])), warns


def as_dicts(wins: list[Win]) -> list[dict[str, object]]:
    return [display.as_record(win) for win in wins]


def win_list(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> list[dict[str, Any]]:
    """The wins in the range, as plain dicts (the report's and the dashboard's)."""
    return as_dicts(evaluate(conn, filters, settings))
