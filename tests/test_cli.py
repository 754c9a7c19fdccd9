"""The command line, run as a user runs it: the installed console script in a subprocess."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import database_held, example, write_csv

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
    with database_held(db):
        result = run("ingest", "--db", str(db), str(write_csv(tmp_path / "a.csv", [example("agents")])))
    assert result.returncode == 3
    assert "is in use by process" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_names_and_values_from_files_print_as_they_are_not_as_styles(tmp_path):
    """Square brackets in a file name, a header or a value are text, never terminal styles: no crash,
    no name shortened."""
    db = tmp_path / "db.duckdb"
    usage = write_csv(
        tmp_path / "a[bold]b.csv",
        [example("usage_events"), example("usage_events", event_id="b", api_calls="[/bold]")],
    )
    odd = tmp_path / "odd[red].csv"
    odd.write_text("col[/b],x\n1,2\n", encoding="utf-8")

    loaded = run("ingest", "--db", str(db), str(usage), str(odd))
    listed = run("rejects", "--db", str(db))

    assert loaded.returncode == 1, loaded.stderr
    assert "Traceback" not in loaded.stderr + listed.stderr
    assert "a[bold]b.csv" in loaded.stdout
    said = " ".join(loaded.stderr.split())
    assert "odd[red].csv: the columns (col[/b], x) do not match any input kind" in said
    assert listed.returncode == 0, listed.stderr
    assert "a[bold]b.csv" in listed.stdout
    assert '(got "[/bold]")' in listed.stdout


def test_ingest_names_a_column_without_a_name_it_ignored(tmp_path):
    # A header's trailing comma (as some spreadsheets write it) makes a column without a name.
    usage = tmp_path / "usage.csv"
    usage.write_text(
        "event_id,occurred_at,agent_id,function,business_unit,status,\n"
        "e1,2025-03-04T09:15:00Z,a1,Marketing,Consumer,completed,\n",
        encoding="utf-8",
    )
    result = run("ingest", "--db", str(tmp_path / "db.duckdb"), str(usage))
    assert result.returncode == 0, result.stderr
    assert 'loaded (ignored columns: "" (a column without a name))' in result.stdout


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


def test_rejects_lists_a_line_refused_whole_beside_one_refused_for_a_column(tmp_path):
    db = tmp_path / "db.duckdb"
    usage = tmp_path / "usage.csv"
    usage.write_text(
        "event_id,occurred_at,agent_id,function,business_unit,status\n"
        "e1,2025-03-04T09:15:00Z,a1,Marketing,Consumer,bogus\n"
        "e2,2025-03-04T09:15:00Z,a1,Marketing,Consumer,completed,extra\n",
        encoding="utf-8",
    )
    run("ingest", "--db", str(db), str(usage))

    result = run("rejects", "--db", str(db))

    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "usage.csv" in line]
    cells = [[cell.strip() for cell in line.strip("│ ").split("│")] for line in lines]
    assert [row[:4] for row in cells] == [["1", "usage.csv", "2", "status"], ["1", "usage.csv", "3", "—"]]
    assert cells[1][5] == "line has more fields than the header"


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
        "usage_events", "time_saved", "replication_events", "agents", "org_baseline", "vendor_costs", "vendor_usage",
        "task_baselines", "collaboration",
    }  # fmt: skip


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


@pytest.fixture(scope="module")
def loaded_sample(tmp_path_factory) -> Path:
    """The bundled sample loaded once by the command line, for the tests that read it."""
    db = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    files = sorted(str(path) for path in (ROOT / "sample_data").iterdir() if not path.name.startswith("."))
    loaded = run("ingest", "--db", str(db), *files)
    assert loaded.returncode == 0, loaded.stderr
    return db


@pytest.fixture
def sample_db(loaded_sample: Path, tmp_path: Path) -> Path:
    """A copy of the loaded sample of the test's own."""
    db = tmp_path / "sample.duckdb"
    shutil.copyfile(loaded_sample, db)
    return db


def test_an_unknown_function_or_business_unit_is_an_error_naming_the_known_ones(sample_db):
    db = sample_db
    result = run("report", "--db", str(db), "--function", "Marketting")
    assert result.returncode == 2 and result.stdout == ""
    message = " ".join(result.stderr.split())
    assert (
        "Unknown --function 'Marketting'. Known: Customer Support, Finance, HR, Legal, Marketing, R&D, Sales Operations."
        in (message)
    )
    unit = run("report", "--db", str(db), "--business-unit", "Nowhere", "--business-unit", "Compliance")
    assert unit.returncode == 2 and "Unknown --business-unit 'Nowhere'." in " ".join(unit.stderr.split())


