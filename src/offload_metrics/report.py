"""The headless report: SPEC's JSON shape, and CSV, Excel and Markdown renderings of it."""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from offload_metrics import alerts, config, display, export, forecast, metrics, network, store, wins
from offload_metrics.config import Settings

ORG_KEYS = (
    "offloaded_share", "phase", "functions_at_scale", "at_scale", "months_since_first_deployment",
    "time_to_scale_months", "trajectory", "hours_saved", "net_output_uplift", "labor_value_usd",
    "agent_cost_usd", "net_savings_usd", "reinvestment_pool_usd", "estimated_agent_cost_usd",
)  # fmt: skip
FUNCTION_KEYS = (
    "function", "tasks", "api_calls", "tokens", "agent_cost_usd", "active_agents", "escalation_rate",
    "failure_rate", "delegated_hours", "hours_saved", "net_output_uplift", "offloaded_share", "phase",
    "crossed_on", "cascade_rank", "validated_agents", "replicated_agents", "median_replication_days",
    "km_median_replication_days", "labor_value_usd", "net_savings_usd", "reinvestment_pool_usd", "roi",
    "estimated_agent_cost_usd",
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
# Finance on vendor bills and estimated time saved (additive keys).
COST_KEYS = ("usage_cost_usd", "vendor_cost_usd")
ESTIMATE_KEYS = ("estimated_hours_saved", "estimated_labor_value_usd")
COVERAGE_KEYS = ("documented_task_share", "documented_cost_share", "estimated_task_share")
RECONCILIATION_KEYS = (
    "function", "month", "usage_cost_usd", "vendor_cost_usd", "difference_usd", "difference_share", "usage_tokens",
    "vendor_tokens",
)  # fmt: skip
ACCOUNT_KEYS = (
    "vendor", "account", "function", "business_unit", "team", "vendor_cost_usd", "is_unassigned",
    "unit_vendor_cost_usd", "unit_usage_cost_usd", "difference_usd", "difference_share",
)  # fmt: skip
TEAM_ESTIMATE_KEYS = (
    "function", "business_unit", "team", "month", "completed_tasks", "estimated_tasks", "estimated_hours_saved",
    "estimated_labor_value_usd", "basis",
)  # fmt: skip
NETWORK_TEAM_KEYS = network.MEASURE_COLUMNS
SEED_KEYS = network.SEED_COLUMNS
GRASSROOTS_KEYS = network.GRASSROOTS_COLUMNS
# The report's names of internal columns renamed after it was published (booleans is_ / has_, units
# last): scripts depend on the report's names, so it keeps them.
PUBLIC_NAMES = {
    "is_at_scale": "at_scale",
    "has_validated_net_output": "validated_net_output",
    "has_grown_headcount": "grew_headcount",
    "is_tied": "tied",
    "waiting_days": "days_waiting",
}
SPREAD_KEYS = tuple(PUBLIC_NAMES.get(column, column) for column in network.SPREAD_COLUMNS)

SHARES = display.SHARE_COLUMNS
MONTHS = {"month", "crossed_on", "first_deployment_month", "first_scale_month"}
DAYS = {"validated_on", "first_replicated_on", "deployed_on", "first_used_on"}
INTEGERS = {
    "tasks", "api_calls", "tokens", "active_agents", "functions_at_scale", "months_since_first_deployment",
    "time_to_scale_months", "cascade_rank", "validated_agents", "replicated_agents", "reviewed",
    "replication_days", "replications", "validated_teams", "teams_grew_headcount", "headcount",
    "baseline_headcount", "days_waiting", "validated_months", "completed_tasks", "estimated_tasks",
    "documented_tasks", "usage_tokens", "vendor_tokens", "weighted_degree_rank", "eigenvector_rank",
    "betweenness_rank", "centrality_rank", "component", "component_size", "seed_rank", "along_ties", "candidates",
    "tied_candidates", "selection_rank",
}  # fmt: skip
# What a function or the organisation without data of a kind reports: counts and money are 0, ratios
# are undefined.
ZERO_WHEN_ABSENT = {
    "tasks", "api_calls", "tokens", "agent_cost_usd", "active_agents", "delegated_hours", "hours_saved",
    "validated_agents", "replicated_agents", "labor_value_usd", "net_savings_usd", "reinvestment_pool_usd",
    "estimated_agent_cost_usd", "validated_teams", "unassigned_vendor_cost_usd", *COST_KEYS,
}  # fmt: skip


def value(key: str, raw: object) -> object:
    """A JSON value: money rounded to cents, months as YYYY-MM, dates as YYYY-MM-DD, NaN as null."""
    return _converter(key)(raw)


@functools.cache
def _kind(key: str) -> Callable[[Any], object]:
    """The conversion of a key's present values, decided once per key."""
    if display.is_money(key):
        return _money
    if key in MONTHS:
        return display.month
    if key in DAYS:
        return display.day
    if key in INTEGERS:
        return _integer
    return _plain_value


@functools.cache
def _converter(key: str) -> Callable[[object], object]:
    """value() for one key, its kind decided once (a report converts hundreds of thousands of cells)."""
    kind = _kind(key)
    return lambda raw: None if display.missing(raw) else kind(raw)


def _money(raw: Any) -> float | None:
    amount = display.cents(raw)
    return None if amount is None else float(amount)


def _integer(raw: Any) -> int:
    return int(raw)


def _plain_value(raw: Any) -> object:
    if isinstance(raw, Decimal):
        return float(raw)
    if hasattr(raw, "item"):
        return raw.item()
    if isinstance(raw, float) and math.isinf(raw):
        return None
    return raw


def _public(row: Mapping[str, object]) -> dict[str, object]:
    """A result row under the report's names (PUBLIC_NAMES)."""
    return {PUBLIC_NAMES.get(key, key): item for key, item in row.items()}


def _records(frame: pd.DataFrame, keys: tuple[str, ...]) -> list[dict[str, object]]:
    """A result's rows under the report's names, as JSON values, converted column by column (a
    report converts hundreds of thousands of cells); a key the result lacks is null."""
    names = {PUBLIC_NAMES.get(column, column): column for column in frame.columns}
    columns = [_json_column(frame[names[key]], key) if key in names else [None] * len(frame) for key in keys]
    return [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)]


