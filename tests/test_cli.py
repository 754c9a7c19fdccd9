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
    assert set(document) == {"usage_events", "time_saved", "replication_events", "agents", "org_baseline"}


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


ROOT = Path(__file__).resolve().parents[1]


def sample_db(tmp_path: Path) -> Path:
    db = tmp_path / "sample.duckdb"
    files = sorted(str(path) for path in (ROOT / "sample_data").iterdir() if not path.name.startswith("."))
    loaded = run("ingest", "--db", str(db), *files)
    assert loaded.returncode == 0, loaded.stderr
    return db


def test_an_unknown_function_or_business_unit_is_an_error_naming_the_known_ones(tmp_path):
    db = sample_db(tmp_path)
    result = run("report", "--db", str(db), "--function", "Marketting")
    assert result.returncode == 2 and result.stdout == ""
    message = " ".join(result.stderr.split())
    assert (
        "Unknown --function 'Marketting'. Known: Customer Support, Finance, HR, Legal, Marketing, R&D, Sales Operations."
        in (message)
    )
    unit = run("report", "--db", str(db), "--business-unit", "Nowhere", "--business-unit", "Compliance")
    assert unit.returncode == 2 and "Unknown --business-unit 'Nowhere'." in " ".join(unit.stderr.split())


def test_an_as_of_after_the_latest_data_warns(tmp_path):
    db = sample_db(tmp_path)
    result = run("report", "--db", str(db), "--as-of", "2026-03-31")
    assert result.returncode == 0
    assert "--as-of 2026-03-31 is after the latest data (2025-12-31)" in " ".join(result.stderr.split())
    assert json.loads(result.stdout)["as_of"] == "2026-03-31"
    quiet = run("report", "--db", str(db), "--as-of", "2025-12-31")
    assert "Warning" not in quiet.stderr


def test_report_and_rejects_read_beside_a_dashboard_holding_the_database(tmp_path):
    db = sample_db(tmp_path)
    # The dashboard holds the file read-only (it opens it for writing only to load, clear or save).
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time, duckdb
            conn = duckdb.connect({str(db)!r}, read_only=True)
            print("holding", flush=True)
            time.sleep(60)
        """)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        report = run("report", "--db", str(db), "--format", "md")
        rejects = run("rejects", "--db", str(db), "--limit", "5")
    finally:
        holder.kill()
        holder.wait()
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith("# Offloading report as of 2025-12-31")
    assert rejects.returncode == 0, rejects.stderr


def test_hints_carry_the_db_the_user_gave(tmp_path):
    db = tmp_path / "my folder" / "mine.duckdb"
    usage = write_csv(tmp_path / "usage.csv", [example("usage_events", event_id="b", api_calls="12O")])
    result = run("ingest", "--db", str(db), str(usage))
    assert f"offload-metrics rejects --db {db}" in " ".join(result.stderr.split())
    written = run("sample", "--out", str(tmp_path / "s"), "--events", "200", "--db", str(db))
    assert written.returncode == 0, written.stderr
    assert f"Load it with: offload-metrics ingest --db {db} {tmp_path / 's'}/*" in " ".join(
        written.stderr.split()
    )


def test_rejects_says_how_many_it_shows_of_how_many(tmp_path):
    db = sample_db(tmp_path)
    with_all = json.loads(run("rejects", "--db", str(db), "--limit", "0", "--format", "json").stdout)
    result = run("rejects", "--db", str(db))
    assert result.returncode == 0
    assert f"Rejected and conflicting rows (showing 100 of {len(with_all)})" in result.stdout
    assert f"Showing 100 of {len(with_all)}: --limit 0 lists them all" in " ".join(result.stderr.split())
    assert len(with_all) == 366


def readme_examples() -> list[str]:
    """The command lines of the README's "Examples" block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("### Examples on the bundled sample", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [
        line.split("  #")[0].strip() for line in block.splitlines() if line.startswith("offload-metrics ")
    ]


def test_the_readmes_examples_run_as_written_on_the_bundled_sample(tmp_path):
    import shlex

    shutil.copytree(ROOT / "sample_data", tmp_path / "sample_data")
    commands = readme_examples()
    assert len(commands) >= 6
    for command in commands:
        # The shell expands sample_data/* in the README; here the same files, hidden ones excluded.
        args = []
        for arg in shlex.split(command)[1:]:
            if arg.endswith("/*"):
                args += sorted(str(p) for p in (tmp_path / arg[:-2]).iterdir() if not p.name.startswith("."))
            else:
                args.append(arg)
        result = run(*args, cwd=tmp_path)
        assert result.returncode == 0, f"{command}: {result.stderr}"
    assert (tmp_path / "report" / "functions.csv").exists()
    assert (tmp_path / "report.xlsx").exists()


def test_make_run_says_each_step_and_which_database_it_serves(tmp_path):
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("$(STAMP): pyproject.toml", 1)[1].split("\nrun:", 1)[0]
    steps = [line for line in recipe.splitlines() if line.strip().startswith("@echo")]
    assert len(steps) == 4 and "[1/3]" in steps[0] and "[3/3]" in steps[2]
    assert "offload_metrics.startup" in makefile.split("\nrun:", 1)[1].split("\ntest:", 1)[0]

    def startup(db: Path, **env: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "offload_metrics.startup"], capture_output=True, text=True, timeout=60,
            env={**os.environ, "OFFLOAD_METRICS_DB": str(db), **env},
        )  # fmt: skip
        return result.stdout.strip()

    db = tmp_path / "app.duckdb"
    assert startup(db) == f"Database: {db} (new: the bundled sample loads on first start)"
    assert startup(db, OFFLOAD_METRICS_SAMPLE="off") == f"Database: {db} (new: starts empty)"
    run("ingest", "--db", str(db), str(write_csv(tmp_path / "a.csv", [example("agents")])))
    assert startup(db) == f"Database: {db} (1 load of your files; no sample)"
