"""One file in one transaction: read its header, stage its rows, classify them, store the
accepted ones, update the rollup and the load history."""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
import time
from pathlib import Path

import duckdb

from offload_metrics import config, schema, store, telemetry, vendor_costs, viva
from offload_metrics.ingest.base import IngestError, LoadResult, disk_full, short_error, utc_now
from offload_metrics.ingest.importers import (
    carried_columns,
    classify_telemetry,
    is_otlp,
    stage_telemetry,
    telemetry_message,
    telemetry_model,
    telemetry_source,
    vendor_report,
)
from offload_metrics.ingest.lines import FileScan
from offload_metrics.ingest.outcomes import classify
from offload_metrics.ingest.progress import LoadProgress
from offload_metrics.ingest.sniff import Header, is_gzip, read_header, refuse_nested_columns, resolve_kind
from offload_metrics.ingest.sources import insert_sql, source_sql
from offload_metrics.mapping import Mapping, load_mapping

GLOB_CHARACTERS = set("*?[]{}")


def load_file(
    conn: duckdb.DuckDBPyConnection,
    path: str | Path,
    *,
    kind: str | None = None,
    progress: LoadProgress | None = None,
    display_name: str | None = None,
    settings: config.Settings | None = None,
    mapping: Mapping | None = None,
) -> LoadResult:
    """Load one file in one transaction; raise IngestError (database unchanged) if it cannot be loaded.

    The ingest settings (date bounds; for telemetry files also the mapping and the telemetry
    settings; for kinds the mapping assigns, such as vendor costs, the mapping) are recorded with
    the load: the same file loaded under other settings is a new load, in which rows already stored
    count as duplicates. Without a mapping, mapped kinds' rows are unmapped."""
    path = Path(path)
    settings = settings or config.Settings()
    name = display_name or path.name
    progress = progress or LoadProgress()
    progress.file = name
    started = time.monotonic()
    if path.is_dir():
        return _load_folder(conn, path, progress, name)
    if not path.is_file():
        raise IngestError(name, "no such file")
    with tempfile.TemporaryDirectory(prefix="offload-") as folder:
        return _load_file(
            conn, path, _literal_path(path, Path(folder)), name, kind, progress, settings, mapping, started
        )


def _literal_path(path: Path, folder: Path) -> Path:
    """A path DuckDB reads as this one file: DuckDB expands * ? [ ] { } and a leading ~ in the
    paths its readers get, so a name with any of them is read through a link with a plain name."""
    text = str(path)
    if not (set(text) & GLOB_CHARACTERS or text.startswith("~")):
        return path
    link = folder / ("input" + "".join(ch for ch in path.suffix if ch.isalnum() or ch == "."))
    link.symlink_to(path.resolve())
    return link


