"""Load input files: read, validate in bulk in DuckDB, deduplicate and store, one transaction a file.

A file is read once. Every row is inserted into its table with a bitmask of the rules it breaks
(null when it breaks none) and, only when it breaks one, its raw text. Set-based SQL then moves
broken rows to rejected_rows, classifies repeated keys as duplicates or conflicts, deletes all of
those from the table, and updates the usage rollup, all before the transaction commits.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import dataclasses
import datetime as dt
import errno
import gzip
import hashlib
import io
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from offload_metrics import config, schema, store, telemetry, vendor_costs, viva
from offload_metrics.mapping import Mapping, load_mapping

EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
DELIMITERS = (",", ";", "\t", "|")
PARQUET_MAGIC = b"PAR1"
GZIP_MAGIC = b"\x1f\x8b"

# Strict text forms: a value that does not match is rejected, never coerced.
NUMBER_PATTERN = r"^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$"
DATE_PATTERN = r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*$"
PATTERNS = {"number": NUMBER_PATTERN, "date": DATE_PATTERN}
# Integers pass through DOUBLE: DuckDB's integer cast rounds 12.5 to 13 and reads 0x1F as 31, while
# its DOUBLE parse keeps 12.5 (then rejected as not whole) and refuses 0x1F. Whole numbers up to
# 2^53 are exact in a DOUBLE.
EXACT_INTEGER_LIMIT = 2**53
CAST_TYPES = {
    "integer": "BIGINT",
    "number": "DOUBLE",
    "money": schema.MONEY_SQL,
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
}
# Parquet column types that already hold a column's values exactly, so need no parsing.
NATIVE_TYPES = {
    "integer": ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"),
    "number": ("FLOAT", "DOUBLE", "TINYINT", "SMALLINT", "INTEGER", "BIGINT"),
    "date": ("DATE",),
    "timestamp": ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"),
    "text": ("VARCHAR",),
}
# The longest line (or quoted record) read; DuckDB's own default, named so messages can say it.
MAX_LINE_BYTES = 2_000_000
READER_REASONS = {
    "MISSING COLUMNS": "has fewer fields than the header",
    "TOO MANY COLUMNS": "has more fields than the header",
    "UNQUOTED VALUE": "has a quote that is not closed, or a quote inside an unquoted value",
    "INVALID ENCODING": "is not valid UTF-8",
    "INVALID UNICODE": "is not valid UTF-8",
    "LINE SIZE OVER MAXIMUM": f"is longer than {MAX_LINE_BYTES // 1_000_000} MB",
}
ALL_KINDS = [*schema.KINDS, *schema.IMPORTED_KINDS, *telemetry.KINDS]
PROGRESS_AFTER_SECONDS = 1.0
GLOB_CHARACTERS = set("*?[]{}")
COUNT_FIELDS = ("rows_read", "accepted", "duplicate", "conflict", "rejected")


class IngestError(Exception):
    """A file that could not be loaded at all; nothing in the database changed."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = file
        self.message = message


@dataclass
class LoadResult:
    """Where every row of one file went."""

    file: str
    kind: str
    file_format: str
    status: str  # loaded | already loaded
    rows_read: int = 0
    accepted: int = 0
    duplicate: int = 0
    conflict: int = 0
    rejected: int = 0
    load_id: int | None = None
    ignored_columns: tuple[str, ...] = ()
    seconds: float = 0.0
    message: str = ""
    # Telemetry files: records (spans, observations, scores) read, the usage events they made,
    # records in no agent run, and the rejection reasons with their counts, most frequent first.
    records_read: int | None = None
    record_word: str = ""
    events_made: int | None = None
    outside: int = 0
    reasons: tuple[tuple[str, int], ...] = ()

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.accepted + self.duplicate + self.conflict + self.rejected


@dataclass
class LoadProgress:
    """What a running load is doing, for a progress display polled from another thread.

    on_phase is called as each phase starts (reading, checking, rollup, saving), inside the
    load's transaction: an exception from it aborts the load and leaves the database unchanged.
    """

    file: str = ""
    phase: str = "starting"
    fraction: float = 0.0
    started: float = field(default_factory=time.monotonic)
    on_phase: Callable[[str], None] | None = None
    connection: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def enter(self, phase: str, fraction: float | None = None) -> None:
        self.phase = phase
        if fraction is not None:
            self.fraction = fraction
        if self.on_phase is not None:
            self.on_phase(phase)

    def refresh(self) -> None:
        """Update fraction from the running query (DuckDB reports -1 when it cannot tell)."""
        if self.phase == "reading" and self.connection is not None:
            reported = self.connection.query_progress()
            if reported >= 0:
                self.fraction = min(reported / 100, 1.0)


@dataclass(frozen=True)
class Header:
    """What the first lines of a file say about it."""

    file_format: str
    names: tuple[str, ...]
    delimiter: str = ","
    native_types: tuple[str, ...] = ()


def sql_literal(text: str) -> str:
    """A constant of this program as a SQL string literal (never used for values from files)."""
    return "'" + text.replace("'", "''") + "'"


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ---------------------------------------------------------------------------------------------
# Reading the file's format and header


def is_gzip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def open_content(path: Path, mode: str = "rb", **options):
    """The file's content, decompressed when it is gzip (CSV and JSON Lines may be compressed)."""
    if is_gzip(path):
        return gzip.open(path, mode if "b" in mode else mode.rstrip("t") + "t", **options)
    return path.open(mode, **options)


def sniff_format(path: Path) -> str:
    """The file's format, from its content first and its extension second."""
    with path.open("rb") as handle:
        head = handle.read(65536)
    name = path.name.lower().removesuffix(".gz")
    if head.startswith(GZIP_MAGIC):
        try:
            with gzip.open(path, "rb") as handle:
                head = handle.read(65536)
        except (OSError, EOFError) as error:
            raise IngestError(path.name, f"not a readable gzip file ({error})") from None
    if not head:
        raise IngestError(
            path.name, "the file is empty: expected a header row (CSV), rows (JSON Lines) or Parquet"
        )
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if b"\0" in head:
        raise IngestError(path.name, "not a text file (binary content): expected CSV, JSON Lines or Parquet")
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)
    except UnicodeDecodeError as error:
        raise IngestError(path.name, f"not UTF-8 text (invalid byte at offset {error.start})") from None
    extension = EXTENSIONS.get(Path(name).suffix)
    if extension == "parquet":
        raise IngestError(path.name, "named .parquet but is not a Parquet file")
    if extension:
        return extension
    return "jsonl" if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") else "csv"


