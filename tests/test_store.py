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
        assert [name for name, _ in names_and_types[len(expected) :]] == [
            "load_id",
            "_ordinal",
            "_problems",
            "_raw",
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


def test_an_older_database_gains_the_audit_table_and_keeps_its_rows(db_path, tmp_path):
    with store.connect(db_path) as connection:
        ingest.load_file(connection, write_csv(tmp_path / "a.csv", [example("agents")]))
        connection.execute("drop table audit")
        connection.execute("update meta set value = '1' where key = 'schema_version'")
    with store.connect(db_path) as connection:
        assert store.schema_version(connection) == store.SCHEMA_VERSION
        assert connection.execute("select count(*) from agents").fetchone() == (1,)
        store.record_audit(connection, "ada@example.org", "clear", "cleared")
        store.clear(connection)
        assert connection.execute("select who, action, detail from audit").fetchall() == [
            ("ada@example.org", "clear", "cleared")
        ]


def test_the_shared_database_serves_readers_during_a_write_and_other_processes_between_writes(tmp_path):
    import threading
    import time
    from pathlib import Path

    path = tmp_path / "shared.duckdb"
    shared = store.SharedDatabase(path)
    events = Path(__file__).resolve().parents[1] / "sample_data" / "usage_events.csv.gz"
    read_beside = [
        sys.executable,
        "-c",
        f"import duckdb; duckdb.connect({str(path)!r}, read_only=True).close()",
    ]
    assert subprocess.run(read_beside, capture_output=True, timeout=60).returncode == 0
    writing, errors, counts = threading.Event(), [], []

    def read() -> None:
        deadline = time.monotonic() + 120
        writing.wait(30)
        while writing.is_set() and time.monotonic() < deadline:
            try:
                with shared.reading() as conn:
                    counts.append(conn.execute("select count(*) from usage_events").fetchone()[0])
            except Exception as error:
                errors.append(error)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    with shared.writing() as conn:
        writing.set()
        result = ingest.load_file(conn, events)
        time.sleep(0.2)  # readers also run after the commit, before the switch back
    writing.clear()
    for thread in readers:
        thread.join(timeout=180)
    assert errors == []
    assert set(counts) <= {0, result.accepted} and 0 in counts
    # Held read-only again: another process reads beside it, and this one still reads.
    assert subprocess.run(read_beside, capture_output=True, timeout=60).returncode == 0
    with shared.reading() as conn:
        assert conn.execute("select count(*) from usage_events").fetchone() == (result.accepted,)
    shared.close()


def test_the_shared_database_reads_beside_another_reader_and_says_when_it_cannot_write(db_path, tmp_path):
    with store.connect(db_path) as connection:
        ingest.load_file(connection, write_csv(tmp_path / "a.csv", [example("agents")]))
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time, duckdb
            conn = duckdb.connect({str(db_path)!r}, read_only=True)
            print("reading", flush=True)
            time.sleep(60)
        """)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "reading"
        shared = store.SharedDatabase(db_path)
        with shared.reading() as conn:
            assert conn.execute("select count(*) from agents").fetchone() == (1,)
        with pytest.raises(store.DatabaseBusy, match=f"in use by process {holder.pid}"), shared.writing():
            pass
        with shared.reading() as conn:
            assert conn.execute("select count(*) from agents").fetchone() == (1,)
        shared.close()
    finally:
        holder.kill()
        holder.wait()
