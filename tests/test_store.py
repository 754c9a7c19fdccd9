"""The store: where the database lives, its tables, migrations, and a file held by another process."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
from decimal import Decimal

import duckdb
import pytest

from conftest import database_held, example, snapshot, table_rows, write_csv
from offload_metrics import ingest, metrics, schema, store
from offload_metrics.config import Settings


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
            "_key_hash",
        ]
    assert dict(conn.execute("describe usage_events").fetchall()[i][:2] for i in (1, 12)) == {
        "occurred_at": "TIMESTAMP",
        "cost_usd": "DECIMAL(18,8)",
    }


def test_the_usage_rollup_table_and_its_sql_have_the_listed_columns_in_order(conn):
    listed = list(store.USAGE_ROLLUP_COLUMNS)
    assert [(row[0], row[1]) for row in conn.execute("describe usage_daily").fetchall()] == listed
    selected = conn.execute(
        f"select * from ({store.sql_text('rollup_usage_daily.sql')}) limit 0", {"load_id": 0}
    )
    assert [column[0] for column in selected.description] == [name for name, _ in store.USAGE_ROLLUP_COLUMNS]
    assert store.USAGE_ROLLUP_KEYS == ("day", "function", "business_unit", "team", "agent_id", "task_type")


def test_compaction_folds_the_rollup_to_one_row_per_key_without_changing_a_sum(conn, tmp_path):
    rows = [
        example("usage_events", event_id="e1", cost_usd="0.10", latency_ms=100),
        example("usage_events", event_id="e2", cost_usd="0.25", latency_ms=None, review=None),
    ]
    for index, row in enumerate(rows):
        ingest.load_file(conn, write_csv(tmp_path / f"usage_{index}.csv", [row]))
    assert conn.execute("select count(*) from usage_daily").fetchone() == (2,)
    with store.transaction(conn):
        store._compact_usage_rollup(conn)
    # Two events of one key: 2 tasks, both completed and one reviewed correct, 4 + 4 API calls,
    # 3200 + 3200 and 850 + 850 tokens, $0.35, one latency of 100 ms.
    assert conn.execute(
        "select tasks, completed, escalated, failed, correct, incorrect, api_calls, input_tokens, output_tokens, "
        "cost_usd, latency_ms_sum, latency_count, estimated_cost_usd from usage_daily"
    ).fetchall() == [(2, 2, 0, 0, 1, 0, 8, 6400, 1700, Decimal("0.35"), 100, 1, 0)]


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
    with database_held(db_path) as holder:
        with pytest.raises(store.DatabaseBusy) as raised:
            store.connect(db_path)
        message = str(raised.value)
        assert f"in use by process {holder.pid}" in message
        assert "Nothing was changed" in message


def test_clear_removes_every_row_and_load(conn, tmp_path):
    ingest.load_file(
        conn, write_csv(tmp_path / "u.csv", [example("usage_events"), example("usage_events", status="?")])
    )
    store.clear(conn, "ada@example.org", "cleared")
    for table in store.DATA_TABLES:
        assert conn.execute(f"select count(*) from {table}").fetchone() == (0,), table
    assert store.is_empty(conn)


def test_a_transaction_commits_on_success_and_rolls_back_on_any_error(conn):
    with store.transaction(conn):
        conn.execute("insert into meta values ('kept', '1')")
    with pytest.raises(KeyboardInterrupt), store.transaction(conn):
        conn.execute("insert into meta values ('dropped', '1')")
        raise KeyboardInterrupt
    with pytest.raises(ZeroDivisionError), store.transaction(conn):
        conn.execute("insert into meta values ('dropped too', '1')")
        _ = 1 / 0

    assert conn.execute("select key from meta where value = '1' order by key").fetchall() == [("kept",)]
    with store.transaction(conn):  # no transaction was left open
        conn.execute("insert into meta values ('after', '2')")


def test_a_transaction_inside_another_is_part_of_it(conn):
    def keys():
        return conn.execute("select key from meta where value = 'n' order by key").fetchall()

    with pytest.raises(ZeroDivisionError), store.transaction(conn):
        conn.execute("insert into meta values ('outer', 'n')")
        with store.transaction(conn):
            conn.execute("insert into meta values ('inner', 'n')")
        _ = 1 / 0  # after the inner block ended: it was not committed on its own
    assert keys() == []
    with pytest.raises(ZeroDivisionError), store.transaction(conn):
        conn.execute("insert into meta values ('outer', 'n')")
        with store.transaction(conn):
            _ = 1 / 0
    assert keys() == []
    with store.transaction(conn):
        store.set_meta(conn, "first", "n")
        store.record_audit(conn, "ada@example.org", "load", "inside")
        conn.execute("insert into meta values ('last', 'n')")
    assert keys() == [("first",), ("last",)]
    assert conn.execute("select detail from audit").fetchall() == [("inside",)]


def refuse_audit_lines_by(conn, who: str) -> None:
    """The audit table again, with a constraint that refuses this name: the last write of a clear fails."""
    conn.execute("drop table audit")
    conn.execute(
        "create table audit (recorded_at TIMESTAMP NOT NULL, who VARCHAR NOT NULL "
        f"CHECK (who <> '{who}'), action VARCHAR NOT NULL, detail VARCHAR)"
    )


def test_a_clear_whose_last_write_fails_changes_nothing(conn, tmp_path):
    ingest.load_file(
        conn, write_csv(tmp_path / "u.csv", [example("usage_events"), example("usage_events", status="?")])
    )
    store.set_meta(conn, store.SAMPLE_KEY, "1")
    before = snapshot(conn)
    refuse_audit_lines_by(conn, "mallory")

    # The deletes run first; the audit line, last, breaks the constraint.
    with pytest.raises(duckdb.ConstraintException):
        store.clear(conn, "mallory", "cleared")

    assert snapshot(conn) == before
    # 1 usage row accepted, 1 rejected, 1 load: all still there.
    assert conn.execute("select count(*) from usage_events").fetchone() == (1,)
    assert conn.execute("select count(*) from rejected_rows").fetchone() == (1,)
    assert conn.execute("select count(*) from loads").fetchone() == (1,)
    assert store.get_meta(conn, store.SAMPLE_KEY) == "1"
    store.clear(conn, "ada@example.org", "cleared")
    assert store.is_empty(conn) and store.get_meta(conn, store.SAMPLE_KEY) is None
    assert conn.execute("select who, action from audit").fetchall() == [("ada@example.org", "clear")]


def test_an_unload_records_who_removed_it_in_the_same_transaction(conn, tmp_path):
    ingest.load_file(
        conn, write_csv(tmp_path / "u.csv", [example("usage_events"), example("usage_events", status="?")])
    )
    refuse_audit_lines_by(conn, "mallory")
    with pytest.raises(duckdb.ConstraintException):
        store.unload(conn, 1, "mallory")
    assert conn.execute("select count(*) from usage_events").fetchone() == (1,)
    assert store.unload(conn, 1, "ada@example.org") == {"usage_events": 1, "rejected_rows": 1, "loads": 1}
    assert conn.execute("select who, action, detail from audit").fetchall() == [
        ("ada@example.org", "unload", "Removed load 1 (u.csv): 1 usage_events rows, 1 rejected rows.")
    ]


def test_one_row_and_one_value_of_a_query(conn):
    conn.execute("insert into meta values ('a', '1'), ('b', '2')")
    assert store.one(conn, "select count(*), max(value) from meta where key in ('a', 'b')") == (2, "2")
    assert store.scalar(conn, "select value from meta where key = ?", ["b"]) == "2"
    # An aggregate without rows still gives its one row; a query without a row is a mistake, said as one.
    assert store.scalar(conn, "select count(*) from meta where key = 'none'") == 0
    with pytest.raises(LookupError, match="no row from"):
        store.scalar(conn, "select value from meta where key = 'none'")


def _usage(event_id: str, day: str, agent: str, cost: str) -> dict[str, object]:
    return example(
        "usage_events", event_id=event_id, occurred_at=f"{day}T12:00:00Z", agent_id=agent, cost_usd=cost
    )


def test_unload_removes_one_load_with_everything_it_added_even_after_compaction(conn, tmp_path):
    first = write_csv(
        tmp_path / "first.csv",
        [
            _usage("a1", "2025-03-01", "x", "1.10"),
            _usage("a2", "2025-03-02", "x", "2.20"),
            _usage("bad", "no", "x", "1"),
        ],
    )
    agents = write_csv(tmp_path / "agents.csv", [example("agents")])
    # Three new day x agent keys: the rollup grows past twice its first size and is compacted, which
    # folds the two loads' rows for 2025-03-02 / x into one.
    second = write_csv(
        tmp_path / "second.csv",
        [
            _usage("b1", "2025-03-02", "x", "0.05"),
            _usage("b2", "2025-03-03", "x", "0.30"),
            _usage("b3", "2025-03-03", "y", "0.40"),
            _usage("b4", "2025-03-04", "y", "0.50"),
        ],
    )
    loaded = [ingest.load_file(conn, path).load_id for path in (first, agents, second)]
    # 6 rows (2 + 4) passed twice the first load's 2: compacted to 5 keys, 2025-03-02 / x folded.
    # The rollup's grain includes task_type, but every row here has the example's task type
    # (campaign_brief), so the keys are still the 5 day x agent pairs: 03-01/x, 03-02/x (both loads),
    # 03-03/x, 03-03/y, 03-04/y.
    assert conn.execute("select count(*) from usage_daily").fetchone() == (5,)

    removed = store.unload(conn, loaded[0])

    assert removed == {"usage_events": 2, "rejected_rows": 1, "loads": 1}
    assert [row[0] for row in conn.execute("select load_id from loads order by 1").fetchall()] == loaded[1:]
    assert conn.execute("select event_id from usage_events order by 1").fetchall() == [
        ("b1",),
        ("b2",),
        ("b3",),
        ("b4",),
    ]
    assert conn.execute("select count(*) from rejected_rows").fetchone() == (0,)
    assert conn.execute(
        "select day::VARCHAR, agent_id, tasks, cost_usd from usage_daily order by day, agent_id"
    ).fetchall() == [
        ("2025-03-02", "x", 1, Decimal("0.05")),
        ("2025-03-03", "x", 1, Decimal("0.30")),
        ("2025-03-03", "y", 1, Decimal("0.40")),
        ("2025-03-04", "y", 1, Decimal("0.50")),
    ]
    assert len(table_rows(conn, "agents")) == 1


def test_unload_of_an_unknown_load_changes_nothing(conn, tmp_path):
    ingest.load_file(conn, write_csv(tmp_path / "agents.csv", [example("agents")]))
    before = snapshot(conn)

    with pytest.raises(store.StoreError, match="There is no load 7"):
        store.unload(conn, 7)

    assert snapshot(conn) == before


def test_an_unload_that_fails_part_way_changes_nothing(conn, tmp_path):
    ingest.load_file(conn, write_csv(tmp_path / "usage.csv", [example("usage_events")]))
    # A usage_daily that refuses the negated rows an unload adds: the unload breaks after its first
    # deletes.
    conn.execute("create table kept as select * from usage_daily")
    conn.execute("drop table usage_daily")
    columns = ", ".join(f"{name} {sql_type}" for name, sql_type in store.USAGE_ROLLUP_COLUMNS)
    conn.execute(f"create table usage_daily ({columns}, check (tasks > 0))")
    conn.execute("insert into usage_daily select * from kept")
    conn.execute("drop table kept")
    before = snapshot(conn)

    with pytest.raises(Exception, match=r"(?i)constraint"):
        store.unload(conn, 1)

    assert snapshot(conn) == before


def test_an_old_database_gains_the_vendor_and_baseline_tables_and_task_types_in_its_rollup(db_path, data):
    data.usage("2025-03-03", "a1", count=2).usage("2025-03-04", "a1", cost="1.50")
    data.rows["usage_events"][0]["task_type"] = "brief"
    data.load().close()
    with duckdb.connect(str(db_path)) as old:
        # The database as schema version 1 left it: no vendor or baseline table, no task type.
        old.execute("drop table vendor_costs")
        old.execute("drop table task_baselines")
        old.execute("create table usage_daily_v1 as select * exclude (task_type) from usage_daily")
        old.execute("drop table usage_daily")
        old.execute("alter table usage_daily_v1 rename to usage_daily")
        old.execute("update meta set value = '1' where key = 'schema_version'")

    with store.connect(db_path) as connection:
        assert store.schema_version(connection) == store.SCHEMA_VERSION
        assert connection.execute("select count(*) from vendor_costs").fetchone() == (0,)
        assert connection.execute("select count(*) from task_baselines").fetchone() == (0,)
        assert connection.execute(
            "select day::VARCHAR, task_type, sum(tasks), sum(cost_usd) from usage_daily group by all order by all"
        ).fetchall() == [
            ("2025-03-03", "brief", 1, 0),
            ("2025-03-03", None, 1, 0),
            ("2025-03-04", None, 1, Decimal("1.50000000")),
        ]


def test_an_older_database_gains_the_audit_table_and_keeps_its_rows(db_path, tmp_path):
    with store.connect(db_path) as connection:
        ingest.load_file(connection, write_csv(tmp_path / "a.csv", [example("agents")]))
        connection.execute("drop table audit")
        connection.execute("update meta set value = '1' where key = 'schema_version'")
    with store.connect(db_path) as connection:
        assert store.schema_version(connection) == store.SCHEMA_VERSION
        assert connection.execute("select count(*) from agents").fetchone() == (1,)
        store.clear(connection, "ada@example.org", "cleared")
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


MONTH_SUMS = (
    "select month, team, agent_id, task_type, sum(tasks), sum(completed), sum(failed), sum(correct), "
    "sum(incorrect), sum(cost_usd) from usage_monthly group by all having sum(tasks) <> 0 order by all"
)


def _month_usage(event_id: str, stamp: str, agent: str, team: str, **changes: object) -> dict[str, object]:
    return example("usage_events", event_id=event_id, occurred_at=stamp, agent_id=agent, team=team, **changes)


def _monthly_fixture(conn, tmp_path) -> None:
    first = [
        _month_usage("e1", "2025-03-03T10:00:00Z", "a1", "Brand", cost_usd="0.10"),
        _month_usage(
            "e2", "2025-03-03T11:00:00Z", "a2", "Brand", task_type="other", status="failed", cost_usd="0.20"
        ),
        # 2025-03-03 22:30 UTC.
        _month_usage("e3", "2025-03-04T00:30:00+02:00", "a1", "Brand", review="incorrect", cost_usd="0.30"),
        _month_usage("e4", "2025-03-03T12:00:00Z", "a1", "Web", review=None, cost_usd="1.00"),
        # 2025-03-31 23:00 UTC: March, though its local date is in April.
        _month_usage("e6", "2025-04-01T01:00:00+02:00", "a1", "Brand", cost_usd="0.40"),
        _month_usage("e7", "2025-04-02T09:00:00Z", "a1", "Brand", cost_usd="0.70"),
    ]
    second = [first[0], _month_usage("e5", "2025-03-04T09:00:00Z", "a3", "Brand", cost_usd="0.05")]
    ingest.load_file(conn, write_csv(tmp_path / "one.csv", first))
    ingest.load_file(conn, write_csv(tmp_path / "two.csv", second))


def test_the_monthly_rollup_holds_the_usage_per_month_by_the_events_utc_day(conn, tmp_path):
    _monthly_fixture(conn, tmp_path)

    # March, Brand, a1: e1, e3, e6 (3 tasks, 2 correct, 1 incorrect, 0.80); e1's repeat is a duplicate.
    march, april = dt.date(2025, 3, 1), dt.date(2025, 4, 1)
    assert conn.execute(MONTH_SUMS).fetchall() == [
        (march, "Brand", "a1", "campaign_brief", 3, 3, 0, 2, 1, Decimal("0.80")),
        (march, "Brand", "a2", "other", 1, 0, 1, 1, 0, Decimal("0.20")),
        (march, "Brand", "a3", "campaign_brief", 1, 1, 0, 1, 0, Decimal("0.05")),
        (march, "Web", "a1", "campaign_brief", 1, 1, 0, 0, 0, Decimal("1.00")),
        (april, "Brand", "a1", "campaign_brief", 1, 1, 0, 1, 0, Decimal("0.70")),
    ]

    # Taking out the first load leaves only e5, and compaction (which the unload runs) drops the
    # keys whose tasks summed to zero.
    store.unload(conn, 1)
    assert conn.execute(MONTH_SUMS).fetchall() == [
        (march, "Brand", "a3", "campaign_brief", 1, 1, 0, 1, 0, Decimal("0.05"))
    ]
    assert conn.execute("select count(*) from usage_monthly").fetchone() == (1,)


@pytest.mark.parametrize(
    ("as_of", "first", "last", "expected"),
    [
        # March whole, from the monthly rollup: every event but e7.
        ("2025-04-30", "2025-03-01", "2025-03-31", [("2025-03-01", 6, "2.05")]),
        # A range covers whole months up to as_of: March whole, then April's 1st, when nothing ran.
        ("2025-04-01", "2025-03-01", "2025-04-30", [("2025-03-01", 6, "2.05")]),
        # April's 1st and 2nd, by day from the daily rollup: e7.
        ("2025-04-02", "2025-03-01", "2025-04-30", [("2025-03-01", 6, "2.05"), ("2025-04-01", 1, "0.70")]),
        # March 1 to 30, by day: e1 to e5, not e6 (March 31, 23:00 UTC).
        ("2025-03-30", "2025-03-01", "2025-03-31", [("2025-03-01", 5, "1.65")]),
        # Two whole months.
        ("2025-04-30", "2025-03-01", "2025-04-30", [("2025-03-01", 6, "2.05"), ("2025-04-01", 1, "0.70")]),
    ],
)
def test_usage_by_month_over_a_range_takes_whole_months_from_the_monthly_rollup_and_days_from_the_daily(
    conn, tmp_path, as_of, first, last, expected
):
    _monthly_fixture(conn, tmp_path)
    filters = metrics.Filters(
        as_of=dt.date.fromisoformat(as_of),
        date_from=dt.date.fromisoformat(first),
        date_to=dt.date.fromisoformat(last),
    )

    months = metrics.query(conn, "usage_function_months", filters, Settings(), exact=True)

    assert [
        (str(row.month), int(row.tasks), str(row.usage_cost_usd.normalize()))
        for row in months.sort_values("month").itertuples()
    ] == [(month, tasks, str(Decimal(cost).normalize())) for month, tasks, cost in expected]


def test_the_monthly_rollup_keeps_each_rows_first_day_through_loads_and_an_unload(conn, tmp_path):
    _monthly_fixture(conn, tmp_path)
    first_days = "select month, team, agent_id, min(first_day) from usage_monthly group by all order by all"
    march, april = dt.date(2025, 3, 1), dt.date(2025, 4, 1)

    # Brand a1 ran on March 3 (e1, e3 at 22:30 UTC) and 31 (e6), and April 2; a3 on March 4 (the
    # second load); the rest on March 3.
    assert conn.execute(first_days).fetchall() == [
        (march, "Brand", "a1", dt.date(2025, 3, 3)),
        (march, "Brand", "a2", dt.date(2025, 3, 3)),
        (march, "Brand", "a3", dt.date(2025, 3, 4)),
        (march, "Web", "a1", dt.date(2025, 3, 3)),
        (april, "Brand", "a1", dt.date(2025, 4, 2)),
    ]
    store.unload(conn, 1)
    assert conn.execute(first_days).fetchall() == [(march, "Brand", "a3", dt.date(2025, 3, 4))]


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        # March 3 by day: e1 and e3 (22:30 UTC) for Brand a1, e2, e4; not a3's March 4.
        ("2025-03-03", [("Brand", "a1", "2025-03-03", 2), ("Brand", "a2", "2025-03-03", 1), ("Web", "a1", "2025-03-03", 1)]),
        # March whole from the monthly rollup: e6 on the 31st adds a task, not a first day.
        ("2025-03-31", [("Brand", "a1", "2025-03-03", 3), ("Brand", "a2", "2025-03-03", 1), ("Brand", "a3", "2025-03-04", 1), ("Web", "a1", "2025-03-03", 1)]),
        # March whole and April 1 by day (nothing ran), then April 2 (e7).
        ("2025-04-01", [("Brand", "a1", "2025-03-03", 3), ("Brand", "a2", "2025-03-03", 1), ("Brand", "a3", "2025-03-04", 1), ("Web", "a1", "2025-03-03", 1)]),
        ("2025-04-02", [("Brand", "a1", "2025-03-03", 4), ("Brand", "a2", "2025-03-03", 1), ("Brand", "a3", "2025-03-04", 1), ("Web", "a1", "2025-03-03", 1)]),
    ],
)  # fmt: skip
def test_first_days_of_usage_come_from_the_monthly_rollup_and_the_days_of_as_ofs_month(
    conn, tmp_path, as_of, expected
):
    _monthly_fixture(conn, tmp_path)
    filters = metrics.Filters(as_of=dt.date.fromisoformat(as_of))

    first = metrics.query(conn, "usage_first_days", filters, Settings())

    assert [
        (row.team, row.agent_id, row.first_used_on.date().isoformat(), int(row.tasks))
        for row in first.sort_values(["team", "agent_id"]).itertuples()
    ] == expected


def _monthly_rollup_as_of_version_9(connection) -> None:
    """usage_monthly as schema version 9 made it: the same sums, no first_day."""
    connection.execute("create table monthly_9 as select * exclude (first_day) from usage_monthly")
    connection.execute("drop table usage_monthly")
    connection.execute("alter table monthly_9 rename to usage_monthly")


@pytest.mark.parametrize("version", [8, 9])
def test_an_old_database_gains_the_monthly_rollup_filled_from_its_usage_rollup(db_path, tmp_path, version):
    with store.connect(db_path) as connection:
        rows = [
            _month_usage("e1", "2025-03-03T10:00:00Z", "a1", "Brand", cost_usd="0.10"),
            _month_usage("e2", "2025-03-20T11:00:00Z", "a1", "Brand", cost_usd="0.15"),
        ]
        ingest.load_file(connection, write_csv(tmp_path / "usage.csv", rows))
        if version == 8:  # No monthly rollup.
            connection.execute("drop table usage_monthly")
        else:
            _monthly_rollup_as_of_version_9(connection)
        connection.execute("update meta set value = ? where key = 'schema_version'", [str(version)])
    with store.connect(db_path) as connection:
        assert store.schema_version(connection) == store.SCHEMA_VERSION
        assert connection.execute(MONTH_SUMS).fetchall() == [
            (dt.date(2025, 3, 1), "Brand", "a1", "campaign_brief", 2, 2, 0, 2, 0, Decimal("0.25"))
        ]
        assert connection.execute("select first_day from usage_monthly").fetchall() == [
            (dt.date(2025, 3, 3),)
        ]


def test_the_usage_rollup_stores_its_rows_by_day_whatever_the_order_of_the_file(conn, tmp_path):
    days = ["2025-03-09", "2025-03-02", "2025-03-31", "2025-03-01", "2025-03-15", "2025-03-02"]
    rows = [
        _month_usage(f"e{index}", f"{day}T10:00:00Z", f"a{index}", "Brand") for index, day in enumerate(days)
    ]
    # A Parquet file: its load runs with DuckDB free to reorder rows, and the rollup is still stored in order.
    csv = write_csv(tmp_path / "usage.csv", rows)
    parquet = tmp_path / "usage.parquet"
    duckdb.execute(
        f"copy (select * from read_csv('{csv}', all_varchar = true)) to '{parquet}' (format parquet)"
    )
    ingest.load_file(conn, parquet)

    stored = [
        row[0].isoformat() for row in conn.execute("select day from usage_daily order by rowid").fetchall()
    ]
    assert stored == sorted(days)


def _rollup_of_120_days(conn) -> None:
    """300,000 rollup rows, 2,500 a day from 2025-01-01 to 2025-04-30 (120 days), stored by day: DuckDB
    keeps 122,880 rows in a row group, so April's days (rows 225,000 on) lie in the second and third."""
    store.add_usage_rollup_rows(
        conn,
        """
        select cast(date '2025-01-01' + cast(i // 2500 as INTEGER) as DATE) as day, 'Marketing' as function,
               'Brand' as business_unit, 'team' as team, 'a' || (i % 2500) as agent_id, 'other' as task_type,
               1 as tasks, 1 as completed, 0 as escalated, 0 as failed, 0 as correct, 0 as incorrect,
               1 as api_calls, 1 as input_tokens, 1 as output_tokens, 0.01 as cost_usd,
               10 as latency_ms_sum, 1 as latency_count, 0 as estimated_cost_usd
        from range(300000) as t(i)
        """,
    )


