"""A rollup folder: what the Spark rollup writes and `ingest DIR` loads as usage.

Layout (all Parquet, any number of part files each):
  rollup/    usage_daily rows (store.USAGE_ROLLUP_COLUMNS)
  rejected/  rejected and conflicting events: file, key, outcome, column_name, reason, raw
  counts/    per input file: file, rows_read, accepted, duplicate, conflict, rejected
  offload_rollup.json   written last, when everything else is complete
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from pathlib import Path

import duckdb

from offload_metrics import ingest, store

MANIFEST = "offload_rollup.json"
FORMAT = "offload-metrics usage rollup"
PARTS = ("rollup", "rejected", "counts")
REJECTED_COLUMNS = ("file", "key", "outcome", "column_name", "reason", "raw")
KIND = "usage_rollup"  # the kind a rollup folder's load has in the load history


def is_rollup_folder(path: Path) -> bool:
    return path.is_dir() and (path / MANIFEST).is_file()


def part_files(folder: Path, part: str) -> list[str]:
    """The Parquet files of one part, in name order (Spark's _SUCCESS and .crc files left out)."""
    return sorted(str(file) for file in (folder / part).glob("*.parquet") if file.is_file())


def content_sha256(folder: Path) -> str:
    """One digest of the manifest and every part file, so the same folder loads once."""
    digest = hashlib.sha256()
    for file in [str(folder / MANIFEST)] + [name for part in PARTS for name in part_files(folder, part)]:
        digest.update(Path(file).relative_to(folder).as_posix().encode() + b"\0")
        with open(file, "rb") as handle:
            while chunk := handle.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()


def _read_manifest(folder: Path, name: str) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ingest.IngestError(name, f"{MANIFEST} cannot be read ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ingest.IngestError(name, f"{MANIFEST} does not describe a usage rollup")
    for part in PARTS:
        if not part_files(folder, part) and part != "rejected":
            raise ingest.IngestError(name, f"the rollup folder has no {part}/*.parquet files")
    return manifest


def load_rollup(
    conn: duckdb.DuckDBPyConnection,
    folder: Path,
    *,
    progress: ingest.LoadProgress | None = None,
    display_name: str | None = None,
) -> ingest.LoadResult:
    """Load a rollup folder as usage in one transaction: its rows into usage_daily, its rejected and
    conflicting events into rejected_rows, its counts into the load history."""
    name = display_name or folder.name
    progress = progress or ingest.LoadProgress()
    progress.file = name
    started = time.monotonic()
    manifest = _read_manifest(folder, name)
    files = {part: part_files(folder, part) for part in PARTS}
    sha256 = content_sha256(folder)
    size = sum(Path(file).stat().st_size for part in files.values() for file in part)
    cur = conn.cursor()
    cur.execute("begin transaction")
    try:
        earlier = cur.execute(
            "select load_id, file_name from loads where sha256 = ? and outcome = 'loaded' order by load_id limit 1",
            [sha256],
        ).fetchone()
        if earlier:
            cur.execute("rollback")
            return ingest.LoadResult(
                file=name,
                kind=KIND,
                file_format="parquet",
                status="already loaded",
                load_id=earlier[0],
                seconds=time.monotonic() - started,
                message=f"identical to load {earlier[0]} ({earlier[1]}); nothing added",
            )
        load_id = cur.execute("select coalesce(max(load_id), 0) + 1 from loads").fetchone()[0]  # type: ignore[index]
        progress.enter("reading", 0.0)
        counts = _counts(cur, name, files["counts"])
        # Every rollup column, read and written by name: the Parquet's column order and the table's
        # (which follows the migrations) need not match store.USAGE_ROLLUP_COLUMNS'.
        names = ", ".join(ingest.quote_identifier(column) for column, _ in store.USAGE_ROLLUP_COLUMNS)
        columns = ", ".join(
            f"cast({ingest.quote_identifier(column)} as {sql_type})"
            for column, sql_type in store.USAGE_ROLLUP_COLUMNS
        )
        progress.enter("rollup", 0.5)
        try:
            inserted = cur.execute(
                f"insert into usage_daily ({names}) select {columns} from read_parquet($files)",
                {"files": files["rollup"]},
            ).fetchone()
            tasks = cur.execute(
                "select coalesce(sum(tasks), 0) from read_parquet($files)", {"files": files["rollup"]}
            ).fetchone()
        except duckdb.Error as error:
            raise ingest.IngestError(
                name, f"rollup/ cannot be read as a usage rollup: {ingest.short_error(error)}"
            ) from None
        if not tasks or tasks[0] != counts["accepted"]:
            raise ingest.IngestError(
                name,
                f"the rollup holds {tasks[0] if tasks else 0} tasks but counts/ says {counts['accepted']} "
                "events were accepted; nothing was loaded",
            )
        if files["rejected"]:
            try:
                listed = cur.execute(
                    """
                    insert into rejected_rows (load_id, line, column_name, outcome, reason, raw)
                    select $load_id, NULL, column_name, outcome, reason, raw
                    from read_parquet($files)
                    order by file, key
                    """,
                    {"load_id": load_id, "files": files["rejected"]},
                ).fetchone()
            except duckdb.Error as error:
                raise ingest.IngestError(
                    name, f"rejected/ cannot be read: {ingest.short_error(error)}"
                ) from None
        else:
            listed = (0,)
        if not listed or listed[0] != counts["rejected"] + counts["conflict"]:
            raise ingest.IngestError(
                name,
                f"rejected/ lists {listed[0] if listed else 0} events but counts/ says "
                f"{counts['rejected'] + counts['conflict']} were rejected or conflicting; nothing was loaded",
            )
        progress.enter("saving", 1.0)
        now = ingest.utc_now()
        cur.execute(
            """
            insert into loads (load_id, file_name, sha256, kind, file_format, size_bytes, rows_read, accepted,
                               duplicate, conflict, rejected, ignored_columns, started_at, finished_at, outcome,
                               ingest_settings)
            values (?, ?, ?, ?, 'parquet', ?, ?, ?, ?, ?, ?, [], ?, ?, 'loaded', ?)
            """,
            [
                load_id,
                name,
                sha256,
                KIND,
                size,
                *(counts[field] for field in ingest.COUNT_FIELDS),
                now,
                now,
                json.dumps({"settings": manifest.get("settings")}, sort_keys=True),
            ],
        )
        store.fold_usage_rollup(cur)
        cur.execute("commit")
    except (duckdb.Error, OSError) as error:
        with contextlib.suppress(duckdb.Error):
            cur.execute("rollback")
        raise ingest.IngestError(
            name, f"could not be loaded, and nothing was changed: {ingest.short_error(error)}"
        ) from error
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            cur.execute("rollback")
        raise
    finally:
        cur.close()
    with contextlib.suppress(duckdb.TransactionException):
        conn.execute("checkpoint")
    progress.phase = "done"
    result = ingest.LoadResult(
        file=name,
        kind=KIND,
        file_format="parquet",
        status="loaded",
        load_id=load_id,
        seconds=time.monotonic() - started,
        message=f"{inserted[0] if inserted else 0:,} rollup rows",
        rows_read=counts["rows_read"],
        accepted=counts["accepted"],
        duplicate=counts["duplicate"],
        conflict=counts["conflict"],
        rejected=counts["rejected"],
    )
    return result


def _counts(cur: duckdb.DuckDBPyConnection, name: str, files: list[str]) -> dict[str, int]:
    sums = ", ".join(f"coalesce(sum({field}), 0)::BIGINT" for field in ingest.COUNT_FIELDS)
    try:
        row = cur.execute(f"select {sums} from read_parquet($files)", {"files": files}).fetchone()
    except duckdb.Error as error:
        raise ingest.IngestError(name, f"counts/ cannot be read: {ingest.short_error(error)}") from None
    counts = dict(zip(ingest.COUNT_FIELDS, (int(value) for value in row or ()), strict=True))
    accounted = counts["accepted"] + counts["duplicate"] + counts["conflict"] + counts["rejected"]
    if accounted != counts["rows_read"]:
        raise ingest.IngestError(
            name, f"counts/ does not balance: {counts['rows_read']} read but {accounted} accounted for"
        )
    return counts
