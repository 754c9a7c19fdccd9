"""A gzip JSON Lines file of agents whose third line is one enormous line (4 GB decompressed by
default): the line must be counted and rejected with its number, and the other lines loaded.

    python benchmarks/long_line.py [--gigabytes 4] [--work DIR]

The file is written in 1 MB chunks (never held in memory); prints the time and the peak memory
(resource.getrusage) of the load."""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from offload_metrics import ingest, schema, store

CHUNK = b"x" * (1 << 20)


def agent(index: int) -> dict[str, object]:
    return {**schema.KINDS["agents"].example, "agent_id": f"a{index}"}


def write_file(path: Path, gigabytes: float) -> int:
    """Five agents, the third with a blueprint of `gigabytes` GB; returns the decompressed bytes."""
    chunks = int(gigabytes * (1 << 30)) // len(CHUNK)
    with gzip.open(path, "wb", compresslevel=1) as handle:
        for index in range(5):
            line = json.dumps(agent(index) | ({"blueprint": ""} if index == 2 else {}))
            if index != 2:
                handle.write(line.encode() + b"\n")
                continue
            head, tail = line.split('"blueprint": ""')
            handle.write(head.encode() + b'"blueprint": "')
            for _ in range(chunks):
                handle.write(CHUNK)
            handle.write(b'"' + tail.encode() + b"\n")
        return handle.tell() if hasattr(handle, "tell") else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=4.0)
    parser.add_argument("--work", type=Path, default=None)
    options = parser.parse_args()
    work = options.work or Path(tempfile.mkdtemp(prefix="long-line-"))
    path = work / "agents.jsonl.gz"
    started = time.perf_counter()
    decompressed = write_file(path, options.gigabytes)
    written = time.perf_counter() - started
    with store.connect(work / "db.duckdb") as conn:
        started = time.perf_counter()
        result = ingest.load_file(conn, path)
        loaded = time.perf_counter() - started
        rejected = conn.execute("select line, column_name, reason from rejected_rows").fetchall()
        agents = [row[0] for row in conn.execute("select agent_id from agents order by agent_id").fetchall()]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"file: {decompressed / 1e9:.2f} GB decompressed, {path.stat().st_size / 1e6:.1f} MB gzip, "
        f"written in {written:.1f} s"
    )
    print(
        f"load: {loaded:.1f} s; rows read {result.rows_read}, accepted {result.accepted}, "
        f"rejected {result.rejected}; peak memory {peak_mb:,.0f} MB"
    )
    print(f"rejected: {rejected}; loaded agents: {agents}")
    fine = (result.rows_read, result.accepted, result.rejected) == (5, 4, 1) and rejected == [
        (3, None, "line is longer than 2 MB")
    ]
    print("as expected" if fine else "NOT as expected")
    return 0 if fine else 1


if __name__ == "__main__":
    sys.exit(main())