def _rows_scanned(conn, profile, run):
    """What `run()` returns, and how many stored rows its query read."""
    conn.execute("pragma enable_profiling = 'json'")
    conn.execute(f"pragma profiling_output = '{profile}'")
    conn.execute("pragma profiling_mode = 'detailed'")
    try:
        result = run()
    finally:
        conn.execute("pragma disable_profiling")
    return result, json.loads(profile.read_text())["query"]["total_rows_scanned"]


def test_a_range_reads_from_the_daily_rollup_only_the_row_groups_of_its_partly_covered_month(conn, tmp_path):
    _rollup_of_120_days(conn)
    # January to March whole and April 1 to 20: 25 days of April by day (2,500 rows each; 50,000
    # rows), and the months' 7,500 rows (2,500 agents x 3 months) from the monthly rollup.
    filters = metrics.Filters(
        as_of=dt.date(2025, 4, 20), date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 4, 20)
    )

    months, scanned = _rows_scanned(
        conn,
        tmp_path / "profile.json",
        lambda: metrics.query(conn, "usage_function_months", filters, Settings()),
    )

    assert list(months.sort_values("month")["tasks"]) == [31 * 2500, 28 * 2500, 31 * 2500, 20 * 2500]
    # The monthly rollup's 10,000 rows and the daily one's last two row groups (rows 122,880 on), not
    # all of its 300,000 rows.
    assert scanned <= 10_000 + 300_000 - 122_880


