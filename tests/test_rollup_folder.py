"""Loading rollup folders (as the Spark rollup writes them) into the database as usage."""

from __future__ import annotations

import json
import zipfile
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from test_app import make_app, page  # noqa: F401 (make_app is a fixture)

from conftest import example, snapshot, write_csv
from offload_metrics import ingest, rollup_folder, store


def write_folder(
    folder: Path,
    rollup: list[dict],
    counts: tuple,
    rejected: list[tuple] = (),
    *,
    reversed_columns: bool = False,
    without: tuple[str, ...] = (),
    manifest: dict | None = None,
) -> Path:
    """A rollup folder of hand-made rows, in the layout spark_rollup writes (its rollup columns in
    reverse order when asked: they are read by name; the columns `without` names left out, as an
    earlier version wrote them)."""
    for part in rollup_folder.PARTS:
        (folder / part).mkdir(parents=True)
    with duckdb.connect() as conn:
        conn.execute(
            f"create table r ({', '.join(f'{name} {sql_type}' for name, sql_type in store.USAGE_ROLLUP_COLUMNS)})"
        )
        names = [name for name, _ in store.USAGE_ROLLUP_COLUMNS]
        conn.executemany(
            f"insert into r ({', '.join(names)}) values ({', '.join('?' * len(names))})",
            [[values[name] for name in names] for values in rollup],
        )
        order = ", ".join(
            name for name in (reversed(names) if reversed_columns else names) if name not in without
        )
        conn.execute(f"copy (select {order} from r) to '{folder}/rollup/part-0.parquet'")
        conn.execute(
            "create table c (file VARCHAR, rows_read BIGINT, accepted BIGINT, duplicate BIGINT, conflict BIGINT, rejected BIGINT)"
        )
        conn.execute("insert into c values (?, ?, ?, ?, ?, ?)", list(counts))
        conn.execute(f"copy c to '{folder}/counts/part-0.parquet'")
        conn.execute(
            "create table j (file VARCHAR, key VARCHAR, outcome VARCHAR, column_name VARCHAR, reason VARCHAR, raw VARCHAR)"
        )
        if rejected:
            conn.executemany("insert into j values (?, ?, ?, ?, ?, ?)", list(rejected))
        conn.execute(f"copy j to '{folder}/rejected/part-0.parquet'")
    (folder / rollup_folder.MANIFEST).write_text(
        json.dumps({"format": rollup_folder.FORMAT, **(manifest or {})}), encoding="utf-8"
    )
    return folder


def row(day: str, team: str, tasks: int, cost: str, estimated: str = "0") -> dict:
    """One rollup row by column name (every column of store.USAGE_ROLLUP_COLUMNS): tasks all completed
    and correct, 2 API calls and 100 + 50 tokens each, 1 s latency each."""
    return {"day": day, "function": "Marketing", "business_unit": "Consumer", "team": team,
            "agent_id": "mkt-brief-writer", "task_type": "campaign_brief", "tasks": tasks, "completed": tasks,
            "escalated": 0, "failed": 0, "correct": tasks, "incorrect": 0, "api_calls": 2 * tasks,
            "input_tokens": 100 * tasks, "output_tokens": 50 * tasks, "cost_usd": cost,
            "latency_ms_sum": 1000 * tasks, "latency_count": tasks, "estimated_cost_usd": estimated}  # fmt: skip


REJECTED = (
    "lake/month=2025-05/a.csv",
    "e9",
    "rejected",
    "status",
    'status: must be one of completed, escalated, failed (got "done")',
    "{}",
)


