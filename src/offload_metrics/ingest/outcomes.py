"""Where every staged row goes: rejected (with its reasons), duplicate or conflict (against a
stored row, probed by key only, or an earlier row of the same file), else accepted. Decided in
temporary tables before anything reaches the stored tables."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from offload_metrics import schema, store
from offload_metrics.ingest.base import LoadResult, quote_identifier, sql_literal
from offload_metrics.ingest.lines import FileScan, lines_of_offsets, record_lines
from offload_metrics.ingest.sniff import MAX_LINE_BYTES, Header
from offload_metrics.ingest.sources import STAGED

READER_REASONS = {
    "MISSING COLUMNS": "has fewer fields than the header",
    "TOO MANY COLUMNS": "has more fields than the header",
    "UNQUOTED VALUE": "has a quote that is not closed, or a quote inside an unquoted value",
    "INVALID ENCODING": "is not valid UTF-8",
    "INVALID UNICODE": "is not valid UTF-8",
    "LINE SIZE OVER MAXIMUM": f"is longer than {MAX_LINE_BYTES // 1_000_000} MB",
}


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


# A staged row's position in its file: its Parquet row number, else its place in the staging
# table, whose rows keep file order while a CSV or JSON Lines load stages them (row ids of a table
# created in a transaction start at a high base; $base is the first).
ORDINAL = "coalesce(_ordinal, rowid - $base)"


def _keys_equal(model: type[schema.InputKind], left: str, right: str) -> str:
    # An optional key column (a baseline for every task type) matches its twin when both are empty.
    optional = {column.name for column in schema.columns(model) if not column.required}
    return " and ".join(
        f"{left}.{quote_identifier(k)} {'is not distinct from' if k in optional else '='} {right}.{quote_identifier(k)}"
        for k in model.key
    )


def probe_sql(model: type[schema.InputKind]) -> tuple[str, str]:
    """The "already stored" check as two queries: a probe of the stored table by key hash only,
    which reads the stored _key_hash column (8 bytes a row) and nothing else (DuckDB filters that
    scan by a Bloom filter of the staged hashes) and gives the ordinal of each staged row whose key
    hash is stored with that row's rowid (kept as _stored_matches); then the full stored rows of
    those rowids only, whose keys the caller compares (a hash may collide). Never by the event's
    date, so a re-sent event whose time changed is still found."""
    probe = f"""
        select i.ordinal, s.rowid as stored_rowid
        from (select {ORDINAL} as ordinal, _key_hash from {STAGED} where _problems is null) as i
        join (select rowid, _key_hash from {model.kind}) as s on s._key_hash = i._key_hash
    """
    rows = f"""
        select m.ordinal, s.*
        from {model.kind} as s join _stored_matches as m on s.rowid = m.stored_rowid
    """
    return probe, rows


def _against_stored(cur: duckdb.DuckDBPyConnection, model: type[schema.InputKind], base: int) -> None:
    """Staged rows whose key is already stored: a duplicate when every column is the same, else a conflict."""
    probe, rows = probe_sql(model)
    cur.execute(f"create or replace temp table _stored_matches as {probe}", {"base": base})
    cur.execute(f"create or replace temp table _stored_rows as {rows}")
    cur.execute(
        f"""
        insert into _outcome
        with final as (
            select i.ordinal, {_differing(model, "i", "s")} as differing,
                   {_key_text(model, "i")} as key_text, s.load_id as other_load, {_values_json(model, "i")} as raw
            from (select {ORDINAL} as ordinal, * from {STAGED} where _problems is null) as i
            join _stored_rows as s on s.ordinal = i.ordinal and {_keys_equal(model, "i", "s")}
        )
        select ordinal,
               case when len(differing) = 0 then 'duplicate' else 'conflict' end,
               differing[1],
               key_text || ' was already loaded (load ' || other_load || ') with a different '
                   || array_to_string(differing, ', '),
               raw, NULL
        from final
        """,
        {"base": base},
    )
    cur.execute("drop table _stored_matches")
    cur.execute("drop table _stored_rows")


def _within_file(cur: duckdb.DuckDBPyConnection, model: type[schema.InputKind], base: int) -> None:
    """Staged rows whose key came earlier in the file (and was not already stored: those are
    classified against the stored row), compared with that first row."""
    partition = ", ".join(quote_identifier(k) for k in model.key)
    cur.execute(
        f"""
        insert into _outcome
        with incoming as not materialized (
            select {ORDINAL} as ordinal, * from {STAGED} where _problems is null
        ),
        repeated as (select _key_hash from incoming group by _key_hash having count(*) > 1),
        candidates as (
            select *, min(ordinal) over (partition by {partition}) as first_ordinal
            from incoming
            where _key_hash in (select _key_hash from repeated)
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
        {"base": base},
    )


def reader_rejects(
    cur: duckdb.DuckDBPyConnection, rejects: str, model: type[schema.InputKind], header: Header, path: Path
) -> pd.DataFrame:
    """Records the reader refused (bad structure, or a value its typed columns cannot parse),
    one row each, with their physical line."""
    # Typed NumPy columns: an empty frame of untyped columns makes pandas set up its Arrow strings,
    # a tenth of a second of a daily load in a fresh process.
    empty = pd.DataFrame(
        {
            "line": np.empty(0, np.int64),
            **{name: np.empty(0, object) for name in ("column_name", "reason", "raw")},
        }
    )
    if not store.scalar(
        cur, "select count(*) from duckdb_tables() where table_name = ? and temporary", [f"{rejects}_errors"]
    ):
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


