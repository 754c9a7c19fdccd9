"""Shared fixtures: a real DuckDB file per test, and writers for real input files."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path

import duckdb
import pytest

from offload_metrics import ingest, schema, store


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "offload.duckdb"


@pytest.fixture
def conn(db_path: Path):
    connection = store.connect(db_path)
    yield connection
    connection.close()


def write_csv(
    path: Path,
    rows: Iterable[Mapping[str, object]],
    columns: list[str] | None = None,
    *,
    newline: str = "\n",
    bom: bool = False,
    delimiter: str = ",",
) -> Path:
    rows = list(rows)
    columns = columns or list(rows[0])
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator=newline, delimiter=delimiter)
        writer.writeheader()
        for row in rows:
            writer.writerow({key: row.get(key, "") for key in columns})
    return path


def write_jsonl(path: Path, rows: Iterable[Mapping[str, object]]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(
                json.dumps({key: (None if value == "" else value) for key, value in row.items()}) + "\n"
            )
    return path


def write_parquet(path: Path, rows: Iterable[Mapping[str, object]]) -> Path:
    """A Parquet file with every column as text, as a generic export tool would write it."""
    csv_path = write_csv(path.with_suffix(".source.csv"), rows)
    with duckdb.connect() as connection:
        connection.execute(
            "copy (select * from read_csv(?, all_varchar = true)) to ? (format parquet)",
            [str(csv_path), str(path)],
        )
    csv_path.unlink()
    return path


def example(kind: str, **changes: object) -> dict[str, object]:
    """The contract's example row of a kind, with some values changed."""
    return {**schema.KINDS[kind].example, **changes}


def table_rows(conn: duckdb.DuckDBPyConnection, kind: str) -> list[tuple]:
    names = ", ".join(f'"{column.name}"' for column in schema.columns(schema.KINDS[kind]))
    key = ", ".join(f'"{name}"' for name in schema.KINDS[kind].key)
    return conn.execute(f"select {names} from {kind} order by {key}").fetchall()


