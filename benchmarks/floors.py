"""How fast any ingest that does what ours must do could be: the cost of each part of the work,
measured alone on the realistic files, against plain DuckDB's load of the same file.

    python benchmarks/floors.py --size 10000000 --repeat 3      # bulk and daily, 10M realistic events

Issue 12 asks for a bulk load within 1.3x of `CREATE TABLE AS SELECT * FROM read_csv` and a daily
load within 2x of a plain `INSERT`. A load that keeps SPEC's contract has to do at least:

- **read as text, cast and store** (`cast_store`): every value read as text and cast to its
  contract type, no check, stored; what a load that reads text costs before it checks anything;
- **validate and store**: the same with every check of the contract, in one pass with no staging
  table and no classification (`validate_store`); the difference from `cast_store` is what the
  checks cost;
- **find repeats before storing**: a row is stored only when its key is new (`keys`: the key
  column alone, hashed and grouped, which is the least a design can read to know that);
- **roll up**: the usage rollup of the stored rows (`rollup`: store.append_usage_rollup, ours);
- for a daily load, **probe the stored keys** (`probe`: the incoming key hashes against the stored
  ones, the least a key-only check reads).

The parts run one after another in this process, `--repeat` times, each round alternating the
parts with plain DuckDB's load; medians are printed as a Markdown table. The floor of a design is
the sum of the parts it cannot avoid. Data from benchmarks/realistic.py in --data (made if missing).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from offload_metrics import config, schema, store  # noqa: E402
from offload_metrics.ingest.base import quote_identifier  # noqa: E402
from offload_metrics.ingest.rules import column_sql  # noqa: E402
from offload_metrics.ingest.sniff import read_header  # noqa: E402
from offload_metrics.ingest.sources import STAGED, source_sql, stage_sql  # noqa: E402


def fresh(path: Path) -> None:
    for candidate in (path, Path(f"{path}.wal")):
        candidate.unlink(missing_ok=True)


def timed(run) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def plain_bulk(db: Path, csv: Path) -> float:
    fresh(db)
    conn = duckdb.connect(str(db))

    def run() -> None:
        conn.execute("CREATE TABLE usage_events AS SELECT * FROM read_csv(?)", [str(csv)])
        conn.close()

    return timed(run)


def plain_daily(store_file: Path, db: Path, daily: Path) -> float:
    fresh(db)
    shutil.copy(store_file, db)
    conn = duckdb.connect(str(db))

    def run() -> None:
        conn.execute("INSERT INTO usage_events SELECT * FROM read_csv(?)", [str(daily)])
        conn.execute("CHECKPOINT")

    seconds = timed(run)
    conn.close()
    return seconds


def validated_rows(conn: duckdb.DuckDBPyConnection, csv: Path) -> tuple[str, dict]:
    """The staging pass's SELECT (every value read as text, parsed and checked once) without its
    table: the rows it would stage, with _problems null for a clean one."""
    model = schema.model_of("usage_events")
    header = read_header(conn, csv, csv)
    statement = stage_sql(model, header, "floor_rejects")
    prefix = f"create or replace temp table {STAGED} as"
    assert prefix in statement, "stage_sql no longer starts with its CREATE"
    select = statement.split(prefix, 1)[1]
    return select, {"path": str(csv), "delimiter": header.delimiter, "compression": "none"}


def validate_store(conn: duckdb.DuckDBPyConnection, csv: Path, load_id: int) -> float:
    """Check every value and store the clean rows, in one pass and one transaction."""
    select, params = validated_rows(conn, csv)

    return stored(
        conn,
        f"insert into usage_events by name select * exclude (_problems, _column, _reason, _raw), "
        f"{int(load_id)} as load_id from ({select}) where _problems is null",
        params,
    )


def stored(conn: duckdb.DuckDBPyConnection, insert: str, params: dict) -> float:
    """How long an insert into the stored table takes, in its own transaction, with its checkpoint."""

    def run() -> None:
        with store.transaction(conn), store.insertion_order(conn, preserved=False):
            conn.execute(insert, params)
        conn.execute("checkpoint")

    return timed(run)


def cast_store(conn: duckdb.DuckDBPyConnection, csv: Path, load_id: int) -> float:
    """Every value read as text and cast to its contract type as staging casts it, no check, stored."""
    model = schema.model_of("usage_events")
    header = read_header(conn, csv, csv)
    contract = schema.columns(model)
    source = source_sql(header, contract, "floor_rejects")
    values = [
        column_sql(column, source.columns.get(column.name), None, source.empty_is_null, config.Ingest()).value
        for column in contract
    ]
    names = ", ".join(quote_identifier(column.name) for column in contract)
    params = {"path": str(csv), "delimiter": header.delimiter, "compression": "none"}

    return stored(
        conn,
        f"insert into usage_events ({names}, load_id) select {', '.join(values)}, {int(load_id)} "
        f"from {source.reader}",
        params,
    )


def key_hashes(conn: duckdb.DuckDBPyConnection, csv: Path) -> str:
    """SQL: the hash of each record's key (event_id, read as text; the file's other columns unread)."""
    names = read_header(conn, csv, csv).names
    columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(names)))
    return (
        f"select hash(c{names.index('event_id')}) as h from read_csv($path, columns = {{{columns}}}, "
        "header = true, auto_detect = false, ignore_errors = true)"
    )


def keys(conn: duckdb.DuckDBPyConnection, csv: Path) -> float:
    """The keys that repeat within the file: the key column alone, read as text, hashed and grouped."""
    query = f"select count(*) from (select h from ({key_hashes(conn, csv)}) group by h having count(*) > 1)"
    return timed(lambda: conn.execute(query, {"path": str(csv)}).fetchall())


def probe(conn: duckdb.DuckDBPyConnection, csv: Path, load_id: int) -> float:
    """The incoming key hashes against the stored ones (the stored rows of other loads)."""
    query = (
        f"select count(*) from ({key_hashes(conn, csv)}) as i "
        "join (select _key_hash from usage_events where load_id <> $load_id) as s on s._key_hash = i.h"
    )
    return timed(lambda: conn.execute(query, {"path": str(csv), "load_id": load_id}).fetchall())


def rollup(conn: duckdb.DuckDBPyConnection, load_id: int) -> float:
    def run() -> None:
        with store.transaction(conn):
            store.append_usage_rollup(conn, load_id)
        conn.execute("checkpoint")

    return timed(run)


def ours(db: Path, csv: Path, store_file: Path | None = None) -> float:
    """Our whole load (ingest.load_file): into a new database, or into a copy of store_file."""
    from offload_metrics import ingest

    fresh(db)
    if store_file is not None:
        shutil.copy(store_file, db)
    conn = store.connect(db)
    seconds = timed(lambda: ingest.load_file(conn, csv))
    conn.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=HERE / "data")
    options = parser.parse_args()
    import realistic

    folder = options.data / f"realistic-{options.size}"
    if not (folder / "usage_events.csv").exists():
        realistic.generate(folder, options.size)
    csv, daily = folder / "usage_events.csv", folder / "daily_usage_events.csv"
    work = options.data / f"floors-{options.size}"
    work.mkdir(parents=True, exist_ok=True)
    plain_db, ours_db = work / "plain.duckdb", work / "ours.duckdb"
    daily_db, full_db = work / "daily.duckdb", work / "full.duckdb"
    figures: dict[str, list[float]] = {}
    for round_number in range(options.repeat):
        print(f"round {round_number + 1} of {options.repeat}", flush=True)
        figures.setdefault("bulk: plain DuckDB", []).append(plain_bulk(plain_db, csv))
        figures.setdefault("bulk: our ingest, all of it", []).append(ours(full_db, csv))
        fresh(ours_db)
        conn = store.connect(ours_db)
        figures.setdefault("bulk: read as text, cast and store", []).append(cast_store(conn, csv, 1))
        conn.close()
        fresh(ours_db)
        conn = store.connect(ours_db)
        figures.setdefault("bulk: validate and store", []).append(validate_store(conn, csv, 1))
        figures.setdefault("bulk: keys that repeat", []).append(keys(conn, csv))
        figures.setdefault("bulk: roll up", []).append(rollup(conn, 1))
        conn.close()
        figures.setdefault("daily: plain DuckDB", []).append(plain_daily(plain_db, daily_db, daily))
        figures.setdefault("daily: our ingest, all of it", []).append(ours(daily_db, daily, full_db))
        fresh(daily_db)
        shutil.copy(ours_db, daily_db)
        conn = store.connect(daily_db)
        figures.setdefault("daily: validate and store", []).append(validate_store(conn, daily, 2))
        figures.setdefault("daily: probe the stored keys", []).append(probe(conn, daily, 2))
        figures.setdefault("daily: keys that repeat", []).append(keys(conn, daily))
        figures.setdefault("daily: roll up", []).append(rollup(conn, 2))
        conn.close()
    medians = {name: statistics.median(values) for name, values in figures.items()}
    print(f"\n{options.size:,} realistic events, medians of {options.repeat}\n")
    print("| part | seconds | runs | x plain |")
    print("|---|---:|---|---:|")
    for name, values in figures.items():
        plain = medians["bulk: plain DuckDB" if name.startswith("bulk") else "daily: plain DuckDB"]
        runs = ", ".join(f"{value:.2f}" for value in values)
        print(f"| {name} | {medians[name]:.2f} | {runs} | {medians[name] / plain:.2f} |")
    for side in ("bulk", "daily"):
        plain = medians[f"{side}: plain DuckDB"]
        floor = sum(
            value
            for name, value in medians.items()
            if name.startswith(side)
            and not any(word in name for word in ("plain", "cast and store", "our ingest"))
        )
        print(f"| {side}: floor (sum of the parts) | {floor:.2f} | | {floor / plain:.2f} |")


if __name__ == "__main__":
    main()