def test_an_as_of_after_the_latest_data_warns(sample_db):
    db = sample_db
    result = run("report", "--db", str(db), "--as-of", "2026-03-31")
    assert result.returncode == 0
    assert "--as-of 2026-03-31 is after the latest data (2025-12-31)" in " ".join(result.stderr.split())
    assert json.loads(result.stdout)["as_of"] == "2026-03-31"
    quiet = run("report", "--db", str(db), "--as-of", "2025-12-31")
    assert "Warning" not in quiet.stderr
    # alerts said nothing: its figures at a day without data read as current.
    alerts = run("alerts", "--db", str(db), "--as-of", "2026-03-31", "--format", "json")
    assert "--as-of 2026-03-31 is after the latest data (2025-12-31)" in " ".join(alerts.stderr.split())
    assert json.loads(alerts.stdout)["as_of"] == "2026-03-31"
    assert "Warning" not in run("alerts", "--db", str(db), "--as-of", "2025-12-31").stderr


def test_report_and_rejects_read_beside_a_dashboard_holding_the_database(sample_db):
    db = sample_db
    # The dashboard holds the file read-only (it opens it for writing only to load, clear or save).
    with database_held(db, read_only=True):
        report = run("report", "--db", str(db), "--format", "md")
        rejects = run("rejects", "--db", str(db), "--limit", "5")
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


def test_rejects_says_how_many_it_shows_of_how_many(sample_db):
    db = sample_db
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


def test_ingest_reads_the_date_bounds_from_the_settings_file_like_report(tmp_path):
    db = tmp_path / "db.duckdb"
    settings = tmp_path / "offload.toml"
    settings.write_text("[ingest]\nmin_date = 2000-01-01\nmax_date = 2030-12-31\n", encoding="utf-8")
    usage = write_csv(
        tmp_path / "usage.csv",
        [
            example("usage_events"),
            example("usage_events", event_id="late", occurred_at="2031-01-01T00:00:00Z"),
        ],
    )

    from_cwd = run("ingest", "--db", str(db), str(usage), cwd=tmp_path)
    rejects = run("rejects", "--db", str(db), "--format", "json")

    assert from_cwd.returncode == 0, from_cwd.stderr
    assert [(row["line"], row["reason"]) for row in json.loads(rejects.stdout)] == [
        (
            3,
            "occurred_at: must be between 2000-01-01 and 2030-12-31 (settings ingest.min_date and "
            'ingest.max_date) (got "2031-01-01T00:00:00Z")',
        )
    ]
    bad = tmp_path / "bad.toml"
    bad.write_text("[ingest]\nmin_date = 2000-01-01\nmax_date = 1999-01-01\n", encoding="utf-8")
    refused = run("ingest", "--db", str(db), "--config", str(bad), str(usage))
    assert refused.returncode == 2
    assert "ingest.max_date: Value error, must not be before ingest.min_date" in refused.stderr


def _loaded_db(tmp_path: Path) -> Path:
    db = tmp_path / "db.duckdb"
    usage = write_csv(
        tmp_path / "usage.csv", [example("usage_events"), example("usage_events", event_id="b")]
    )
    agents = write_csv(tmp_path / "agents.csv", [example("agents")])
    assert run("ingest", "--db", str(db), str(usage), str(agents)).returncode == 0
    return db


def _counts(db: Path) -> tuple[int, int, int]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(
            "select (select count(*) from loads), (select count(*) from usage_events), "
            "(select count(*) from usage_daily)"
        ).fetchone()


def test_clear_asks_first_and_then_removes_every_load(tmp_path):
    db = _loaded_db(tmp_path)

    declined = subprocess.run(
        [CLI, "clear", "--db", str(db)], input="n\n", capture_output=True, text=True, timeout=120
    )
    kept = _counts(db)
    cleared = run("clear", "--db", str(db), "--yes")

    assert declined.returncode == 1
    assert kept == (2, 2, 1)
    assert cleared.returncode == 0, cleared.stderr
    assert "Removed 2 loads" in cleared.stdout
    assert _counts(db) == (0, 0, 0)


