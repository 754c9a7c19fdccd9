"""The headless report: SPEC's JSON shape, and CSV, Excel and Markdown renderings of it."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

from offload_metrics import display, export, ingest, metrics, summary
from offload_metrics.config import Settings

ORG_KEYS = (
    "offloaded_share", "phase", "functions_at_scale", "at_scale", "months_since_first_deployment",
    "time_to_scale_months", "trajectory", "hours_saved", "net_output_uplift", "labor_value_usd",
    "agent_cost_usd", "net_savings_usd", "reinvestment_pool_usd",
)  # fmt: skip
FUNCTION_KEYS = (
    "function", "tasks", "api_calls", "tokens", "agent_cost_usd", "active_agents", "escalation_rate",
    "failure_rate", "delegated_hours", "hours_saved", "net_output_uplift", "offloaded_share", "phase",
    "crossed_on", "cascade_rank", "validated_agents", "replicated_agents", "median_replication_days",
    "km_median_replication_days", "labor_value_usd", "net_savings_usd", "reinvestment_pool_usd", "roi",
)  # fmt: skip
ADOPTION_KEYS = ("function", "month", "delegated_hours", "offloaded_share", "phase")
TEAM_KEYS = (
    "function", "business_unit", "team", "month", "hours_saved", "capacity_hours", "net_output_uplift",
    "validated_net_output",
)  # fmt: skip
AGENT_KEYS = (
    "agent_id", "function", "tasks", "reviewed", "accuracy", "automation", "gate", "validated_on",
    "first_replicated_on", "replication_days", "replications",
)  # fmt: skip
AGENT_EXTRA_KEYS = ("name", "risk_class", "pilot_unit", "days_waiting")

SHARES = {
    "offloaded_share", "escalation_rate", "failure_rate", "automation_rate", "net_output_uplift", "accuracy",
    "automation",
}  # fmt: skip
MONTHS = {"month", "crossed_on", "first_deployment_month", "first_scale_month"}
DAYS = {"validated_on", "first_replicated_on"}
INTEGERS = {
    "tasks", "api_calls", "tokens", "active_agents", "functions_at_scale", "months_since_first_deployment",
    "time_to_scale_months", "cascade_rank", "validated_agents", "replicated_agents", "reviewed",
    "replication_days", "replications", "validated_teams", "teams_grew_headcount", "headcount",
    "baseline_headcount", "days_waiting", "validated_months",
}  # fmt: skip
# What a function without data of a kind reports: counts and money are 0, ratios are undefined.
ZERO_WHEN_ABSENT = {
    "tasks", "api_calls", "tokens", "agent_cost_usd", "active_agents", "delegated_hours", "hours_saved",
    "validated_agents", "replicated_agents", "labor_value_usd", "net_savings_usd", "reinvestment_pool_usd",
}  # fmt: skip


def value(key: str, raw: object) -> object:
    """A JSON value: money rounded to cents, months as YYYY-MM, dates as YYYY-MM-DD, NaN as null."""
    if display.missing(raw):
        return None
    if display.is_money(key):
        return float(display.cents(raw))  # type: ignore[arg-type]
    if key in MONTHS:
        return display.month(raw)
    if key in DAYS:
        return display.day(raw)
    if key in INTEGERS:
        return int(raw)  # type: ignore[call-overload]
    if isinstance(raw, Decimal):
        return float(raw)
    if hasattr(raw, "item"):
        return raw.item()  # type: ignore[union-attr]
    if isinstance(raw, float) and math.isinf(raw):
        return None
    return raw


def _records(frame: pd.DataFrame, keys: tuple[str, ...]) -> list[dict[str, object]]:
    return [{key: value(key, row.get(key)) for key in keys} for row in frame.to_dict("records")]


def _by_function(frame: pd.DataFrame) -> dict[str, dict[str, object]]:
    return {row["function"]: row for row in frame.to_dict("records")}


def org_figures(conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings) -> dict:
    """The organisation's headline figures (the report's `org`) for resolved filters."""
    program = metrics.program(conn, filters, settings)
    org_net = metrics.net_output(conn, filters, settings, by=("organisation",)).to_dict("records")
    org_finance = metrics.finance_summary(conn, filters, settings, by=("organisation",), exact=True).to_dict(
        "records"
    )
    org_values: dict[str, object] = {**program}
    org_values.update(org_net[0] if org_net else {})
    org_values.update(org_finance[0] if org_finance else {})
    for key in (
        "hours_saved",
        "labor_value_usd",
        "agent_cost_usd",
        "net_savings_usd",
        "reinvestment_pool_usd",
    ):
        if display.missing(org_values.get(key)):
            org_values[key] = 0
    org = {key: value(key, org_values.get(key)) for key in ORG_KEYS}
    org["at_scale"] = bool(org["at_scale"])
    org["first_deployment_month"] = value("first_deployment_month", org_values.get("first_deployment_month"))
    org["first_scale_month"] = value("first_scale_month", org_values.get("first_scale_month"))
    org["roi"] = value("roi", org_values.get("roi"))
    return org


def previous_figures(conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings) -> dict:
    """The same figures for the previous period (metrics.previous_period): the same number of whole
    months just before `from`. Without any data in that period the figures are null."""
    previous = metrics.previous_period(filters)
    first, _ = metrics.data_range(conn)
    has_data = first is not None and previous.date_to >= first  # type: ignore[operator]
    figures = org_figures(conn, previous, settings)
    if not has_data:
        figures = dict.fromkeys(figures)
    return {
        "from": display.day(previous.date_from),
        "to": display.day(previous.date_to),
        "months": metrics.months_between(previous.date_from, previous.date_to),  # type: ignore[arg-type]
        "has_data": has_data,
        **{key: figures[key] for key in (*ORG_KEYS, "roi")},
    }


def build(conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings) -> dict[str, object]:
    """The report in SPEC's shape. Scripts depend on these names: add keys, never rename."""
    filters = filters.resolve(conn)
    names = metrics.functions(conn, filters)
    usage = _by_function(metrics.usage(conn, filters, settings, exact=True))
    net_output = _by_function(metrics.net_output(conn, filters, settings))
    cascade = _by_function(metrics.cascade(conn, filters, settings))
    replication = _by_function(metrics.replication_summary(conn, filters, settings))
    finance = _by_function(metrics.finance_summary(conn, filters, settings, exact=True))
    rows = []
    for name in names:
        merged: dict[str, object] = {"function": name}
        for source in (usage, net_output, cascade, replication, finance):
            for key, raw in source.get(name, {}).items():
                if key not in merged or display.missing(merged[key]):
                    merged[key] = raw
        for key in ZERO_WHEN_ABSENT:
            if display.missing(merged.get(key)):
                merged[key] = 0
        rows.append({key: value(key, merged.get(key)) for key in FUNCTION_KEYS})
        rows[-1]["automation_rate"] = value("automation_rate", merged.get("automation_rate"))
        rows[-1]["validated_teams"] = value("validated_teams", merged.get("validated_teams") or 0)

    org = org_figures(conn, filters, settings)
    org["previous"] = previous_figures(conn, filters, settings)

    adoption = metrics.adoption(conn, filters, settings)
    teams = metrics.net_output_teams(conn, filters, settings)
    agents = metrics.agents(conn, filters, settings)
    team_rows = _records(teams, TEAM_KEYS)
    for row, grew in zip(team_rows, teams.get("grew_headcount", []), strict=False):
        row["validated_net_output"] = bool(row["validated_net_output"])
        row["grew_headcount"] = bool(grew)
    return {
        "as_of": display.day(filters.as_of),
        "from": display.day(filters.date_from),
        "to": display.day(filters.date_to),
        "filters": {"functions": list(filters.functions), "business_units": list(filters.business_units)},
        "org": org,
        "functions": rows,
        "adoption": _records(adoption[adoption["in_range"]], ADOPTION_KEYS),
        "teams": team_rows,
        "agents": _records(agents, AGENT_KEYS + AGENT_EXTRA_KEYS),
        "data_quality": metrics.data_quality(conn),
        "settings": settings.model_dump(mode="json"),
        # The lists the dashboard's alerts show, from the same selections.
        "cull_list": _records(metrics.cull_list(agents), AGENT_KEYS),
        "replication_backlog": _records(
            metrics.replication_backlog(metrics.replication(conn, filters, settings)),
            ("agent_id", "function", "validated_on", "days_waiting"),
        ),
        "validated_teams": _records(
            metrics.team_leaderboard(metrics.net_output(conn, filters, settings, by=metrics.TEAMS)),
            ("function", "business_unit", "team", "best_uplift", "validated_months", "hours_saved"),
        ),
    }