def _load_file(
    conn: duckdb.DuckDBPyConnection,
    path: Path,
    readable: Path,
    name: str,
    kind: str | None,
    progress: LoadProgress,
    settings: config.Settings,
    mapping: Mapping | None,
    started: float,
) -> LoadResult:
    """load_file's work; DuckDB reads `readable`, everything else reads `path`."""
    bounds = settings.ingest
    report = vendor_report(path, name)
    if report is not None:
        header = Header("json", report.names)
        kind = kind or report.kind
    elif kind in telemetry.KINDS or (kind is None and is_otlp(path)):
        kind = kind or "otlp_traces"
        header = Header("otlp", ()) if kind == "otlp_traces" else read_header(conn, path, readable)
    else:
        header = read_header(conn, path, readable)
        if kind is None and schema.detect_kind(list(header.names)) is None:
            kind = telemetry.detect_kind(header.names)
    imported: viva.VivaImport | None = None
    if kind in telemetry.KINDS:
        model = telemetry_model(kind)
        mapping = mapping or load_mapping(None)
        fingerprint = telemetry.ingest_settings(settings, mapping)
        ignored: tuple[str, ...] = ()
    else:
        # A vendor export read as it comes (Viva Insights): its header in contract names, its groups
        # mapped before the insert and what they mapped to kept after it. None for every other file.
        try:
            imported = viva.recognise(header, kind, mapping)
        except viva.VivaError as error:
            raise IngestError(name, str(error)) from None
        if imported:
            header, kind = dataclasses.replace(header, names=imported.names), viva.KIND
        kind = resolve_kind(name, header, kind)
        model = schema.model_of(kind)
        refuse_nested_columns(name, header, model)
        # A mapped kind's rows depend on the mapping: after it changes, the same file loads again.
        if imported:
            fingerprint = imported.ingest_settings(settings)
        elif kind in vendor_costs.MAPPED_KINDS:
            fingerprint = vendor_costs.ingest_settings(settings, mapping)
        else:
            fingerprint = bounds.fingerprint()
        contract_names = {c.name for c in schema.columns(model)}
        ignored = tuple(column for column in header.names if column not in contract_names)
    scan = FileScan(path, lines=header.file_format != "parquet")
    scan.start()
    rejects = "offload_rejects"
    cur = conn.cursor()
    cur.execute("SET enable_progress_bar = true")
    cur.execute("SET enable_progress_bar_print = false")
    progress.connection = cur
    staged: telemetry.Staged | None = None
    try:
        with store.transaction(cur):
            load_id = cur.execute("select coalesce(max(load_id), 0) + 1 from loads").fetchone()[0]  # type: ignore[index]
            cur.execute(
                """
                insert into loads (load_id, file_name, sha256, kind, file_format, size_bytes, rows_read, accepted,
                                   duplicate, conflict, rejected, ignored_columns, started_at, outcome, ingest_settings)
                values (?, ?, '', ?, ?, ?, 0, 0, 0, 0, 0, ?, ?, 'loading', ?)
                """,
                [
                    load_id,
                    name,
                    kind,
                    header.file_format,
                    path.stat().st_size,
                    list(ignored),
                    utc_now(),
                    fingerprint,
                ],
            )
            progress.enter("reading", 0.0)
            params: dict[str, object] = {"path": str(readable), "load_id": load_id}
            if header.file_format not in ("parquet", "json"):
                params["compression"] = "gzip" if is_gzip(path) else "none"
            if header.file_format == "csv":
                params["delimiter"] = header.delimiter
            # Parquet rows carry their row number, so their order need not be kept: an insert that keeps
            # it leaves part-filled row groups (Parquet's and DuckDB's sizes differ) that the checkpoint
            # would rewrite, which took longer than the insert itself.
            cur.execute(
                "SET preserve_insertion_order = ?",
                [header.file_format != "parquet" or kind in telemetry.KINDS],
            )
            try:
                if kind in telemetry.KINDS:
                    staged = stage_telemetry(cur, kind, path, readable, header, rejects, settings, mapping)  # type: ignore[arg-type]
                    cur.execute(
                        insert_sql(
                            model,
                            header,
                            rejects,
                            bounds,
                            source=telemetry_source(model),
                            carried=carried_columns(kind),
                        ),
                        {"load_id": load_id},
                    )
                else:
                    if imported:
                        imported.prepare(cur, source_sql, header, params)
                    source = vendor_costs.report_source(report, cur) if report is not None else None
                    if kind in vendor_costs.MAPPED_KINDS:
                        source = source or source_sql(header, schema.columns(model), rejects)
                        source = vendor_costs.mapped_source(cur, source, params, mapping)
                    statement = insert_sql(model, header, rejects, bounds, source=source)
                    cur.execute(
                        statement, {key: value for key, value in params.items() if f"${key}" in statement}
                    )
            except duckdb.Error as error:
                if disk_full(error):
                    raise
                raise IngestError(
                    name, f"could not be read as {header.file_format}: {short_error(error)}"
                ) from None
            except telemetry.TelemetryError as error:
                raise IngestError(name, str(error)) from None
            progress.enter("checking", 1.0)
            scan.result()
            earlier = cur.execute(
                "select load_id, file_name from loads where sha256 = ? and ingest_settings = ? "
                "and outcome = 'loaded' order by load_id limit 1",
                [scan.sha256, fingerprint],
            ).fetchone()
            if earlier:
                raise _AlreadyLoaded(*earlier)
            if staged is not None:
                result = classify_telemetry(cur, model, header, path, scan, load_id, rejects, staged, bounds)
            elif report is not None:
                lines = report.lines
                result = classify(
                    cur, model, header, path, scan, load_id, rejects, bounds,
                    line_of=lambda ordinals: lines[ordinals],
                )  # fmt: skip
            else:
                result = classify(cur, model, header, path, scan, load_id, rejects, bounds)
            if imported:
                imported.finish(cur, load_id)
            if model.kind == "usage_events":
                progress.enter("rollup")
                store.append_usage_rollup(cur, load_id)
            if model.kind in ("usage_events", "reviews"):
                store.apply_reviews(cur, load_id)
            progress.enter("saving")
            cur.execute(
                """
                update loads set sha256 = ?, rows_read = ?, accepted = ?, duplicate = ?, conflict = ?, rejected = ?,
                                 finished_at = ?, outcome = 'loaded', records_read = ?, events_made = ?
                where load_id = ?
                """,
                [
                    scan.sha256,
                    result.rows_read,
                    result.accepted,
                    result.duplicate,
                    result.conflict,
                    result.rejected,
                    utc_now(),
                    result.records_read,
                    result.events_made,
                    load_id,
                ],
            )
    except _AlreadyLoaded as earlier:
        return LoadResult(
            file=name,
            kind=kind,
            file_format=header.file_format,
            status="already loaded",
            load_id=earlier.load_id,
            seconds=time.monotonic() - started,
            message=f"identical to load {earlier.load_id} ({earlier.file_name}); nothing added",
        )
    except (duckdb.Error, OSError) as error:
        # A failure of the database or the disk part-way (out of memory, disk full): one message,
        # and the rollback leaves the database as it was.
        if disk_full(error):
            raise IngestError(
                name,
                f"the disk is full: nothing was changed; free some space and load it again ({short_error(error)})",
            ) from error
        raise IngestError(
            name, f"could not be loaded, and nothing was changed: {short_error(error)}"
        ) from error
    finally:
        for suffix in ("errors", "scans"):
            with contextlib.suppress(duckdb.Error):
                cur.execute(f"drop table if exists {rejects}_{suffix}")
        if kind in telemetry.KINDS:
            with contextlib.suppress(duckdb.Error):
                telemetry.drop_temporary(cur)
        with contextlib.suppress(duckdb.Error):
            vendor_costs.drop_temporaries(cur)
        progress.connection = None
        cur.close()
    # The load is committed; a checkpoint cannot run while another session has a transaction open,
    # and DuckDB then checkpoints on its own later (the WAL keeps the load until then).
    with contextlib.suppress(duckdb.TransactionException):
        conn.execute("checkpoint")
    result.file, result.kind, result.file_format = name, kind, header.file_format
    result.load_id, result.ignored_columns = load_id, ignored
    if staged is not None:
        result.message = telemetry_message(result, staged)
    elif result.rows_read == 0:
        result.message = "the file has a header but no rows"
    result.seconds = time.monotonic() - started
    progress.phase = "done"
    return result


def _load_folder(
    conn: duckdb.DuckDBPyConnection, path: Path, progress: LoadProgress, name: str
) -> LoadResult:
    """A folder loads only when it is a usage rollup (written by `offload-metrics rollup`)."""
    from offload_metrics import rollup_folder  # imports this module

    if not rollup_folder.is_rollup_folder(path):
        raise IngestError(
            name,
            f"is a folder without {rollup_folder.MANIFEST}: name its files (e.g. {name}/*), "
            "or give a folder written by 'offload-metrics rollup'",
        )
    return rollup_folder.load_rollup(conn, path, progress=progress, display_name=name)


class _AlreadyLoaded(Exception):
    """The file was loaded before with the same settings: the load's transaction rolls back."""

    def __init__(self, load_id: int, file_name: str) -> None:
        super().__init__(load_id, file_name)
        self.load_id = load_id
        self.file_name = file_name
