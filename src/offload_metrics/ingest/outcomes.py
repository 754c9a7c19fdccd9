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

from offload_metrics import config, schema
from offload_metrics.ingest.base import LoadResult, quote_identifier, sql_literal
from offload_metrics.ingest.lines import FileScan, lines_of_offsets, record_lines
from offload_metrics.ingest.rules import reasons_sql
from offload_metrics.ingest.sniff import MAX_LINE_BYTES, Header

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


def reader_rejects(
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


def classify(
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
        reader = reader_rejects(cur, rejects, model, header, path)
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