def _json_column(column: pd.Series, key: str) -> list[object]:
    """value() of every cell of a column. NumPy integers and booleans are never missing, and a NumPy
    float is missing only as NaN, so those skip the per-cell checks where the conversion allows."""
    kind = _kind(key)
    numpy_kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else None
    if numpy_kind == "M" and kind in (display.month, display.day):
        # NumPy writes a datetime64 in months as YYYY-MM, in days as YYYY-MM-DD, and a missing one as
        # NaT (never made into Timestamps: a list of them costs a millisecond per thousand cells).
        unit = "datetime64[M]" if kind is display.month else "datetime64[D]"
        texts = np.datetime_as_string(column.to_numpy().astype(unit)).tolist()
        return [None if text == "NaT" else text for text in texts]
    cells = column.tolist()
    if numpy_kind in ("i", "u") and kind in (_plain_value, _integer):
        return cells
    if numpy_kind == "b" and kind is _plain_value:
        return cells
    if numpy_kind == "f" and kind is _plain_value:
        return [cell if math.isfinite(cell) else None for cell in cells]
    if numpy_kind == "f" and kind is _integer:
        return [None if math.isnan(cell) else int(cell) for cell in cells]
    if kind in (_money, display.month, display.day):  # these give None for a missing value themselves
        return [kind(cell) for cell in cells]
    convert = _converter(key)
    if kind is _plain_value:  # text is the usual cell here, and is never missing
        return [cell if type(cell) is str else convert(cell) for cell in cells]
    return [convert(cell) for cell in cells]


