"""How many stored rows the full report and each page's queries read, against the raw events.

    python benchmarks/scanned.py --db DATABASE [--as-of D --from D --to D]

Each metric query (metrics._run) runs with DuckDB's profiler on, one at a time on one connection, and its
`total_rows_scanned` (the rows of every table it read, after row groups skipped by their minimum
and maximum) is added up: for the report (`report.build`) and for each page's calls
(run.PAGE_QUERIES), with the query that read the most. A query a page asks twice with the same
values runs once, as in the app (metrics.shared_results). Counts, not times: the same on any
machine for the same database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import importlib
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import PAGE_QUERIES  # noqa: E402


def measure(db: str, dates: dict[str, dt.date]) -> list[dict]:
    from offload_metrics import metrics, report, store
    from offload_metrics.config import Settings

    settings = Settings()
    filters = metrics.Filters(**dates)
    runs: list[tuple[str, int]] = []
    run_query, cores = metrics._run, metrics._usable_cores
    with tempfile.TemporaryDirectory() as folder, store.connect(db) as conn:
        profile = Path(folder) / "profile.json"

        def profiled(connection, file, sql, values, exact):
            connection.execute("pragma enable_profiling = 'json'")
            connection.execute(f"pragma profiling_output = '{profile}'")
            connection.execute("pragma profiling_mode = 'detailed'")
            try:
                return run_query(connection, file, sql, values, exact)
            finally:
                connection.execute("pragma disable_profiling")
                runs.append((Path(file).stem, json.loads(profile.read_text())["query"]["total_rows_scanned"]))

        def run_page(calls) -> None:
            with metrics.shared_results():
                for name, by in calls:
                    module, function = name.split(".")
                    call = getattr(importlib.import_module(f"offload_metrics.{module}"), function)
                    resolved = filters.resolve(conn)
                    call(conn, resolved, settings, by) if by else call(conn, resolved, settings)

        views = {"report": lambda: report.build(conn, filters, settings)} | {
            f"page {page}": functools.partial(run_page, calls) for page, calls in PAGE_QUERIES.items()
        }
        raw = store.scalar(conn, "select count(*) from usage_events")
        rows = []
        # Each query profiled alone on one connection (one core), put back as it was afterwards.
        metrics._run, metrics._usable_cores = profiled, lambda: 1
        try:
            for view, run in views.items():
                runs.clear()
                run()
                most = max(runs, key=lambda item: item[1])
                rows.append(
                    {
                        "view": view,
                        "queries": len(runs),
                        "rows_scanned": sum(scanned for _, scanned in runs),
                        "most_by_one_query": most[1],
                        "that_query": most[0],
                        "raw_events": raw,
                    }
                )
        finally:
            metrics._run, metrics._usable_cores = run_query, cores
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--as-of", dest="as_of", type=dt.date.fromisoformat)
    parser.add_argument("--from", dest="date_from", type=dt.date.fromisoformat)
    parser.add_argument("--to", dest="date_to", type=dt.date.fromisoformat)
    arguments = parser.parse_args()
    dates = {name: value for name, value in vars(arguments).items() if name != "db" and value is not None}
    rows = measure(arguments.db, dates)
    print("| view | queries | rows read, all queries | most by one query | raw events |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['view']} | {row['queries']} | {row['rows_scanned']:,} | "
            f"{row['most_by_one_query']:,} ({row['that_query']}) | {row['raw_events']:,} |"
        )


if __name__ == "__main__":
    main()