def test_first_days_and_the_agents_list_read_from_the_daily_rollup_only_as_ofs_row_groups(conn, tmp_path):
    _rollup_of_120_days(conn)
    filters = metrics.Filters(
        as_of=dt.date(2025, 4, 20), date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 4, 20)
    )

    first, scanned = _rows_scanned(
        conn, tmp_path / "profile.json", lambda: metrics.query(conn, "usage_first_days", filters, Settings())
    )
    # Each of the 2,500 agents ran once a day from January 1: 31 + 28 + 31 + 20 days up to April 20.
    assert len(first) == 2500
    assert set(first["first_used_on"].dt.date) == {dt.date(2025, 1, 1)}
    assert set(first["tasks"]) == {110}
    # January to March from the monthly rollup (7,500 rows of its 10,000), April's days from the
    # daily rollup's last two row groups, not all of its 300,000 rows.
    assert scanned <= 10_000 + 300_000 - 122_880

    # A gate window of April's 20 days, so that the agents list's gates read April's days only too.
    settings = Settings.model_validate({"gates": {"window_days": 20}})
    agents, scanned = _rows_scanned(
        conn, tmp_path / "profile.json", lambda: metrics.query(conn, "agents", filters, settings)
    )
    assert len(agents) == 2500
    assert set(agents["range_tasks"]) == {110}
    assert set(agents["tasks"]) == {20}
    # The monthly rollup once and the daily one's last two row groups twice (usage and gates).
    assert scanned <= 10_000 + 2 * (300_000 - 122_880)
