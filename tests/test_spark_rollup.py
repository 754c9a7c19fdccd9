"""The Spark rollup against DuckDB's ingest: the same rollup, rejects and counts, the same report.

One local SparkSession (local[1], no web UI) serves the module. Spark's readers have no line
numbers, so rejects are compared on (file, key, outcome, column, reason) and conflicts, whose
reason cites a line in DuckDB and a file in Spark, on (file, key, outcome, column).
"""

from __future__ import annotations

import collections
import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from conftest import example, write_csv, write_jsonl, write_parquet
from offload_metrics import config, ingest, rules, schema, spark_rollup, store
from offload_metrics.ingest import rules as ingest_rules

pytest.importorskip("pyspark", reason="the [spark] extra is not installed")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java 17+ (Debian: openjdk-17-jre-headless)", allow_module_level=True)

MESSY = Path(__file__).parent / "pinned" / "messy"
USAGE_FILES = ("usage_events_1.csv.gz", "usage_events_2.csv.gz")
OTHER_FILES = ("org_baseline.csv", "agents.csv", "time_saved.csv", "replication_events.csv")
CLI = shutil.which("offload-metrics") or str(Path(sys.executable).with_name("offload-metrics"))
ROLLUP_SUMS = ", ".join(
    name if name in store.USAGE_ROLLUP_KEYS else f"sum({name})" for name, _ in store.USAGE_ROLLUP_COLUMNS
)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def spark():
    session = spark_rollup.session(
        "local[1]", [("spark.ui.showConsoleProgress", "false"), ("spark.sql.shuffle.partitions", "2")]
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def messy(spark, tmp_path_factory):
    """The messy usage files rolled up on Spark, and loaded by DuckDB's ingest file by file."""
    folder = tmp_path_factory.mktemp("messy")
    counts = spark_rollup.run([str(MESSY / "usage_events_*.csv.gz")], folder / "rollup", spark=spark)
    db = folder / "direct.duckdb"
    with store.connect(db) as conn:
        for name in USAGE_FILES:
            ingest.load_file(conn, MESSY / name)
    return folder / "rollup", db, counts


def _duckdb_rejects(db: Path) -> collections.Counter:
    with duckdb.connect(str(db), read_only=True) as conn:
        rows = conn.execute(
            "select l.file_name, r.outcome, r.column_name, r.reason, r.raw "
            "from rejected_rows r join loads l using (load_id)"
        ).fetchall()
    found = collections.Counter()
    for file, outcome, column, reason, raw in rows:
        values = json.loads(raw)
        # A record DuckDB's reader refused, or a JSON object that gives a column twice, keeps its
        # line; the key is the line's first field, or the JSON object's last event_id (Spark's reading).
        if "event_id" in values:
            key = values["event_id"]
        elif values["line"].startswith("{"):
            key = json.loads(values["line"])["event_id"]
        else:
            key = values["line"].split(",")[0]
        found[(file, key, outcome, column, reason if outcome == "rejected" else None)] += 1
    return found


def _spark_rejects(folder: Path) -> collections.Counter:
    with duckdb.connect() as conn:
        rows = conn.execute(
            "select file, key, outcome, column_name, reason from read_parquet(?)",
            [[str(path) for path in sorted((folder / "rejected").glob("*.parquet"))]],
        ).fetchall()
    return collections.Counter(
        (Path(file).name, key, outcome, column, reason if outcome == "rejected" else None)
        for file, key, outcome, column, reason in rows
    )


def _rollup(conn: duckdb.DuckDBPyConnection, source: str, params: list | None = None) -> list[tuple]:
    return conn.execute(
        f"select {ROLLUP_SUMS} from {source} group by all order by all", params or []
    ).fetchall()


def test_spark_and_duckdb_agree_row_for_row_on_the_messy_data_set(messy):
    folder, db, counts = messy
    # Worked out from the pinned loads: 20,030 + 12,022 read; 19,897 + 9,929 accepted; 10 + 2,015
    # duplicates (2,000 rows of the second file repeat the first); 5 + 9 conflicts; 118 + 69 rejected.
    assert counts == {
        "rows_read": 32052,
        "accepted": 29826,
        "duplicate": 2025,
        "conflict": 14,
        "rejected": 187,
    }
    with duckdb.connect(str(db), read_only=True) as conn:
        direct = _rollup(conn, "usage_daily")
        per_file = conn.execute(
            "select file_name, rows_read, accepted, duplicate, conflict, rejected from loads order by file_name"
        ).fetchall()
    with duckdb.connect() as conn:
        spark_rolled = _rollup(
            conn, "read_parquet(?)", [sorted(str(p) for p in (folder / "rollup").glob("*.parquet"))]
        )
        spark_files = conn.execute(
            "select file, rows_read, accepted, duplicate, conflict, rejected from read_parquet(?) order by file",
            [sorted(str(p) for p in (folder / "counts").glob("*.parquet"))],
        ).fetchall()
    assert len(direct) == 10657
    assert spark_rolled == direct
    assert [(Path(file).name, *rest) for file, *rest in spark_files] == per_file
    assert _spark_rejects(folder) == _duckdb_rejects(db)


def test_the_report_over_a_spark_rollup_equals_the_report_over_the_events(messy, tmp_path):
    folder, _, _ = messy
    direct, rolled = tmp_path / "direct.duckdb", tmp_path / "rolled.duckdb"
    # The files other than usage load in process once; both databases start from that file.
    with store.connect(direct) as conn:
        for name in OTHER_FILES:
            ingest.load_file(conn, MESSY / name)
    shutil.copyfile(direct, rolled)
    for name in USAGE_FILES:
        assert cli("ingest", "--db", str(direct), str(MESSY / name)).returncode == 0
    loaded = cli("ingest", "--db", str(rolled), str(folder))
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert cli("ingest", "--db", str(rolled), str(folder)).returncode == 0  # again: adds nothing (below)
    reports = [cli("report", "--db", str(db), "--format", "json") for db in (direct, rolled)]
    assert all(report.returncode == 0 for report in reports)
    assert json.loads(reports[1].stdout) == json.loads(reports[0].stdout)
    with duckdb.connect(str(rolled), read_only=True) as conn:
        history = conn.execute(
            "select kind, rows_read, accepted, duplicate, conflict, rejected from loads where kind = 'usage_rollup'"
        ).fetchall()
        listed = conn.execute("select count(*) from rejected_rows where line is null").fetchone()
    assert history == [("usage_rollup", 32052, 29826, 2025, 14, 187)]
    assert listed == (14 + 187,)


HOSTILE = [
    # (event_id, changes) — one row per rejection reason, and the forms each engine's cast might
    # take too generously.
    ("ok-1", {}),
    ("ok-offset", {"occurred_at": "2025-05-31T23:30:00-02:00"}),  # June 1st in UTC
    ("tokens-letter", {"input_tokens": "12O"}),
    ("calls-fraction", {"api_calls": "2.5"}),
    ("calls-hex", {"api_calls": "0x1F"}),
    ("calls-java-suffix", {"api_calls": "4d"}),
    ("status-unknown", {"status": "done"}),
    ("review-unknown", {"review": "maybe"}),
    ("agent-missing", {"agent_id": ""}),
    ("cost-negative", {"cost_usd": "-1"}),
    ("cost-places", {"cost_usd": "0.123456789"}),
    ("cost-underscore", {"cost_usd": "1_000"}),
    ("when-month-13", {"occurred_at": "2025-13-01T00:00:00Z"}),
    ("when-word", {"occurred_at": "yesterday"}),
    ("when-year-only", {"occurred_at": "2025"}),
    ("when-too-late", {"occurred_at": "2200-01-01T00:00:00Z"}),
    ("calls-inexact", {"api_calls": "1.0000000000000001"}),
    ("calls-30-digits", {"api_calls": "123456789012345678901234567890"}),
    ("cost-1e400", {"cost_usd": "1e400"}),
    # Past what a DECIMAL(38, 18) holds: Spark's cast would round these to 1 and 0 before counting.
    ("cost-29-places", {"cost_usd": "1.00000000000000000000000000001"}),
    ("calls-29-places", {"api_calls": "1.00000000000000000000000000001"}),
    ("cost-tiny-exponent", {"cost_usd": "1.5e-30"}),
    ("latency-negative", {"latency_ms": "-5"}),
    ("two-problems", {"status": "done", "cost_usd": "-2"}),
    ("agent-nul", {"agent_id": "writer\x00-2"}),  # a NUL byte is no character of text
]


def test_every_rejection_reason_is_the_same_on_both_engines(spark, tmp_path):
    lake = tmp_path / "lake"
    rows = [example("usage_events", event_id=key, **changes) for key, changes in HOSTILE]
    (lake / "month=2025-05").mkdir(parents=True)
    (lake / "month=2025-06").mkdir(parents=True)
    files = [
        write_csv(lake / "month=2025-05" / "a.csv", rows[:9]),
        write_jsonl(lake / "month=2025-06" / "b.jsonl", rows[9:]),
        # Parquet of text, repeating the first rows: duplicates, and one conflict.
        write_parquet(lake / "month=2025-06" / "c.parquet", [rows[0], {**rows[1], "cost_usd": "9.99"}]),
    ]
    out = tmp_path / "out"
    counts = spark_rollup.run([str(lake / "month=*")], out, spark=spark)
    db = tmp_path / "direct.duckdb"
    with store.connect(db) as conn:
        for file in sorted(files):
            ingest.load_file(conn, file)
        direct = _rollup(conn, "usage_daily")
    # 27 rows: ok-1 and ok-offset accepted, 23 rejected, one duplicate and one conflict in c.parquet.
    assert counts == {"rows_read": 27, "accepted": 2, "duplicate": 1, "conflict": 1, "rejected": 23}
    assert _spark_rejects(out) == _duckdb_rejects(db)
    with duckdb.connect() as conn:
        spark_rolled = _rollup(
            conn, "read_parquet(?)", [sorted(str(p) for p in (out / "rollup").glob("*.parquet"))]
        )
    assert spark_rolled == direct
    # The offset event counts on June 1st (UTC), the other on the example's March 4th.
    assert [(str(row[0]), row[6]) for row in spark_rolled] == [("2025-03-04", 1), ("2025-06-01", 1)]
    # A usage file's events carry no estimated cost: 0 in the rollup, on both engines.
    assert [row[-1] for row in spark_rolled] == [0, 0]


def _object(row: dict[str, object], *extra: tuple[str, object]) -> str:
    """A JSON object of the row's values, then the extra (key, value) pairs, repeated keys kept."""
    pairs = [*row.items(), *extra]
    return "{" + ", ".join(f"{json.dumps(key)}: {json.dumps(value)}" for key, value in pairs) + "}"


def test_a_json_lines_record_that_gives_a_column_twice_is_rejected_on_both_engines(spark, tmp_path):
    lake = tmp_path / "lake"
    lake.mkdir()
    row = example("usage_events", cost_usd="1.50")
    lines = [
        # cost_usd twice: Spark's reader would keep 100.00, DuckDB's 1.50.
        _object({**row, "event_id": "cost-twice"}, ("cost_usd", "100.00")),
        # Three columns repeated, status three times: the first in contract order is named.
        _object(
            {**row, "event_id": "three-twice"}, ("status", "failure"), ("agent_id", "b"), ("status", "x")
        ),
        # The same line twice: both rejected.
        _object({**row, "event_id": "same-twice"}, ("cost_usd", "2.00")),
        _object({**row, "event_id": "same-twice"}, ("cost_usd", "2.00")),
        # The same event sent again without the repeat, other values: accepted.
        _object({**row, "event_id": "resent", "cost_usd": "3"}, ("cost_usd", "4")),
        _object({**row, "event_id": "resent", "cost_usd": "5.00"}),
        # A repeated key the contract does not read, and one inside a nested value: accepted.
        _object({**row, "event_id": "note-twice"}, ("note", "a"), ("note", "b")),
        _object({**row, "event_id": "nested-twice"}, ("extra", {"cost_usd": "9"})).replace(
            '"cost_usd": "9"', '"cost_usd": "9", "cost_usd": "8"'
        ),
        # agent_id given twice, once spelled with an escape (\u005f is "_").
        _object({**row, "event_id": "escaped-twice"}, ("agent_id", "other")).replace(
            '"agent_id"', '"agent\\u005fid"', 1
        ),
    ]
    (lake / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    counts = spark_rollup.run([str(lake)], out, spark=spark)
    db = tmp_path / "direct.duckdb"
    with store.connect(db) as conn:
        ingest.load_file(conn, lake / "events.jsonl")
        direct = _rollup(conn, "usage_daily")
        accepted = conn.execute("select event_id, cost_usd from usage_events order by event_id").fetchall()
    # Worked out by hand: 9 records; cost-twice, three-twice, both same-twice, the first resent and
    # escaped-twice rejected; the second resent, note-twice and nested-twice accepted.
    assert counts == {"rows_read": 9, "accepted": 3, "duplicate": 0, "conflict": 0, "rejected": 6}
    assert [key for key, _ in accepted] == ["nested-twice", "note-twice", "resent"]
    assert dict(accepted)["resent"] == Decimal("5.00")
    rejects = _spark_rejects(out)
    assert rejects == _duckdb_rejects(db)
    told = "times in the object, so which value counts cannot be told"
    assert (
        rejects[
            (
                "events.jsonl",
                "three-twice",
                "rejected",
                "agent_id",
                f"agent_id: is given 2 {told}; status: is given 3 {told}",
            )
        ]
        == 1
    )
    assert (
        rejects[("events.jsonl", "same-twice", "rejected", "cost_usd", f"cost_usd: is given 2 {told}")] == 2
    )
    with duckdb.connect() as conn:
        spark_rolled = _rollup(
            conn, "read_parquet(?)", [sorted(str(p) for p in (out / "rollup").glob("*.parquet"))]
        )
    assert spark_rolled == direct


def test_the_dedup_statement_gives_the_same_outcomes_on_duckdb_and_spark(spark):
    rows = [
        # (event_id, cost, file, block, pos): e1's first row is in a.csv, pos 1.
        ("e1", "1.5", "b.csv", 0, 0),
        ("e1", "1.5", "a.csv", 0, 1),
        ("e1", "2.0", "a.csv", 0, 2),
        ("e2", "3.0", "a.csv", 0, 0),
    ]
    columns = [column.name for column in schema.columns(schema.UsageEvent)]
    base = example("usage_events")
    table = [
        {
            **{name: base[name] for name in columns},
            "event_id": key,
            "cost_usd": cost,
            "_file": file,
            "_block": block,
            "_pos": pos,
        }
        for key, cost, file, block, pos in rows
    ]
    expected = [
        ("e1", "a.csv", 1, "accepted", None),
        ("e1", "a.csv", 2, "conflict", "cost_usd"),
        ("e1", "b.csv", 0, "duplicate", None),
        ("e2", "a.csv", 0, "accepted", None),
    ]
    query = f"select event_id, _file, _pos, _outcome, _differs_first from ({rules.dedup_sql(schema.UsageEvent, 'dedup_input')}) order by all"
    with duckdb.connect() as conn:
        import pandas as pd

        conn.register("dedup_input", pd.DataFrame(table))
        assert conn.execute(query).fetchall() == expected
    spark.createDataFrame(table).createOrReplaceTempView("dedup_input")
    assert [tuple(row) for row in spark.sql(query).collect()] == expected


def test_the_rules_give_the_reasons_duckdbs_ingest_gives():
    cost = next(column for column in schema.columns(schema.UsageEvent) if column.name == "cost_usd")
    assert [rules.reason_text(check) for check in rules.checks(cost)] == [
        "cost_usd: has more digits than can be stored exactly (the largest is 9,999,999,999.99999999)",
        "cost_usd: must be a decimal number (at most 8 decimal places)",
        "cost_usd: has more than 8 decimal places (money is stored exactly)",
        "cost_usd: must be ≥ 0",
    ]
    for model in schema.KINDS.values():
        for ruled in rules.column_rules(model):
            duckdb_reasons = [
                reason for _, reason in ingest_rules.column_checks(ruled.column, "r", "v", config.Ingest())
            ]
            assert [check.reason for check in ruled.checks] == duckdb_reasons, ruled.name
