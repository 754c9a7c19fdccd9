"""The metrics API: typed functions over the SQL files, shared by the dashboard and the report.

Each function takes a connection, one Filters value and the settings, and returns a DataFrame
whose columns the SQL file's Definition block describes. Nothing here computes a metric: the SQL
does. Money columns come back as floats for display, or as exact Decimals with exact=True.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import dataclasses
import datetime as dt
import functools
import os
import re
import threading
import typing
from collections.abc import Callable, Iterator, Sequence

import duckdb
import pandas as pd

from offload_metrics import store
from offload_metrics.config import Settings

# Columns a caller may group by, per SQL file with a {dimensions} slot. Identifiers reach SQL only
# from here.
DIMENSIONS = {
    "usage": ("organisation", "function", "business_unit", "team", "agent_id", "month"),
    "net_output_summary": ("organisation", "function", "business_unit", "team", "month"),
    "finance_summary": ("organisation", "function", "month"),
    "replication_curve": ("organisation", "function", "seeding_strategy", "source", "validation_quarter"),
    "replication_summary": ("organisation", "function", "seeding_strategy", "source", "validation_quarter"),
    "reconciliation_summary": ("organisation", "function", "month"),
    "estimates_summary": ("organisation", "function", "business_unit", "team", "month"),
    "coverage": ("organisation", "function"),
    "savings_side_by_side": ("organisation", "function"),
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_HEADER = re.compile(r"\A(?:--[^\n]*\n)+")
# A file's header declares the $parameters its own text uses; those of the files it includes add up.
PARAMETERS_LINE = re.compile(r"^-- Parameters: (.*)$", re.MULTILINE)
# Shares and rates are ratios of floating-point sums: a value that is exactly on a threshold on paper
# (0.30, 0.15, 0.5) can land a rounding step below it. Every threshold comparison allows this much.
TOLERANCE = 1e-9
# The parameters that come from the filters' dates: a file that uses none needs no resolving.
DATE_PARAMETERS = {"as_of", "date_from", "date_to", "history_from", "whole_months_from", "whole_months_until"}


class FilterError(ValueError):
    """Filters that select nothing sensible (a range that ends before it starts)."""


class QueryError(ValueError):
    """A SQL file whose declared parameters are not the ones its text uses, or not known values."""


class Dates(typing.NamedTuple):
    """The dates of resolved filters, none of them missing."""

    as_of: dt.date
    date_from: dt.date
    date_to: dt.date
    history_from: dt.date


@dataclasses.dataclass(frozen=True)
class Filters:
    """What a view or report looks at. Unset dates resolve from the data (see resolve)."""

    as_of: dt.date | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    functions: tuple[str, ...] = ()
    business_units: tuple[str, ...] = ()
    history_from: dt.date | None = None

    @property
    def is_resolved(self) -> bool:
        return None not in (self.as_of, self.date_from, self.date_to, self.history_from)

    @property
    def dates(self) -> Dates:
        """The dates of filters that resolve() filled."""
        as_of, date_from, date_to, history_from = self.as_of, self.date_from, self.date_to, self.history_from
        if as_of is None or date_from is None or date_to is None or history_from is None:
            raise FilterError("The filters have no dates yet: resolve them against the data first.")
        return Dates(as_of, date_from, date_to, history_from)

    def resolve(self, conn: duckdb.DuckDBPyConnection) -> Filters:
        """Fill the dates: as_of defaults to the latest date in the data, the range to all data up to it."""
        if self.is_resolved:
            return self
        first, last = data_range(conn)
        as_of = self.as_of or last or dt.datetime.now(dt.UTC).date()
        history_from = min(first, as_of) if first else as_of
        # The range covers whole months: time savings are monthly, so a month is in or out whole.
        date_to = min(month_end(self.date_to or as_of), as_of)
        date_from = (self.date_from or history_from).replace(day=1)
        if date_from > date_to:
            raise FilterError(f"The range is empty: from {date_from} is after to {date_to} (as_of {as_of}).")
        return dataclasses.replace(
            self,
            as_of=as_of,
            date_from=date_from,
            date_to=date_to,
            history_from=min(history_from, date_from),
            functions=tuple(self.functions),
            business_units=tuple(self.business_units),
        )


def months_between(first: dt.date, last: dt.date) -> int:
    """How many calendar months the days first..last touch (both months counted)."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


