"""Loading rollup folders (as the Spark rollup writes them) into the database as usage."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from conftest import snapshot
from offload_metrics import ingest, rollup_folder, store


def write_folder(folder: Path, rollup: list[tuple], counts: tuple, rejected: list[tuple] = ()) -> Path:
    """A rollup folder of hand-made rows, in the layout spark_rollup writes."""
    for part in rollup_folder.PARTS:
        (folder / part).mkdir(parents=True)
    with duckdb.connect() as conn:
        conn.execute(
            f"create table r ({', '.join(f'{name} {sql_type}' for name, sql_type in store.USAGE_ROLLUP_COLUMNS)})"
        )
        conn.executemany(f"insert into r values ({', '.join('?' * 17)})", rollup)
        conn.execute(
            f"copy (select * replace (cast(cost_usd as DECIMAL(38,8)) as cost_usd) from r) to '{folder}/rollup/part-0.parquet'"
        )
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
        json.dumps({"format": rollup_folder.FORMAT}), encoding="utf-8"
    )
    return folder


def row(day: str, team: str, tasks: int, cost: str) -> tuple:
    # tasks all completed and correct, 2 API calls and 100 + 50 tokens each, 1 s latency each
    return (day, "Marketing", "Consumer", team, "mkt-brief-writer", tasks, tasks, 0, 0, tasks, 0,
            2 * tasks, 100 * tasks, 50 * tasks, cost, 1000 * tasks, tasks)  # fmt: skip


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
        tmp_path / "june", [row("2025-06-01", "Brand", 2, "0.20000000")], ("b.csv", 2, 2, 0, 0, 0)
    )
    first = ingest.load_file(conn, may)
    assert (first.status, first.kind, first.rows_read, first.accepted, first.duplicate, first.rejected) == (
        "loaded", "usage_rollup", 6, 4, 1, 1)  # fmt: skip
    ingest.load_file(conn, june)
    again = ingest.load_file(conn, may)
    assert again.status == "already loaded"
    assert conn.execute(
        "select strftime(day, '%Y-%m'), sum(tasks), sum(cost_usd)::VARCHAR from usage_daily group by 1 order by 1"
    ).fetchall() == [("2025-05", 4, "0.40000001"), ("2025-06", 2, "0.20000000")]
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
