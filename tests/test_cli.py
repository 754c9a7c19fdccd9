"""The command line, run as a user runs it: the installed console script in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import example, write_csv

CLI = shutil.which("offload-metrics") or str(Path(sys.executable).with_name("offload-metrics"))


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        cwd=cwd,
        timeout=120,
    )


def test_ingest_prints_a_summary_and_exits_zero(tmp_path):
    db = tmp_path / "db.duckdb"
    usage = write_csv(
        tmp_path / "usage.csv", [example("usage_events"), example("usage_events", event_id="b", status="x")]
    )
    agents = write_csv(tmp_path / "agents.csv", [example("agents")])

    result = run("ingest", "--db", str(db), str(usage), str(agents))

    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "usage.csv" in line or "agents.csv" in line]
    assert [[cell.strip() for cell in line.split("│")[1:9]] for line in lines] == [
        ["usage.csv", "usage_events", "2", "1", "0", "0", "1", "loaded"],
        ["agents.csv", "agents", "1", "1", "0", "0", "0", "loaded"],
    ]
    assert "offload-metrics rejects" in result.stderr


def test_ingest_exits_non_zero_when_a_file_cannot_be_loaded(tmp_path):
    good = write_csv(tmp_path / "agents.csv", [example("agents")])
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")

    result = run("ingest", "--db", str(tmp_path / "db.duckdb"), str(good), str(empty))

    assert result.returncode == 1
    assert "empty.csv: the file is empty" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_the_database_comes_from_the_environment(tmp_path):
    db = tmp_path / "from-env.duckdb"
    result = run(
        "ingest", str(write_csv(tmp_path / "a.csv", [example("agents")])), env={"OFFLOAD_METRICS_DB": str(db)}
    )
    assert result.returncode == 0, result.stderr
    assert db.exists()


def test_a_database_in_use_gets_a_plain_message(tmp_path):
    db = tmp_path / "busy.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import time, duckdb
            conn = duckdb.connect({str(db)!r})
            print("holding", flush=True)
            time.sleep(60)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        result = run("ingest", "--db", str(db), str(write_csv(tmp_path / "a.csv", [example("agents")])))
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 3
    assert "is in use by process" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_rejects_lists_file_line_column_and_reason(tmp_path):
    db = tmp_path / "db.duckdb"
    usage = write_csv(
        tmp_path / "usage.csv",
        [example("usage_events"), example("usage_events", event_id="b", api_calls="12O")],
    )
    run("ingest", "--db", str(db), str(usage))

    result = run("rejects", "--db", str(db), "--format", "json")

    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["file_name"], r["line"], r["column_name"], r["outcome"], r["reason"]) for r in rows] == [
        ("usage.csv", 3, "api_calls", "rejected", 'api_calls: must be a whole number (got "12O")')
    ]


def test_rejects_without_a_database_says_what_to_do(tmp_path):
    result = run("rejects", "--db", str(tmp_path / "none.duckdb"))
    assert result.returncode == 3
    assert "load files first" in result.stderr


def test_schema_prints_the_contract_and_json_schema():
    text = run("schema", "--kind", "usage_events")
    assert text.returncode == 0
    assert "one of completed, escalated, failed; required" in text.stdout
    document = json.loads(run("schema", "--json").stdout)
    assert set(document) == {
        "usage_events",
        "time_saved",
        "replication_events",
        "agents",
        "org_baseline",
        "collaboration",
    }


def test_the_progress_bar_appears_only_after_a_second():
    import time

    from offload_metrics import cli, ingest

    display = cli._ProgressDisplay()
    quick = ingest.LoadProgress(file="a.csv", phase="reading", fraction=0.5)
    display.tick(quick)
    assert display.progress is None
    slow = ingest.LoadProgress(file="a.csv", phase="reading", fraction=0.5, started=time.monotonic() - 2)
    display.tick(slow)
    try:
        assert display.progress is not None
        task = display.progress.tasks[0]
        assert (task.completed, task.description) == (0.5, "a.csv: reading")
    finally:
        display.close()