def add_months(day: dt.date, months: int) -> dt.date:
    """The first of the month `months` after (or before, when negative) the month of `day`."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def whole_months(date_from: dt.date | None, date_to: dt.date | None) -> tuple[dt.date | None, dt.date | None]:
    """The months the days date_from..date_to cover whole, as the first day of the first one and the
    first day after the last one (equal or reversed when there is none): a whole month's usage is
    read from the monthly rollup, the other days' from the daily one. Given to the SQL as values, so
    that DuckDB skips the daily rollup's row groups outside those days."""
    if date_from is None or date_to is None:
        return None, None
    first = date_from if date_from.day == 1 else add_months(date_from, 1)
    return first, add_months(date_to + dt.timedelta(days=1), 0)


def previous_has_data(previous: Filters, first_day: dt.date | None) -> bool:
    """Whether the previous period (previous_period) reaches back into the data, whose first day is
    first_day (None without data): without it there is nothing to compare with."""
    return first_day is not None and previous.date_to is not None and previous.date_to >= first_day


def previous_period(filters: Filters) -> Filters:
    """The comparison period of resolved filters: the same number of whole months just before
    `date_from`, with as_of at its last day and the same functions and business units."""
    if not filters.is_resolved:
        raise ValueError("previous_period needs resolved filters (Filters.resolve)")
    assert filters.date_from and filters.date_to and filters.history_from
    months = months_between(filters.date_from, filters.date_to)
    date_from = add_months(filters.date_from, -months)
    date_to = filters.date_from - dt.timedelta(days=1)
    return dataclasses.replace(
        filters,
        as_of=date_to,
        date_from=date_from,
        date_to=date_to,
        history_from=min(filters.history_from, date_from),
    )


# Quick ranges, in whole months ending with the as_of month (DECISIONS 11).
PRESETS = ("All data", "This quarter", "Last quarter", "Last 3 months", "Last 12 months", "Year to date")
CUSTOM = "Custom range"