def test_unload_removes_one_load_and_names_what_it_removed(tmp_path):
    db = _loaded_db(tmp_path)

    removed = run("unload", "1", "--db", str(db))
    unknown = run("unload", "9", "--db", str(db))

    assert removed.returncode == 0, removed.stderr
    assert "Removed load 1 (usage.csv): 2 usage_events rows, 0 rejected rows" in " ".join(
        removed.stdout.split()
    )
    assert _counts(db) == (1, 0, 0)
    assert unknown.returncode == 2
    assert "There is no load 9" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_ingest_unload_and_clear_record_who_and_what_in_the_audit(tmp_path):
    db = tmp_path / "db.duckdb"
    usage = write_csv(
        tmp_path / "usage.csv", [example("usage_events"), example("usage_events", event_id="b", status="x")]
    )
    agents = write_csv(tmp_path / "agents.csv", [example("agents")])
    ada = {"LOGNAME": "ada", "USER": "ada", "LNAME": "ada", "USERNAME": "ada"}
    grace = {"LOGNAME": "grace", "USER": "grace", "LNAME": "grace", "USERNAME": "grace"}

    loaded = run("ingest", "--db", str(db), str(usage), str(agents), env=ada)
    again = run("ingest", "--db", str(db), str(agents), env=ada)
    unloaded = run("unload", "1", "--db", str(db), env=grace)
    cleared = run("clear", "--db", str(db), "--yes", env=grace)

    assert [loaded.returncode, again.returncode, unloaded.returncode, cleared.returncode] == [0, 0, 0, 0]
    with duckdb.connect(str(db), read_only=True) as conn:
        audit = conn.execute("select who, action, detail from audit order by recorded_at, rowid").fetchall()
    assert audit == [
        (
            "ada",
            "load",
            "usage.csv: agent usage logs, 2 rows read: 1 accepted, 0 duplicate, 0 conflicting, 1 rejected",
        ),
        (
            "ada",
            "load",
            "agents.csv: the agent catalog, 1 row read: 1 accepted, 0 duplicate, 0 conflicting, 0 rejected",
        ),
        ("ada", "load", "agents.csv: identical to load 2 (agents.csv); nothing added"),
        ("grace", "unload", "Removed load 1 (usage.csv): 1 usage_events rows, 1 rejected rows."),
        ("grace", "clear", "cleared db.duckdb: 1 load removed"),
    ]


@pytest.mark.parametrize(
    ("day", "shown"),
    [
        ("'0044-03-15 (BC)'", "0044-03-15 (BC)"),
        ("'9999-12-31'", "9999-12-31"),
        ("'0001-01-01 00:30:00'", "0001-01-01"),
    ],
)
def test_report_names_dates_an_older_version_stored_instead_of_a_traceback(tmp_path, day, shown):
    db = _loaded_db(tmp_path)
    with duckdb.connect(str(db)) as conn:
        conn.execute(f"update usage_events set occurred_at = {day}::TIMESTAMP where event_id = 'b'")
        conn.execute(f"update usage_daily set day = {day}::TIMESTAMP::DATE")

    result = run("report", "--db", str(db))

    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    assert "usage_events.occurred_at: 1 value outside 1900-01-01 to 2199-12-31" in message
    assert f"({shown}" in message
    assert "load 1 (usage.csv)" in message
    assert "offload-metrics unload 1" in message


@pytest.mark.parametrize("name", ["usage.csv", "data.parquet"])
def test_a_db_that_is_not_a_duckdb_database_is_refused(tmp_path, name):
    usage = write_csv(tmp_path / "usage.csv", [example("usage_events")])
    not_a_db = usage if name == "usage.csv" else tmp_path / name
    if name == "data.parquet":
        with duckdb.connect() as conn:
            conn.execute(f"copy (select 1 as x) to '{not_a_db}' (format parquet)")
    content = not_a_db.read_bytes()

    result = run("ingest", "--db", str(not_a_db), str(usage))

    assert result.returncode == 3
    assert f"{not_a_db} is not a DuckDB database" in " ".join(result.stderr.split())
    assert "loaded" not in result.stdout
    assert not_a_db.read_bytes() == content


@pytest.mark.parametrize("command", [("clear", "--yes"), ("report",), ("ingest",)])
def test_another_applications_duckdb_database_is_refused_and_left_as_it_was(tmp_path, command):
    # clear wrote about 35 of this program's tables into it; report read it as an empty organisation.
    usage = write_csv(tmp_path / "usage.csv", [example("usage_events")])
    foreign = tmp_path / "theirs.duckdb"
    with duckdb.connect(str(foreign)) as conn:
        conn.execute("create table t as select 1 as x")
    arguments = [*command, "--db", str(foreign), *([str(usage)] if command == ("ingest",) else [])]

    result = run(*arguments)

    assert result.returncode == 3, result.stdout + result.stderr
    said = " ".join((result.stdout + result.stderr).split())
    assert f"{foreign} is a DuckDB database of another application" in said and "Traceback" not in said
    with duckdb.connect(str(foreign), read_only=True) as conn:
        assert conn.execute("select table_name from duckdb_tables()").fetchall() == [("t",)]