def _read_csv_header(path: Path) -> Header:
    with open_content(path, "r", encoding="utf-8-sig", newline="") as handle:
        sample = handle.read(65536)
    if not sample.strip():
        raise IngestError(path.name, "the file has no header row")
    best: tuple[int, str, list[str]] | None = None
    for delimiter in DELIMITERS:
        try:
            names = next(csv.reader(io.StringIO(sample), delimiter=delimiter))
        except (StopIteration, csv.Error):
            continue
        names = [name.strip() for name in names]
        score = (2 if schema.detect_kind(names) else 0) + (1 if len(names) > 1 else 0)
        if best is None or score > best[0]:
            best = (score, delimiter, names)
    if best is None:
        raise IngestError(path.name, "the header row cannot be read as CSV")
    return Header("csv", tuple(best[2]), delimiter=best[1])


def _read_jsonl_header(conn: duckdb.DuckDBPyConnection, path: Path, readable: Path) -> Header:
    """The keys of the file's objects: those of the first objects in their order, then any key that
    first appears later (every key of the whole file counts, not only the first objects')."""
    names: dict[str, None] = {}
    objects = 0
    with open_content(path, "r", encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if number > 1000 or objects >= 100:
                break
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                objects += 1
                names.update(dict.fromkeys(record))
    if not objects:
        raise IngestError(path.name, "no JSON object found in the first lines: expected one object per line")
    try:
        later = conn.execute(
            f"""
            select distinct unnest(keys) from (
                select case when json_valid(line) then
                    case when json_type(line) = 'OBJECT' then json_keys(line) end end as keys
                from {_jsonl_lines_reader(ignore_errors=True)}
            )
            """,
            {"path": str(readable), "compression": "gzip" if is_gzip(path) else "none"},
        ).fetchall()
    except duckdb.Error as error:
        raise IngestError(path.name, f"could not be read as jsonl: {_short(error)}") from None
    names.update(dict.fromkeys(sorted(key for (key,) in later if key not in names)))
    return Header("jsonl", tuple(names))


def _jsonl_lines_reader(rejects: str | None = None, ignore_errors: bool = False) -> str:
    """A JSON Lines file as one VARCHAR column `line` (parameters $path and $compression)."""
    options = "store_rejects = true, " + (
        f"rejects_table = '{rejects}_errors', rejects_scan = '{rejects}_scans'" if rejects else ""
    )
    if ignore_errors:
        options = "ignore_errors = true"
    return (
        "read_csv($path, columns = {'line': 'VARCHAR'}, header = false, delim = '\x01', "
        f"compression = $compression, quote = '', escape = '', auto_detect = false, max_line_size = {MAX_LINE_BYTES}, "
        f"{options.rstrip(', ')})"
    )


def _read_parquet_header(conn: duckdb.DuckDBPyConnection, path: Path, readable: Path) -> Header:
    try:
        described = conn.execute("describe select * from read_parquet(?)", [str(readable)]).fetchall()
    except duckdb.Error as error:
        raise IngestError(path.name, f"not a readable Parquet file ({error})") from None
    return Header(
        "parquet",
        tuple(row[0] for row in described),
        native_types=tuple(str(row[1]) for row in described),
    )


def read_header(conn: duckdb.DuckDBPyConnection, path: Path, readable: Path | None = None) -> Header:
    """The file's format and columns; DuckDB reads `readable` (a literal path to the same file)."""
    readable = readable or path
    file_format = sniff_format(path)
    if file_format == "parquet":
        return _read_parquet_header(conn, path, readable)
    if file_format == "jsonl":
        return _read_jsonl_header(conn, path, readable)
    return _read_csv_header(path)


def _refuse_nested_columns(file: str, header: Header, model: type[schema.InputKind]) -> None:
    """A Parquet STRUCT, MAP or LIST column where the contract expects single values."""
    types = dict(zip(header.names, header.native_types, strict=False))
    for column in schema.columns(model):
        native = types.get(column.name, "")
        if native.endswith("]") or native.startswith(("STRUCT", "MAP", "UNION")):
            expected = (
                f"one of {', '.join(column.allowed)}" if column.allowed else schema.BASE_WORDS[column.base]
            )
            raise IngestError(
                file, f"column {column.name} is {native} in the Parquet file; it must be {expected}"
            )


def expected_columns_text() -> str:
    lines = []
    for kind, model in schema.KINDS.items():
        required = [column.name for column in schema.columns(model) if column.required]
        lines.append(f"  {kind}: {', '.join(required)}")
    for kind, needed in telemetry.LANGFUSE_COLUMNS.items():
        lines.append(f"  {kind}: {', '.join(sorted(needed))}")
    lines.append("  otlp_traces: OTLP JSON objects with resourceSpans")
    return "\n".join(lines)


def resolve_kind(file: str, header: Header, kind: str | None) -> str:
    """The input kind of a file: as named, else detected from its columns."""
    names = list(header.names)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise IngestError(file, f"the header repeats column(s) {', '.join(duplicates)}")
    if kind is None:
        kind = schema.detect_kind(names)
        if kind is None:
            matches = [
                candidate
                for candidate, model in schema.KINDS.items()
                if {c.name for c in schema.columns(model) if c.required} <= set(names)
            ]
            what = "fits more than one kind" if matches else "does not match any input kind"
            raise IngestError(
                file,
                f"the columns ({', '.join(names) or 'none'}) {what}; name the kind with --kind. "
                f"Each kind needs these columns:\n{expected_columns_text()}",
            )
    if kind not in schema.KINDS and kind not in schema.IMPORTED_KINDS:
        raise IngestError(file, f"unknown kind {kind!r}; kinds are {', '.join(schema.KINDS)}")
    missing = [c.name for c in schema.columns(schema.model_of(kind)) if c.required and c.name not in names]
    if missing:
        raise IngestError(file, f"is not a {kind} file: missing required column(s) {', '.join(missing)}")
    return kind


# ---------------------------------------------------------------------------------------------
# Validation SQL, derived from the contract


@dataclass(frozen=True)
class ColumnSql:
    """How one contract column is read from a source: its raw text, its value, its checks."""

    column: schema.Column
    raw: str  # VARCHAR expression: the value as the file wrote it (null when absent or empty)
    value: str  # typed expression: null when absent or not parseable
    checks: tuple[tuple[str, str], ...]  # (condition that breaks a rule, reason text)


def _text_value(column: schema.Column, raw: str) -> str:
    """The typed value of raw text, null when it does not parse. Strictness is in _checks."""
    if column.allowed:
        return f"try_cast({raw} as {column.sql_type})"
    if column.base == "text":
        return raw
    if column.base == "timestamp":
        # Parse with the offset, then take the UTC wall time without ICU's slower calendar cast.
        return f"make_timestamp(epoch_us(try_cast({raw} as TIMESTAMPTZ)))"
    if column.base == "integer":
        return _whole(f"try_cast({raw} as DOUBLE)")
    if column.base == "money":
        return f"try_cast({raw} as {CAST_TYPES[column.base]})"
    cast = (
        f"try_cast(case when regexp_full_match({raw}, {sql_literal(PATTERNS[column.base])}) "
        f"then {raw} end as {CAST_TYPES[column.base]})"
    )
    if column.base == "number":
        return f"(case when isfinite({cast}) then {cast} end)"
    return cast


def _whole(number: str) -> str:
    """A DOUBLE as BIGINT when it is a whole number that a DOUBLE holds exactly, else null."""
    return (
        f"(case when {number} = trunc({number}) and abs({number}) < {EXACT_INTEGER_LIMIT} "
        f"then cast({number} as BIGINT) end)"
    )


def _well_formed(column: schema.Column, raw: str, value: str) -> str | None:
    """Form check for values DuckDB's casts accept too generously: 'epoch' as a timestamp,
    and digit separators (1_000) in a decimal or an integer, which must be written plainly."""
    if column.base == "money":
        return f"(strpos({raw}, '_') = 0)"
    if column.base == "integer":
        # A DOUBLE reads 1.0000000000000001 as 1: decimals are checked exactly.
        exact = f"try_cast({raw} as {EXACT_JSON_TYPES['integer']}) = {value}"
        return f"(strpos({raw}, '_') = 0 and (strpos({raw}, '.') = 0 or {exact}))"
    if column.base == "timestamp":
        # Starts with a digit (so not 'epoch' or 'infinity'); string comparison, no allocation.
        return f"({raw} >= '0' and {raw} < ':')"
    return None


def _checks(
    column: schema.Column, raw: str, value: str, bounds: config.Ingest
) -> tuple[tuple[str, str], ...]:
    checks: list[tuple[str, str]] = []
    if column.required:
        checks.append((f"{raw} is null", "is required"))
    if column.base != "text":
        form = _well_formed(column, raw, value)
        broken = f"{value} is null" if form is None else f"({value} is null or not {form})"
        checks.append((f"{raw} is not null and {broken}", f"must be {schema.BASE_WORDS[column.base]}"))
    if column.base == "money":
        dot = f"strpos({raw}, '.')"
        few_places = (
            f"(strpos({raw}, 'e') = 0 and strpos({raw}, 'E') = 0 "
            f"and ({dot} = 0 or length({raw}) - {dot} <= {schema.MONEY_SCALE}))"
        )
        exact = f"try_cast({raw} as DECIMAL(38,18)) = {value}"
        checks.append(
            (
                f"{value} is not null and not ({few_places} or {exact})",
                f"has more than {schema.MONEY_SCALE} decimal places (money is stored exactly)",
            )
        )
    if column.allowed:
        checks.append(
            (f"{raw} is not null and {value} is null", f"must be one of {', '.join(column.allowed)}")
        )
    if column.base in ("date", "timestamp"):
        checks.append((_outside_bounds(column, value, bounds), _bounds_reason(bounds)))
    if column.lookup:
        checks.append(
            (
                f"{raw} is not null and {raw} not in (select value from {column.lookup})",
                "no rule of the organisation mapping matches this group; add one for it",
            )
        )
    if column.ge is not None:
        checks.append((f"{value} < {_number_literal(column.ge)}", f"must be ≥ {column.ge:g}"))
    if column.gt is not None:
        checks.append((f"{value} <= {_number_literal(column.gt)}", f"must be > {column.gt:g}"))
    return tuple(checks)


def _outside_bounds(column: schema.Column, value: str, bounds: config.Ingest) -> str:
    """A date or UTC timestamp before min_date or after max_date (settings, validated dates)."""
    low, high = f"DATE '{bounds.min_date.isoformat()}'", f"DATE '{bounds.max_date.isoformat()}'"
    if column.base == "date":
        return f"({value} < {low} or {value} > {high})"
    return f"({value} < {low}::TIMESTAMP or {value} >= ({high} + INTERVAL 1 DAY)::TIMESTAMP)"


def _bounds_reason(bounds: config.Ingest) -> str:
    return (
        f"must be between {bounds.min_date.isoformat()} and {bounds.max_date.isoformat()} "
        "(settings ingest.min_date and ingest.max_date)"
    )


def _number_literal(bound: float) -> str:
    """A bound as a literal that compares without casting every value (0, not 0.0)."""
    return str(int(bound)) if bound == int(bound) else repr(bound)


def column_sql_checks(column: schema.Column, raw: str, value: str, bounds: config.Ingest) -> ColumnSql:
    """A column's checks over already computed raw text and value (names or expressions)."""
    return ColumnSql(column, raw, value, _checks(column, raw, value, bounds))


def column_sql(
    column: schema.Column,
    source: str | None,
    native_type: str | None = None,
    empty_is_null: bool = False,
    bounds: config.Ingest | None = None,
) -> ColumnSql:
    """SQL for one column read from the source expression (None when the file lacks the column)."""
    bounds = bounds or config.Ingest()
    if source is None:
        raw = "NULL::VARCHAR"
        value = f"NULL::{column.sql_type}"
        return ColumnSql(column, raw, value, _checks(column, raw, value, bounds))
    native = native_type is not None and native_type.split("(")[0] in NATIVE_TYPES.get(column.base, ())
    if column.base == "money" and native_type and native_type.startswith("DECIMAL"):
        scale = int(native_type.rstrip(")").split(",")[1])
        native = scale <= schema.MONEY_SCALE
    if column.base == "integer" and native_type in ("DOUBLE", "FLOAT"):
        value = _whole(source)
        raw = f"coalesce(cast({value} as VARCHAR), cast({source} as VARCHAR))"
    elif native:
        raw = f"cast({source} as VARCHAR)"
        # try_cast: one value out of the column's range (a UBIGINT above BIGINT's) rejects its row.
        value = f"try_cast({source} as {column.sql_type})"
        if column.base == "number":
            value = f"(case when isfinite({source}) then {value} end)"
        if column.base == "text":
            raw = f"nullif({source}, '')"
            value = f"try_cast({raw} as {column.sql_type})" if column.allowed else raw
    else:
        text = f"cast({source} as VARCHAR)" if native_type else source
        raw = text if empty_is_null and column.base == "text" else f"nullif({text}, '')"
        value = _text_value(column, raw)
    return ColumnSql(column, raw, value, _checks(column, raw, value, bounds))


def _row_rule_sql(model: type[schema.InputKind], rule: schema.RowRule, values: dict[str, str]) -> str:
    """A row rule's breach as SQL over the value expressions (false while a column is missing).

    Column names are replaced in one pass on word boundaries, so a name inside a longer one
    (minutes_per_task in baseline_minutes_per_task) is left alone."""
    names = re.compile(
        r"\b(" + "|".join(re.escape(name) for name in sorted(values, key=len, reverse=True)) + r")\b"
    )
    referenced = sorted(set(names.findall(rule.sql)))
    expression = names.sub(lambda match: values[match.group(1)], rule.sql)
    if not rule.needs_values:
        return f"(not coalesce({expression}, true))"
    present = " and ".join(f"{values[name]} is not null" for name in referenced)
    return f"({present} and not ({expression}))"


def problems_sql(model: type[schema.InputKind], specs: Sequence[ColumnSql]) -> str:
    """A bitmask per row: bit i for contract column i, then one bit per row rule.

    Most rows break nothing, so one conjunction decides that first; the bits are worked out
    only for the rows it fails.
    """
    terms = []
    fine = []
    for bit, spec in enumerate(specs):
        breach = " or ".join(f"({condition})" for condition, _ in spec.checks)
        if breach:
            terms.append(f"(case when {breach} then {1 << bit}::UBIGINT else 0::UBIGINT end)")
            fine.append(f"not coalesce({breach}, false)")
    values = {spec.column.name: spec.value for spec in specs}
    for offset, rule in enumerate(model.row_rules):
        bit = len(specs) + offset
        breach = _row_rule_sql(model, rule, values)
        terms.append(f"(case when {breach} then {1 << bit}::UBIGINT else 0::UBIGINT end)")
        fine.append(f"not coalesce({breach}, false)")
    if not terms:
        return "0::UBIGINT"
    return f"(case when {' and '.join(fine)} then 0::UBIGINT else {' + '.join(terms)} end)"


def reasons_sql(model: type[schema.InputKind], bounds: config.Ingest) -> tuple[str, str, str]:
    """(first broken column, all reasons, raw values as JSON) as SQL over _problems and _raw."""
    contract = schema.columns(model)
    specs = [column_sql(column, _raw_value(index), bounds=bounds) for index, column in enumerate(contract)]
    unreadable = f"(_problems & {UNREADABLE}) <> 0"
    first_column = [f"case when {unreadable} then NULL"]
    reasons = []
    for bit, spec in enumerate(specs):
        if not spec.checks:
            continue
        flag = f"(_problems & {1 << bit}::UBIGINT) <> 0"
        first_column.append(f"when {flag} then {sql_literal(spec.column.name)}")
        cases = " ".join(
            f"when {condition} then {sql_literal(spec.column.name + ': ' + reason)}"
            for condition, reason in spec.checks
        )
        shown = f"coalesce(' (got ' || to_json(left({spec.raw}, 80)) || ')', '')"
        reasons.append(
            f"case when {flag} then (case {cases} else {sql_literal(spec.column.name + ': invalid value')} end)"
            f" || {shown} end"
        )
    raw_of = {spec.column.name: spec.raw for spec in specs}
    for offset, rule in enumerate(model.row_rules):
        flag = f"(_problems & {1 << (len(specs) + offset)}::UBIGINT) <> 0"
        first_column.append(f"when {flag} then {sql_literal(rule.column)}")
        shown = ""
        if rule.show_value:
            shown = f" || coalesce(' (got ' || to_json(left({raw_of[rule.column]}, 80)) || ')', '')"
        reasons.append(f"case when {flag} then {sql_literal(rule.column + ': ' + rule.reason)}{shown} end")
    nested = f"(_problems & {NESTED}) <> 0"
    line = _raw_value(0)
    nested_columns, nested_reasons = [], []
    for column in contract:
        path = sql_literal(_json_path(column.name))
        is_nested = f"json_type({line}, {path}) in ('OBJECT', 'ARRAY')"
        nested_columns.append(f"case when {is_nested} then {sql_literal(column.name)} end")
        nested_reasons.append(
            f"case when {is_nested} then "
            f"{sql_literal(column.name + ': must be a single value, not a JSON object or array (got ')} "
            f"|| left(json_extract({line}, {path})::VARCHAR, 80) || ')' end"
        )
    first_column.insert(
        1, f"when {nested} then list_filter([{', '.join(nested_columns)}], lambda c: c is not null)[1]"
    )
    first_column.append("end")
    reason = (
        f"case when {unreadable} then 'not a JSON object' "
        f"when {nested} then array_to_string(list_filter([{', '.join(nested_reasons)}], lambda r: r is not null), '; ') "
        f"else array_to_string(list_filter([{', '.join(reasons)}], lambda r: r is not null), '; ') end"
    )
    pairs = ", ".join(f"{sql_literal(c.name)}, {_raw_value(index)}" for index, c in enumerate(contract))
    raw = (
        f"(case when {unreadable} or {nested} then json_object('line', {_raw_value(0)}) "
        f"else json_object({pairs}) end)::VARCHAR"
    )
    return " ".join(first_column), reason, raw


def _raw_value(index: int) -> str:
    """The raw text of contract column `index` of a row, from the JSON array kept in _raw."""
    return f"json_extract_string(_raw, '$[{index}]')"


# ---------------------------------------------------------------------------------------------
# Sources

# Bit of _problems for a record that is not a record of the kind at all (a line that is not a
# JSON object); the row bits above it are then meaningless.
UNREADABLE_BIT = 63
UNREADABLE = f"{1 << UNREADABLE_BIT}::UBIGINT"
# Bit of _problems for a JSON object with a nested object or array in a contract column; its
# reasons are then read from the record's text, kept whole.
NESTED_BIT = 62
NESTED = f"{1 << NESTED_BIT}::UBIGINT"
# Exact types JSON numbers of integer and money columns are read as: wide enough for every value
# these columns hold (money 10 integer digits, integers below 2^53) with decimals to spare, so a
# value with more decimals than allowed is seen as such, not rounded first.
EXACT_JSON_TYPES = {"money": "DECIMAL(38,28)", "integer": "DECIMAL(38,22)"}


def _json_path(name: str) -> str:
    return "$." + json.dumps(name)


@dataclass(frozen=True)
class Source:
    """A file as SQL: the FROM clause, and where each contract column comes from."""

    reader: str
    columns: dict[str, str]  # contract column -> expression over the reader
    native_types: dict[str, str]  # contract column -> Parquet type
    unreadable: str | None = None  # condition for a record that cannot be read at all
    record_text: str | None = None  # the record's text, kept for an unreadable record
    nested: str | None = None  # condition for a record with an object or array where a value belongs
    ordinal: str = "NULL::BIGINT"  # the record's position in the file, where the reader gives one
    empty_is_null: bool = False  # the reader already reads an empty text field as null


def source_sql(header: Header, contract: Sequence[schema.Column], rejects: str) -> Source:
    """The source of a file. Only contract names (constants) appear in the SQL, never file text."""
    present = [column.name for column in contract if column.name in header.names]
    if header.file_format == "csv":
        # Every column is read as text and parsed in SQL: the reader's own number parse accepts digit
        # separators (1_000) that the contract refuses.
        columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header.names)))
        reader = (
            f"read_csv($path, columns = {{{columns}}}, header = true, delim = $delimiter, "
            "compression = $compression, quote = '\"', escape = '\"', auto_detect = false, store_rejects = true, "
            f"max_line_size = {MAX_LINE_BYTES}, "
            f"rejects_table = '{rejects}_errors', rejects_scan = '{rejects}_scans')"
        )
        return Source(
            reader, {name: f"c{header.names.index(name)}" for name in present}, {}, empty_is_null=True
        )
    if header.file_format == "jsonl":
        paths = ", ".join(sql_literal(_json_path(name)) for name in present)
        extract = f"json_extract_string(line, [{paths}])" if present else "[]::VARCHAR[]"
        types = f"json_type(line, [{paths}])" if present else "[]::VARCHAR[]"
        # DuckDB reads a JSON number as a double, except when it transforms it into a DECIMAL: then
        # it reads the digits as written. Integer and money values come that way, as exact text.
        exact = {
            c.name: EXACT_JSON_TYPES[c.base]
            for c in contract
            if c.name in present and c.base in EXACT_JSON_TYPES
        }
        structure = sql_literal(json.dumps(exact))
        numbers = f"json_transform(line, {structure})" if exact else "NULL"
        reader = (
            f"(select v, line, case when v is not null then {types} end as t, "
            f"case when v is not null then {numbers} end as n "
            f"from (select case when json_valid(line) then case when json_type(line) = 'OBJECT' "
            f"then {extract} end end as v, line "
            f"from {_jsonl_lines_reader(rejects)} "
            "where line is not null and trim(line, ' \t\r') <> ''))"
        )
        columns = {}
        for index, name in enumerate(present):
            text = f"v[{index + 1}]"
            if name in exact:
                digits = f"regexp_replace(cast(n.{quote_identifier(name)} as VARCHAR), '\\.?0+$', '')"
                text = (
                    f"(case when t[{index + 1}] = 'DOUBLE' then coalesce({digits}, {text}) else {text} end)"
                )
            columns[name] = text
        nested = "list_has_any(t, ['OBJECT', 'ARRAY'])" if present else "false"
        return Source(reader, columns, {}, unreadable="v is null", record_text="line", nested=nested)
    types = dict(zip(header.names, header.native_types, strict=True))
    return Source(
        "read_parquet($path, file_row_number = true)",
        {name: quote_identifier(name) for name in present},
        {name: types[name] for name in present},
        ordinal="file_row_number",
    )


