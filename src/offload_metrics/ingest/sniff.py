"""A file's format (from its content first, its extension second), its header, and its kind."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from offload_metrics import schema, telemetry
from offload_metrics.ingest.base import IngestError, column_named, repeated, short_error

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


# The longest line (or quoted record) read; DuckDB's own default, named so messages can say it.
MAX_LINE_BYTES = 2_000_000


@dataclass(frozen=True)
class Header:
    """What the first lines of a file say about it."""

    file_format: str
    names: tuple[str, ...]
    delimiter: str = ","
    native_types: tuple[str, ...] = ()


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
        line = head.count(b"\n", 0, error.start) + 1
        raise IngestError(
            path.name,
            f"not UTF-8 text: line {line} has a byte that is not UTF-8 (0x{head[error.start]:02X}, at byte "
            f"offset {error.start}); save the file as UTF-8",
        ) from None
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
        if "\r" in sample and "\n" not in sample:
            raise IngestError(
                path.name,
                "its lines end with a carriage return alone (old Mac text): save it with LF or CRLF endings",
            )
        raise IngestError(path.name, "the header row cannot be read as CSV")
    return Header("csv", tuple(best[2]), delimiter=best[1])


def _read_jsonl_header(conn: duckdb.DuckDBPyConnection, path: Path, readable: Path) -> Header:
    """The keys of the file's objects: those of the first objects in their order, then any key that
    first appears later (every key of the whole file counts, not only the first objects')."""
    names: dict[str, None] = {}
    objects = 0
    with open_content(path, "rb") as handle:
        for number in range(1, 1001):
            line = _bounded_line(handle)
            if line is None or objects >= 100:
                break
            if number == 1:
                line = line.removeprefix(codecs.BOM_UTF8)
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:  # not JSON, or not UTF-8
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
                from {jsonl_lines_reader(ignore_errors=True)}
            )
            """,
            {"path": str(readable), "compression": "gzip" if is_gzip(path) else "none"},
        ).fetchall()
    except duckdb.Error as error:
        raise IngestError(path.name, f"could not be read as jsonl: {short_error(error)}") from None
    names.update(dict.fromkeys(sorted(key for (key,) in later if key not in names)))
    return Header("jsonl", tuple(names))


def _bounded_line(handle: io.BufferedIOBase) -> bytes | None:
    """The next line, or b"" for a line longer than MAX_LINE_BYTES (read past in bounded pieces, so
    a line of gigabytes is never held); None at the end of the file."""
    line = handle.readline(MAX_LINE_BYTES + 1)
    if not line:
        return None
    if len(line) <= MAX_LINE_BYTES or line.endswith(b"\n"):
        return line
    while (rest := handle.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
        pass
    return b""


def jsonl_lines_reader(rejects: str | None = None, ignore_errors: bool = False) -> str:
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
        # DuckDB names the file it read, which for an upload is a temporary copy: the message names
        # the user's file already.
        said = short_error(error).replace(f"'{readable}'", "").replace(str(readable), "").replace("  ", " ")
        raise IngestError(path.name, f"not a readable Parquet file ({said.strip()})") from None
    # DuckDB renames a column whose name repeats (cost_usd, cost_usd_1): the file's own names say so.
    _refuse_repeated_names(path.name, _parquet_top_level_names(conn, readable), "schema")
    return Header(
        "parquet",
        tuple(row[0] for row in described),
        native_types=tuple(str(row[1]) for row in described),
    )


def _parquet_top_level_names(conn: duckdb.DuckDBPyConnection, readable: Path) -> list[str]:
    """The names of a Parquet file's columns as written: its schema is a tree in depth-first
    order (the root, then each column followed by its children)."""
    rows = conn.execute("select name, num_children from parquet_schema(?)", [str(readable)]).fetchall()

    def after(index: int) -> int:  # the row after the subtree at index
        children = rows[index][1] or 0
        index += 1
        for _ in range(children):
            index = after(index)
        return index

    names, index = [], 1
    while index < len(rows):
        names.append(rows[index][0])
        index = after(index)
    return names


def _refuse_repeated_names(file: str, names: Sequence[str], holder: str = "header") -> None:
    """IngestError naming the columns a header (or a Parquet schema) gives more than once: which
    one counts cannot be told."""
    duplicates = repeated(names)
    if duplicates:
        named = (column_named(name) for name in duplicates)
        raise IngestError(file, f"the {holder} repeats column(s) {', '.join(named)}")


def read_header(conn: duckdb.DuckDBPyConnection, path: Path, readable: Path | None = None) -> Header:
    """The file's format and columns; DuckDB reads `readable` (a literal path to the same file)."""
    readable = readable or path
    file_format = sniff_format(path)
    if file_format == "parquet":
        return _read_parquet_header(conn, path, readable)
    if file_format == "jsonl":
        return _read_jsonl_header(conn, path, readable)
    return _read_csv_header(path)


def refuse_nested_columns(file: str, header: Header, model: type[schema.InputKind]) -> None:
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
    _refuse_repeated_names(file, names)
    if kind is None:
        kind = schema.detect_kind(names)
        if kind is None:
            matches = [
                candidate
                for candidate, model in schema.KINDS.items()
                if {c.name for c in schema.columns(model) if c.required} <= set(names)
            ]
            what = "fit more than one kind" if matches else "do not match any input kind"
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
