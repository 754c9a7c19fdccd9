"""The Spark rollup beside DuckDB's ingest, and the dashboard on a large rollup.

    python benchmarks/spark_bench.py --events 10000000 --rollup-events 100000000

1. Realistic usage events (benchmarks/realistic.py: random UUID ids, 2,000 agents, offsets, 0.15%
   duplicates and conflicts), as text, in a month-partitioned Parquet lake (lake/month=YYYY-MM/).
2. Events per second: DuckDB's ingest of every lake file; the Spark rollup in local mode
   (local[*]); the same on a two-worker standalone cluster (benchmarks/spark_cluster.sh). Each is
   wall time of the command, Spark's start-up included; a command still running after --timeout
   seconds is stopped and reported as not finished.
3. A rollup of --rollup-events events' worth, generated directly as usage_daily rows (the sample's
   team x agent pairs widened until the rows hold that many tasks), with the sample's other files:
   the database size and every page's queries (cold and warm), as benchmarks/run.py times them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
BIN = Path(sys.executable).parent


def lake(events: int, data: Path) -> Path:
    """The realistic events of that size as a month-partitioned Parquet lake of text columns."""
    import duckdb
    import realistic

    folder = data / f"realistic-{events}"
    if not (folder / "usage_events.csv").exists():
        realistic.generate(folder, events)
    lake_dir = data / f"lake-{events}"
    if not lake_dir.exists():
        with duckdb.connect() as conn:
            conn.execute(
                "COPY (SELECT *, strftime(cast(occurred_at AS TIMESTAMPTZ), '%Y-%m') AS month "
                "FROM read_csv(?, all_varchar = true)) TO ? (FORMAT parquet, PARTITION_BY (month))",
                [str(folder / "usage_events.csv"), str(lake_dir)],
            )
    return lake_dir


def timed(
    command: list[str], env: dict | None = None, timeout: float | None = None
) -> tuple[float | None, str]:
    """Wall seconds and output of a command; None when it ran past the timeout, when it and every
    process it started (its own session) are stopped."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, **(env or {})}, start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate()
        return None, output
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{output}")
    return time.perf_counter() - started, output


def events_per_second(events: int, data: Path, timeout: float | None) -> list[tuple[str, float | None]]:
    lake_dir = lake(events, data)
    files = sorted(str(path) for path in lake_dir.rglob("*.parquet"))
    db = data / f"direct-{events}.duckdb"
    db.unlink(missing_ok=True)
    figures = []
    seconds, _ = timed([str(BIN / "offload-metrics"), "ingest", "--db", str(db), *files], timeout=timeout)
    figures.append(("DuckDB ingest (one transaction per lake file)", seconds))
    seconds, _ = timed(
        [str(BIN / "offload-metrics"), "rollup", "--engine", "spark", "--events", str(lake_dir),
         "--out", str(data / f"rollup-local-{events}"), "--conf", "spark.driver.memory=2g",
         "--conf", "spark.ui.showConsoleProgress=false"], timeout=timeout,
    )  # fmt: skip
    figures.append(("Spark rollup, local[*]", seconds))
    cluster = data / f"cluster-{events}"
    try:
        _, output = timed(
            [str(HERE / "spark_cluster.sh")],
            env={
                "EVENTS_URI": str(lake_dir.resolve()),
                "SPARK_DEMO_DIR": str(cluster.resolve()),
                "BIN": str(BIN.resolve()),
            },
            timeout=timeout,
        )
    finally:
        _stop_cluster(cluster)
    found = re.search(r"two-worker cluster: ([0-9.]+) s", output)
    figures.append(
        (
            "Spark rollup, standalone master + 2 workers (1 core each)",
            float(found.group(1)) if found else None,
        )
    )
    return figures


def _stop_cluster(folder: Path) -> None:
    """Stop the master and workers spark_cluster.sh started there (it stops them itself unless it was
    stopped first), by the process ids Spark wrote."""
    for pid_file in (folder / "pids").glob("*.pid"):
        with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)


def big_rollup(rollup_events: int, data: Path, sample_folder: Path) -> dict:
    """A database whose usage is a rollup of rollup_events events, generated directly."""
    import run as bench

    from offload_metrics import ingest, store

    db = data / f"rollup-{rollup_events}.duckdb"
    db.unlink(missing_ok=True)
    with store.connect(db) as conn:
        for name in ("org_baseline.csv", "agents.csv", "time_saved.csv", "replication_events.csv"):
            ingest.load_file(conn, sample_folder / name)
        ingest.load_file(conn, sample_folder / "usage_events.csv")
        # The sample's rollup rows, copied over 16 more teams per business unit each (team suffixes),
        # with tasks scaled so that the rows hold rollup_events tasks in all.
        base_rows, base_tasks = store.one(conn, "select count(*), sum(tasks) from usage_daily")
        copies = max(1, round(rollup_events / base_tasks / 4))
        scale = max(1, round(rollup_events / (base_tasks * copies)))  # whole, so money stays exact
        copied = {"team": "team || ' ' || copy"} | {
            name: name for name in store.USAGE_ROLLUP_KEYS if name != "team"
        }
        columns = ", ".join(copied.get(name, f"{name} * $scale") for name, _ in store.USAGE_ROLLUP_COLUMNS)
        with store.transaction(conn):
            conn.execute(
                f"insert into usage_daily select {columns} from usage_daily, range(1, $copies + 1) as copies(copy)",
                {"scale": scale, "copies": copies},
            )
        conn.execute("checkpoint")
        rows, tasks = store.one(conn, "select count(*), sum(tasks) from usage_daily")
    pages = {page: bench.work_page(str(db), page, 3) for page in bench.PAGE_QUERIES}
    return {
        "rollup_rows": rows,
        "events_worth": int(tasks),
        "base_rows": base_rows,
        "db_mb": db.stat().st_size / 1e6,
        "pages": pages,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--rollup-events", type=int, default=100_000_000)
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    parser.add_argument("--timeout", type=float, help="Stop each engine's command after this many seconds.")
    parser.add_argument("--skip-engines", action="store_true")
    parser.add_argument(
        "--skip-rollup", action="store_true", help="Leave out the dashboard on a large rollup."
    )
    args = parser.parse_args()
    args.data.mkdir(exist_ok=True)
    result: dict = {"events": args.events}
    if not args.skip_engines:
        lake_dir = lake(args.events, args.data)
        import duckdb

        from offload_metrics import store

        with duckdb.connect() as conn:
            rows = store.scalar(
                conn,
                "select count(*) from read_parquet(?)",
                [sorted(str(path) for path in lake_dir.rglob("*.parquet"))],
            )
        result["rows_in_lake"] = rows
        result["engines"] = [
            {"engine": name, "seconds": round(seconds, 1) if seconds else None,
             "events_per_second": round(rows / seconds) if seconds else None}
            for name, seconds in events_per_second(args.events, args.data, args.timeout)
        ]  # fmt: skip
    if not args.skip_rollup:
        from offload_metrics import sample

        sample_folder = args.data / "sample-rollup-base"
        if not (sample_folder / "usage_events.csv").exists():
            sample.generate(sample_folder, events=100_000, clean=True)
        result["rollup"] = big_rollup(args.rollup_events, args.data, sample_folder)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