def snapshot(conn: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every row of every table, to compare a database before and after."""
    return {
        table: conn.execute(f"select * from {table} order by all").fetchall() for table in store.DATA_TABLES
    } | {"meta": conn.execute("select * from meta order by all").fetchall()}


class Data:
    """Builds input files row by row and loads them through the real ingest."""

    def __init__(self, conn, folder: Path) -> None:
        self.conn = conn
        self.folder = folder
        self.rows: dict[str, list[dict[str, object]]] = {kind: [] for kind in schema.KINDS}

    def usage(
        self,
        day: str,
        agent: str,
        function: str = "Marketing",
        bu: str = "Consumer",
        team: str = "Brand",
        status: str = "completed",
        review: str = "",
        api_calls: int = 0,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cost: str = "0",
        count: int = 1,
        task_type: str = "",
    ) -> Data:
        for _ in range(count):
            self.rows["usage_events"].append(
                {
                    "event_id": f"u{len(self.rows['usage_events'])}",
                    "occurred_at": f"{day}T12:00:00Z",
                    "agent_id": agent,
                    "function": function,
                    "business_unit": bu,
                    "team": team,
                    "status": status,
                    "review": review,
                    "api_calls": api_calls,
                    "input_tokens": input_tokens,
                    "output_tokens": output_tokens,
                    "cost_usd": cost,
                    "task_type": task_type,
                }
            )
        return self

    def gated(self, agent: str, day: str, tasks: int, completed: int, correct: int, incorrect: int) -> Data:
        """An agent's tasks on one day: the first `completed` completed (the rest escalated), the first
        `correct` reviewed correct and the next `incorrect` reviewed incorrect."""
        for index in range(tasks):
            status = "completed" if index < completed else "escalated"
            review = "correct" if index < correct else "incorrect" if index < correct + incorrect else ""
            self.usage(day, agent, status=status, review=review)
        return self

    def saved(
        self,
        month: str,
        team: str,
        tasks: int,
        baseline: float,
        minutes: float,
        function: str = "Marketing",
        bu: str = "Consumer",
        agent: str = "a1",
        headcount: int | str = "",
    ) -> Data:
        self.rows["time_saved"].append(
            {
                "record_id": f"t{len(self.rows['time_saved'])}",
                "period_start": f"{month}-01",
                "period_end": f"{month}-28",
                "function": function,
                "business_unit": bu,
                "team": team,
                "agent_id": agent,
                "tasks": tasks,
                "baseline_minutes_per_task": baseline,
                "minutes_per_task": minutes,
                "headcount": headcount,
            }
        )
        return self

    def event(
        self, agent: str, event_type: str, day: str, bu: str, function: str = "Marketing", team: str = ""
    ) -> Data:
        self.rows["replication_events"].append(
            {
                "event_id": f"r{len(self.rows['replication_events']):03d}",
                "agent_id": agent,
                "event_type": event_type,
                "occurred_on": day,
                "function": function,
                "business_unit": bu,
                "team": team,
            }
        )
        return self

    def baseline(
        self,
        team: str,
        headcount: int,
        routine: float,
        rate: str = "60",
        function: str = "Marketing",
        bu: str = "Consumer",
    ) -> Data:
        self.rows["org_baseline"].append(
            {
                "function": function,
                "business_unit": bu,
                "team": team,
                "headcount": headcount,
                "routine_hours_per_month": routine,
                "loaded_hourly_cost_usd": rate,
            }
        )
        return self

    def task_baseline(
        self,
        function: str,
        baseline: float,
        with_agent: float,
        bu: str = "",
        team: str = "",
        task_type: str = "",
        source: str = "estimate",
        note: str = "",
    ) -> Data:
        self.rows["task_baselines"].append(
            {
                "function": function,
                "business_unit": bu,
                "team": team,
                "task_type": task_type,
                "baseline_minutes_per_task": baseline,
                "minutes_per_task_with_agent": with_agent,
                "source": source,
                "note": note,
            }
        )
        return self

    def agent(self, agent_id: str, function: str, name: str = "An agent") -> Data:
        self.rows["agents"].append({"agent_id": agent_id, "name": name, "owner_function": function})
        return self

    def write(self, kind: str, folder: Path | None = None) -> Path:
        """The rows of one kind as a CSV file with every contract column, named after the kind."""
        columns = [column.name for column in schema.columns(schema.KINDS[kind])]
        return write_csv((folder or self.folder) / f"{kind}.csv", self.rows[kind], columns)

    def load(self):
        for kind, rows in self.rows.items():
            if rows:
                result = ingest.load_file(self.conn, self.write(kind))
                assert result.rejected == 0, self.conn.execute("select reason from rejected_rows").fetchall()
        return self.conn


@pytest.fixture
def data(conn, tmp_path) -> Data:
    return Data(conn, tmp_path)


def records(frame, *columns):
    """The columns as tuples, with missing values as None."""
    picked = frame[list(columns)].astype(object)
    picked = picked.where(picked.notna(), None)
    return [tuple(row) for row in picked.itertuples(index=False)]


@contextlib.contextmanager
def database_held(db: Path, *, read_only: bool = False):
    """Another process holding the database open, for as long as the block runs."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, duckdb; c = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == 'ro'); "
            "print('holding', flush=True); time.sleep(60)",
            str(db),
            "ro" if read_only else "rw",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        yield holder
    finally:
        holder.kill()
        holder.wait()


# --- the real app under `streamlit run`, and Debian's Chromium (tests/test_browser*.py) -------------

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, seconds: float = 90) -> None:
    """Until the url answers 200; a process that exits or never answers fails the test with its output."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.3)
    process.kill()
    pytest.fail(f"{url} did not come up: {process.stdout.read() if process.stdout else ''}")


@contextlib.contextmanager
def streamlit_server(folder: Path, *extra: str, port: int | None = None, **environment: str):
    """streamlit run app.py with the project's .streamlit/config.toml, on a database in `folder`."""
    port = port or free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.port",
            str(port),
            "--server.fileWatcherType",
            "none",
            *extra,
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "OFFLOAD_METRICS_DB": str(folder / "app.duckdb"),
            "OFFLOAD_METRICS_CONFIG": str(folder / "offload.toml"),
            "OFFLOAD_METRICS_SAMPLE_DIR": str(SAMPLE),
            **environment,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/_stcore/health", process)
    try:
        yield url, port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            # A busy machine can keep a server finishing a load past the wait; the test is over.
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield launched
        launched.close()


# The files that take longest, first: `make test` hands whole files to its two workers in collection
# order, so a long file collected last keeps one worker busy minutes after the other has finished.
LONGEST_FIRST = (
    "test_spark_rollup.py", "test_cli.py", "test_browser.py", "test_browser_trust.py", "test_benchmark.py",
    "test_ingest.py", "test_sample.py",
)  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: a file's tests keep their order
