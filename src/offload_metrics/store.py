"""The embedded DuckDB store: where the file is, how it opens, its tables and their migrations."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import os
import re
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from offload_metrics import schema

DB_ENV = "OFFLOAD_METRICS_DB"
MEMORY_ENV = "OFFLOAD_METRICS_MEMORY_LIMIT"
# DuckDB's default (80% of RAM) lets its buffer cache grow past what a laptop can spare; loads and
# reports run in this much, spilling to disk when they must. The process's peak stays about 300 MB
# above it (30M realistic events: 1.5 GB at 1200MB, 1.8 to 2.2 GB at 1500MB, which took 2% less time).
DEFAULT_MEMORY_LIMIT = "1200MB"
DEFAULT_DB_FILE = "offload_metrics.duckdb"
SCHEMA_VERSION = 10

# Columns every input table carries besides the contract: the load a row came from; its row number
# in a Parquet file (CSV and JSON Lines rows keep file order instead); and two columns an older
# version used while a load was in progress (always null now: loads classify rows in a staging
# table and store only accepted ones).
LOAD_COLUMNS = ("load_id INTEGER NOT NULL", "_ordinal BIGINT", "_problems UBIGINT", "_raw VARCHAR")
# Every input table also keeps each row's key hash (_key_hash, last: added by migration 7 and for
# tables made later, see _refresh_key_hashes). The meta key holds DuckDB's hash of a fixed text when
# the hashes were computed: a DuckDB whose hash differs computes them again, so a load's probe
# never misses a stored key.
KEY_HASH_CHECK = "key_hash_check"
KEY_HASH_PROBE = "offload-metrics key hash"

# The usage rollup's columns, listed here only: the table, the rollup folder's Parquet, Spark's output,
# compaction and the inserts that apply reviews or unload a load all follow this list, and
# sql/rollup/rollup_usage_daily.sql computes them in this order (a test holds it to that).
USAGE_ROLLUP_COLUMNS = (
    ("day", "DATE"),
    ("function", "VARCHAR"),
    ("business_unit", "VARCHAR"),
    ("team", "VARCHAR"),
    ("agent_id", "VARCHAR"),
    ("task_type", "VARCHAR"),
    ("tasks", "BIGINT"),
    ("completed", "BIGINT"),
    ("escalated", "BIGINT"),
    ("failed", "BIGINT"),
    ("correct", "BIGINT"),
    ("incorrect", "BIGINT"),
    ("api_calls", "BIGINT"),
    ("input_tokens", "BIGINT"),
    ("output_tokens", "BIGINT"),
    ("cost_usd", "DECIMAL(38,8)"),
    ("latency_ms_sum", "BIGINT"),
    ("latency_count", "BIGINT"),
    ("estimated_cost_usd", "DECIMAL(38,8)"),
)
# The rollup's grain: its date and text columns (day, function, business unit, team, agent, task type);
# every other column is a measure that sums over the key (and is negated when a load is unloaded).
USAGE_ROLLUP_KEYS = tuple(name for name, sql_type in USAGE_ROLLUP_COLUMNS if sql_type in ("DATE", "VARCHAR"))
# The usage rollup summed to coarser grains, for the metrics that need less: each derived rollup's
# keys as SQL over usage_daily's columns, then usage_daily's measures. Every row written to
# usage_daily is written to each of them too, summed to its grain (add_usage_rollup_rows), so they
# always hold the same sums. usage_monthly is month x function x business unit x team x agent x
# task type (on realistic data a thirtieth of usage_daily's rows at 10M events), for metrics by
# month: the whole months of a range come from it and only the days of a month the range covers in
# part from usage_daily (sql/intermediate/usage_months_in_range.sql).
MONTH_ROLLUP_TABLE = "usage_monthly"
DERIVED_ROLLUPS: dict[str, dict[str, str]] = {
    MONTH_ROLLUP_TABLE: {"month": "cast(date_trunc('month', day) as date)"}
    | {name: name for name in USAGE_ROLLUP_KEYS if name != "day"},
}
USAGE_MEASURES = tuple(
    (name, sql_type) for name, sql_type in USAGE_ROLLUP_COLUMNS if name not in USAGE_ROLLUP_KEYS
)


# Beside the sums, each derived rollup row keeps the earliest day among the usage_daily rows it
# sums (first_day), so that when a key was first used is the least first_day over its months, read
# without scanning usage_daily (sql/intermediate/usage_first_days.sql).
FIRST_DAY = ("first_day", "DATE")


def derived_rollup_columns(table: str) -> tuple[tuple[str, str], ...]:
    """A derived rollup's columns and types: its keys (typed as in usage_daily; month a DATE), the
    measures, then first_day."""
    types = dict(USAGE_ROLLUP_COLUMNS) | {"month": "DATE"}
    return tuple((name, types[name]) for name in DERIVED_ROLLUPS[table]) + USAGE_MEASURES + (FIRST_DAY,)


class StoreError(RuntimeError):
    """The database cannot be used as asked; the message says why and what to do."""


class OutdatedSchema(StoreError):
    """A database of an older schema opened read-only: it needs one read-write open to migrate."""


class DatabaseBusy(StoreError):
    """Another process holds the database file."""


# The connections (DuckDB connection or cursor objects: each has its own transaction) inside a
# `transaction` block, so that a block within it joins it instead of beginning a second one.
_IN_TRANSACTION: set[int] = set()


@contextlib.contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One write: begin, commit when the block ends, roll back on any error (Ctrl-C included).

    Every write goes through it. A block inside another on the same connection is part of the outer
    one (DuckDB has no nested transactions): one commit when the outer block ends, or one rollback of
    everything when an error leaves it, so a helper that writes can be called alone or within a larger
    write that must be all or nothing."""
    if id(conn) in _IN_TRANSACTION:
        yield conn
        return
    conn.execute("begin transaction")
    _IN_TRANSACTION.add(id(conn))
    try:
        yield conn
        conn.execute("commit")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            conn.execute("rollback")
        raise
    finally:
        _IN_TRANSACTION.discard(id(conn))