def insert_sql(
    model: type[schema.InputKind],
    header: Header,
    rejects: str,
    bounds: config.Ingest | None = None,
    source: Source | None = None,
    carried: Sequence[str] = (),
) -> str:
    """One pass over the file (or over the given source): every record into the table, with its
    problems and raw text.

    The inner select parses each column once (raw text r<i>, value under the column's name); the
    checks then refer to those names, so no value is parsed twice. source replaces the file's own
    (a telemetry importer's staged events); carried names columns of the source stored as they are,
    beside the contract (a telemetry event's estimated cost and trace).
    """
    bounds = bounds or config.Ingest()
    contract = schema.columns(model)
    source = source or source_sql(header, contract, rejects)
    parsed = []
    checked = []
    for index, column in enumerate(contract):
        spec = column_sql(
            column,
            source.columns.get(column.name),
            source.native_types.get(column.name),
            source.empty_is_null,
            bounds,
        )
        name = quote_identifier(column.name)
        parsed += [f"{spec.raw} as r{index}", f"{spec.value} as {name}"]
        checked.append(column_sql_checks(column, f"r{index}", name, bounds))
    problems = problems_sql(model, checked)
    parsed.append(f"{source.ordinal} as _ordinal")
    parsed += [quote_identifier(name) for name in carried]
    raw = f"[{', '.join(f'r{index}' for index in range(len(contract)))}]"
    if source.unreadable:
        parsed.append(f"{source.unreadable} as unreadable, {source.record_text} as record_text")
        parsed.append(f"coalesce({source.nested or 'false'}, false) as nested")
        problems = f"(case when unreadable then {UNREADABLE} when nested then {NESTED} else {problems} end)"
        raw = f"(case when unreadable or nested then [record_text] else {raw} end)"
    stored = []
    for column in contract:
        name = quote_identifier(column.name)
        if column.default is not None:
            stored.append(f"coalesce({name}, cast({sql_literal(str(column.default))} as {column.sql_type}))")
        else:
            stored.append(name)
    stored += [quote_identifier(name) for name in carried]
    names = ", ".join([quote_identifier(c.name) for c in contract] + [quote_identifier(n) for n in carried])
    # The raw list is built only for rows with problems: CASE evaluates its branch selectively.
    return f"""
        insert into {model.kind} ({names}, load_id, _ordinal, _problems, _raw)
        select {", ".join(stored)}, $load_id, _ordinal, nullif(problems, 0),
               case when problems <> 0 then to_json({raw})::VARCHAR end
        from (
            select *, {problems} as problems
            from (select {", ".join(parsed)} from {source.reader})
        )
    """


