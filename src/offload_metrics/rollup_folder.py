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
import shlex
import shutil
import time
import zipfile
from pathlib import Path, PurePosixPath

import duckdb

from offload_metrics import ingest, store

MANIFEST = "offload_rollup.json"
FORMAT = "offload-metrics usage rollup"
PARTS = ("rollup", "rejected", "counts")
REJECTED_COLUMNS = ("file", "key", "outcome", "column_name", "reason", "raw")
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first entry, or an empty zip's end
KIND = store.ROLLUP_LOADS_TABLE  # the kind a rollup folder's load has in the load history


def is_rollup_folder(path: Path) -> bool:
    return path.is_dir() and (path / MANIFEST).is_file()


def part_files(folder: Path, part: str) -> list[str]:
    """The Parquet files of one part, in name order (Spark's _SUCCESS and .crc files left out)."""
    return sorted(str(file) for file in (folder / part).glob("*.parquet") if file.is_file())


def is_zip(path: Path) -> bool:
    """Whether the file is a zip archive, by its first bytes (a rollup folder zipped for upload)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(4) in ZIP_SIGNATURES
    except OSError:
        return False


def unpack(archive: Path, into: Path, name: str) -> Path:
    """The rollup folder a zip archive holds (at its top or in one folder), written under `into`.

    Only the manifest and the parts' Parquet files are taken, each written under a name made here
    (never the archive's path: no entry can reach outside `into`); anything else (Spark's _SUCCESS
    and .crc files, a desktop's metadata) is left out, as a rollup folder's load leaves it out."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            entries = [entry for entry in bundle.infolist() if not entry.is_dir()]
            manifests = [entry for entry in entries if PurePosixPath(entry.filename).name == MANIFEST]
            if len(manifests) != 1:
                raise ingest.IngestError(
                    name,
                    f"is a zip archive with {len(manifests) or 'no'} {MANIFEST} files: only one rollup folder "
                    "(written by 'offload-metrics rollup') loads from a zip, with the folder or its content at the top",
                )
            top = PurePosixPath(manifests[0].filename).parent
            if len(top.parts) > 1:
                raise ingest.IngestError(
                    name, f"is a zip archive whose {MANIFEST} is in {top}/: zip the rollup folder itself"
                )
            chosen = {manifests[0].filename: Path(MANIFEST)}
            for entry in entries:
                path = PurePosixPath(entry.filename)
                inside = path.relative_to(top) if path.is_relative_to(top) else None
                if (
                    inside is not None
                    and len(inside.parts) == 2
                    and inside.parts[0] in PARTS
                    and inside.suffix == ".parquet"
                    and not inside.name.startswith(".")
                ):
                    chosen[entry.filename] = Path(*inside.parts)
            size = sum(bundle.getinfo(entry).file_size for entry in chosen)
            free = shutil.disk_usage(into).free
            if size > free:
                raise ingest.IngestError(
                    name,
                    f"unpacks to {size:,} bytes, more than the {free:,} bytes free for it; nothing was loaded",
                )
            folder = into / "rollup"
            for member, target in chosen.items():
                (folder / target).parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as source, open(folder / target, "wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
            return folder
    except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError, EOFError) as error:
        raise ingest.IngestError(name, f"is a zip archive that cannot be read ({error})") from None


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
    try:
        with store.transaction(cur):
            earlier = ingest.earlier_load(cur, sha256)
            if earlier:
                return ingest.already_loaded(name, KIND, "parquet", earlier, started)
            load_id = store.scalar(cur, "select coalesce(max(load_id), 0) + 1 from loads")
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
            _check_columns(cur, name, files["rollup"], manifest)
            try:
                inserted = store.scalar(
                    cur,
                    f"insert into {store.ROLLUP_LOADS_TABLE} (load_id, {names}) "
                    f"select $load_id, {columns} from read_parquet($files)",
                    {"load_id": load_id, "files": files["rollup"]},
                )
            except duckdb.Error as error:
                raise ingest.IngestError(
                    name, f"rollup/ cannot be read as a usage rollup: {ingest.short_error(error)}"
                ) from None
            store.add_usage_rollup_rows(
                cur,
                f"select {names} from {store.ROLLUP_LOADS_TABLE} where load_id = $load_id",
                {"load_id": load_id},
            )
            tasks = store.scalar(
                cur,
                f"select coalesce(sum(tasks), 0) from {store.ROLLUP_LOADS_TABLE} where load_id = ?",
                [load_id],
            )
            if tasks != counts["accepted"]:
                raise ingest.IngestError(
                    name,
                    f"the rollup holds {tasks} tasks but counts/ says {counts['accepted']} "
                    "events were accepted; nothing was loaded",
                )
            if files["rejected"]:
                try:
                    listed = store.scalar(
                        cur,
                        """
                        insert into rejected_rows (load_id, line, column_name, outcome, reason, raw)
                        select $load_id, NULL, column_name, outcome, reason, raw
                        from read_parquet($files)
                        order by file, key
                        """,
                        {"load_id": load_id, "files": files["rejected"]},
                    )
                except duckdb.Error as error:
                    raise ingest.IngestError(
                        name, f"rejected/ cannot be read: {ingest.short_error(error)}"
                    ) from None
            else:
                listed = 0
            if listed != counts["rejected"] + counts["conflict"]:
                raise ingest.IngestError(
                    name,
                    f"rejected/ lists {listed} events but counts/ says "
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
    except (duckdb.Error, OSError) as error:
        raise ingest.IngestError(
            name, f"could not be loaded, and nothing was changed: {ingest.short_error(error)}"
        ) from error
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
        message=f"{inserted:,} rollup rows",
        rows_read=counts["rows_read"],
        accepted=counts["accepted"],
        duplicate=counts["duplicate"],
        conflict=counts["conflict"],
        rejected=counts["rejected"],
    )
    return result


def _check_columns(cur: duckdb.DuckDBPyConnection, name: str, files: list[str], manifest: dict) -> None:
    """Refuse a rollup written by an earlier version (before task_type and estimated_cost_usd), naming
    what it lacks and the command that writes it again."""
    try:
        described = cur.execute("describe select * from read_parquet($files)", {"files": files}).fetchall()
    except duckdb.Error as error:
        raise ingest.IngestError(
            name, f"rollup/ cannot be read as a usage rollup: {ingest._short(error)}"
        ) from None
    present = {row[0] for row in described}
    missing = [column for column, _ in store.USAGE_ROLLUP_COLUMNS if column not in present]
    if not missing:
        return
    events = manifest.get("events")
    if not (isinstance(events, list) and events and all(isinstance(uri, str) for uri in events)):
        events = ["URI"]
    command = shlex.join(
        ["offload-metrics", "rollup", "--engine", "spark"]
        + [part for uri in events for part in ("--events", uri)]
        + ["--out", "NEW_FOLDER"]
    )
    raise ingest.IngestError(
        name,
        f"rollup/ has no {', '.join(missing)} column{'s' if len(missing) > 1 else ''}: it was written by an "
        "earlier version of offload-metrics, and nothing was loaded. Roll the same events up again with this "
        f"version ({command}) and load the new folder",
    )


def _counts(cur: duckdb.DuckDBPyConnection, name: str, files: list[str]) -> dict[str, int]:
    sums = ", ".join(f"coalesce(sum({field}), 0)::BIGINT" for field in ingest.COUNT_FIELDS)
    try:
        row = store.one(cur, f"select {sums} from read_parquet($files)", {"files": files})
    except duckdb.Error as error:
        raise ingest.IngestError(name, f"counts/ cannot be read: {ingest.short_error(error)}") from None
    counts = dict(zip(ingest.COUNT_FIELDS, (int(value) for value in row), strict=True))
    accounted = counts["accepted"] + counts["duplicate"] + counts["conflict"] + counts["rejected"]
    if accounted != counts["rows_read"]:
        raise ingest.IngestError(
            name, f"counts/ does not balance: {counts['rows_read']} read but {accounted} accounted for"
        )
    return counts
