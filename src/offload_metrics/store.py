"""The embedded DuckDB store: where the file is, how it opens, its tables and their migrations."""

from __future__ import annotations

import hashlib
import os
import re
from importlib import resources
from pathlib import Path

import duckdb

from offload_metrics import schema

DB_ENV = "OFFLOAD_METRICS_DB"
MEMORY_ENV = "OFFLOAD_METRICS_MEMORY_LIMIT"
# DuckDB's default (80% of RAM) lets its buffer cache grow past what a laptop can spare; loads and
# reports run in this much, spilling to disk when they must (measured in benchmarks/).
DEFAULT_MEMORY_LIMIT = "1500MB"
DEFAULT_DB_FILE = "offload_metrics.duckdb"
SCHEMA_VERSION = 1

# Columns every input table carries besides the contract: the load a row came from; its row number
# in a Parquet file (CSV and JSON Lines rows keep file order instead); and while a load is in
# progress, the problems found in the row and its raw values as a JSON array (null once loaded).
LOAD_COLUMNS = ("load_id INTEGER NOT NULL", "_ordinal BIGINT", "_problems UBIGINT", "_raw VARCHAR")

USAGE_ROLLUP_COLUMNS = (
    ("day", "DATE"),
    ("function", "VARCHAR"),
    ("business_unit", "VARCHAR"),
    ("team", "VARCHAR"),
    ("agent_id", "VARCHAR"),
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
)


class StoreError(RuntimeError):
    """The database cannot be used as asked; the message says why and what to do."""


class DatabaseBusy(StoreError):
    """Another process holds the database file."""


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
    if read_only:
        _check_version(conn, file)
    else:
        migrate(conn)
    return conn


def _check_version(conn: duckdb.DuckDBPyConnection, file: Path) -> None:
    version = schema_version(conn)
    if version != SCHEMA_VERSION or get_meta(conn, "views_sha256") != _views_sha256():
        raise StoreError(
            f"{file} has schema version {version}, this program needs {SCHEMA_VERSION}: "
            "open it once without read-only access to migrate it."
        )


def get_meta(conn: duckdb.DuckDBPyConnection, key: str) -> str | None:
    exists = conn.execute(
        "select count(*) from information_schema.tables where table_name = 'meta' and table_schema = 'main'"
    ).fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute("select value from meta where key = ?", [key]).fetchone()
    return row[0] if row else None


def set_meta(conn: duckdb.DuckDBPyConnection, key: str, value: str | None) -> None:
    if value is None:
        conn.execute("delete from meta where key = ?", [key])
    else:
        conn.execute("insert or replace into meta values (?, ?)", [key, value])


def schema_version(conn: duckdb.DuckDBPyConnection) -> int:
    return int(get_meta(conn, "schema_version") or 0)


def input_table_ddl(model: type[schema.InputKind]) -> str:
    columns = [f'"{column.name}" {column.sql_type}' for column in schema.columns(model)]
    return f"create table {model.kind} ({', '.join(columns + list(LOAD_COLUMNS))})"


def _usage_rollup_ddl() -> str:
    columns = ", ".join(f"{name} {sql_type}" for name, sql_type in USAGE_ROLLUP_COLUMNS)
    return f"create table usage_daily ({columns})"


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


MIGRATIONS = {1: _migration_1}


def migrate(conn: duckdb.DuckDBPyConnection) -> None:
    """Bring the database to SCHEMA_VERSION, one migration per transaction, and refresh the views."""
    version = schema_version(conn)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"The database has schema version {version}, newer than this program ({SCHEMA_VERSION})."
        )
    for target in range(version + 1, SCHEMA_VERSION + 1):
        conn.execute("begin transaction")
        try:
            MIGRATIONS[target](conn)
            conn.execute("insert or replace into meta values ('schema_version', ?)", [str(target)])
            conn.execute("commit")
        except Exception:
            conn.execute("rollback")
            raise
    if get_meta(conn, "views_sha256") != _views_sha256():
        create_views(conn)


def sql_text(name: str) -> str:
    """The text of a SQL file shipped in the package."""
    return resources.files("offload_metrics").joinpath("sql").joinpath(name).read_text(encoding="utf-8")


def sql_files() -> list[str]:
    return sorted(
        entry.name
        for entry in resources.files("offload_metrics").joinpath("sql").iterdir()
        if entry.name.endswith(".sql")
    )


def _view_files() -> list[str]:
    """Staging views and macros: schema objects every metric query reads, kept in step with the code."""
    return [name for name in sql_files() if name.startswith(("stg_", "macro_"))]


def _views_sha256() -> str:
    digest = hashlib.sha256()
    for name in _view_files():
        digest.update(name.encode() + b"\0" + sql_text(name).encode())
    return digest.hexdigest()


def create_views(conn: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the staging views so they match this program's SQL files."""
    conn.execute("begin transaction")
    try:
        for name in _view_files():
            if name.startswith("macro_"):
                conn.execute(sql_text(name))
            else:
                conn.execute(f"create or replace view {name.removesuffix('.sql')} as {sql_text(name)}")
        conn.execute("insert or replace into meta values ('views_sha256', ?)", [_views_sha256()])
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise


DATA_TABLES = (*schema.KINDS, "usage_daily", "rejected_rows", "loads")


ROLLUP_BASELINE_KEY = "usage_daily_rows_after_compaction"


def append_usage_rollup(conn: duckdb.DuckDBPyConnection, load_id: int) -> None:
    """Add a load's rows to usage_daily; fold per-load rows once the rollup has doubled since last time.

    Runs inside the load's transaction, so the rollup always matches the committed events.
    """
    conn.execute(sql_text("rollup_usage_daily.sql"), {"load_id": load_id})
    rows = conn.execute("select count(*) from usage_daily").fetchone()[0]  # type: ignore[index]
    baseline = get_meta(conn, ROLLUP_BASELINE_KEY)
    if baseline is None:
        set_meta(conn, ROLLUP_BASELINE_KEY, str(rows))
    elif rows > 2 * int(baseline):
        conn.execute(sql_text("rollup_usage_daily_compact.sql"))
        conn.execute("delete from usage_daily")
        conn.execute("insert into usage_daily select * from usage_daily_compacted")
        conn.execute("drop table usage_daily_compacted")
        rows = conn.execute("select count(*) from usage_daily").fetchone()[0]  # type: ignore[index]
        set_meta(conn, ROLLUP_BASELINE_KEY, str(rows))


def clear(conn: duckdb.DuckDBPyConnection) -> None:
    """Delete every loaded row, rejection and load record, in one transaction."""
    conn.execute("begin transaction")
    try:
        set_meta(conn, ROLLUP_BASELINE_KEY, None)
        for table in DATA_TABLES:
            conn.execute(f"delete from {table}")
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise
    conn.execute("checkpoint")


def is_empty(conn: duckdb.DuckDBPyConnection) -> bool:
    row = conn.execute("select count(*) from loads").fetchone()
    return not row or row[0] == 0


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
    row = conn.execute(
        "select count(*) from rejected_rows where $load_id is null or load_id = $load_id",
        {"load_id": load_id},
    ).fetchone()
    return int(row[0]) if row else 0


def loads(conn: duckdb.DuckDBPyConnection):
    """The load history, newest first."""
    return conn.execute(
        """
        select load_id, file_name, kind, file_format, rows_read, accepted, duplicate, conflict, rejected,
               ignored_columns, started_at, finished_at, outcome, sha256, size_bytes
        from loads order by load_id desc
        """
    ).df()