# ---------------------------------------------------------------------------------------------
# Line numbers


class FileScan(threading.Thread):
    """Reads the file once beside the load: its sha256, its physical line count, and the lines
    longer than MAX_LINE_BYTES (which DuckDB's reader may skip without a trace)."""

    # At most MAX_LINE_BYTES, so a line inside one chunk is never too long: only lines that cross
    # a chunk boundary are measured.
    CHUNK = 1 << 20

    def __init__(self, path: Path, lines: bool = True) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.lines = lines
        self.sha256 = ""
        self.newlines = 0
        self.ends_with_newline = False
        self.long_lines: list[tuple[int, int]] = []  # (line, bytes)
        self._position = 0  # bytes counted so far
        self._line_start = 0  # where the current line starts
        self.error: OSError | EOFError | None = None

    def run(self) -> None:
        # Yield the CPU to DuckDB's threads: the digest is needed only once the insert is done.
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        digest = hashlib.sha256()
        compressed = is_gzip(self.path)
        try:
            with self.path.open("rb") as handle:
                while chunk := handle.read(self.CHUNK):
                    digest.update(chunk)
                    if self.lines and not compressed:
                        self._count(chunk)
            if self.lines and compressed:
                with gzip.open(self.path, "rb") as handle:
                    while chunk := handle.read(self.CHUNK):
                        self._count(chunk)
            self._count(b"", end=True)
        except (OSError, EOFError) as error:
            self.error = error
            return
        self.sha256 = digest.hexdigest()

    def _count(self, chunk: bytes, end: bool = False) -> None:
        first = chunk.find(b"\n")
        if end or first >= 0:
            line_end = self._position + (first if first >= 0 else 0)
            if line_end - self._line_start > MAX_LINE_BYTES:
                self.long_lines.append((self.newlines + 1, line_end - self._line_start))
        if first >= 0:
            self.newlines += chunk.count(b"\n")
            self._line_start = self._position + chunk.rfind(b"\n") + 1
        if chunk:
            self.ends_with_newline = chunk.endswith(b"\n")
        self._position += len(chunk)

    def result(self) -> FileScan:
        self.join()
        if self.error is not None:
            raise IngestError(self.path.name, f"could not be read: {self.error}")
        return self


