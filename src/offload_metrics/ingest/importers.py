"""Files an importer reads into contract-shaped rows before the common pipeline: vendor cost and
usage reports, and telemetry (OpenTelemetry traces, Langfuse exports)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from offload_metrics import config, schema, telemetry, vendor_costs
from offload_metrics.ingest.base import IngestError, LoadResult, quote_identifier
from offload_metrics.ingest.lines import FileScan, record_lines
from offload_metrics.ingest.outcomes import classify, reader_rejects
from offload_metrics.ingest.sniff import Header, is_gzip, open_content
from offload_metrics.ingest.sources import Source
from offload_metrics.mapping import Mapping


def vendor_report(path: Path, name: str) -> vendor_costs.Report | None:
    """A vendor's JSON cost or usage pages, read into rows of their contract; None for any other file."""
    try:
        with open_content(path, "rb") as handle:
            head = handle.read(vendor_costs.HEAD_BYTES)
    except (OSError, EOFError):
        return None  # read_header says what is wrong with the file
    if not vendor_costs.looks_like_report(head):
        return None
    try:
        with open_content(path, "r", encoding="utf-8-sig") as handle:
            text = handle.read()
    except UnicodeDecodeError as error:
        raise IngestError(name, f"not UTF-8 text (invalid byte at offset {error.start})") from None
    try:
        return vendor_costs.read_report(text)
    except vendor_costs.ReportError as error:
        raise IngestError(name, f"is not a readable vendor cost or usage report: {error}") from None


def is_otlp(path: Path) -> bool:
    try:
        with open_content(path, "rb") as handle:
            return telemetry.is_otlp(handle.read(4096))
    except (OSError, EOFError):
        return False


def telemetry_model(kind: str) -> type[schema.InputKind]:
    """The table a telemetry kind loads into: usage events, or reviews of them."""
    return telemetry.Review if kind == "langfuse_scores" else schema.UsageEvent


def carried_columns(kind: str) -> tuple[str, ...]:
    return () if kind == "langfuse_scores" else ("estimated_cost_usd", "trace_id")


def telemetry_source(model: type[schema.InputKind]) -> Source:
    columns = {column.name: quote_identifier(column.name) for column in schema.columns(model)}
    return Source("_tele_events", columns, {}, ordinal="_ordinal")


def stage_telemetry(
    cur: duckdb.DuckDBPyConnection,
    kind: str,
    path: Path,
    readable: Path,
    header: Header,
    rejects: str,
    settings: config.Settings,
    mapping: Mapping,
) -> telemetry.Staged:
    if kind == "otlp_traces":
        from offload_metrics import otlp

        return otlp.stage(cur, path, readable, is_gzip(path), rejects, settings, mapping)
    from offload_metrics import langfuse

    return langfuse.stage(cur, kind, path, readable, header, rejects, settings, mapping)


def record_line_function(
    path: Path, header: Header, scan: FileScan, staged: telemetry.Staged, reader_lines: list[int]
) -> Callable[[np.ndarray], np.ndarray]:
    """Physical line of each record (a TracesData line, a CSV row) by its number in the file."""
    if staged.record_format == "document":
        return lambda records: np.ones(len(records), dtype=np.int64)
    if staged.record_format == "parquet":
        return lambda records: np.asarray(records, dtype=np.int64) + 1
    record_header = header if staged.record_format == "csv" else Header("jsonl", ())

    def lines(records: np.ndarray) -> np.ndarray:
        records = np.asarray(records, dtype=np.int64)
        if not len(records):
            return records
        return record_lines(path, record_header, scan, records, reader_lines, staged.records_in_file)

    return lines


def classify_telemetry(
    cur: duckdb.DuckDBPyConnection,
    model: type[schema.InputKind],
    header: Header,
    path: Path,
    scan: FileScan,
    load_id: int,
    rejects: str,
    staged: telemetry.Staged,
) -> LoadResult:
    """Classify the staged events like any file's rows, then add the records that made no event."""
    reader_header = Header("jsonl", ()) if header.file_format == "otlp" else header
    reader = reader_rejects(cur, rejects, model, reader_header, path)
    record_line = record_line_function(path, header, scan, staged, list(reader["line"]))
    record_of = np.asarray(
        cur.execute("select record_no from _tele_events order by _ordinal").fetchnumpy()["record_no"],
        dtype=np.int64,
    )
    result = classify(
        cur, model, header, path, scan, load_id, rejects, reader=reader,
        line_of=lambda ordinals: record_line(record_of[ordinals]),
    )  # fmt: skip
    records = np.asarray(
        cur.execute("select distinct record_no from _tele_rejects order by 1").fetchnumpy()["record_no"],
        dtype=np.int64,
    )
    if len(records):
        cur.register("_tele_lines", pd.DataFrame({"record_no": records, "line": record_line(records)}))
        try:
            cur.execute(
                """
                insert into rejected_rows (load_id, line, column_name, outcome, reason, raw)
                select $load_id, l.line, r.column_name, 'rejected', r.reason, r.raw
                from _tele_rejects as r join _tele_lines as l on l.record_no = r.record_no
                order by l.line
                """,
                {"load_id": load_id},
            )
        finally:
            cur.unregister("_tele_lines")
    result.rows_read += staged.rejected
    result.rejected += staged.rejected
    result.records_read = staged.records_read
    result.events_made = staged.events
    result.outside = staged.outside
    result.reasons = tuple(
        (reason, int(count))
        for reason, count in cur.execute(
            "select reason, count(*) from rejected_rows where load_id = ? and outcome = 'rejected' "
            "group by reason order by count(*) desc, reason limit 10",
            [load_id],
        ).fetchall()
    )
    return result


def telemetry_message(result: LoadResult, staged: telemetry.Staged) -> str:
    word = telemetry.RECORD_WORDS[result.kind]
    made = "reviews" if result.kind == "langfuse_scores" else "usage events"
    text = f"{staged.records_read:,} {word} read, {staged.events:,} {made} made, {staged.rejected:,} records rejected"
    if staged.outside and result.kind == "langfuse_scores":
        text += f", {staged.outside:,} {word} not named by the setting telemetry.review_evaluation"
    elif staged.outside:
        text += f", {staged.outside:,} {word} in no agent run"
    return text
