"""The store: where the database lives, its tables, migrations, and a file held by another process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from conftest import example, write_csv
from offload_metrics import ingest, schema, store


def test_the_database_path_comes_from_the_flag_then_the_environment_then_a_default(monkeypatch, tmp_path):
    monkeypatch.delenv(store.DB_ENV, raising=False)
    assert store.db_path(None).name == store.DEFAULT_DB_FILE
    monkeypatch.setenv(store.DB_ENV, str(tmp_path / "env.duckdb"))
    assert store.db_path(None) == tmp_path / "env.duckdb"
    assert store.db_path(tmp_path / "flag.duckdb") == tmp_path / "flag.duckdb"


def test_tables_are_derived_from_the_contract(conn):
    for kind, model in schema.KINDS.items():
        described = conn.execute(f"describe {kind}").fetchall()
        names_and_types = [(row[0], row[1]) for row in described]
        expected = [(column.name, column.sql_type) for column in schema.columns(model)]
        assert names_and_types[: len(expected)] == expected
        # Telemetry events carry their estimated cost and trace beside the contract.
        telemetry_columns = ["estimated_cost_usd", "trace_id"] if kind == "usage_events" else []
        assert [name for name, _ in names_and_types[len(expected) :]] == [
            "load_id",
            "_ordinal",
            "_problems",
            "_raw",
            *telemetry_columns,
        ]
    assert dict(conn.execute("describe usage_events").fetchall()[i][:2] for i in (1, 12)) == {
        "occurred_at": "TIMESTAMP",
        "cost_usd": "DECIMAL(18,8)",
    }


def test_opening_again_keeps_the_schema_version_and_the_data(db_path, tmp_path):
    with store.connect(db_path) as connection:
        ingest.load_file(connection, write_csv(tmp_path / "a.csv", [example("agents")]))
        assert store.schema_version(connection) == store.SCHEMA_VERSION
    with store.connect(db_path) as connection:
        assert store.schema_version(connection) == store.SCHEMA_VERSION
        assert connection.execute("select count(*) from agents").fetchone() == (1,)


def test_a_database_from_before_collaboration_gains_its_tables_and_keeps_its_data(db_path, tmp_path):
    with store.connect(db_path) as connection:
        ingest.load_file(connection, write_csv(tmp_path / "a.csv", [example("agents")]))
        # As schema version 1 left it: no collaboration tables.
        for table in ("collaboration", "viva_collaboration", "viva_groups"):
            connection.execute(f"drop table {table}")
        connection.execute("update meta set value = '1' where key = 'schema_version'")
    with store.connect(db_path) as connection:
        assert store.schema_version(connection) == store.SCHEMA_VERSION
        assert connection.execute("select count(*) from agents").fetchone() == (1,)
        result = ingest.load_file(connection, write_csv(tmp_path / "c.csv", [example("collaboration")]))
        assert (result.kind, result.accepted) == ("collaboration", 1)
        assert connection.execute("select count(*) from viva_groups").fetchone() == (0,)


def test_a_newer_database_is_refused(db_path):
    with store.connect(db_path) as connection:
        connection.execute("update meta set value = '99' where key = 'schema_version'")
    with pytest.raises(store.StoreError, match="newer than this program"):
        store.connect(db_path)


def test_a_database_held_by_another_process_gets_a_plain_message(db_path):
    store.connect(db_path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time, duckdb
            conn = duckdb.connect({str(db_path)!r})
            print("holding", flush=True)
            time.sleep(60)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        with pytest.raises(store.DatabaseBusy) as raised:
            store.connect(db_path)
        message = str(raised.value)
        assert f"in use by process {holder.pid}" in message
        assert "Nothing was changed" in message
    finally:
        holder.kill()
        holder.wait()


def test_clear_removes_every_row_and_load(conn, tmp_path):
    ingest.load_file(
        conn, write_csv(tmp_path / "u.csv", [example("usage_events"), example("usage_events", status="?")])
    )
    store.clear(conn)
    for table in store.DATA_TABLES:
        assert conn.execute(f"select count(*) from {table}").fetchone() == (0,), table
    assert store.is_empty(conn)