def lines_of_offsets(path: Path, offsets: Sequence[int]) -> dict[int, int]:
    """Physical line (1-based) of each byte offset where a line starts."""
    result: dict[int, int] = {}
    newlines = 0
    position = 0
    with open_content(path, "rb") as handle:
        for offset in sorted(set(offsets)):
            if offset > position:
                remaining = offset - position
                while remaining:
                    chunk = handle.read(min(remaining, 1 << 22))
                    if not chunk:
                        break
                    newlines += chunk.count(b"\n")
                    remaining -= len(chunk)
                position = offset
            result[offset] = newlines + 1
    return result


def _record_start_lines(path: Path, header: Header, skip: set[int], count: int) -> np.ndarray:
    """Start line of each of the first `count` records the table holds, by reading the file."""
    starts: list[int] = []
    if header.file_format == "csv":
        with (
            open_content(path, "r", encoding="utf-8-sig", errors="replace", newline="") as handle,
            _csv_fields_of_any_size(),
        ):
            reader = csv.reader(handle, delimiter=header.delimiter)
            next(reader, None)
            previous = reader.line_num
            for row in reader:
                start, previous = previous + 1, reader.line_num
                if row and start not in skip:
                    starts.append(start)
                    if len(starts) >= count:
                        break
    else:
        with open_content(path, "r", encoding="utf-8-sig", errors="replace", newline="") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip(" \t\r\n") and number not in skip:
                    starts.append(number)
                    if len(starts) >= count:
                        break
    return np.asarray(starts, dtype=np.int64)


