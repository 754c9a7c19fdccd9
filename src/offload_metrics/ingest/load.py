"""One file in one transaction: read its header, stage its rows, classify them, store the
accepted ones, update the rollup and the load history."""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from offload_metrics import config, schema, store, telemetry, vendor_costs, viva
from offload_metrics.ingest.base import (
    IngestError,
    LoadResult,
    already_loaded,
    disk_full,
    earlier_load,
    short_error,
    utc_now,
)
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
from offload_metrics.ingest.sources import STAGED, source_sql, stage_sql
from offload_metrics.mapping import EMPTY, Mapping

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
    from offload_metrics import rollup_folder  # imports this package

    if rollup_folder.is_zip(path):
        with tempfile.TemporaryDirectory(prefix="offload-") as folder:
            unpacked = rollup_folder.unpack(path, Path(folder), name)
            return rollup_folder.load_rollup(conn, unpacked, progress=progress, display_name=name)
    with tempfile.TemporaryDirectory(prefix="offload-") as folder:
        return _load_file(
            conn,
            path,
            _literal_path(path, Path(folder)),
            name,
            kind,
            progress,
            settings,
            mapping or EMPTY,
            started,
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


@dataclass
class _Plan:
    """What a file is and how it loads, decided before its transaction starts."""

    kind: str
    model: type[schema.InputKind]
    header: Header
    fingerprint: str  # the ingest settings recorded with the load ("already loaded" compares them)
    mapping: Mapping  # the organisation mapping (EMPTY when none was given)
    ignored: tuple[str, ...] = ()
    report: vendor_costs.Report | None = None  # a vendor's JSON cost or usage report
    imported: viva.VivaImport | None = None  # a Viva Insights export


REJECTS = "offload_rejects"  # the reader's rejects tables: offload_rejects_errors, _scans


def _load_file(
    conn: duckdb.DuckDBPyConnection,
    path: Path,
    readable: Path,
    name: str,
    kind: str | None,
    progress: LoadProgress,
    settings: config.Settings,
    mapping: Mapping,
    started: float,
) -> LoadResult:
    """load_file's work; DuckDB reads `readable`, everything else reads `path`."""
    plan = _plan(conn, path, readable, name, kind, settings, mapping)
    scan = FileScan(path, lines=plan.header.file_format != "parquet")
    scan.start()
    cur = conn.cursor()
    cur.execute("SET enable_progress_bar = true")
    cur.execute("SET enable_progress_bar_print = false")
    progress.connection = cur
    staged: telemetry.Staged | None = None
    try:
        with store.transaction(cur):
            load_id = _begin(cur, plan, name, path)
            progress.enter("reading", 0.0)
            staged = _stage(cur, plan, path, readable, name, settings)
            progress.enter("checking", 1.0)
            _refuse_if_loaded(cur, scan.result().sha256, plan.fingerprint)
            result = _classify(cur, plan, path, scan, load_id, staged)
            _update_dependents(cur, plan, load_id, progress)
            progress.enter("saving")
            _finish(cur, load_id, scan.sha256, result)
    except _AlreadyLoaded as loaded:
        return already_loaded(name, plan.kind, plan.header.file_format, loaded.earlier, started)
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
        _drop_temporaries(cur, plan)
        progress.connection = None
        cur.close()
    # The load is committed; a checkpoint cannot run while another session has a transaction open,
    # and DuckDB then checkpoints on its own later (the WAL keeps the load until then).
    with contextlib.suppress(duckdb.TransactionException):
        conn.execute("checkpoint")
    result.file, result.kind, result.file_format = name, plan.kind, plan.header.file_format
    result.load_id, result.ignored_columns = load_id, plan.ignored
    if staged is not None:
        result.message = telemetry_message(result, staged)
    elif result.rows_read == 0:
        result.message = "the file has a header but no rows"
    result.seconds = time.monotonic() - started
    progress.phase = "done"
    return result


def _plan(
    conn: duckdb.DuckDBPyConnection,
    path: Path,
    readable: Path,
    name: str,
    kind: str | None,
    settings: config.Settings,
    mapping: Mapping,
) -> _Plan:
    """The file's kind, header and the settings its load records; IngestError when it has none."""
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
    if kind in telemetry.KINDS:
        fingerprint = telemetry.ingest_settings(settings, mapping)
        return _Plan(kind, telemetry_model(kind), header, fingerprint, mapping)
    # A vendor export read as it comes (Viva Insights): its header in contract names, its groups
    # mapped before the staging pass and what they mapped to kept after it. None for every other file.
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
        fingerprint = settings.ingest.fingerprint()
    contract_names = {c.name for c in schema.columns(model)}
    ignored = tuple(column for column in header.names if column not in contract_names)
    return _Plan(kind, model, header, fingerprint, mapping, ignored, report, imported)


def _begin(cur: duckdb.DuckDBPyConnection, plan: _Plan, name: str, path: Path) -> int:
    """The load's line in the load history, marked as loading; its id."""
    load_id = store.scalar(cur, "select coalesce(max(load_id), 0) + 1 from loads")
    cur.execute(
        """
        insert into loads (load_id, file_name, sha256, kind, file_format, size_bytes, rows_read, accepted,
                           duplicate, conflict, rejected, ignored_columns, started_at, outcome, ingest_settings)
        values (?, ?, '', ?, ?, ?, 0, 0, 0, 0, 0, ?, ?, 'loading', ?)
        """,
        [
            load_id,
            name,
            plan.kind,
            plan.header.file_format,
            path.stat().st_size,
            list(plan.ignored),
            utc_now(),
            plan.fingerprint,
        ],
    )
    return load_id


def _stage(
    cur: duckdb.DuckDBPyConnection,
    plan: _Plan,
    path: Path,
    readable: Path,
    name: str,
    settings: config.Settings,
) -> telemetry.Staged | None:
    """Read the file once into the staging table (outcomes.classify then decides each row);
    a telemetry file's importer stages its events first and says what it made of its records."""
    header, bounds = plan.header, settings.ingest
    params: dict[str, object] = {"path": str(readable)}
    if header.file_format not in ("parquet", "json"):
        params["compression"] = "gzip" if is_gzip(path) else "none"
    if header.file_format == "csv":
        params["delimiter"] = header.delimiter
    # Parquet rows carry their row number, so their order need not be kept.
    cur.execute(
        "SET preserve_insertion_order = ?", [header.file_format != "parquet" or plan.kind in telemetry.KINDS]
    )
    try:
        if plan.kind in telemetry.KINDS:
            staged = stage_telemetry(cur, plan.kind, path, readable, header, REJECTS, settings, plan.mapping)
            source = telemetry_source(plan.model)
            cur.execute(stage_sql(plan.model, header, REJECTS, bounds, source, carried_columns(plan.kind)))
            return staged
        if plan.imported:
            plan.imported.prepare(cur, source_sql, header, params)
        chosen = vendor_costs.report_source(plan.report, cur) if plan.report is not None else None
        if plan.kind in vendor_costs.MAPPED_KINDS:
            chosen = chosen or source_sql(header, schema.columns(plan.model), REJECTS)
            chosen = vendor_costs.mapped_source(cur, chosen, params, plan.mapping)
        statement = stage_sql(plan.model, header, REJECTS, bounds, source=chosen)
        cur.execute(statement, {key: value for key, value in params.items() if f"${key}" in statement})
        return None
    except duckdb.Error as error:
        if disk_full(error):
            raise
        raise IngestError(name, f"could not be read as {header.file_format}: {short_error(error)}") from None
    except telemetry.TelemetryError as error:
        raise IngestError(name, str(error)) from None


def _refuse_if_loaded(cur: duckdb.DuckDBPyConnection, sha256: str, fingerprint: str) -> None:
    earlier = earlier_load(cur, sha256, fingerprint)
    if earlier:
        raise _AlreadyLoaded(earlier)


def _classify(
    cur: duckdb.DuckDBPyConnection,
    plan: _Plan,
    path: Path,
    scan: FileScan,
    load_id: int,
    staged: telemetry.Staged | None,
) -> LoadResult:
    if staged is not None:
        return classify_telemetry(cur, plan.model, plan.header, path, scan, load_id, REJECTS, staged)
    if plan.report is not None:
        lines = plan.report.lines
        return classify(
            cur,
            plan.model,
            plan.header,
            path,
            scan,
            load_id,
            REJECTS,
            line_of=lambda ordinals: lines[ordinals],
        )
    return classify(cur, plan.model, plan.header, path, scan, load_id, REJECTS)


def _update_dependents(
    cur: duckdb.DuckDBPyConnection, plan: _Plan, load_id: int, progress: LoadProgress
) -> None:
    """What the accepted rows change beside their table: Viva's group mapping, the usage rollup, reviews."""
    if plan.imported:
        plan.imported.finish(cur, load_id)
    if plan.model.kind == "usage_events":
        progress.enter("rollup")
        store.append_usage_rollup(cur, load_id)
    if plan.model.kind in ("usage_events", "reviews"):
        store.apply_reviews(cur, load_id)


def _finish(cur: duckdb.DuckDBPyConnection, load_id: int, sha256: str, result: LoadResult) -> None:
    cur.execute(
        """
        update loads set sha256 = ?, rows_read = ?, accepted = ?, duplicate = ?, conflict = ?, rejected = ?,
                         finished_at = ?, outcome = 'loaded', records_read = ?, events_made = ?
        where load_id = ?
        """,
        [
            sha256,
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


def _drop_temporaries(cur: duckdb.DuckDBPyConnection, plan: _Plan) -> None:
    for table in (f"{REJECTS}_errors", f"{REJECTS}_scans", STAGED):
        with contextlib.suppress(duckdb.Error):
            cur.execute(f"drop table if exists {table}")
    if plan.kind in telemetry.KINDS:
        with contextlib.suppress(duckdb.Error):
            telemetry.drop_temporary(cur)
    with contextlib.suppress(duckdb.Error):
        vendor_costs.drop_temporaries(cur)


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

    def __init__(self, earlier: tuple[int, str]) -> None:
        super().__init__(*earlier)
        self.earlier = earlier