def test_a_database_in_a_missing_folder_is_created_with_a_message(tmp_path):
    usage = write_csv(tmp_path / "usage.csv", [example("usage_events")])
    db = tmp_path / "new" / "folder" / "db.duckdb"

    result = run("ingest", "--db", str(db), str(usage))

    assert result.returncode == 0, result.stderr
    assert f"Created the folder {db.parent} for the new database" in " ".join(result.stderr.split())
    assert db.is_file()


@pytest.mark.parametrize(("literal", "other"), [("a*.csv", "abc.csv"), ("a[bc].csv", "ab.csv")])
def test_file_arguments_are_literal_paths_never_globs(tmp_path, literal, other):
    write_csv(tmp_path / literal, [example("usage_events", event_id="literal")])
    write_csv(tmp_path / other, [example("usage_events", event_id="other")])
    db = tmp_path / "db.duckdb"

    result = run("ingest", "--db", str(db), str(tmp_path / literal))

    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(db), read_only=True) as conn:
        assert conn.execute("select event_id from usage_events").fetchall() == [("literal",)]
        assert conn.execute("select file_name, rows_read from loads").fetchall() == [(literal, 1)]


def test_report_and_rejects_read_beside_a_process_holding_the_database_read_only(tmp_path):
    db = _loaded_db(tmp_path)
    with database_held(db, read_only=True):
        report = run("report", "--db", str(db))
        rejects = run("rejects", "--db", str(db))

    assert report.returncode == 0, report.stderr
    assert _tasks(report) == 2
    assert rejects.returncode == 0, rejects.stderr


def _tasks(report: subprocess.CompletedProcess) -> int:
    return sum(function["tasks"] for function in json.loads(report.stdout)["functions"])


def _mount_tmpfs(folder: Path, size: str) -> None:
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"this machine does not let the tests mount a file system: {mounted.stderr!r}")


def test_report_and_rejects_work_on_a_read_only_file_system(tmp_path):
    db = _loaded_db(tmp_path)
    mount = tmp_path / "ro"
    _mount_tmpfs(mount, "16m")
    try:
        (mount / "db.duckdb").write_bytes(db.read_bytes())
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        report = run("report", "--db", str(mount / "db.duckdb"))
        rejects = run("rejects", "--db", str(mount / "db.duckdb"), "--format", "json")
    finally:
        subprocess.run(["umount", str(mount)], check=True)

    assert report.returncode == 0, report.stderr
    assert _tasks(report) == 2
    assert rejects.returncode == 0, rejects.stderr
    assert json.loads(rejects.stdout) == []


def test_a_full_disk_says_disk_full_and_keeps_what_was_loaded(tmp_path):
    mount = tmp_path / "small"
    _mount_tmpfs(mount, "3m")
    try:
        db = mount / "db.duckdb"
        agents = write_csv(tmp_path / "agents.csv", [example("agents")])
        assert run("ingest", "--db", str(db), str(agents)).returncode == 0
        rows = [
            example("usage_events", event_id=f"event-{index:07d}", agent_id=f"agent-{index}")
            for index in range(60000)
        ]
        usage = write_csv(tmp_path / "usage.csv", rows)

        result = run("ingest", "--db", str(db), str(usage))
        kept = run("rejects", "--db", str(db), "--format", "json")
        report = run("report", "--db", str(db))
    finally:
        subprocess.run(["umount", str(mount)], check=True)

    message = " ".join(result.stderr.split())
    assert result.returncode == 1
    assert "usage.csv: the disk is full" in message
    assert "could not be read" not in message
    assert kept.returncode == 0, kept.stderr
    assert report.returncode == 0, report.stderr
    assert _tasks(report) == 0


@pytest.mark.parametrize("name", ["=1+2.csv", " =1+2.csv", "\n=1+2.csv", "＝1+2.csv", "@SUM(A1).csv"])
def test_rejects_as_csv_neutralises_formula_cells(tmp_path, name):
    db = tmp_path / "db.duckdb"
    usage = write_csv(tmp_path / name, [example("usage_events", status="=1+2")])
    assert run("ingest", "--db", str(db), str(usage)).returncode == 0

    result = run("rejects", "--db", str(db), "--format", "csv")

    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(row["file_name"], row["column_name"], row["reason"]) for row in rows] == [
        ("'" + name, "status", 'status: must be one of completed, escalated, failed (got "=1+2")')
    ]