def test_next_months_rollup_adds_and_the_same_rollup_again_adds_nothing(conn, tmp_path):
    may = write_folder(tmp_path / "may", [row("2025-05-30", "Brand", 3, "0.30000000"), row("2025-05-31", "Brand", 1, "0.10000001")],
                       ("a.csv", 6, 4, 1, 0, 1), [REJECTED])  # fmt: skip
    june = write_folder(
        tmp_path / "june",
        [row("2025-06-01", "Brand", 2, "0.20000000", estimated="0.05000000")],
        ("b.csv", 2, 2, 0, 0, 0),
        reversed_columns=True,
    )
    first = ingest.load_file(conn, may)
    assert (first.status, first.kind, first.rows_read, first.accepted, first.duplicate, first.rejected) == (
        "loaded", "usage_rollup", 6, 4, 1, 1)  # fmt: skip
    ingest.load_file(conn, june)
    again = ingest.load_file(conn, may)
    assert again.status == "already loaded"
    assert conn.execute(
        "select strftime(day, '%Y-%m'), task_type, sum(tasks), sum(cost_usd)::VARCHAR, "
        "sum(estimated_cost_usd)::VARCHAR from usage_daily group by 1, 2 order by 1"
    ).fetchall() == [
        ("2025-05", "campaign_brief", 4, "0.40000001", "0.00000000"),
        ("2025-06", "campaign_brief", 2, "0.20000000", "0.05000000"),
    ]
    # The monthly rollup holds the same sums: Brand's May and June.
    assert conn.execute(
        "select month::VARCHAR, team, sum(tasks), sum(cost_usd)::VARCHAR from usage_monthly group by 1, 2 order by 1"
    ).fetchall() == [("2025-05-01", "Brand", 4, "0.40000001"), ("2025-06-01", "Brand", 2, "0.20000000")]
    assert conn.execute("select sum(rows_read), sum(accepted), sum(rejected) from loads").fetchone() == (
        8,
        6,
        1,
    )
    assert conn.execute("select line, column_name, outcome, reason from rejected_rows").fetchall() == [
        (None, "status", "rejected", 'status: must be one of completed, escalated, failed (got "done")')
    ]


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        (("a.csv", 5, 4, 0, 0, 0), "counts/ does not balance: 5 read but 4 accounted for"),
        (("a.csv", 5, 5, 0, 0, 0), "the rollup holds 4 tasks but counts/ says 5 events were accepted"),
        (
            ("a.csv", 5, 4, 0, 0, 1),
            "rejected/ lists 0 events but counts/ says 1 were rejected or conflicting",
        ),
    ],
)
def test_a_rollup_that_does_not_account_for_every_event_changes_nothing(conn, tmp_path, counts, message):
    folder = write_folder(tmp_path / "bad", [row("2025-05-30", "Brand", 4, "0.4")], counts)
    before = snapshot(conn)
    with pytest.raises(ingest.IngestError, match=message):
        ingest.load_file(conn, folder)
    assert snapshot(conn) == before


def test_a_folder_without_a_manifest_is_refused_with_a_plain_message(conn, tmp_path):
    (tmp_path / "events").mkdir()
    with pytest.raises(ingest.IngestError, match=r"is a folder without offload_rollup\.json"):
        ingest.load_file(conn, tmp_path / "events")


def zipped(
    folder: Path, archive: Path, *, top: str | None = None, extra: dict[str, bytes] | None = None
) -> Path:
    """The folder's files in a zip archive, under `top`/ when given, with extra entries."""
    with zipfile.ZipFile(archive, "w") as bundle:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                inside = file.relative_to(folder).as_posix()
                bundle.write(file, f"{top}/{inside}" if top else inside)
        for name, content in (extra or {}).items():
            bundle.writestr(name, content)
    return archive


def test_a_zipped_rollup_folder_loads_as_the_folder_does_and_counts_as_the_same_load(conn, tmp_path):
    may = write_folder(tmp_path / "may", [row("2025-05-30", "Brand", 3, "0.30000000")], ("a.csv", 4, 3, 0, 0, 1),
                       [REJECTED])  # fmt: skip
    # Spark's marker and checksum files, and entries that would reach outside the folder, are left out.
    archive = zipped(may, tmp_path / "may.zip", top="may", extra={
        "may/rollup/_SUCCESS": b"", "may/rollup/.part-0.parquet.crc": b"x",
        "../outside.parquet": b"x", "may/rollup/../../outside.parquet": b"x", "__MACOSX/may/._x": b"x",
    })  # fmt: skip

    loaded = ingest.load_file(conn, archive)

    assert (loaded.file, loaded.kind, loaded.rows_read, loaded.accepted, loaded.rejected) == (
        "may.zip", "usage_rollup", 4, 3, 1)  # fmt: skip
    assert conn.execute("select day::VARCHAR, tasks, cost_usd from usage_daily").fetchall() == [
        ("2025-05-30", 3, Decimal("0.30000000"))
    ]
    assert ingest.load_file(conn, may).status == "already loaded"
    assert not (tmp_path / "outside.parquet").exists()


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"rollup/part-0.parquet": b"PAR1"}, "is a zip archive with no offload_rollup.json files"),
        (
            {"a/offload_rollup.json": b"{}", "b/offload_rollup.json": b"{}"},
            "is a zip archive with 2 offload_rollup.json files",
        ),
        (
            {"out/may/offload_rollup.json": b"{}"},
            r"whose offload_rollup.json is in out/may/: zip the rollup folder",
        ),
    ],
)
def test_a_zip_that_is_not_one_rollup_folder_is_refused_and_changes_nothing(conn, tmp_path, entries, message):
    ingest.load_file(conn, write_csv(tmp_path / "usage.csv", [example("usage_events")]))
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for name, content in entries.items():
            bundle.writestr(name, content)
    before = snapshot(conn)
    with pytest.raises(ingest.IngestError, match=message):
        ingest.load_file(conn, archive)
    assert snapshot(conn) == before


