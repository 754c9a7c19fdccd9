"""OTLP ingest against DuckDB's own read_json + unnest of the same file (DECISIONS 19: within 2x).

    python benchmarks/otlp.py --events 400000 --repeat 3 --out benchmarks/otlp_results.md

Writes a Collector-style file (one TracesData per line, --spans-per-line spans each; every agent
run is an invoke_agent span with two chat spans and a tool span under it), then times, each in a
fresh worker process and a fresh database file:
- baseline: DuckDB's read_json of the file and unnest down to one row per span, into a table;
- ours: offload-metrics' load of the same file (parse, agent tree, mapping, checks, dedup, rollup);
- csv: the load of the same events written in the CSV contract, for scale.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
T0 = 1_735_689_600_000_000_000  # 2025-01-01T00:00:00Z
MAPPING = (
    "source,match,function,business_unit,team\n"
    "resource.service.namespace,sales,Sales,Field,\n"
    "resource.service.namespace,support,Customer Support,Consumer,\n"
    "resource.service.namespace,*,Operations,Shared Services,\n"
)


def _attribute(key: str, value: object) -> str:
    if isinstance(value, int):
        return f'{{"key":"{key}","value":{{"intValue":"{value}"}}}}'
    return f'{{"key":"{key}","value":{{"stringValue":"{value}"}}}}'


def _span(trace: str, span: str, parent: str, name: str, start: int, end: int, attributes: list[str]) -> str:
    return (
        f'{{"traceId":"{trace}","spanId":"{span}","parentSpanId":"{parent}","name":"{name}","kind":1,'
        f'"startTimeUnixNano":"{start}","endTimeUnixNano":"{end}","attributes":[{",".join(attributes)}],'
        f'"status":{{}},"flags":256}}'
    )


def generate(path: Path, events: int, spans_per_line: int) -> dict[str, int]:
    """The OTLP file and the same events as a contract CSV beside it; returns sizes."""
    namespaces = ("sales", "support", "finance", "legal")
    runs_per_line = max(spans_per_line // 4, 1)
    csv_path = path.with_suffix(".csv")
    # Written under temporary names and renamed when complete, so an interrupted run is never reused.
    otlp_part, csv_part = path.with_suffix(".jsonl.part"), csv_path.with_suffix(".csv.part")
    with otlp_part.open("w", encoding="utf-8") as otlp, csv_part.open("w", encoding="utf-8") as contract:
        contract.write(
            "event_id,occurred_at,agent_id,function,business_unit,team,task_type,status,review,api_calls,"
            "input_tokens,output_tokens,cost_usd,latency_ms\n"
        )
        for first in range(0, events, runs_per_line):
            namespace = namespaces[(first // runs_per_line) % len(namespaces)]
            spans = []
            for run in range(first, min(first + runs_per_line, events)):
                trace = f"{run:032x}"
                agent = f"{run:015x}a"
                start = T0 + run * 37_000_000_000
                agent_name = f"agent-{run % 500}"
                spans.append(_span(trace, agent, "", f"invoke_agent {agent_name}", start, start + 5_000_000_000, [
                    _attribute("gen_ai.operation.name", "invoke_agent"), _attribute("gen_ai.agent.id", agent_name),
                    _attribute("gen_ai.provider.name", "openai"),
                ]))  # fmt: skip
                for index in (1, 2):
                    spans.append(_span(trace, f"{run:015x}{index}", agent, "chat gpt-4o", start + index, start + 2_000_000_000, [
                        _attribute("gen_ai.operation.name", "chat"), _attribute("gen_ai.request.model", "gpt-4o"),
                        _attribute("gen_ai.usage.input_tokens", 1000 + run % 97), _attribute("gen_ai.usage.output_tokens", 200),
                    ]))  # fmt: skip
                spans.append(_span(trace, f"{run:015x}3", agent, "execute_tool search", start + 3, start + 3_000_000_000, [
                    _attribute("gen_ai.operation.name", "execute_tool"),
                ]))  # fmt: skip
                tokens = 2 * (1000 + run % 97)
                when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start // 1_000_000_000))
                function = {"sales": "Sales,Field", "support": "Customer Support,Consumer"}.get(
                    namespace, "Operations,Shared Services"
                )
                contract.write(
                    f"{trace}:{agent},{when},{agent_name},{function},,invoke_agent {agent_name},completed,,3,"
                    f"{tokens},400,0,5000\n"
                )
            resource_attributes = ",".join(
                [
                    _attribute("service.name", f"{namespace}-agents"),
                    _attribute("service.namespace", namespace),
                ]
            )
            otlp.write(
                f'{{"resourceSpans":[{{"resource":{{"attributes":[{resource_attributes}]}},'
                f'"scopeSpans":[{{"scope":{{"name":"bench"}},"spans":[{",".join(spans)}]}}]}}]}}\n'
            )
    csv_part.rename(csv_path)
    otlp_part.rename(path)
    return {"otlp_bytes": path.stat().st_size, "csv_bytes": csv_path.stat().st_size, "spans": events * 4}


def worker(task: str, path: Path, db: Path) -> dict[str, float]:
    """One measurement in this process: seconds and peak resident memory (MB)."""
    import duckdb

    from offload_metrics import ingest, mapping, store

    if db.exists():
        db.unlink()
    started = time.perf_counter()
    if task == "baseline":
        with duckdb.connect(str(db)) as conn:
            conn.execute(
                "SET memory_limit = ?", [os.environ.get(store.MEMORY_ENV) or store.DEFAULT_MEMORY_LIMIT]
            )
            conn.execute(
                """
                create table spans as
                select unnest(ss.spans, recursive := true)
                from (select unnest(rs.scopeSpans) as ss
                      from (select unnest(resourceSpans) as rs
                            from read_json(?, format = 'newline_delimited', maximum_object_size = 67108864)))
                """,
                [str(path)],
            )
            rows = store.scalar(conn, "select count(*) from spans")
    else:
        organisation = mapping.load_mapping(path.parent / "org.csv")
        with store.connect(db) as conn:
            target = path if task == "ours" else path.with_suffix(".csv")
            result = ingest.load_file(conn, target, mapping=organisation)
            rows = result.accepted
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_mb": peak, "rows": rows}


def measure(tasks: tuple[str, ...], path: Path, repeat: int) -> dict[str, dict[str, float]]:
    """Each task `repeat` times, the tasks taking turns, so that a machine whose load changes over
    the run weighs on every task alike; medians of the seconds, the highest peak memory."""
    runs: dict[str, list[dict]] = {task: [] for task in tasks}
    for _ in range(repeat):
        for task in tasks:
            output = subprocess.run(
                [sys.executable, __file__, "--worker", task, "--file", str(path)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            runs[task].append(json.loads(output.stdout.strip().splitlines()[-1]))
            print(task, json.dumps(runs[task][-1]), file=sys.stderr, flush=True)
    return {
        task: {
            "seconds": statistics.median(run["seconds"] for run in done),
            "peak_mb": max(run["peak_mb"] for run in done),
            "rows": done[0]["rows"],
            "runs": [round(run["seconds"], 1) for run in done],
        }
        for task, done in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument("--spans-per-line", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--worker", choices=["baseline", "ours", "csv"])
    parser.add_argument("--file", type=Path)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.file, args.file.with_name(f"{args.worker}.duckdb"))))
        return
    args.data.mkdir(parents=True, exist_ok=True)
    path = args.data / f"otlp_{args.events}_{args.spans_per_line}.jsonl"
    (args.data / "org.csv").write_text(MAPPING, encoding="utf-8")
    if path.exists() and path.with_suffix(".csv").exists():  # the same arguments write the same files
        sizes = {"otlp_bytes": path.stat().st_size, "csv_bytes": path.with_suffix(".csv").stat().st_size,
                 "spans": args.events * 4}  # fmt: skip
    else:
        sizes = generate(path, args.events, args.spans_per_line)
    results = measure(("baseline", "ours", "csv"), path, args.repeat)
    ratio = results["ours"]["seconds"] / results["baseline"]["seconds"]
    lines = [
        f"OTLP file: {sizes['otlp_bytes'] / 1e6:,.0f} MB, {sizes['spans']:,} spans, {args.events:,} agent runs; "
        f"the same events as CSV: {sizes['csv_bytes'] / 1e6:,.0f} MB. Medians of {args.repeat} runs; "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"DuckDB {metadata.version('duckdb')}.",
        "",
        "| load | seconds | peak MB | rows | against DuckDB read_json + unnest |",
        "|---|---:|---:|---:|---:|",
        f"| DuckDB read_json + unnest to one row per span | {results['baseline']['seconds']:.2f} | "
        f"{results['baseline']['peak_mb']:,.0f} | {results['baseline']['rows']:,} spans | 1.00x |",
        f"| offload-metrics ingest of the OTLP file | {results['ours']['seconds']:.2f} | "
        f"{results['ours']['peak_mb']:,.0f} | {results['ours']['rows']:,} events | {ratio:.2f}x |",
        f"| offload-metrics ingest of the same events as CSV | {results['csv']['seconds']:.2f} | "
        f"{results['csv']['peak_mb']:,.0f} | {results['csv']['rows']:,} events | "
        f"{results['csv']['seconds'] / results['baseline']['seconds']:.2f}x |",
        "",
        "Each run's seconds: "
        + "; ".join(f"{task} {', '.join(map(str, result['runs']))}" for task, result in results.items())
        + ".",
        "",
        f"Target: at most 2x DuckDB's own read_json + unnest: {'met' if ratio <= 2 else 'NOT met'} ({ratio:.2f}x).",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