@contextlib.contextmanager
def _csv_fields_of_any_size():
    """Python's csv module refuses fields over 131,072 characters; a field may be as long as the
    longest line, rejected or not, and its lines still count."""
    previous = csv.field_size_limit(sys.maxsize)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def record_lines(
    path: Path, header: Header, scan: FileScan, ordinals: np.ndarray, reader_lines: Sequence[int], stored: int
) -> np.ndarray:
    """Physical line of each stored record, given its ordinal among the records the table holds."""
    if header.file_format == "parquet" or not len(ordinals):
        return ordinals + 1
    first = 2 if header.file_format == "csv" else 1
    records = stored + len(reader_lines)
    expected = records + (first - 1) - (0 if scan.ends_with_newline else 1)
    if scan.newlines == expected:
        # One line per record: stored records fill the lines that rejected ones leave free.
        rejected = np.sort(np.asarray(reader_lines, dtype=np.int64))
        thresholds = rejected - first - np.arange(len(rejected))
        return ordinals + first + np.searchsorted(thresholds, ordinals, side="right")
    starts = _record_start_lines(path, header, set(reader_lines), int(ordinals.max()) + 1)
    return starts[ordinals]


# ---------------------------------------------------------------------------------------------
# Classifying rows after the insert


def _key_text(model: type[schema.InputKind], alias: str) -> str:
    return " || ', ' || ".join(
        f"{sql_literal(name + ' ')} || coalesce(to_json({alias}.{quote_identifier(name)})::VARCHAR, 'null')"
        for name in model.key
    )


def _differing(model: type[schema.InputKind], left: str, right: str) -> str:
    items = ", ".join(
        f"case when {left}.{quote_identifier(c.name)} is distinct from {right}.{quote_identifier(c.name)} "
        f"then {sql_literal(c.name)} end"
        for c in schema.columns(model)
    )
    return f"list_filter([{items}], lambda x: x is not null)"


def _values_json(model: type[schema.InputKind], alias: str) -> str:
    pairs = ", ".join(
        f"{sql_literal(c.name)}, cast({alias}.{quote_identifier(c.name)} as VARCHAR)"
        for c in schema.columns(model)
    )
    return f"json_object({pairs})::VARCHAR"


# A stored row's position in its file: its Parquet row number, else its place in the table, whose
# rows keep file order while a CSV or JSON Lines load inserts them.
ORDINAL = "coalesce(_ordinal, rowid - $base)"


def _classify_repeats(
    cur: duckdb.DuckDBPyConnection, model: type[schema.InputKind], load_id: int, base: int
) -> None:
    """Fill _outcome with the rows whose key was already stored or came earlier in this file."""
    table = model.kind
    # An optional key column (a baseline for every task type) matches its stored twin when both are empty.
    optional = {column.name for column in schema.columns(model) if not column.required}
    keys_equal = " and ".join(
        f"i.{quote_identifier(k)} {'is not distinct from' if k in optional else '='} s.{quote_identifier(k)}"
        for k in model.key
    )
    key_hash = "hash(" + ", ".join(quote_identifier(k) for k in model.key) + ")"
    partition = ", ".join(quote_identifier(k) for k in model.key)
    params = {"load_id": load_id, "base": base}
    has_stored = cur.execute(
        f"select exists (select 1 from {table} where load_id < $load_id)", {"load_id": load_id}
    ).fetchone()
    if has_stored and has_stored[0]:
        cur.execute(
            f"""
            insert into _outcome
            with incoming as (
                select {ORDINAL} as ordinal, * from {table} where load_id = $load_id and _problems is null
            ),
            stored as (select * from {table} where load_id < $load_id),
            final as (
                select i.ordinal, {_differing(model, "i", "s")} as differing,
                       {_key_text(model, "i")} as key_text, s.load_id as other_load, {_values_json(model, "i")} as raw
                from incoming as i join stored as s on {keys_equal}
            )
            select ordinal,
                   case when len(differing) = 0 then 'duplicate' else 'conflict' end,
                   differing[1],
                   key_text || ' was already loaded (load ' || other_load || ') with a different '
                       || array_to_string(differing, ', '),
                   raw, NULL
            from final
            """,
            params,
        )
    if _keys_strictly_increase(cur, model, load_id):
        return
    # A key repeated in this file that was also stored already is classified above, against the
    # stored row; only the remaining repeats are compared with their first row in this file.
    cur.execute(
        f"""
        insert into _outcome
        with incoming as not materialized (
            select {ORDINAL} as ordinal, * from {table} where load_id = $load_id and _problems is null
        ),
        repeated as (select {key_hash} as h from incoming group by h having count(*) > 1),
        candidates as (
            select *, min(ordinal) over (partition by {partition}) as first_ordinal
            from incoming
            where {key_hash} in (select h from repeated)
              and ordinal not in (select ordinal from _outcome)
        ),
        final as (
            select r.ordinal, {_differing(model, "r", "f")} as differing,
                   {_key_text(model, "r")} as key_text, r.first_ordinal as other_ordinal,
                   {_values_json(model, "r")} as raw
            from candidates as r join candidates as f on f.ordinal = r.first_ordinal
            where r.ordinal <> r.first_ordinal
        )
        select ordinal,
               case when len(differing) = 0 then 'duplicate' else 'conflict' end,
               differing[1],
               key_text || ' repeats line {{line}} of this file with a different ' || array_to_string(differing, ', '),
               raw, other_ordinal
        from final
        """,
        params,
    )