def preset_range(preset: str, as_of: dt.date, first: dt.date) -> tuple[dt.date, dt.date]:
    """(from, to) of a quick range as of a day; `first` is the first day of the data."""
    quarter_start = dt.date(as_of.year, (as_of.month - 1) // 3 * 3 + 1, 1)
    ranges = {
        "All data": (first, as_of),
        "This quarter": (quarter_start, as_of),
        "Last quarter": (add_months(quarter_start, -3), quarter_start - dt.timedelta(days=1)),
        "Last 3 months": (add_months(as_of, -2), as_of),
        "Last 12 months": (add_months(as_of, -11), as_of),
        "Year to date": (dt.date(as_of.year, 1, 1), as_of),
    }
    return ranges[preset]


def month_end(day: dt.date) -> dt.date:
    following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def data_range(conn: duckdb.DuckDBPyConnection) -> tuple[dt.date | None, dt.date | None]:
    """(first, last) date of the loaded usage, time-saved and replication data."""

    def compute() -> tuple[dt.date | None, dt.date | None]:
        row = conn.execute(store.sql_text("data_range.sql")).fetchone()
        return (row[0], row[1]) if row else (None, None)

    # A report resolves its sections' filters a few times over: within it, the range is read once.
    return shared_value(conn, ("data_range.sql",), compute)


@functools.cache
def render(name: str, dimensions: tuple[str, ...] = ()) -> str:
    """The SQL of a metric file with its {dimensions} and nested {file} slots filled."""
    # The header is documentation: its plain-language lines name settings in {braces} too.
    text = _HEADER.sub("", store.sql_text(f"{name}.sql"))

    def fill(match: re.Match[str]) -> str:
        slot = match.group(1)
        if slot == "dimensions":
            allowed = DIMENSIONS[name]
            unknown = [dimension for dimension in dimensions if dimension not in allowed]
            if unknown or not dimensions:
                raise ValueError(f"{name} groups by {', '.join(allowed)}; got {dimensions}")
            return ", ".join(dimensions)
        # A nested file that groups too (the KM curve inside its summary) groups the same way.
        return render(slot, dimensions if slot in DIMENSIONS else ())

    return _PLACEHOLDER.sub(fill, text)


def declared_parameters(text: str) -> tuple[str, ...]:
    """The parameters a SQL text's header declares on its `-- Parameters:` line; none without one."""
    header = _HEADER.match(text)
    found = PARAMETERS_LINE.findall(header.group(0)) if header else []
    return tuple(name.strip() for line in found for name in line.split(",") if name.strip())


@functools.cache
def query_parameters(name: str) -> frozenset[str]:
    """The parameters a metric file runs with: its own declared ones and those of every file it includes."""
    text = store.sql_text(f"{name}.sql")
    included = {slot for slot in _PLACEHOLDER.findall(_HEADER.sub("", text)) if slot != "dimensions"}
    return frozenset(declared_parameters(text)).union(*(query_parameters(slot) for slot in included))


def parameters(filters: Filters, settings: Settings) -> dict[str, object]:
    """Every value a metric file may refer to, by its $name."""
    gates, adoption = settings.gates, settings.adoption
    preset = settings.estimates.chosen
    whole_from, whole_until = whole_months(filters.date_from, filters.date_to)
    return {
        "as_of": filters.as_of,
        "date_from": filters.date_from,
        "date_to": filters.date_to,
        "whole_months_from": whole_from,
        "whole_months_until": whole_until,
        "history_from": filters.history_from,
        "functions": list(filters.functions),
        "business_units": list(filters.business_units),
        "window_days": gates.window_days,
        "min_tasks": gates.min_tasks,
        "min_reviewed": gates.min_reviewed,
        "min_accuracy": gates.min_accuracy,
        "min_automation": gates.min_automation,
        "hours_per_fte_month": settings.net_output.hours_per_fte_month,
        "validation_uplift": settings.net_output.validation_uplift,
        "phase_pilot": adoption.phase_bounds[0],
        "phase_crossing": adoption.phase_bounds[1],
        "phase_saturation": adoption.phase_bounds[2],
        "scale_share": adoption.scale_share,
        "scale_min_functions": adoption.scale_min_functions,
        "scale_months_low": adoption.scale_months[0],
        "scale_months_high": adoption.scale_months[1],
        "default_hourly_cost_usd": settings.finance.default_hourly_cost_usd,
        "reinvestment_share": settings.finance.reinvestment_share,
        "cost_source": settings.finance.cost_source,
        "preset_name": settings.estimates.preset or None,
        "preset_baseline_minutes": preset[0] if preset else None,
        "preset_with_agent_minutes": preset[1] if preset else None,
        "tolerance": TOLERANCE,
        "first_agents": settings.network.first_agents,
        "min_tie_hours": settings.network.min_tie_hours,
    }


def bind(file: str, declared: frozenset[str], known: dict[str, object]) -> dict[str, object]:
    """The values of a file's declared parameters, out of every value a metric file may refer to."""
    unknown = sorted(declared - known.keys())
    if unknown:
        raise QueryError(
            f"{file} declares parameters that no filter or setting provides: {', '.join(unknown)}."
        )
    return {key: known[key] for key in sorted(declared)}


# DuckDB's words when the values passed are not the parameters a statement uses.
_PARAMETER_MISMATCH = ("Values were not provided", "excess parameters", "Parameter/argument count mismatch")


def execute(
    conn: duckdb.DuckDBPyConnection, file: str, sql: str, values: dict[str, object]
) -> duckdb.DuckDBPyConnection:
    """Run a SQL file's text with the values of its declared parameters; a file whose text uses other
    parameters than it declares fails naming the file and the parameters."""
    try:
        return conn.execute(sql, values)
    except (duckdb.InvalidInputException, duckdb.BinderException) as error:
        if not any(words in str(error) for words in _PARAMETER_MISMATCH):
            raise
        declared = ", ".join(values) or "none"
        raise QueryError(
            f"{file} (with the files it includes) declares the parameters {declared} on its "
            f"'-- Parameters:' lines, which are not the ones its SQL uses: {error}"
        ) from error


@dataclasses.dataclass
class _Shared:
    """What one shared_results() block shares: each value (a metric file's result by SQL text,
    exactness and parameter values, or another shared_value) by connection, as a future that the
    first asker fills; the cursors opened for its sections count as the connection they came from."""

    results: dict[tuple, concurrent.futures.Future[typing.Any]] = dataclasses.field(default_factory=dict)
    origins: dict[int, int] = dataclasses.field(default_factory=dict)
    cursors: list[duckdb.DuckDBPyConnection] = dataclasses.field(default_factory=list)
    kept: list[object] = dataclasses.field(default_factory=list)  # origins held, so no id is reused
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def origin(self, conn: object) -> int:
        return self.origins.get(id(conn), id(conn))


_SHARED: contextvars.ContextVar[_Shared | None] = contextvars.ContextVar("shared_results", default=None)


@contextlib.contextmanager
def shared_results() -> Iterator[None]:
    """Within the block, a metric file run again on the same connection with the same parameter
    values returns the first run's result instead of running again: a report asks several sections
    for the same results, and the data does not change while it is built. Nothing outlives the block."""
    if _SHARED.get() is not None:
        yield
        return
    shared = _Shared()
    token = _SHARED.set(shared)
    try:
        yield
    finally:
        _SHARED.reset(token)
        for cursor in shared.cursors:
            with contextlib.suppress(duckdb.Error):
                cursor.close()


def join_shared(cursor: duckdb.DuckDBPyConnection, origin: object) -> None:
    """Inside a shared_results() block, count `cursor` as `origin` (the connection it was opened
    from, or the object that stands for the database it reads): it gets the results computed in the
    block for that origin's other cursors, and theirs get its. Kept to the block's end, so that no id
    is reused within it. Outside a block, nothing."""
    shared = _SHARED.get()
    if shared is None:
        return
    with shared.lock:
        shared.origins[id(cursor)] = shared.origin(origin)
        shared.cursors.append(cursor)
        shared.kept.append(origin)


T = typing.TypeVar("T")


def in_parallel(
    conn: duckdb.DuckDBPyConnection,
    sections: dict[str, Callable[[duckdb.DuckDBPyConnection], T]],
    workers: int | None = None,
) -> dict[str, T]:
    """Each section called with a cursor of its own, on as many threads as this process may use
    cores (or `workers`), the results by section name. DuckDB runs each cursor's queries while other threads go on
    (it lets go of Python while it works), so one section's Python overlaps another's SQL. Inside a
    shared_results() block the sections share its results; the first error is raised once every
    section has stopped."""
    shared = _SHARED.get()
    workers = max(1, min(len(sections), workers or _usable_cores()))
    if shared is None or workers == 1:
        return {name: section(conn) for name, section in sections.items()}
    # Opened here, one thread, and kept open to the block's end so that no id is reused within it.
    cursors = {name: conn.cursor() for name in sections}
    for cursor in cursors.values():
        join_shared(cursor, conn)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {
            name: pool.submit(contextvars.copy_context().run, section, cursors[name])
            for name, section in sections.items()
        }
        concurrent.futures.wait(futures.values())
    return {name: future.result() for name, future in futures.items()}


def _usable_cores() -> int:
    """The cores this process may run on (a container's share, not the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def query(
    conn: duckdb.DuckDBPyConnection,
    name: str,
    filters: Filters,
    settings: Settings,
    dimensions: Sequence[str] = (),
    *,
    exact: bool = False,
    columns: Sequence[str] = (),
) -> pd.DataFrame:
    """Run one metric file with the values it refers to, as parameters; with `columns`, only those
    columns, ordered by them all (an exact result costs a Python object per cell)."""
    sql = render(name, tuple(dimensions))
    if columns:
        unknown = [column for column in columns if not re.fullmatch(r"[a-z_]+", column)]
        if unknown:
            raise ValueError(f"not a column name: {', '.join(unknown)}")
        sql = f"select {', '.join(columns)} from ({sql}) order by all"
    declared = query_parameters(name)
    if declared & DATE_PARAMETERS:
        filters = filters.resolve(conn)
    file = store.sql_paths()[f"{name}.sql"]
    values = bind(file, declared, parameters(filters, settings))
    key = (sql, exact, tuple((name, _hashable(value)) for name, value in values.items()))
    # A shallow copy: under pandas' copy-on-write a caller's changes to it never reach the shared result.
    return shared_value(conn, key, lambda: _run(conn, file, sql, values, exact)).copy(deep=False)


def shared_value(conn: duckdb.DuckDBPyConnection, key: tuple, compute: Callable[[], T]) -> T:
    """compute(), or inside a shared_results() block the value computed first for this key on this
    connection (or a cursor opened from it for a section); a value asked for by two sections at once
    is computed once. The caller must not change what it gets."""
    shared = _SHARED.get()
    if shared is None:
        return compute()
    key = (shared.origin(conn), *key)
    with shared.lock:
        future = shared.results.get(key)
        asked_first = future is None
        if future is None:
            future = shared.results[key] = concurrent.futures.Future()
    if asked_first:
        try:
            future.set_result(compute())
        except BaseException as error:
            future.set_exception(error)
            raise
    return future.result()


def _hashable(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def _run(
    conn: duckdb.DuckDBPyConnection, file: str, sql: str, values: dict[str, object], exact: bool
) -> pd.DataFrame:
    result = execute(conn, file, sql, values)
    if exact:
        rows = result.fetchall()
        return pd.DataFrame(rows, columns=[column[0] for column in result.description], dtype=object)
    return result.df()


def functions(conn: duckdb.DuckDBPyConnection, filters: Filters) -> list[str]:
    """Every function that appears in any input, within the filters."""
    return list(query(conn, "functions", filters, Settings())["function"])


def business_units(conn: duckdb.DuckDBPyConnection, filters: Filters) -> list[str]:
    """Every business unit named in the inputs, within the chosen functions."""
    return list(query(conn, "business_units", filters, Settings())["business_unit"])


def usage(
    conn: duckdb.DuckDBPyConnection,
    filters: Filters,
    settings: Settings,
    by: Sequence[str] = ("function",),
    *,
    exact: bool = False,
    columns: Sequence[str] = (),
):
    """Tasks, API calls, tokens, cost, active agents and rates over the range (usage.sql)."""
    return query(conn, "usage", filters, settings, by, exact=exact, columns=columns)


def gates(conn: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings) -> pd.DataFrame:
    """Per agent: tasks, reviewed, accuracy, automation and gate over the gate window (gates.sql)."""
    return query(conn, "gates", filters, settings)


def net_output_teams(conn: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings) -> pd.DataFrame:
    """Per team-month: hours, capacity, uplift, validated Net Output (net_output.sql)."""
    return query(conn, "net_output", filters, settings)


def net_output(
    conn: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings, by: Sequence[str] = ("function",)
) -> pd.DataFrame:
    """Hours and uplift at a coarser grain (net_output_summary.sql)."""
    return query(conn, "net_output_summary", filters, settings, by)


def hours_by_agent(conn: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings) -> pd.DataFrame:
    """Documented hours per agent (hours_by_agent.sql)."""
    return query(conn, "hours_by_agent", filters, settings)


def adoption(conn: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings) -> pd.DataFrame:
    """Per function-month: delegated hours, offloaded share, phase (adoption.sql)."""
    return query(conn, "adoption", filters, settings)


def adoption_org(conn: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings) -> pd.DataFrame:
    """Per month: the organisation's share, phase and functions at scale (adoption_org.sql)."""
    return query(conn, "adoption_org", filters, settings)


def cascade(conn: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings) -> pd.DataFrame:
    """Per function: crossed_on, cascade_rank and phase entry months (adoption_cascade.sql)."""
    return query(conn, "adoption_cascade", filters, settings)


def program(conn: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings) -> dict[str, typing.Any]:
    """The program's milestones and trajectory in the as_of month (adoption_program.sql)."""
    frame = query(conn, "adoption_program", filters, settings, exact=True)
    return {key: _plain(value) for key, value in frame.iloc[0].items()}


def replication(conn: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings) -> pd.DataFrame:
    """Per validated agent: validated_on, first_replicated_on, days, replications (replication.sql)."""
    return query(conn, "replication", filters, settings)


def replication_undeployed(
    conn: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings
) -> pd.DataFrame:
    """Per validated agent: business units that use it without a recorded deployment (replication_undeployed.sql)."""
    return query(conn, "replication_undeployed", filters, settings)


def replication_curve(
    conn: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings, by: Sequence[str] = ("function",)
):
    """Per function (or organisation) and time: the Kaplan-Meier survival curve (replication_curve.sql)."""
    return query(conn, "replication_curve", filters, settings, by)


def replication_summary(
    conn: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings, by: Sequence[str] = ("function",)
):
    """Validated, replicated, plain and Kaplan-Meier medians (replication_summary.sql)."""
    return query(conn, "replication_summary", filters, settings, by)


def replication_trend(conn: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings) -> pd.DataFrame:
    """Per validation quarter: how fast validated agents were replicated (replication_trend.sql),
    with the quarter's Kaplan-Meier median (replication_summary.sql by validation_quarter), which
    counts the agents still waiting where the plain median leaves them out."""
    trend = query(conn, "replication_trend", filters, settings)
    km = replication_summary(conn, filters, settings, by=("validation_quarter",))
    km = km[["validation_quarter", "km_median_replication_days"]].rename(
        columns={"validation_quarter": "quarter"}
    )
    return trend.merge(km, on="quarter", how="left")


def finance_trend(
    conn: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings, *, exact: bool = False
) -> pd.DataFrame:
    """Per month: the organisation's savings, cost and the cumulative pool (finance_trend.sql)."""
    return query(conn, "finance_trend", filters, settings, exact=exact)


def catalog(conn: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings) -> pd.DataFrame:
    """Every catalogued agent with validation, gate, replications and hours saved (catalog.sql)."""
    return query(conn, "catalog", filters, settings)


def finance(
    conn: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings, *, exact: bool = False
) -> pd.DataFrame:
    """Per function-month: labor value, cost, net savings, pool (finance.sql)."""
    return query(conn, "finance", filters, settings, exact=exact)


def finance_summary(
    conn: duckdb.DuckDBPyConnection,
    filters: Filters,
    settings: Settings,
    by: Sequence[str] = ("function",),
    *,
    exact: bool = False,
):
    """Finance at a coarser grain, with ROI and cost per task (finance_summary.sql)."""
    return query(conn, "finance_summary", filters, settings, by, exact=exact)


def reconciliation(
    conn: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings, *, exact: bool = False
) -> pd.DataFrame:
    """Per function-month: usage-log cost against vendor cost, and the difference (reconciliation.sql)."""
    return query(conn, "reconciliation", filters, settings, exact=exact)


def reconciliation_summary(
    conn: duckdb.DuckDBPyConnection,
    filters: Filters,
    settings: Settings,
    by: Sequence[str] = ("function",),
    *,
    exact: bool = False,
):
    """The reconciliation at a coarser grain, with unassigned vendor cost (reconciliation_summary.sql)."""
    return query(conn, "reconciliation_summary", filters, settings, by, exact=exact)


def reconciliation_accounts(
    conn: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings, *, exact: bool = False
) -> pd.DataFrame:
    """Per vendor account: its cost, where the mapping puts it, that unit's usage cost (reconciliation_accounts.sql)."""
    return query(conn, "reconciliation_accounts", filters, settings, exact=exact)


def estimates(
    conn: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings, *, exact: bool = False
) -> pd.DataFrame:
    """Per team-month without documented savings: estimated hours saved and their basis (estimates.sql)."""
    return query(conn, "estimates", filters, settings, exact=exact)


def estimates_summary(
    conn: duckdb.DuckDBPyConnection,
    filters: Filters,
    settings: Settings,
    by: Sequence[str] = ("function",),
    *,
    exact: bool = False,
):
    """Estimated time saved at a coarser grain (estimates_summary.sql)."""
    return query(conn, "estimates_summary", filters, settings, by, exact=exact)


def coverage(
    conn: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings, by: Sequence[str] = ("function",)
) -> pd.DataFrame:
    """The share of usage tasks and cost with documented savings, and with estimates (coverage.sql)."""
    return query(conn, "coverage", filters, settings, by)


def savings_side_by_side(
    conn: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings, by: Sequence[str] = ("function",)
):
    """Documented and estimated hours saved side by side, never added (savings_side_by_side.sql)."""
    return query(conn, "savings_side_by_side", filters, settings, by)


def agents(conn: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings) -> pd.DataFrame:
    """Every agent with usage or a validation in the range: gate, replication, catalog (agents.sql)."""
    return query(conn, "agents", filters, settings)


def loaded_kinds(conn: duckdb.DuckDBPyConnection) -> set[str]:
    """The input kinds of which at least one row was accepted: what a figure can be computed from."""
    rows = conn.execute("select distinct kind from loads where accepted > 0").fetchall()
    kinds = {row[0] for row in rows}
    # Telemetry files (OpenTelemetry, Langfuse) load usage events too.
    has_usage = conn.execute("select exists (select 1 from usage_events)").fetchone()
    if has_usage and has_usage[0]:
        kinds.add("usage_events")
    return kinds


def agent_names(conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Each catalogued agent's name by its id: alerts and wins name an agent so (display.agent).
    Read once per report: its six alert and win rules share it (shared_value; callers only read it)."""
    return shared_value(
        conn,
        ("agent_names",),
        lambda: dict(conn.execute("select agent_id, name from agents where name is not null").fetchall()),
    )


def catalog_rejections(conn: duckdb.DuckDBPyConnection, agent_ids: Sequence[str]) -> pd.DataFrame:
    """The rejected or conflicting catalog rows of these agents: why they have no catalog entry."""
    return conn.execute(
        """
        select try(json_extract_string(r.raw, '$.agent_id')) as agent_id, l.file_name, r.line, r.column_name,
               r.outcome, r.reason
        from rejected_rows as r join loads as l using (load_id)
        where l.kind = 'agents' and try(json_extract_string(r.raw, '$.agent_id')) in (select unnest($agents))
        order by agent_id, l.load_id, r.line
        """,
        {"agents": list(agent_ids)},
    ).df()


def data_quality(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Where every row read went, over all loads."""
    # Constant column names; an aggregate without a group by returns one row, of nulls before any load.
    sums = ", ".join(f"sum({field})" for field in store.COUNT_FIELDS)
    row = conn.execute(f"select {sums} from loads").fetchone() or [None] * len(store.COUNT_FIELDS)
    return {field: int(value or 0) for field, value in zip(store.COUNT_FIELDS, row, strict=True)}


def _plain(value: object) -> object:
    """A pandas scalar as a plain Python value (None for missing)."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


# Selections the pages show, from a metric's frame (so that a page or the report queries each metric
# once); a page never filters rows itself.


def cull_list(agents_frame: pd.DataFrame, settings: Settings | None = None) -> pd.DataFrame:
    """The agents of an agents() result that fail the gate, worst accuracy first; with the settings,
    `fails_on` names the rates below their bar (accuracy, automation or both)."""
    failing = agents_frame[agents_frame["gate"] == "fail"]
    failing = failing.sort_values(["accuracy", "automation"]).reset_index(drop=True)
    if settings is not None:
        bars = {"accuracy": settings.gates.min_accuracy, "automation": settings.gates.min_automation}
        failing["fails_on"] = [
            tuple(name for name, bar in bars.items() if row[name] < bar - TOLERANCE)
            for row in failing.to_dict("records")
        ]
    return failing


def replication_backlog(
    replication_frame: pd.DataFrame, undeployed: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The agents of a replication() result validated in the range and not yet replicated, longest
    waiting first; with a replication_undeployed() result, the business units each is used in without
    a recorded deployment beside it."""
    waiting = replication_frame[
        replication_frame["is_in_range"] & replication_frame["first_replicated_on"].isna()
    ]
    if undeployed is not None:
        waiting = waiting.merge(undeployed, on="agent_id", how="left")
        waiting["units_without_deployment"] = waiting["units_without_deployment"].fillna(0).astype(int)
        # An agent used nowhere else has no row there (NaN after the merge): no units.
        waiting["business_units_without_deployment"] = [
            [] if isinstance(units, float) else list(units)
            for units in waiting["business_units_without_deployment"]
        ]
    return waiting.sort_values("waiting_days", ascending=False).reset_index(drop=True)


def from_range_start(monthly_frame: pd.DataFrame) -> pd.DataFrame:
    """The months of an adoption() or adoption_org() result from the range's first through as_of:
    the trend of a figure shown as of as_of, which may come after the range ends."""
    starts = monthly_frame.index[monthly_frame["is_in_range"]]
    return monthly_frame.loc[starts[0] :].reset_index(drop=True) if len(starts) else monthly_frame.iloc[:0]


def in_plateau(cascade_frame: pd.DataFrame) -> pd.DataFrame:
    """The functions of a cascade result that are in the pilot plateau in the as_of month."""
    return cascade_frame[cascade_frame["phase"] == "pilot_plateau"].reset_index(drop=True)


# What to do when nothing can be estimated, for the tiles and tables that would show estimates.
ESTIMATE_NEEDS = "Load task baselines (a task_baselines file) on the Data page, or choose an estimate preset in the settings"


def nothing_estimated(estimates_frame: pd.DataFrame) -> bool:
    """Whether no team-month of an estimates() result has an estimate: no task baseline or preset applies."""
    return estimates_frame.empty or estimates_frame["basis"].isna().all()


def cannot_estimate(estimates_frame: pd.DataFrame) -> bool:
    """Whether team-months need an estimate (usage without documented savings) and none applies."""
    return not estimates_frame.empty and nothing_estimated(estimates_frame)


def estimate_basis(estimates_frame: pd.DataFrame, limit: int = 5) -> str:
    """The distinct bases of an estimates() result in words, the most used first, for hover text."""
    if nothing_estimated(estimates_frame):
        return "No task baseline or preset applies to this selection, so nothing is estimated."
    parts = estimates_frame["basis"].dropna().str.split(" | ", regex=False)
    counted = parts.explode().value_counts()
    shown = list(counted.index[:limit])
    more = len(counted) - len(shown)
    return "Estimated from: " + "; ".join(shown) + (f"; and {more} more" if more > 0 else "") + "."


COST_SOURCE_WORDS = {
    "usage": "the usage log's cost",
    "vendor": "the vendors' billed cost",
    "larger": "the larger of the usage log's and the vendors' cost, per function-month",
}


def cost_source_words(settings: Settings) -> str:
    """Which agent cost finance uses, in words, for every cost figure's label."""
    return COST_SOURCE_WORDS[settings.finance.cost_source]


# The grain of net_output() that team_leaderboard and grown_teams select from.
TEAMS = ("function", "business_unit", "team")


def team_labels(teams_frame: pd.DataFrame) -> pd.DataFrame:
    """A result by TEAMS with `team_label`: "Tier 1 · Consumer Support", with the function added where
    the same business unit and team name appear under two functions, so no two teams share a label."""
    labelled = teams_frame.copy()
    labelled["team_label"] = labelled["team"].astype(str) + " · " + labelled["business_unit"].astype(str)
    repeated = labelled["team_label"].duplicated(keep=False)
    labelled.loc[repeated, "team_label"] = (
        labelled.loc[repeated, "team_label"] + " · " + labelled.loc[repeated, "function"].astype(str)
    )
    return labelled


def team_leaderboard(teams_frame: pd.DataFrame) -> pd.DataFrame:
    """The teams of a net_output(by=TEAMS) result with validated Net Output, best uplift first."""
    validated = teams_frame[teams_frame["validated_teams"] > 0]
    return validated.sort_values("best_uplift", ascending=False).reset_index(drop=True)


def grown_teams(teams_frame: pd.DataFrame) -> pd.DataFrame:
    """The teams of a net_output(by=TEAMS) result whose headcount rose above their baseline."""
    return teams_frame[teams_frame["teams_grew_headcount"] > 0].reset_index(drop=True)


NO_CATALOG_ENTRY = "no catalog entry"


def validated_catalog(catalog_frame: pd.DataFrame) -> pd.DataFrame:
    """The agents of a catalog() result that a pilot team validated: the ones to replicate. An agent
    without an accepted catalog row is named "no catalog entry" rather than left out."""
    validated = catalog_frame[catalog_frame["is_validated"]].reset_index(drop=True)
    validated["name"] = validated["name"].astype(object).where(validated["is_in_catalog"], NO_CATALOG_ENTRY)
    return validated


# What drives spread: replication_summary by seeding_strategy or source (replication_drivers.sql).
NOT_REACHED = "not reached"


def drivers_table(summary_frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """A replication_summary(by=(by,)) result for showing: the Kaplan-Meier median as days, or "not
    reached" where fewer than half the group's agents were copied; fastest group first."""
    shown = summary_frame.copy()
    shown["km_median"] = [
        NOT_REACHED if pd.isna(value) else f"{int(value)} days"
        for value in shown["km_median_replication_days"]
    ]
    order = shown["km_median_replication_days"].astype(float).fillna(float("inf"))
    return (
        shown.assign(_order=order).sort_values(["_order", by]).drop(columns="_order").reset_index(drop=True)
    )


def km_ratio(summary_frame: pd.DataFrame, by: str, slower: str, faster: str) -> float | None:
    """How many times faster one group reaches its Kaplan-Meier median than another (e.g. built
    against vendor); None unless both groups reached theirs and the faster one took a day or more."""
    medians = summary_frame.set_index(by)["km_median_replication_days"]
    if slower not in medians.index or faster not in medians.index:
        return None
    low, high = medians[faster], medians[slower]
    if pd.isna(low) or pd.isna(high) or low <= 0:
        return None
    return float(high / low)