def _by_function(frame: pd.DataFrame) -> dict[str, dict[str, object]]:
    return {row["function"]: row for row in frame.to_dict("records")}


# The organisation's headline figures, each from the one organisation-wide result that holds it.
ORG_SOURCES: dict[str, tuple[str, ...]] = {
    "program": (
        "offloaded_share", "phase", "functions_at_scale", "at_scale", "months_since_first_deployment",
        "time_to_scale_months", "trajectory", "first_deployment_month", "first_scale_month",
    ),
    "net_output": ("hours_saved", "net_output_uplift"),
    "finance": ("labor_value_usd", "agent_cost_usd", "net_savings_usd", "reinvestment_pool_usd", "roi"),
    "usage": ("estimated_agent_cost_usd",),
}  # fmt: skip
# The organisation's figures added later (not compared with the previous period), in the report's order.
ORG_ADDITION_SOURCES: dict[str, tuple[str, ...]] = {
    "finance": COST_KEYS,
    "estimates": ESTIMATE_KEYS,
    "coverage": COVERAGE_KEYS,
    "settings": ("cost_source",),
    "reconciliation": ("unassigned_vendor_cost_usd",),
}
ORGANISATION = ("organisation",)


def _merged(results: Mapping[str, Mapping[str, object]], sources: Mapping[str, tuple[str, ...]]) -> dict:
    """One row from several results, each column from its one source, as JSON values (0 for a count
    or money its source has no row or value for)."""
    row = {}
    for source, columns in sources.items():
        found = results.get(source, {})
        for column in columns:
            raw = found.get(column)
            row[column] = value(column, 0 if column in ZERO_WHEN_ABSENT and display.missing(raw) else raw)
    return row


def org_figures(conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings) -> dict:
    """The organisation's headline figures (the report's `org`) for resolved filters."""
    results = {
        "program": _public(metrics.program(conn, filters, settings)),
        "net_output": _first_record(metrics.net_output(conn, filters, settings, by=ORGANISATION)),
        "finance": _first_record(
            metrics.finance_summary(conn, filters, settings, by=ORGANISATION, exact=True)
        ),
        "usage": _first_record(metrics.usage(conn, filters, settings, by=ORGANISATION, exact=True)),
    }
    figures = _merged(results, ORG_SOURCES)
    org = {key: figures[key] for key in (*ORG_KEYS, "first_deployment_month", "first_scale_month", "roi")}
    org["at_scale"] = bool(org["at_scale"])
    return org


def org_additions(conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings) -> dict:
    """The organisation's figures on both cost sources, estimates and coverage, for resolved filters."""
    results: dict[str, Mapping[str, object]] = {
        "finance": _first_record(
            metrics.finance_summary(conn, filters, settings, by=ORGANISATION, exact=True)
        ),
        "estimates": _first_record(
            metrics.estimates_summary(conn, filters, settings, by=ORGANISATION, exact=True)
        ),
        "coverage": _first_record(metrics.coverage(conn, filters, settings, by=ORGANISATION)),
        "settings": {"cost_source": settings.finance.cost_source},
        "reconciliation": _first_record(
            metrics.reconciliation_summary(conn, filters, settings, by=ORGANISATION, exact=True)
        ),
    }
    return _merged(results, ORG_ADDITION_SOURCES)


def previous_figures(conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings) -> dict:
    """The same figures for the previous period (metrics.previous_period): the same number of whole
    months just before `from`. Without any data in that period the figures are null."""
    previous = metrics.previous_period(filters)
    date_from, date_to = previous.date_from, previous.date_to
    assert date_from is not None and date_to is not None, "the previous period of resolved filters"
    has_data = metrics.previous_has_data(previous, metrics.data_range(conn)[0])
    # Without data in that period nothing is asked of the database: every figure is null.
    figures = org_figures(conn, previous, settings) if has_data else dict.fromkeys((*ORG_KEYS, "roi"))
    return {
        "from": display.day(date_from),
        "to": display.day(date_to),
        "months": metrics.months_between(date_from, date_to),
        "has_data": has_data,
        **{key: figures[key] for key in (*ORG_KEYS, "roi")},
    }