@pytest.mark.parametrize("after_seconds", [0.5, 1.5, 3.0])
def test_a_killed_ingest_leaves_the_previous_or_the_complete_new_state(tmp_path, after_seconds):
    db = tmp_path / "db.duckdb"
    first = write_csv(tmp_path / "first.csv", [example("usage_events", event_id="first")])
    assert run("ingest", "--db", str(db), str(first)).returncode == 0
    rows = [example("usage_events", event_id=f"e{index:07d}") for index in range(150_000)]
    big = write_csv(tmp_path / "big.csv", rows)
    child = subprocess.Popen(
        [CLI, "ingest", "--db", str(db), str(big)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        child.wait(timeout=after_seconds)
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)

    with duckdb.connect(str(db)) as conn:  # replays the write-ahead log of a killed writer
        state = conn.execute(
            "select (select count(*) from loads), (select list(outcome order by load_id) from loads), "
            "(select count(*) from usage_events), (select sum(tasks) from usage_daily)"
        ).fetchone()
    assert state in [(1, ["loaded"], 1, 1), (2, ["loaded", "loaded"], 150_001, 150_001)]


@pytest.mark.parametrize("arguments", [["--help"], ["ingest", "--help"]])
def test_help_imports_none_of_the_commands_modules(arguments):
    """Start-up: `--help`, and a command's help with its choices (the input kinds), build the
    commands without importing what they run (DuckDB, pandas, pydantic, the ingest stack); each
    command imports its modules when it runs."""
    code = (
        "import sys\n"
        "from offload_metrics import cli\n"
        f"cli.main({arguments!r}, standalone_mode=False)\n"
        "heavy = ('offload_metrics', 'duckdb', 'pandas', 'numpy', 'altair', 'pydantic')\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] in heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip().splitlines()[-1]
        == "['offload_metrics', 'offload_metrics.cli', 'offload_metrics.kinds']"
    )
    if arguments[0] == "ingest":
        assert "usage_events|time_saved|" in done.stdout and "|langfuse_scores]" in done.stdout


def test_the_kinds_the_help_lists_are_the_models_kinds():
    from offload_metrics import kinds, schema, telemetry

    assert (*schema.KINDS, *schema.IMPORTED_KINDS, *telemetry.KINDS) == kinds.ALL
    with pytest.raises(RuntimeError, match=r"defines the kinds .* but offload_metrics\.kinds names"):
        kinds.check(("usage_events", "new_kind"), kinds.CONTRACT, "schema.KINDS")


def test_the_cli_states_the_defaults_its_modules_use():
    from offload_metrics import cli, config, sample, store

    assert (cli.DB_ENV, cli.DEFAULT_DB_FILE) == (store.DB_ENV, store.DEFAULT_DB_FILE)
    assert (cli.SETTINGS_ENV, cli.DEFAULT_SETTINGS_FILE) == (
        config.SETTINGS_ENV,
        config.DEFAULT_SETTINGS_FILE,
    )
    assert (cli.SAMPLE_EVENTS, cli.SAMPLE_MONTHS, cli.SAMPLE_SEED) == (
        sample.DEFAULT_EVENTS,
        sample.DEFAULT_MONTHS,
        sample.DEFAULT_SEED,
    )


def test_report_imports_neither_the_ingest_stack_nor_the_charts(tmp_path):
    db = tmp_path / "report.duckdb"
    loaded = subprocess.run(
        [CLI, "ingest", "--db", str(db),
         str(write_csv(tmp_path / "agents.csv", [example("agents")]))],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    code = (
        "import sys\n"
        "from offload_metrics import cli\n"
        f"cli.main(['report', '--db', {str(db)!r}, '--format', 'json', '--out', {str(tmp_path / 'r.json')!r}],"
        " standalone_mode=False)\n"
        "print(sorted(name for name in sys.modules if name.startswith(('offload_metrics.ingest', 'altair'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # Nothing of the ingest package (the counts of a load are store's) and no charts.
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_out_of_range_counts_are_usage_errors_not_tracebacks(tmp_path):
    for args, named in (
        (
            ("rejects", "--db", str(tmp_path / "none.duckdb"), "--limit", "-1"),
            "'--limit': -1 is not in the range x>=0",
        ),
        (
            ("sample", "--out", str(tmp_path / "s"), "--events", "0"),
            "'--events': 0 is not in the range x>=100",
        ),
    ):
        result = run(*args)
        assert result.returncode == 2, result.stderr
        assert named in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("module", ["offload_metrics", "offload_metrics.cli"])
def test_python_dash_m_runs_the_command_line(module):
    # `python -m offload_metrics.cli report ...` did nothing and exited 0: a script took it for success.
    result = subprocess.run(
        [sys.executable, "-m", module, "report", "--db", "/nonexistent/none.duckdb"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert "No database at /nonexistent/none.duckdb" in result.stdout + result.stderr