def _keys_strictly_increase(
    cur: duckdb.DuckDBPyConnection, model: type[schema.InputKind], load_id: int
) -> bool:
    """Whether each valid row's key is greater than the one before it in the table: then no key
    repeats. Exports are mostly written in key order, and this one streaming pass costs a third of
    the hash aggregate that finds repeats in any order."""
    if len(model.key) != 1:
        return False
    key = quote_identifier(model.key[0])
    row = cur.execute(
        f"""
        select count(*) filter (where {key} <= previous)
        from (
            select {key}, lag({key}) over () as previous
            from {model.kind}
            where load_id = $load_id and _problems is null
        )
        """,
        {"load_id": load_id},
    ).fetchone()
    return bool(row) and row[0] == 0


def _reader_rejects(
    cur: duckdb.DuckDBPyConnection, rejects: str, model: type[schema.InputKind], header: Header, path: Path
) -> pd.DataFrame:
    """Records the reader refused (bad structure, or a value its typed columns cannot parse),
    one row each, with their physical line."""
    empty = pd.DataFrame(columns=["line", "column_name", "reason", "raw"])
    exists = cur.execute(
        "select count(*) from duckdb_tables() where table_name = ? and temporary", [f"{rejects}_errors"]
    ).fetchone()
    if not exists or not exists[0]:
        return empty
    frame = cur.execute(
        f"""
        select line_byte_position as offset, arg_min(column_name, coalesce(column_idx, -1)) as column_name,
               arg_min(error_type, coalesce(column_idx, -1)) as error_type,
               arg_min(error_message, coalesce(column_idx, -1)) as message,
               arg_min(csv_line, coalesce(column_idx, -1)) as text
        from {rejects}_errors group by line_byte_position order by line_byte_position
        """
    ).df()
    if frame.empty:
        return empty
    lines = lines_of_offsets(path, [int(offset) for offset in frame["offset"]])
    contract = {column.name: column for column in schema.columns(model)}
    columns, reasons = [], []
    for position, kind, message in zip(
        frame["column_name"], frame["error_type"], frame["message"], strict=True
    ):
        name = None
        if header.file_format == "csv" and isinstance(position, str) and position[1:].isdigit():
            index = int(position[1:])
            name = header.names[index] if index < len(header.names) else None
        columns.append(name)
        if kind == "CAST" and name in contract:
            got = re.search(r'Could not convert string "(.*)" to', str(message))
            shown = f" (got {json.dumps(got.group(1))})" if got else ""
            reasons.append(f"{name}: must be {schema.BASE_WORDS[contract[name].base]}{shown}")
        else:
            reasons.append("line " + READER_REASONS.get(kind, str(message)))
    return pd.DataFrame(
        {
            "line": [lines[int(offset)] for offset in frame["offset"]],
            "column_name": columns,
            "reason": reasons,
            # A line over the size limit is kept in part: the reason says why the rest is missing.
            "raw": [json.dumps({"line": str(text).strip("\r\n")[:4096]}) for text in frame["text"]],
        }
    )