def classify(
    cur: duckdb.DuckDBPyConnection,
    model: type[schema.InputKind],
    header: Header,
    path: Path,
    scan: FileScan,
    load_id: int,
    rejects: str,
    reader: pd.DataFrame | None = None,
    line_of: Callable[[np.ndarray], np.ndarray] | None = None,
) -> LoadResult:
    """Account for every staged record and every record the reader refused, store the
    rejections and conflicts, then store the accepted rows: the only rows the table receives.

    reader gives the records the file's reader refused (else they are read from its rejects
    table, with the lines too long to read); line_of the line of each record by ordinal (else
    worked out from the file)."""
    staged, base = store.one(cur, f"select count(*), coalesce(min(rowid), 0) from {STAGED}")
    params = {"base": base}
    if reader is None:
        reader = _refused_by_reader(cur, rejects, model, header, path, scan)
    cur.execute(
        "create or replace temp table _outcome (ordinal BIGINT, outcome VARCHAR, column_name VARCHAR, "
        "reason VARCHAR, raw VARCHAR, other_ordinal BIGINT)"
    )
    cur.execute(
        f"insert into _outcome select {ORDINAL}, 'rejected', _column, _reason, _raw, NULL "
        f"from {STAGED} where _problems is not null",
        params,
    )
    if store.scalar(cur, f"select exists (select 1 from {model.kind})"):
        _against_stored(cur, model, base)
    _within_file(cur, model, base)
    if line_of is None:
        reader_lines = list(reader["line"])

        def line_of(ordinals: np.ndarray) -> np.ndarray:
            return record_lines(path, header, scan, ordinals, reader_lines, staged)

    _store_rejections(cur, load_id, line_of, reader)
    counts = dict(cur.execute("select outcome, count(*) from _outcome group by outcome").fetchall())
    accepted = _store_accepted(cur, model, load_id, base)
    cur.execute("drop table _outcome")
    if accepted + sum(counts.values()) != staged:
        raise RuntimeError(
            f"row accounting does not balance for {path.name}: {accepted} + {counts} <> {staged}"
        )
    return LoadResult(
        file=path.name,
        kind=model.kind,
        file_format=header.file_format,
        status="loaded",
        rows_read=int(staged) + len(reader),
        accepted=accepted,
        duplicate=int(counts.get("duplicate", 0)),
        conflict=int(counts.get("conflict", 0)),
        rejected=int(counts.get("rejected", 0)) + len(reader),
    )


def _refused_by_reader(
    cur: duckdb.DuckDBPyConnection,
    rejects: str,
    model: type[schema.InputKind],
    header: Header,
    path: Path,
    scan: FileScan,
) -> pd.DataFrame:
    """The records the reader refused, and the lines it passed over as too long without a trace."""
    reader = reader_rejects(cur, rejects, model, header, path)
    skipped = [(line, size) for line, size in scan.long_lines if line not in set(reader["line"])]
    if not skipped:
        return reader
    too_long = pd.DataFrame(
        {
            "line": [line for line, _ in skipped],
            "column_name": [None] * len(skipped),
            "reason": [f"line {READER_REASONS['LINE SIZE OVER MAXIMUM']}"] * len(skipped),
            "raw": [json.dumps({"bytes": size}) for _, size in skipped],
        }
    )
    return pd.concat([reader, too_long], ignore_index=True) if len(reader) else too_long


def _store_rejections(
    cur: duckdb.DuckDBPyConnection,
    load_id: int,
    line_of: Callable[[np.ndarray], np.ndarray],
    reader: pd.DataFrame,
) -> None:
    """Rejected and conflicting rows into rejected_rows with their lines (a repeat's reason names
    the line of the row it repeats); duplicates are only counted."""
    params = {"load_id": load_id}
    needed = cur.execute(
        "select ordinal from _outcome where outcome <> 'duplicate' "
        "union select other_ordinal from _outcome where outcome = 'conflict' and other_ordinal is not null"
    ).fetchnumpy()["ordinal"]
    ordinals = np.sort(np.asarray(needed, dtype=np.int64))
    cur.register("_line_map", pd.DataFrame({"ordinal": ordinals, "line": line_of(ordinals).astype(np.int64)}))
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


def _store_accepted(
    cur: duckdb.DuckDBPyConnection, model: type[schema.InputKind], load_id: int, base: int
) -> int:
    """The staged rows no outcome took, into the stored table; how many. In no particular order: a
    row's ordinal comes from the staging table, and an unordered insert writes on every thread
    (10M realistic events: 15.5 s to 9.8 s)."""
    with store.insertion_order(cur, preserved=False):
        return int(
            store.scalar(
                cur,
                f"""
                insert into {model.kind} by name
                select * exclude (_problems, _column, _reason, _raw), $load_id as load_id
                from {STAGED}
                where _problems is null and {ORDINAL} not in (select ordinal from _outcome)
                """,
                {"load_id": load_id, "base": base},
            )
        )