# The functions table's columns, each from the one per-function result that holds it. The agent
# cost is finance's, which follows the cost_source setting (usage log, vendor bills or the larger).
FUNCTION_SOURCES: dict[str, tuple[str, ...]] = {
    "usage": (
        "tasks", "api_calls", "tokens", "active_agents", "escalation_rate", "failure_rate", "automation_rate",
        "estimated_agent_cost_usd",
    ),
    "net_output": ("delegated_hours", "hours_saved", "net_output_uplift", "validated_teams"),
    "cascade": ("offloaded_share", "phase", "crossed_on", "cascade_rank"),
    "replication": ("validated_agents", "replicated_agents", "median_replication_days", "km_median_replication_days"),
    "finance": (
        "agent_cost_usd", "labor_value_usd", "net_savings_usd", "reinvestment_pool_usd", "roi", *COST_KEYS,
    ),
    "estimates": ESTIMATE_KEYS,
    "coverage": COVERAGE_KEYS,
}  # fmt: skip
# The functions table's columns in the report's order: SPEC's, then those added later.
FUNCTION_COLUMNS = (
    *FUNCTION_KEYS, "automation_rate", "validated_teams", *COST_KEYS, *ESTIMATE_KEYS, *COVERAGE_KEYS,
)  # fmt: skip