# ---------------------------------------------------------------------------------------------
# Loading


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
    from offload_metrics import rollup_folder  # imports this module

    if rollup_folder.is_zip(path):
        with tempfile.TemporaryDirectory(prefix="offload-") as folder:
            unpacked = rollup_folder.unpack(path, Path(folder), name)
            return rollup_folder.load_rollup(conn, unpacked, progress=progress, display_name=name)
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
    report = _vendor_report(path, name)
    if report is not None:
        header = Header("json", report.names)
        kind = kind or report.kind
    elif kind in telemetry.KINDS or (kind is None and _is_otlp(path)):
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
        _refuse_nested_columns(name, header, model)
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
                    _utc_now(),
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
                    staged = _stage_telemetry(cur, kind, path, readable, header, rejects, settings, mapping)  # type: ignore[arg-type]
                    cur.execute(
                        insert_sql(
                            model,
                            header,
                            rejects,
                            bounds,
                            source=_telemetry_source(model),
                            carried=_carried(kind),
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
                if _disk_full(error):
                    raise
                raise IngestError(
                    name, f"could not be read as {header.file_format}: {_short(error)}"
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
                result = _classify_telemetry(cur, model, header, path, scan, load_id, rejects, staged, bounds)
            elif report is not None:
                lines = report.lines
                result = _classify_and_clean(
                    cur, model, header, path, scan, load_id, rejects, bounds,
                    line_of=lambda ordinals: lines[ordinals],
                )  # fmt: skip
            else:
                result = _classify_and_clean(cur, model, header, path, scan, load_id, rejects, bounds)
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
                    _utc_now(),
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
        if _disk_full(error):
            raise IngestError(
                name,
                f"the disk is full: nothing was changed; free some space and load it again ({_short(error)})",
            ) from error
        raise IngestError(name, f"could not be loaded, and nothing was changed: {_short(error)}") from error
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
        result.message = _telemetry_message(result, staged)
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


def _vendor_report(path: Path, name: str) -> vendor_costs.Report | None:
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


# ---------------------------------------------------------------------------------------------
# Telemetry files: an importer stages contract-shaped events, then the same checks, deduplication
# and rollup as any usage file apply.


def _is_otlp(path: Path) -> bool:
    try:
        with open_content(path, "rb") as handle:
            return telemetry.is_otlp(handle.read(4096))
    except (OSError, EOFError):
        return False


def telemetry_model(kind: str) -> type[schema.InputKind]:
    """The table a telemetry kind loads into: usage events, or reviews of them."""
    return telemetry.Review if kind == "langfuse_scores" else schema.UsageEvent


def _carried(kind: str) -> tuple[str, ...]:
    return () if kind == "langfuse_scores" else ("estimated_cost_usd", "trace_id")


def _telemetry_source(model: type[schema.InputKind]) -> Source:
    columns = {column.name: quote_identifier(column.name) for column in schema.columns(model)}
    return Source("_tele_events", columns, {}, ordinal="_ordinal")


def _stage_telemetry(
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


def _record_line_function(
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


def _classify_telemetry(
    cur: duckdb.DuckDBPyConnection,
    model: type[schema.InputKind],
    header: Header,
    path: Path,
    scan: FileScan,
    load_id: int,
    rejects: str,
    staged: telemetry.Staged,
    bounds: config.Ingest,
) -> LoadResult:
    """Classify the staged events like any file's rows, then add the records that made no event."""
    reader_header = Header("jsonl", ()) if header.file_format == "otlp" else header
    reader = _reader_rejects(cur, rejects, model, reader_header, path)
    record_line = _record_line_function(path, header, scan, staged, list(reader["line"]))
    record_of = np.asarray(
        cur.execute("select record_no from _tele_events order by _ordinal").fetchnumpy()["record_no"],
        dtype=np.int64,
    )
    result = _classify_and_clean(
        cur, model, header, path, scan, load_id, rejects, bounds, reader=reader,
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


def _telemetry_message(result: LoadResult, staged: telemetry.Staged) -> str:
    word = telemetry.RECORD_WORDS[result.kind]
    made = "reviews" if result.kind == "langfuse_scores" else "usage events"
    text = f"{staged.records_read:,} {word} read, {staged.events:,} {made} made, {staged.rejected:,} records rejected"
    if staged.outside and result.kind == "langfuse_scores":
        text += f", {staged.outside:,} {word} not named by the setting telemetry.review_evaluation"
    elif staged.outside:
        text += f", {staged.outside:,} {word} in no agent run"
    return text


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _disk_full(error: Exception) -> bool:
    return getattr(error, "errno", None) == errno.ENOSPC or os.strerror(errno.ENOSPC) in str(error)


def _short(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:300]


def _classify_and_clean(
    cur: duckdb.DuckDBPyConnection,
    model: type[schema.InputKind],
    header: Header,
    path: Path,
    scan: FileScan,
    load_id: int,
    rejects: str,
    bounds: config.Ingest,
    reader: pd.DataFrame | None = None,
    line_of: Callable[[np.ndarray], np.ndarray] | None = None,
) -> LoadResult:
    """Account for every record, store rejections and conflicts, delete all but accepted rows.

    reader gives the records the file's reader refused (else they are read from its rejects
    table, with the lines too long to read); line_of the line of each record by ordinal (else
    worked out from the file)."""
    table = model.kind
    params = {"load_id": load_id}
    stored, base = cur.execute(
        f"select count(*), coalesce(min(rowid), 0) from {table} where load_id = $load_id", params
    ).fetchone()  # type: ignore[misc]
    if reader is None:
        reader = _reader_rejects(cur, rejects, model, header, path)
        skipped = [(line, size) for line, size in scan.long_lines if line not in set(reader["line"])]
        if skipped:
            # Lines DuckDB's reader passed over without a rejection: counted and rejected here.
            too_long = pd.DataFrame(
                {
                    "line": [line for line, _ in skipped],
                    "column_name": [None] * len(skipped),
                    "reason": [f"line {READER_REASONS['LINE SIZE OVER MAXIMUM']}"] * len(skipped),
                    "raw": [json.dumps({"bytes": size}) for _, size in skipped],
                }
            )
            reader = pd.concat([reader, too_long], ignore_index=True) if len(reader) else too_long
    first_column, reason, raw = reasons_sql(model, bounds)
    cur.execute(
        "create or replace temp table _outcome (ordinal BIGINT, outcome VARCHAR, column_name VARCHAR, "
        "reason VARCHAR, raw VARCHAR, other_ordinal BIGINT)"
    )
    cur.execute(
        f"""
        insert into _outcome
        select {ORDINAL}, 'rejected', {first_column}, {reason}, {raw}, NULL
        from {table} where load_id = $load_id and _problems is not null
        """,
        {"load_id": load_id, "base": base},
    )
    _classify_repeats(cur, model, load_id, base)
    needed = cur.execute(
        "select ordinal from _outcome where outcome <> 'duplicate' "
        "union select other_ordinal from _outcome where outcome = 'conflict' and other_ordinal is not null"
    ).fetchnumpy()["ordinal"]
    ordinals = np.sort(np.asarray(needed, dtype=np.int64))
    if line_of is not None:
        lines = line_of(ordinals)
    else:
        lines = record_lines(path, header, scan, ordinals, list(reader["line"]), stored)
    line_map = pd.DataFrame({"ordinal": ordinals, "line": lines.astype(np.int64)})
    cur.register("_line_map", line_map)
    try:
        cur.execute(
            """
            insert into rejected_rows (load_id, line, column_name, outcome, reason, raw)
            select $load_id, l.line, o.column_name, o.outcome,
                   replace(o.reason, '{line}', coalesce(cast(other.line as VARCHAR), '?')), o.raw
            from _outcome as o
            left join _line_map as l on l.ordinal = o.ordinal
            left join _line_map as other on other.ordinal = o.other_ordinal
            where o.outcome <> 'duplicate'
            order by l.line
            """,
            params,
        )
    finally:
        cur.unregister("_line_map")
    if len(reader):
        cur.register("_reader_rejects", reader)
        try:
            cur.execute(
                "insert into rejected_rows (load_id, line, column_name, outcome, reason, raw) "
                "select $load_id, line, column_name, 'rejected', reason, raw from _reader_rejects",
                params,
            )
        finally:
            cur.unregister("_reader_rejects")
    counts = dict(cur.execute("select outcome, count(*) from _outcome group by outcome").fetchall())
    removed = sum(counts.values())
    if removed:
        deleted = cur.execute(
            f"delete from {table} where load_id = $load_id and {ORDINAL} in (select ordinal from _outcome)",
            {"load_id": load_id, "base": base},
        ).fetchone()
        if not deleted or deleted[0] != removed:
            raise RuntimeError(
                f"row accounting does not balance for {path.name}: removed {deleted} of {removed}"
            )
    cur.execute("drop table _outcome")
    result = LoadResult(
        file=path.name,
        kind=model.kind,
        file_format=header.file_format,
        status="loaded",
        rows_read=int(stored) + len(reader),
        duplicate=int(counts.get("duplicate", 0)),
        conflict=int(counts.get("conflict", 0)),
        rejected=int(counts.get("rejected", 0)) + len(reader),
    )
    result.accepted = int(stored) - removed
    return result


def run_with_progress(
    task: Callable[[LoadProgress], LoadResult],
    tick: Callable[[LoadProgress], None],
    progress: LoadProgress,
    interval: float = 0.1,
) -> LoadResult:
    """Run a load in a worker thread while the calling thread shows its progress via tick."""
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            outcome["result"] = task(progress)
        except BaseException as error:  # handed back to the caller's thread below
            outcome["error"] = error

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(interval)
        progress.refresh()
        tick(progress)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["result"]  # type: ignore[return-value]