def one(conn: duckdb.DuckDBPyConnection, query: str, parameters: object = None) -> tuple[Any, ...]:
    """The row of a query that always returns one (aggregates without group by, settings)."""
    row = conn.execute(query, parameters).fetchone()
    if row is None:
        raise LookupError(f"no row from {query!r}")
    return row


def scalar(conn: duckdb.DuckDBPyConnection, query: str, parameters: object = None) -> Any:
    """The one value of such a query: a count, a sum, a maximum, an exists."""
    return one(conn, query, parameters)[0]


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The database file: --db, else OFFLOAD_METRICS_DB, else offload_metrics.duckdb here."""
    return Path(explicit or os.environ.get(DB_ENV) or DEFAULT_DB_FILE)


def _busy_message(path: Path, error: Exception) -> str:
    pid = re.search(r"PID (\d+)", str(error))
    holder = f"process {pid.group(1)}" if pid else "another process"
    return (
        f"The database {path.name} is in use by {holder} (the dashboard, or another "
        "offload-metrics command). Nothing was changed. Stop that process, or use another "
        "file with --db, then run the command again."
    )


def connect(
    path: str | os.PathLike[str] | None = None, *, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """Open (and if needed create and migrate) the database, with UTC as the session time zone."""
    file = db_path(path)
    if read_only and not file.exists():
        raise StoreError(f"No database at {file}: load data first with 'offload-metrics ingest'.")
    _refuse_other_files(file)
    if not read_only:
        file.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = duckdb.connect(str(file), read_only=read_only)
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise DatabaseBusy(_busy_message(file, error)) from None
        raise StoreError(f"Cannot open {file}: {error}") from None
    except duckdb.Error as error:
        raise StoreError(f"Cannot open {file} as a DuckDB database: {error}") from None
    # Dates of timestamps are UTC dates (SPEC); global so that cursors share it.
    conn.execute("SET GLOBAL TimeZone = 'UTC'")
    conn.execute("SET GLOBAL memory_limit = ?", [os.environ.get(MEMORY_ENV) or DEFAULT_MEMORY_LIMIT])
    # DuckDB would draw its own progress bar on the terminal; the CLI and the app draw theirs.
    conn.execute("SET enable_progress_bar_print = false")
    _refuse_foreign(conn, file)
    if read_only:
        _check_version(conn, file)
    else:
        migrate(conn)
    return conn


def _refuse_foreign(conn: duckdb.DuckDBPyConnection, file: Path) -> None:
    """A DuckDB database of another application (tables, and none of this program's meta): a load or
    a clear would write this program's tables beside its own, and a report would read it as empty."""
    if schema_version(conn) == 0 and scalar(
        conn,
        "select count(*) from duckdb_tables() where not temporary and database_name = current_database()",
    ):
        conn.close()
        raise StoreError(
            f"{file} is a DuckDB database of another application (its tables are not offload-metrics'): "
            "name another database file with --db."
        )


# A DuckDB database file has this at byte 8 (after its checksum); an empty file becomes a database.
DUCKDB_MAGIC = b"DUCK"


def _refuse_other_files(file: Path) -> None:
    """A file that is not a DuckDB database: DuckDB would open a CSV or Parquet path as an empty
    in-memory database, and a load would save nothing."""
    if not file.is_file():
        return
    with file.open("rb") as handle:
        head = handle.read(12)
    if head and head[8:12] != DUCKDB_MAGIC:
        raise StoreError(
            f"{file} is not a DuckDB database (it holds other data): name a database file with --db."
        )


def _check_version(conn: duckdb.DuckDBPyConnection, file: Path) -> None:
    version = schema_version(conn)
    if version != SCHEMA_VERSION or get_meta(conn, "views_sha256") != _views_sha256():
        conn.close()
        raise (OutdatedSchema if version <= SCHEMA_VERSION else StoreError)(
            f"{file} has schema version {version}, this program needs {SCHEMA_VERSION}: "
            "open it once without read-only access to migrate it."
        )


def get_meta(conn: duckdb.DuckDBPyConnection, key: str) -> str | None:
    if not scalar(
        conn,
        "select count(*) from information_schema.tables where table_name = 'meta' and table_schema = 'main'",
    ):
        return None
    row = conn.execute("select value from meta where key = ?", [key]).fetchone()
    return row[0] if row else None


def set_meta(conn: duckdb.DuckDBPyConnection, key: str, value: str | None) -> None:
    """Set (or with None, forget) a meta value, in the caller's transaction or its own."""
    with transaction(conn):
        if value is None:
            conn.execute("delete from meta where key = ?", [key])
        else:
            conn.execute("insert or replace into meta values (?, ?)", [key, value])


def schema_version(conn: duckdb.DuckDBPyConnection) -> int:
    return int(get_meta(conn, "schema_version") or 0)


def input_table_ddl(model: type[schema.InputKind], if_not_exists: bool = False) -> str:
    columns = [f'"{column.name}" {column.sql_type}' for column in schema.columns(model)]
    exists = "if not exists " if if_not_exists else ""
    return f"create table {exists}{model.kind} ({', '.join(columns + list(LOAD_COLUMNS))})"


def _usage_rollup_ddl() -> str:
    columns = ", ".join(f"{name} {sql_type}" for name, sql_type in USAGE_ROLLUP_COLUMNS)
    return f"create table usage_daily ({columns})"


def _derived_rollup_ddl(table: str) -> str:
    columns = ", ".join(f"{name} {sql_type}" for name, sql_type in derived_rollup_columns(table))
    return f"create table if not exists {table} ({columns})"


def _derived_rollup_of(table: str, source: str) -> str:
    """SQL: the rows of `source` (usage_daily's columns) summed to the derived rollup's grain, in its
    column order, with the least day of the rows each sums."""
    keys = [f"{expression} as {name}" for name, expression in DERIVED_ROLLUPS[table].items()]
    measures = [f"sum({name}) as {name}" for name, _ in USAGE_MEASURES]
    grouping = ", ".join(str(number) for number in range(1, len(keys) + 1))
    return (
        f"select {', '.join(keys + measures)}, min(day) as {FIRST_DAY[0]} from {source} group by {grouping}"
    )


def add_usage_rollup_rows(conn: duckdb.DuckDBPyConnection, rows_sql: str, parameters: object = None) -> None:
    """Add rows to the usage rollup: `rows_sql` gives usage_daily's columns in USAGE_ROLLUP_COLUMNS
    order; they go into usage_daily as they are and into each derived rollup summed to its grain.
    The one way a usage rollup row is written (a load, a review, an unload, a rollup folder)."""
    names = ", ".join(name for name, _ in USAGE_ROLLUP_COLUMNS)
    # Inside the caller's transaction: a failure rolls the temporary table back with the rest.
    conn.execute(f"create or replace temp table _usage_rollup_rows as {rows_sql}", parameters)
    with insertion_order(conn, preserved=True):
        conn.execute(f"insert into usage_daily ({names}) select * from _usage_rollup_rows order by day")
    for table in DERIVED_ROLLUPS:
        conn.execute(f"insert into {table} {_derived_rollup_of(table, '_usage_rollup_rows')}")
    conn.execute("drop table _usage_rollup_rows")


@contextlib.contextmanager
def insertion_order(conn: duckdb.DuckDBPyConnection, *, preserved: bool) -> Iterator[None]:
    """Inserts in the block keep the order their rows are selected in, or not (then DuckDB writes on
    every thread); the session's setting is restored after. usage_daily's rows are stored by day, so
    that the days of a month a range covers in part are read from the few row groups that hold them
    (DuckDB skips a row group by its days' minimum and maximum)."""
    before = scalar(conn, "select current_setting('preserve_insertion_order')")
    conn.execute("SET preserve_insertion_order = ?", [preserved])
    try:
        yield
    finally:
        # After a failed insert the transaction refuses statements; the caller's error goes on.
        with contextlib.suppress(duckdb.Error):
            conn.execute("SET preserve_insertion_order = ?", [before])


# The kind of a rollup folder's load (rollup_folder.py), and the table of the rows each such load added
# to usage_daily: folding merges them there with other loads' rows; unloading one takes out these.
ROLLUP_LOADS_TABLE = "usage_rollup"


# Where each row a load read went: columns of the loads table, summed by the data-quality figures.
COUNT_FIELDS = ("rows_read", "accepted", "duplicate", "conflict", "rejected")


def _migration_1(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("create table meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    conn.execute(
        """
        create table loads (
            load_id INTEGER PRIMARY KEY,
            file_name VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            file_format VARCHAR NOT NULL,
            size_bytes BIGINT NOT NULL,
            rows_read BIGINT NOT NULL,
            accepted BIGINT NOT NULL,
            duplicate BIGINT NOT NULL,
            conflict BIGINT NOT NULL,
            rejected BIGINT NOT NULL,
            ignored_columns VARCHAR[],
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP,
            outcome VARCHAR NOT NULL
        )
        """
    )
    conn.execute(
        """
        create table rejected_rows (
            load_id INTEGER NOT NULL,
            line BIGINT,
            column_name VARCHAR,
            outcome VARCHAR NOT NULL,
            reason VARCHAR NOT NULL,
            raw VARCHAR
        )
        """
    )
    for model in schema.KINDS.values():
        conn.execute(input_table_ddl(model))
    conn.execute(_usage_rollup_ddl())


def _migration_2(conn: duckdb.DuckDBPyConnection) -> None:
    """The ingest settings a load used (date bounds; for telemetry the mapping too), what a
    telemetry file held, estimated cost, traces of events, and reviews that arrive after their events."""
    from offload_metrics import telemetry

    for column in ("records_read BIGINT", "events_made BIGINT", "ingest_settings VARCHAR"):
        conn.execute(f"alter table loads add column if not exists {column}")
    # A telemetry event's cost worked out from the price table (0 when the source gave its cost).
    conn.execute("alter table usage_events add column if not exists estimated_cost_usd DECIMAL(18,8)")
    conn.execute("alter table usage_events add column if not exists trace_id VARCHAR")
    conn.execute(
        "alter table usage_daily add column if not exists estimated_cost_usd DECIMAL(38,8) default 0"
    )
    conn.execute(input_table_ddl(telemetry.Review).replace("create table", "create table if not exists", 1))
    # The review each event counts with in usage_daily, where a later review changed it.
    conn.execute(
        "create table if not exists reviews_counted (event_id VARCHAR NOT NULL, review VARCHAR, load_id INTEGER NOT NULL)"
    )


def _migration_3(conn: duckdb.DuckDBPyConnection) -> None:
    """The catalog's optional drivers of spread; a fresh database has them from _migration_1 already."""
    conn.execute("alter table agents add column if not exists seeding_strategy VARCHAR")
    conn.execute("alter table agents add column if not exists source VARCHAR")


def _migration_4(conn: duckdb.DuckDBPyConnection) -> None:
    """Vendor costs and usage, task baselines; the task type in the usage rollup, for estimated time saved."""
    for model in (schema.VendorCost, schema.VendorUsage, schema.TaskBaseline):
        conn.execute(input_table_ddl(model).replace("create table", "create table if not exists", 1))
    rollup_columns = [row[0] for row in conn.execute("describe usage_daily").fetchall()]
    if "task_type" not in rollup_columns:
        # Rebuilt from the stored events, one load at a time as the loads wrote it, so that every
        # sum stays what it was and each key gains its task types.
        conn.execute("drop table usage_daily")
        conn.execute(_usage_rollup_ddl())
        for table in DERIVED_ROLLUPS:  # applying reviews below writes them; migration 9 fills them anew
            conn.execute(_derived_rollup_ddl(table))
        for (load_id,) in conn.execute(
            "select distinct load_id from usage_events order by load_id"
        ).fetchall():
            conn.execute(
                f"insert into usage_daily {sql_text('rollup_usage_daily.sql')}", {"load_id": load_id}
            )
        # Reviews that arrived apart from their events are applied again, load by load.
        conn.execute("delete from reviews_counted")
        for (load_id,) in conn.execute("select load_id from loads order by load_id").fetchall():
            apply_reviews(conn, load_id)
        rows = scalar(conn, "select count(*) from usage_daily")
        set_meta(conn, ROLLUP_BASELINE_KEY, str(rows) if rows else None)


def _migration_5(conn: duckdb.DuckDBPyConnection) -> None:
    """Collaboration between teams: the contract kind (a fresh database has it from migration 1),
    Viva Insights group-to-group rows, and what each load's Viva groups mapped to."""
    conn.execute(input_table_ddl(schema.Collaboration, if_not_exists=True))
    conn.execute(input_table_ddl(schema.VivaCollaboration, if_not_exists=True))
    conn.execute(
        "create table if not exists viva_groups (load_id INTEGER NOT NULL, source VARCHAR NOT NULL, "
        "value VARCHAR NOT NULL, function VARCHAR NOT NULL, business_unit VARCHAR NOT NULL, team VARCHAR)"
    )


def _migration_6(conn: duckdb.DuckDBPyConnection) -> None:
    """The audit trail: who loaded, cleared or saved settings, and when (kept when data is cleared)."""
    conn.execute(
        """
        create table if not exists audit (
            recorded_at TIMESTAMP NOT NULL,
            who VARCHAR NOT NULL,
            action VARCHAR NOT NULL,
            detail VARCHAR
        )
        """
    )


def key_hash_sql(model: type[schema.InputKind]) -> str:
    """A row's key hashed, as stored in _key_hash: what a load's "already stored" check probes, so it
    reads 8 bytes a stored row rather than the key columns (DECISIONS 7: by key or key hash only)."""
    return "hash(" + ", ".join(f'"{name}"' for name in model.key) + ")"


def _input_models() -> list[type[schema.InputKind]]:
    from offload_metrics import telemetry

    return [*schema.KINDS.values(), *schema.IMPORTED_KINDS.values(), telemetry.Review]


def _fill_key_hashes(conn: duckdb.DuckDBPyConnection) -> None:
    """Every input table's _key_hash, added where missing and computed for every stored row."""
    tables = {
        row[0]
        for row in conn.execute("select table_name from duckdb_tables() where not temporary").fetchall()
    }
    for model in _input_models():
        if model.kind in tables:
            conn.execute(f"alter table {model.kind} add column if not exists _key_hash UBIGINT")
            conn.execute(f"update {model.kind} set _key_hash = {key_hash_sql(model)}")
    current = scalar(conn, "select hash(?)", [KEY_HASH_PROBE])
    set_meta(conn, KEY_HASH_CHECK, str(current))


def _refresh_key_hashes(conn: duckdb.DuckDBPyConnection) -> None:
    """Compute the stored key hashes again when DuckDB's hash is not the one they were made with, or
    when an input table has none (one made by a later migration)."""
    current = scalar(conn, "select hash(?)", [KEY_HASH_PROBE])
    kinds = [model.kind for model in _input_models()]
    missing = scalar(
        conn,
        "select count(*) from duckdb_tables() as t where not t.temporary and t.table_name in ? and not exists "
        "(select 1 from duckdb_columns() as c where c.table_name = t.table_name and c.column_name = '_key_hash')",
        [kinds],
    )
    if missing or get_meta(conn, KEY_HASH_CHECK) != str(current):
        with transaction(conn):
            _fill_key_hashes(conn)


def _migration_7(conn: duckdb.DuckDBPyConnection) -> None:
    """Each input table keeps its rows' key hash (_key_hash), filled for the rows already stored."""
    _fill_key_hashes(conn)


def _migration_8(conn: duckdb.DuckDBPyConnection) -> None:
    """The rows each rollup folder's load added, so that it can be unloaded exactly. Rollups loaded
    before have none kept, and unload refuses them (it cannot tell their rows apart)."""
    columns = ", ".join(f"{name} {sql_type}" for name, sql_type in USAGE_ROLLUP_COLUMNS)
    conn.execute(f"create table if not exists {ROLLUP_LOADS_TABLE} (load_id INTEGER NOT NULL, {columns})")


def _migration_9(conn: duckdb.DuckDBPyConnection) -> None:
    """The derived rollups (usage_monthly), filled from usage_daily: the same sums at coarser grains."""
    for table in DERIVED_ROLLUPS:
        conn.execute(_derived_rollup_ddl(table))
        conn.execute(f"delete from {table}")
        conn.execute(f"insert into {table} {_derived_rollup_of(table, 'usage_daily')}")


def _migration_10(conn: duckdb.DuckDBPyConnection) -> None:
    """Each derived rollup row keeps its first day: the derived rollups are made and filled anew from
    usage_daily, with the same sums."""
    for table in DERIVED_ROLLUPS:
        conn.execute(f"drop table if exists {table}")
    _migration_9(conn)


MIGRATIONS = {
    1: _migration_1,
    2: _migration_2,
    3: _migration_3,
    4: _migration_4,
    5: _migration_5,
    6: _migration_6,
    7: _migration_7,
    8: _migration_8,
    9: _migration_9,
    10: _migration_10,
}


def migrate(conn: duckdb.DuckDBPyConnection) -> None:
    """Bring the database to SCHEMA_VERSION, one migration per transaction, and refresh the views."""
    version = schema_version(conn)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"The database has schema version {version}, newer than this program ({SCHEMA_VERSION})."
        )
    for target in range(version + 1, SCHEMA_VERSION + 1):
        with transaction(conn):
            MIGRATIONS[target](conn)
            conn.execute("insert or replace into meta values ('schema_version', ?)", [str(target)])
    _refresh_key_hashes(conn)
    if get_meta(conn, "views_sha256") != _views_sha256():
        create_views(conn)


# The SQL files' layers, as folders of sql/: staging views over the input tables and the macros
# they and every query use (schema objects, kept in step with the code), the usage rollup that
# DuckDB's ingest and Spark both run, intermediate models other SQL builds on, and the metrics the
# pages and the report read. A file is named by its name alone, unique across the layers.
SQL_LAYERS = ("staging", "macros", "rollup", "intermediate", "metrics")
_SCHEMA_LAYERS = ("macros", "staging")


@functools.cache
def sql_paths() -> dict[str, str]:
    """Every SQL file shipped in the package, by name ("usage.sql"), with its place ("metrics/usage.sql")."""
    root = resources.files("offload_metrics").joinpath("sql")
    paths: dict[str, str] = {}
    for layer in SQL_LAYERS:
        for entry in root.joinpath(layer).iterdir():
            if not entry.name.endswith(".sql"):
                continue
            if entry.name in paths:
                raise StoreError(f"Two SQL files are named {entry.name}: {paths[entry.name]} and {layer}/.")
            paths[entry.name] = f"{layer}/{entry.name}"
    return dict(sorted(paths.items()))


def sql_text(name: str) -> str:
    """The text of a SQL file shipped in the package, by its name ("usage.sql") in whichever layer."""
    if name not in sql_paths():
        raise StoreError(f"No SQL file is named {name}.")
    return (
        resources.files("offload_metrics")
        .joinpath("sql", *sql_paths()[name].split("/"))
        .read_text(encoding="utf-8")
    )


def sql_files(layer: str | None = None) -> list[str]:
    """The names of the SQL files, of one layer or of all."""
    return [name for name, path in sql_paths().items() if layer is None or path.startswith(f"{layer}/")]


def _view_files() -> list[str]:
    """Staging views and macros: schema objects every metric query reads, kept in step with the code."""
    return [name for layer in _SCHEMA_LAYERS for name in sql_files(layer)]


def _views_sha256() -> str:
    digest = hashlib.sha256()
    for name in _view_files():
        digest.update(name.encode() + b"\0" + sql_text(name).encode())
    return digest.hexdigest()


def create_views(conn: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the staging views so they match this program's SQL files."""
    with transaction(conn):
        for name in _view_files():
            if name in sql_files("macros"):
                conn.execute(sql_text(name))
            else:
                conn.execute(f"create or replace view {name.removesuffix('.sql')} as {sql_text(name)}")
        conn.execute("insert or replace into meta values ('views_sha256', ?)", [_views_sha256()])


DATA_TABLES = (
    *schema.KINDS, *schema.IMPORTED_KINDS, "viva_groups", "reviews", "reviews_counted", "usage_daily", *DERIVED_ROLLUPS,
    ROLLUP_LOADS_TABLE, "rejected_rows", "loads",
)  # fmt: skip


ROLLUP_BASELINE_KEY = "usage_daily_rows_after_compaction"


def append_usage_rollup(conn: duckdb.DuckDBPyConnection, load_id: int) -> None:
    """Add a load's rows to usage_daily, then fold it (fold_usage_rollup).

    Runs inside the load's transaction, so the rollup always matches the committed events.
    """
    add_usage_rollup_rows(conn, sql_text("rollup_usage_daily.sql"), {"load_id": load_id})
    fold_usage_rollup(conn)


def fold_usage_rollup(conn: duckdb.DuckDBPyConnection) -> None:
    """Fold per-load rows of usage_daily into one per key once the rollup has doubled since last time."""
    rows = scalar(conn, "select count(*) from usage_daily")
    baseline = get_meta(conn, ROLLUP_BASELINE_KEY)
    if baseline is None:
        set_meta(conn, ROLLUP_BASELINE_KEY, str(rows))
    elif rows > 2 * int(baseline):
        _compact_usage_rollup(conn)


def _compact_usage_rollup(conn: duckdb.DuckDBPyConnection) -> None:
    """Fold usage_daily to one row per key, every measure summed, so no sum changes; a key whose
    tasks sum to zero (all unloaded) goes. usage_daily stays stored by day. Each derived rollup is
    then summed anew from the folded usage_daily, so its first days are the folded rows' too."""
    keys = ", ".join(USAGE_ROLLUP_KEYS)
    columns = ", ".join(
        name if name in USAGE_ROLLUP_KEYS else f"sum({name}) as {name}" for name, _ in USAGE_ROLLUP_COLUMNS
    )
    _fold(conn, "usage_daily", f"select {columns} from usage_daily group by {keys}", "day")
    for table, derived_keys in DERIVED_ROLLUPS.items():
        _fold(conn, table, _derived_rollup_of(table, "usage_daily"), next(iter(derived_keys)))
    rows = scalar(conn, "select count(*) from usage_daily")
    set_meta(conn, ROLLUP_BASELINE_KEY, str(rows))


def _fold(conn: duckdb.DuckDBPyConnection, table: str, folded_sql: str, order_by: str) -> None:
    """Replace a rollup's rows by `folded_sql` (its rows summed per key), stored in `order_by` order,
    less the keys with no tasks left."""
    conn.execute(f"create or replace temp table rollup_folded as {folded_sql}")
    conn.execute(f"delete from {table}")
    with insertion_order(conn, preserved=True):
        conn.execute(f"insert into {table} select * from rollup_folded where tasks <> 0 order by {order_by}")
    conn.execute("drop table rollup_folded")


def apply_reviews(conn: duckdb.DuckDBPyConnection, load_id: int) -> None:
    """Bring usage_daily's correct and incorrect counts in line with reviews that arrived apart from
    their events (a Langfuse scores file before or after its observations), for the events a load
    touched. Runs inside the load's transaction."""
    if not scalar(conn, "select exists (select 1 from reviews)"):
        return
    conn.execute(sql_text("rollup_reviews.sql"), {"load_id": load_id})
    _add_review_changes(
        conn,
        {name: name for name in USAGE_ROLLUP_KEYS},
        "review_after",
        "review_before",
        f"from _review_changes group by {', '.join(USAGE_ROLLUP_KEYS)}",
    )
    conn.execute(
        "insert into reviews_counted select event_id, review_after, $load_id from _review_changes",
        {"load_id": load_id},
    )
    conn.execute("drop table _review_changes")


def _add_review_changes(
    conn: duckdb.DuckDBPyConnection,
    keys: dict[str, str],
    after: str,
    before: str,
    source: str,
    parameters: object = None,
    sign: str = "",
) -> None:
    """Rows into usage_daily that change only its correct and incorrect counts, by how many events'
    review went from `before` to `after`: each key as given, every other measure 0; sign "-"
    takes such changes out again."""
    changed = {
        review: f"{sign}sum(coalesce({after} = '{review}', false)::INTEGER "
        f"- coalesce({before} = '{review}', false)::INTEGER)"
        for review in ("correct", "incorrect")
    }
    values = {name: "0" for name, _ in USAGE_ROLLUP_COLUMNS} | keys | changed
    add_usage_rollup_rows(
        conn,
        f"select {', '.join(f'{values[name]} as {name}' for name, _ in USAGE_ROLLUP_COLUMNS)} {source}",
        parameters,
    )


def _remove_counted_reviews(conn: duckdb.DuckDBPyConnection, load_id: int) -> None:
    """Take out of usage_daily what later reviews changed for a load's events (its own reviews
    are gone with the negation of its rollup)."""
    _add_review_changes(
        conn,
        {**{name: f"e.{name}" for name in USAGE_ROLLUP_KEYS}, "day": "cast(e.occurred_at as date)"},
        "c.review",
        "e.review",
        """
        from usage_events as e
        join (select event_id, arg_max(review, load_id) as review from reviews_counted group by event_id) as c
            on c.event_id = e.event_id
        where e.load_id = $load_id
        group by all
        """,
        {"load_id": load_id},
        sign="-",
    )
    conn.execute(
        "delete from reviews_counted where event_id in (select event_id from usage_events where load_id = ?)",
        [load_id],
    )


# The last load id of the bundled sample the dashboard starts on: loads up to it are the sample's.
SAMPLE_KEY = "sample_last_load"


def clear(conn: duckdb.DuckDBPyConnection, who: str, detail: str) -> None:
    """Delete every loaded row, rejection and load record, forget the sample, and record who cleared
    the database in the audit: one transaction, so a failure part-way leaves everything as it was."""
    with transaction(conn):
        set_meta(conn, ROLLUP_BASELINE_KEY, None)
        set_meta(conn, SAMPLE_KEY, None)
        for table in DATA_TABLES:
            conn.execute(f"delete from {table}")
        record_audit(conn, who, "clear", detail)
    with contextlib.suppress(duckdb.TransactionException):
        conn.execute("checkpoint")


def unload(conn: duckdb.DuckDBPyConnection, load_id: int, who: str | None = None) -> dict[str, int]:
    """Remove one load with everything it added, in one transaction; return the rows removed per table.
    With `who`, the audit records who removed it, in the same transaction.

    Its contribution to usage_daily is taken out by adding the negation of its own rollup and
    folding, so the rollup equals the remaining events exactly, whatever compaction merged."""
    with transaction(conn):
        found = conn.execute("select kind, file_name from loads where load_id = ?", [load_id]).fetchone()
        if found is None:
            raise StoreError(
                f"There is no load {load_id}; the load ids are in 'offload-metrics rejects' and the Data page."
            )
        removed: dict[str, int] = {}
        has_usage = scalar(conn, "select count(*) from usage_events where load_id = ?", [load_id])
        if scalar(conn, "select count(*) from reviews where load_id = ?", [load_id]):
            raise StoreError(
                f"Load {load_id} holds reviews (a Langfuse scores file), which cannot be unloaded one by one yet: "
                "clear the database and load the files again without it."
            )
        negated = [
            name if name in USAGE_ROLLUP_KEYS else f"-{name} as {name}" for name, _ in USAGE_ROLLUP_COLUMNS
        ]
        if has_usage:
            add_usage_rollup_rows(
                conn,
                f"select {', '.join(negated)} from ({sql_text('rollup_usage_daily.sql')})",
                {"load_id": load_id},
            )
            _remove_counted_reviews(conn, load_id)
            _compact_usage_rollup(conn)
        elif _unload_rollup_rows(conn, load_id):
            add_usage_rollup_rows(
                conn,
                f"select {', '.join(negated)} from {ROLLUP_LOADS_TABLE} where load_id = $load_id",
                {"load_id": load_id},
            )
            _compact_usage_rollup(conn)
        for table in (*schema.KINDS, ROLLUP_LOADS_TABLE, "rejected_rows", "loads"):
            count = scalar(conn, f"delete from {table} where load_id = ?", [load_id])
            if count:
                removed[table] = int(count)
        if who is not None:
            kind, file_name = found
            record_audit(conn, who, "unload", unload_detail(load_id, kind, file_name, removed))
    with contextlib.suppress(duckdb.TransactionException):
        conn.execute("checkpoint")
    return removed


def unload_detail(load_id: int, kind: str, file_name: str, removed: dict[str, int]) -> str:
    """What an unload removed, in a sentence (the audit's detail and the command's answer)."""
    return (
        f"Removed load {load_id} ({file_name}): {removed.get(kind, 0):,} {kind} rows, "
        f"{removed.get('rejected_rows', 0):,} rejected rows."
    )


def _unload_rollup_rows(conn: duckdb.DuckDBPyConnection, load_id: int) -> bool:
    """Whether the load is a rollup folder's with rows to take out of usage_daily; refuse one whose
    rows were not kept apart (loaded before this version), since they cannot be told from others'."""
    kind, accepted, file_name = one(
        conn, "select kind, accepted, file_name from loads where load_id = ?", [load_id]
    )
    if kind != ROLLUP_LOADS_TABLE:
        return False
    kept = scalar(conn, f"select count(*) from {ROLLUP_LOADS_TABLE} where load_id = ?", [load_id])
    if accepted and not kept:
        raise StoreError(
            f"Load {load_id} ({file_name}) is a usage rollup loaded by an earlier version, which did not keep "
            "its rows apart from the other loads' in the usage rollup, so it cannot be taken out exactly. "
            "Clear the database ('offload-metrics clear') and load the files again without it."
        )
    return bool(kept)


def dates_outside(conn: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date) -> list[str]:
    """Stored dates before `first` or after `last` (as an older version could store): one line per
    column and load, naming the load to remove. Values are compared and shown as SQL text, since
    Python cannot hold a BC date."""
    problems = []
    bounds = {"first": first, "last": last}
    for model in schema.KINDS.values():
        for column in schema.columns(model):
            if column.base not in ("date", "timestamp"):
                continue
            name = f'"{column.name}"'
            # Compared as stored, not cast, so the scan can skip row groups by their min and max.
            outside = (
                f"{name} < $first or {name} > $last"
                if column.base == "date"
                else f"{name} < $first::TIMESTAMP or {name} >= ($last + 1)::TIMESTAMP"
            )
            rows = conn.execute(
                f"""
                select t.load_id, l.file_name, count(*), min({name})::VARCHAR, max({name})::VARCHAR
                from {model.kind} as t left join loads as l using (load_id)
                where {outside}
                group by all order by t.load_id
                """,
                bounds,
            ).fetchall()
            for load_id, file_name, count, low, high in rows:
                shown = low if low == high else f"{low} to {high}"
                problems.append(
                    f"{model.kind}.{column.name}: {count} value{'s' if count > 1 else ''} outside "
                    f"{first.isoformat()} to {last.isoformat()} ({shown}) in load {load_id} ({file_name}); "
                    f"remove that load with 'offload-metrics unload {load_id}'"
                )
    return problems


def is_empty(conn: duckdb.DuckDBPyConnection) -> bool:
    return scalar(conn, "select count(*) from loads") == 0


def rejected_rows(conn: duckdb.DuckDBPyConnection, load_id: int | None = None, limit: int | None = None):
    """Rejected and conflicting rows with their file, line, column and reason, newest load first."""
    query = """
        select r.load_id, l.file_name, l.kind, r.line, r.column_name, r.outcome, r.reason, r.raw
        from rejected_rows as r join loads as l using (load_id)
        where $load_id is null or r.load_id = $load_id
        order by r.load_id desc, r.line
        limit $limit
    """
    return conn.execute(query, {"load_id": load_id, "limit": limit if limit else 2**62}).df()


def rejected_count(conn: duckdb.DuckDBPyConnection, load_id: int | None = None) -> int:
    """How many rejected and conflicting rows there are (in one load, or in all)."""
    return int(
        scalar(
            conn,
            "select count(*) from rejected_rows where $load_id is null or load_id = $load_id",
            {"load_id": load_id},
        )
    )


def loads(conn: duckdb.DuckDBPyConnection):
    """The load history, newest first."""
    return conn.execute(
        """
        select load_id, file_name, kind, file_format, rows_read, accepted, duplicate, conflict, rejected,
               ignored_columns, started_at, finished_at, outcome, sha256, size_bytes, records_read, events_made
        from loads order by load_id desc
        """
    ).df()


AUDIT_ACTIONS = ("load", "clear", "unload", "save settings")


def record_audit(conn: duckdb.DuckDBPyConnection, who: str, action: str, detail: str | None = None) -> None:
    """Add one line to the audit trail, in the caller's transaction (or its own)."""
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with transaction(conn):
        conn.execute("insert into audit values (?, ?, ?, ?)", [now, who, action, detail])


def audit(conn: duckdb.DuckDBPyConnection, limit: int = 1000):
    """The audit trail, newest first."""
    return conn.execute(
        "select recorded_at, who, action, detail from audit order by recorded_at desc, rowid desc limit ?",
        [limit],
    ).df()


class SharedDatabase:
    """One process's hold on a database file: read-only, except while it writes.

    DuckDB lets many processes read a file, or one write it; holding it read-only between writes lets
    `report` and `rejects` read beside the dashboard. A write waits for the queries in flight, reopens
    the file read-write (one writer at a time), and reopens it read-only when done; queries that start
    meanwhile run on the writer's connection and see the last committed data.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._state = threading.Condition()
        self._writer = threading.RLock()
        self._readers = 0
        self._switching = False
        self._depth = 0
        # Create and migrate once; if another process reads the file, it exists, and opening it
        # read-only says whether it needs migrating.
        with contextlib.suppress(DatabaseBusy):
            connect(self.path).close()
        self._conn: duckdb.DuckDBPyConnection | None = connect(self.path, read_only=True)

    @contextlib.contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own for one or more queries."""
        with self._state:
            while self._switching:
                self._state.wait()
            if self._conn is None:
                self._conn = connect(self.path, read_only=True)
            self._readers += 1
            cursor = self._conn.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
            with self._state:
                self._readers -= 1
                self._state.notify_all()

    @contextlib.contextmanager
    def writing(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The read-write connection, for a load, a clear or a settings save (re-entrant)."""
        with self._writer:
            if self._depth == 0:
                self._reopen(read_only=False)
            conn = self._conn
            assert conn is not None, "_reopen leaves a connection or raises"
            self._depth += 1
            try:
                yield conn
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._reopen(read_only=True)

    def _reopen(self, read_only: bool) -> None:
        with self._state:
            self._switching = True
            while self._readers:
                self._state.wait()
            try:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
                try:
                    self._conn = connect(self.path, read_only=read_only)
                except StoreError:
                    if read_only:
                        raise  # the next query tries again
                    # Another process reads the file: stay readable, and say why nothing changed.
                    self._conn = connect(self.path, read_only=True)
                    raise
            finally:
                self._switching = False
                self._state.notify_all()

    def close(self) -> None:
        with self._state:
            self._switching = True
            while self._readers:
                self._state.wait()
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._switching = False
            self._state.notify_all()