def to_json(report: Mapping[str, object]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False)


def tables(report: Mapping[str, object]) -> dict[str, pd.DataFrame]:
    """The report as flat tables, one per section, for CSV and Excel: the JSON's values as they are
    (object columns, so a rank stays an integer and a missing value stays empty)."""
    org = {"as_of": report["as_of"], "from": report["from"], "to": report["to"], **report["org"]}  # type: ignore[dict-item]
    previous = org.pop("previous", None) or {}
    org.update({f"previous_{key}": value for key, value in previous.items()})

    def frame(rows: object, columns: list[str]) -> pd.DataFrame:
        # Column by column, as objects: a frame built from records would turn an int column with a
        # null into floats (1.0).
        records = list(rows)  # type: ignore[call-overload]
        return pd.DataFrame(
            {column: pd.Series([row.get(column) for row in records], dtype=object) for column in columns}
        )

    return {
        "org": frame([org], list(org)),
        "functions": frame(report["functions"], [*FUNCTION_KEYS, "automation_rate", "validated_teams"]),
        "adoption": frame(report["adoption"], list(ADOPTION_KEYS)),
        "teams": frame(report["teams"], [*TEAM_KEYS, "grew_headcount"]),
        "agents": frame(report["agents"], [*AGENT_KEYS, *AGENT_EXTRA_KEYS]),
        "data_quality": frame([report["data_quality"]], list(ingest.COUNT_FIELDS)),
    }


def write_csv(report: Mapping[str, object], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables(report).items():
        path = folder / f"{name}.csv"
        path.write_bytes(export.csv_bytes(frame))
        written.append(path)
    return written


def excel(report: Mapping[str, object]) -> bytes:
    return export.excel_bytes(tables(report), share_columns=SHARES)


def by_name(
    conn: duckdb.DuckDBPyConnection,
    name: str,
    filters: metrics.Filters,
    settings: Settings,
    by: tuple[str, ...] = (),
):
    """A metric of metrics.py, or a table of this module, by its name: what a page asks for."""
    function = getattr(metrics, name, None) or globals()[name]
    return function(conn, filters, settings, by) if by else function(conn, filters, settings)


def finance_tables(conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings):
    """The Finance page's downloads: by function, by month, by function and month, money in cents."""
    return {
        "by function": export.rounded(metrics.finance_summary(conn, filters, settings, exact=True)),
        "by month": export.rounded(metrics.finance_trend(conn, filters, settings, exact=True)),
        "by function and month": export.rounded(metrics.finance(conn, filters, settings, exact=True)),
    }


# The Markdown summary and the blueprint page live in summary.py, which the dashboard uses too.
markdown = summary.markdown
blueprint_page = summary.blueprint_page