def test_a_damaged_zip_is_refused_with_its_name(conn, tmp_path):
    may = write_folder(tmp_path / "may", [row("2025-05-30", "Brand", 3, "0.3")], ("a.csv", 3, 3, 0, 0, 0))
    content = zipped(may, tmp_path / "may.zip").read_bytes()
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(content[: len(content) // 2])
    with pytest.raises(ingest.IngestError, match=r"damaged\.zip: is a zip archive that cannot be read"):
        ingest.load_file(conn, damaged)
    assert store.is_empty(conn)


def test_the_data_page_loads_a_zipped_rollup_folder(make_app, tmp_path):  # noqa: F811 (the fixture)
    folder = write_folder(tmp_path / "out", [row("2025-05-30", "Brand", 3, "0.30000000"),
                          row("2025-05-31", "Brand", 1, "0.10000001")], ("a.csv", 5, 4, 1, 0, 0))  # fmt: skip
    app = make_app(sample=False)
    app.run()
    app.switch_page(page("data")).run()
    content = zipped(folder, tmp_path / "out.zip", top="out").read_bytes()
    app.file_uploader(key="upload_files").upload("rollup-2025-05.zip", content, "application/zip")
    app.button(key="FormSubmitter:upload_form-Load").click().run()
    assert not app.exception, [error.value for error in app.exception]
    assert not [element.value for element in app.markdown if "was not loaded" in element.value]
    with store.connect(tmp_path / "app.duckdb", read_only=True) as conn:
        assert conn.execute(
            "select file_name, kind, rows_read, accepted, duplicate from loads"
        ).fetchall() == [("rollup-2025-05.zip", "usage_rollup", 5, 4, 1)]
        assert conn.execute("select sum(tasks), sum(cost_usd) from usage_daily").fetchone() == (
            4,
            Decimal("0.40000001"),
        )


def test_unloading_a_rollup_takes_out_exactly_what_it_added(conn, tmp_path):
    # A usage file's event on the same key as the May rollup's first row (2025-05-30, Marketing /
    # Consumer / Brand, mkt-brief-writer, campaign_brief): the two fold into one usage_daily row.
    usage = write_csv(tmp_path / "usage.csv", [example("usage_events", event_id="u1", occurred_at="2025-05-30T10:00:00Z",
        function="Marketing", business_unit="Consumer", team="Brand", agent_id="mkt-brief-writer",
        task_type="campaign_brief", status="completed", review="", api_calls="1", input_tokens="10",
        output_tokens="5", cost_usd="0.01", latency_ms="500")])  # fmt: skip
    may = write_folder(tmp_path / "may", [row("2025-05-30", "Brand", 3, "0.30000000"), row("2025-05-31", "Brand", 1, "0.10000001")],
                       ("a.csv", 5, 4, 0, 0, 1), [REJECTED])  # fmt: skip
    june = write_folder(tmp_path / "june", [row("2025-06-01", "Brand", 2, "0.20000000", estimated="0.05000000")],
                        ("b.csv", 2, 2, 0, 0, 0))  # fmt: skip
    ingest.load_file(conn, usage)
    may_load = ingest.load_file(conn, may).load_id
    ingest.load_file(conn, june)
    # May's load doubled the rollup, which folded its first row with the usage file's event.
    assert conn.execute("select tasks from usage_daily where day = '2025-05-30'").fetchall() == [(4,)]

    removed = store.unload(conn, may_load)

    assert removed == {"usage_rollup": 2, "rejected_rows": 1, "loads": 1}
    # Left: the usage file's event (1 task, 1 call, 10 + 5 tokens, 0.01 USD, 500 ms) and June's row.
    assert conn.execute(
        "select day::VARCHAR, tasks, completed, correct, api_calls, input_tokens, output_tokens, cost_usd, "
        "latency_ms_sum, latency_count, estimated_cost_usd from usage_daily order by day"
    ).fetchall() == [
        ("2025-05-30", 1, 1, 0, 1, 10, 5, Decimal("0.01000000"), 500, 1, Decimal("0E-8")),
        ("2025-06-01", 2, 2, 2, 4, 200, 100, Decimal("0.20000000"), 2000, 2, Decimal("0.05000000")),
    ]
    assert conn.execute("select kind, accepted from loads order by load_id").fetchall() == [
        ("usage_events", 1),
        ("usage_rollup", 2),
    ]
    assert conn.execute("select count(*) from rejected_rows").fetchone() == (0,)
    assert conn.execute("select count(*), sum(tasks) from usage_rollup").fetchone() == (1, 2)
    # The monthly rollup, folded too: the usage file's event in May and June's row.
    assert conn.execute(
        "select month::VARCHAR, tasks, cost_usd::VARCHAR from usage_monthly order by month"
    ).fetchall() == [("2025-05-01", 1, "0.01000000"), ("2025-06-01", 2, "0.20000000")]
    # Unloaded, the same folder loads again.
    assert ingest.load_file(conn, may).status == "loaded"
    assert conn.execute("select sum(tasks) from usage_daily").fetchone() == (7,)


def test_a_rollup_loaded_before_its_rows_were_kept_apart_is_refused_by_unload(db_path, tmp_path):
    may = write_folder(tmp_path / "may", [row("2025-05-30", "Brand", 3, "0.3")], ("a.csv", 3, 3, 0, 0, 0))
    with store.connect(db_path) as conn:
        ingest.load_file(conn, may)
    # The database as the version before wrote it: no table of each rollup load's rows.
    with duckdb.connect(str(db_path)) as old:
        old.execute("drop table usage_rollup")
        old.execute("update meta set value = '6' where key = 'schema_version'")
    with store.connect(db_path) as conn:
        before = snapshot(conn)
        with pytest.raises(store.StoreError) as refused:
            store.unload(conn, 1)
        assert str(refused.value) == (
            "Load 1 (may) is a usage rollup loaded by an earlier version, which did not keep its rows apart from "
            "the other loads' in the usage rollup, so it cannot be taken out exactly. Clear the database "
            "('offload-metrics clear') and load the files again without it."
        )
        assert snapshot(conn) == before


def test_a_rollup_written_before_task_types_and_estimated_cost_is_refused_with_how_to_write_it_again(
    conn, tmp_path
):
    old = write_folder(tmp_path / "old", [row("2025-05-30", "Brand", 3, "0.3")], ("a.csv", 3, 3, 0, 0, 0),
                       without=("task_type", "estimated_cost_usd"),
                       manifest={"events": ["lake/month=2025-05/*.parquet", "extra events.csv"]})  # fmt: skip
    before = snapshot(conn)
    with pytest.raises(ingest.IngestError) as refused:
        ingest.load_file(conn, old)
    assert str(refused.value) == (
        "old: rollup/ has no task_type, estimated_cost_usd columns: it was written by an earlier version of "
        "offload-metrics, and nothing was loaded. Roll the same events up again with this version "
        "(offload-metrics rollup --engine spark --events 'lake/month=2025-05/*.parquet' --events "
        "'extra events.csv' --out NEW_FOLDER) and load the new folder"
    )
    assert snapshot(conn) == before


def test_the_command_line_loads_a_zipped_rollup_and_unloads_it(tmp_path):
    from test_cli import run

    db = tmp_path / "cli.duckdb"
    may = write_folder(
        tmp_path / "may", [row("2025-05-30", "Brand", 3, "0.3")], ("a.csv", 4, 3, 0, 0, 1), [REJECTED]
    )
    archive = zipped(may, tmp_path / "may.zip")

    loaded = run("ingest", "--db", str(db), str(archive))
    removed = run("unload", "1", "--db", str(db))

    assert loaded.returncode == 0, loaded.stderr
    assert removed.returncode == 0, removed.stderr
    assert "Removed load 1 (may.zip): 1 usage_rollup rows, 1 rejected rows" in " ".join(
        removed.stdout.split()
    )
    with store.connect(db, read_only=True) as conn:
        assert [conn.execute(f"select count(*) from {table}").fetchone()[0] for table in
                ("usage_daily", "usage_rollup", "rejected_rows", "loads")] == [0, 0, 0, 0]  # fmt: skip