def function_results(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> dict[str, pd.DataFrame]:
    """The per-function results FUNCTION_SOURCES names, for resolved filters."""
    return {
        "usage": metrics.usage(conn, filters, settings, exact=True),
        "net_output": metrics.net_output(conn, filters, settings),
        "cascade": metrics.cascade(conn, filters, settings),
        "replication": metrics.replication_summary(conn, filters, settings),
        "finance": metrics.finance_summary(conn, filters, settings, exact=True),
        "estimates": metrics.estimates_summary(conn, filters, settings, exact=True),
        "coverage": metrics.coverage(conn, filters, settings),
    }


def function_rows(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> list[dict[str, object]]:
    """The report's functions table: one row per function, each column from its one source."""
    results = {
        source: _by_function(frame) for source, frame in function_results(conn, filters, settings).items()
    }
    rows = []
    for name in metrics.functions(conn, filters):
        row = {
            "function": name,
            **_merged({source: found.get(name, {}) for source, found in results.items()}, FUNCTION_SOURCES),
        }
        rows.append({column: row[column] for column in FUNCTION_COLUMNS})
    return rows


def build(conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings) -> dict[str, object]:
    """The report in SPEC's shape. Scripts depend on these names: add keys, never rename."""
    with metrics.shared_results():
        return _build(conn, filters.resolve(conn), settings)


def _build(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> dict[str, object]:
    # Independent sections, longest first, each on a cursor of its own (metrics.in_parallel).
    found: dict[str, Any] = metrics.in_parallel(
        conn,
        {
            "alerts": lambda cursor: alerts.alert_list(cursor, filters, settings),
            "functions": lambda cursor: function_rows(cursor, filters, settings),
            "org": lambda cursor: _org(cursor, filters, settings),
            "network": lambda cursor: _network(cursor, filters, settings),
            "spread": lambda cursor: _spread(cursor, filters, settings),
            "wins": lambda cursor: wins.win_list(cursor, filters, settings),
            "people": lambda cursor: _people(cursor, filters, settings),
            "finance": lambda cursor: _finance(cursor, filters, settings),
        },
    )
    people, finance, network_parts = found["people"], found["finance"], found["network"]
    return {
        "as_of": display.day(filters.as_of),
        "from": display.day(filters.date_from),
        "to": display.day(filters.date_to),
        "filters": {"functions": list(filters.functions), "business_units": list(filters.business_units)},
        "org": found["org"],
        "functions": found["functions"],
        "adoption": people["adoption"],
        "teams": people["teams"],
        "agents": people["agents"],
        "data_quality": people["data_quality"],
        "settings": config.shared(settings),
        # The lists the dashboard's alerts show, from the same selections.
        "cull_list": people["cull_list"],
        "replication_backlog": people["replication_backlog"],
        "validated_teams": people["validated_teams"],
        # Round 2's look-ahead: forecasts, alerts at as_of, wins in the range (see report.schema.json).
        "forecast": people["forecast"],
        "alerts": found["alerts"],
        "wins": found["wins"],
        # Finance on vendor bills, and time saved estimated where no team documented it.
        **finance,
        # The collaboration network, where to seed next, and whether replication followed the network.
        **network_parts,
        "replication_spread": found["spread"],
    }


def _org(conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings) -> dict[str, object]:
    org = org_figures(conn, filters, settings)
    org.update(org_additions(conn, filters, settings))
    org["previous"] = previous_figures(conn, filters, settings)
    return org


def _people(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> dict[str, object]:
    """Adoption and its forecast, teams, agents and the lists drawn from them."""
    program = metrics.program(conn, filters, settings)
    adoption = metrics.adoption(conn, filters, settings)
    teams = metrics.net_output_teams(conn, filters, settings)
    agents = metrics.agents(conn, filters, settings)
    team_rows = _records(teams, TEAM_KEYS)
    for row, grew in zip(team_rows, teams.get("has_grown_headcount", []), strict=False):
        row["validated_net_output"] = bool(row["validated_net_output"])
        row["grew_headcount"] = bool(grew)
    return {
        "adoption": _records(adoption[adoption["is_in_range"]], ADOPTION_KEYS),
        "teams": team_rows,
        "agents": _records(agents, AGENT_KEYS + AGENT_EXTRA_KEYS),
        "data_quality": metrics.data_quality(conn),
        "cull_list": _records(metrics.cull_list(agents), AGENT_KEYS),
        "replication_backlog": _records(
            metrics.replication_backlog(metrics.replication(conn, filters, settings)),
            ("agent_id", "function", "validated_on", "days_waiting"),
        ),
        "validated_teams": _records(
            metrics.team_leaderboard(metrics.net_output(conn, filters, settings, by=metrics.TEAMS)),
            ("function", "business_unit", "team", "best_uplift", "validated_months", "hours_saved"),
        ),
        "forecast": forecast.forecast(adoption, program, settings),
    }


def _finance(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> dict[str, object]:
    return {
        "reconciliation": _records(
            metrics.reconciliation(conn, filters, settings, exact=True), RECONCILIATION_KEYS
        ),
        "reconciliation_accounts": _records(
            metrics.reconciliation_accounts(conn, filters, settings, exact=True), ACCOUNT_KEYS
        ),
        "estimates": _records(metrics.estimates(conn, filters, settings, exact=True), TEAM_ESTIMATE_KEYS),
    }


def _network(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> dict[str, object]:
    return {
        "network_teams": _records(network.network_measures(conn, filters, settings), NETWORK_TEAM_KEYS),
        "where_to_seed": _records(network.seed_candidates(conn, filters, settings), SEED_KEYS),
        "grassroots_teams": _records(network.grassroots_teams(conn, filters, settings), GRASSROOTS_KEYS),
    }


def _spread(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> dict[str, object]:
    summary, rows = network.spread_findings(conn, filters, settings)
    result = {key: value(key, raw) for key, raw in summary.to_dict("records")[0].items()}
    for flag in ("enough_replications", "followed_network"):
        result[flag] = None if result[flag] is None else bool(result[flag])
    result["rows"] = _records(rows, SPREAD_KEYS)
    return result


def _first_record(frame: pd.DataFrame) -> dict[str, object]:
    return frame.to_dict("records")[0] if len(frame) else {}


def to_json(report: Mapping[str, object]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False)


def tables(report: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """The report as flat tables, one per section, for CSV and Excel: the JSON's values as they are
    (object columns, so a rank stays an integer and a missing value stays empty)."""
    org = {"as_of": report["as_of"], "from": report["from"], "to": report["to"], **report["org"]}
    previous = org.pop("previous", None) or {}
    org.update({f"previous_{key}": value for key, value in previous.items()})

    def frame(rows: Iterable[Mapping[str, object]], columns: list[str]) -> pd.DataFrame:
        # Column by column, as objects: a frame built from records would turn an int column with a
        # null into floats (1.0).
        records = list(rows)
        return pd.DataFrame(
            {column: pd.Series([row.get(column) for row in records], dtype=object) for column in columns}
        )

    return {
        "org": frame([org], list(org)),
        "functions": frame(report["functions"], [*FUNCTION_KEYS, "automation_rate", "validated_teams"]),
        "adoption": frame(report["adoption"], list(ADOPTION_KEYS)),
        "teams": frame(report["teams"], [*TEAM_KEYS, "grew_headcount"]),
        "agents": frame(report["agents"], [*AGENT_KEYS, *AGENT_EXTRA_KEYS]),
        "data_quality": frame([report["data_quality"]], list(store.COUNT_FIELDS)),
        "network_teams": _flat(report.get("network_teams", []), NETWORK_TEAM_KEYS),
        "where_to_seed": _flat(report.get("where_to_seed", []), SEED_KEYS),
        "grassroots_teams": _flat(report.get("grassroots_teams", []), GRASSROOTS_KEYS),
        "replication_spread": _flat(report.get("replication_spread", {}).get("rows", []), SPREAD_KEYS),
    }


def _flat(rows: object, keys: tuple[str, ...]) -> pd.DataFrame:
    """Report rows as a table, a list in a cell (teams, agents) as text joined by "; "."""
    frame = pd.DataFrame(rows, columns=list(keys))
    for column in frame.columns:
        frame[column] = ["; ".join(cell) if isinstance(cell, list) else cell for cell in frame[column]]
    return frame


def write_csv(report: Mapping[str, object], folder: Path) -> list[Path]:
    """One CSV file per table in `folder`, all or none: every table is written beside its place
    first, then each replaces the file there, and a failure puts the earlier files back (a table
    that could not be written left a folder mixing this report's tables with an earlier one's).
    OSError, with the folder as it was, when they cannot all be written."""
    folder.mkdir(parents=True, exist_ok=True)
    pending = [
        (folder / f".{name}.csv.partial", folder / f"{name}.csv", frame)
        for name, frame in tables(report).items()
    ]
    replaced: list[tuple[Path, Path | None]] = []
    try:
        for temporary, path, frame in pending:
            if path.is_dir():
                raise IsADirectoryError(errno.EISDIR, "a folder is where the table belongs", str(path))
            temporary.write_bytes(export.csv_bytes(frame))
        for temporary, path, _ in pending:
            backup = path.with_name(f".{path.name}.previous") if path.exists() else None
            if backup is not None:
                os.replace(path, backup)
            replaced.append((path, backup))
            os.replace(temporary, path)
    except OSError:
        for path, backup in reversed(replaced):
            with contextlib.suppress(OSError):
                if backup is not None:
                    os.replace(backup, path)
                else:
                    path.unlink(missing_ok=True)
        for temporary, _, _ in pending:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
        raise
    for _, backup in replaced:
        if backup is not None:
            backup.unlink(missing_ok=True)
    return [path for _, path, _ in pending]


def excel(report: Mapping[str, object]) -> bytes:
    return export.excel_bytes(tables(report), share_columns=SHARES)
