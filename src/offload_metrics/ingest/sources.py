"""A file as SQL (its reader and where each contract column comes from), and the one pass that
stages every record of it with its problems and, only when it has some, its raw text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from offload_metrics import config, schema, store
from offload_metrics.ingest.base import quote_identifier, sql_literal
from offload_metrics.ingest.rules import (
    EXACT_LIMITS,
    NESTED,
    REPEATED,
    UNREADABLE,
    column_sql,
    column_sql_checks,
    json_path,
    problems_sql,
    reasons_sql,
    undecodable_sql,
)
from offload_metrics.ingest.sniff import MAX_LINE_BYTES, Header, jsonl_lines_reader


def _jsonl_number_text(name: str, decoded: str) -> str:
    """SQL: the digits of top-level key `name`'s number as written in `line`.

    A key opens after `{`, `,` or white space, where a quote inside a string cannot stand (it is
    escaped there), so only keys of objects match; of those, the ones whose number is the decoded
    value's. When they disagree (the same key in a nested object, written differently), the one at
    the object's top level is found by its depth (_top_level_number_text). When that fails too (the
    key written with escapes), the text says so and the row is rejected: a number is stored only
    from digits known to be its own."""
    pattern = sql_literal(f'[{{,\\s]"{re.escape(name)}"\\s*:\\s*(-?[0-9][0-9.eE+-]*)')
    found = (
        f"list_distinct(list_filter(regexp_extract_all(line, {pattern}, 1), "
        f"lambda c: try_cast(c as DOUBLE) = try_cast({decoded} as DOUBLE)))"
    )
    return (
        f"list_transform([{found}], lambda f: case when len(f) = 1 then f[1] else coalesce("
        f"list_transform([{_top_level_number_text(name)}], lambda t: case when len(f) > 1 and list_contains(f, t) "
        f"then t end)[1], {decoded} || ' (its digits cannot be told apart in the line)') end)[1]"
    )


def _top_level_number_text(name: str) -> str:
    """SQL: the number written after the key `name` at depth 1 of `line` (the record's own object),
    null unless exactly one. The key's occurrences (as _jsonl_number_text finds them) are marked,
    every string literal is emptied (so that a brace in a string does not count), and an
    occurrence's depth is the braces opened before it less those closed. A JSON line holds no raw
    control character, so U+0001 marks."""
    key = sql_literal(r'([{,\s])"' + re.escape(name) + '"')
    marked = f"regexp_replace(line, {key}, '\\1' || chr(1), 'g')"
    strings = sql_literal(r'"(?:[^"\\]|\\.)*"')
    pieces = f"string_split(regexp_replace({marked}, {strings}, '', 'g'), chr(1))"
    opened = "list_sum(list_transform(p[1:i], lambda t: length(t) - length(replace(t, '{', '')) - length(t) + length(replace(t, '}', ''))))"
    number = sql_literal(r"^\s*:\s*(-?[0-9][0-9.eE+-]*)")
    texts = (
        f"list_filter(list_transform(range(1, len(p)), lambda i: case when {opened} = 1 "
        f"then nullif(regexp_extract(p[i + 1], {number}, 1), '') end), lambda t: t is not null)"
    )
    return f"list_transform([{pieces}], lambda p: case when len({texts}) = 1 then {texts}[1] end)[1]"


@dataclass(frozen=True)
class Source:
    """A file as SQL: the FROM clause, and where each contract column comes from."""

    reader: str
    columns: dict[str, str]  # contract column -> expression over the reader
    native_types: dict[str, str]  # contract column -> Parquet type
    unreadable: str | None = None  # condition for a record that cannot be read at all
    record_text: str | None = None  # the record's text, kept for an unreadable record
    nested: str | None = None  # condition for a record with an object or array where a value belongs
    repeated: str | None = None  # condition for a record that gives a contract column twice
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
        paths = ", ".join(sql_literal(json_path(name)) for name in present)
        extract = f"json_extract_string(line, [{paths}])" if present else "[]::VARCHAR[]"
        types = f"json_type(line, [{paths}])" if present else "[]::VARCHAR[]"
        reader = (
            f"(select v, line, case when v is not null then {types} end as t, "
            "case when v is not null then json_keys(line) end as k "
            f"from (select case when json_valid(line) then case when json_type(line) = 'OBJECT' "
            f"then {extract} end end as v, line "
            f"from {jsonl_lines_reader(rejects)} "
            "where line is not null and trim(line, ' \t\r') <> ''))"
        )
        selected: dict[str, str] = {}
        for index, name in enumerate(present):
            text = f"v[{index + 1}]"
            if next(c for c in contract if c.name == name).base in EXACT_LIMITS:
                # DuckDB reads a JSON number with a fraction or exponent as a DOUBLE, whose text has
                # lost digits: integer and money values are read from the line as written.
                text = f"(case when t[{index + 1}] = 'DOUBLE' then {_jsonl_number_text(name, text)} else {text} end)"
            selected[name] = text
        nested = "list_has_any(t, ['OBJECT', 'ARRAY'])" if present else "false"
        # A contract key written twice in one object: JSON's own rules leave which value counts to
        # the reader, so the record is rejected rather than stored with one of them. An object with
        # the file's keys in the file's order (most of them) repeats none, and is told so cheaply.
        usual = ", ".join(sql_literal(name) for name in header.names)
        names = ", ".join(sql_literal(name) for name in present)
        ours = f"list_filter(k, lambda key: key in [{names}])"
        repeated = (
            f"case when k = [{usual}] then false else len({ours}) <> list_unique({ours}) end"
            if present
            else "false"
        )
        return Source(
            reader, selected, {}, unreadable="v is null", record_text="line", nested=nested, repeated=repeated
        )
    native = dict(zip(header.names, header.native_types, strict=True))
    return Source(
        "read_parquet($path, file_row_number = true)",
        {name: quote_identifier(name) for name in present},
        {name: native[name] for name in present},
        ordinal="file_row_number",
    )


# The staging table a load's records go to first; the stored tables receive only accepted rows.
STAGED = "_staged"


def stage_sql(
    model: type[schema.InputKind],
    header: Header,
    rejects: str,
    bounds: config.Ingest | None = None,
    source: Source | None = None,
    carried: Sequence[str] = (),
) -> str:
    """One pass over the file (or over the given source): every record into the staging table,
    typed, with its key hash (store.key_hash_sql), the bitmask of the rules it breaks and, only when
    it breaks one, the first broken column, the reasons and its raw values.

    The innermost select parses each column once (raw text r<i>, value under the column's name);
    the checks and the reasons then refer to those names, so no value is parsed twice and each
    rule is compiled once. source replaces the file's own (a telemetry importer's staged events);
    carried names columns of the source stored as they are, beside the contract (a telemetry
    event's estimated cost and trace).
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
        undecodable = undecodable_sql(source.columns.get(column.name), source.native_types.get(column.name))
        if undecodable is not None:
            parsed.append(f"{undecodable} as u{index}")
        checked.append(column_sql_checks(column, f"r{index}", name, bounds, undecodable and f"u{index}"))
    problems = problems_sql(model, checked)
    parsed.append(f"{source.ordinal} as _ordinal")
    parsed += [quote_identifier(name) for name in carried]
    record_text = None
    if source.unreadable:
        parsed.append(f"{source.unreadable} as unreadable, {source.record_text} as record_text")
        parsed.append(f"coalesce({source.nested or 'false'}, false) as nested")
        parsed.append(f"coalesce({source.repeated or 'false'}, false) as repeated")
        problems = (
            f"(case when unreadable then {UNREADABLE} when nested then {NESTED} "
            f"when repeated then {REPEATED} else {problems} end)"
        )
        record_text = "record_text"
    first_column, reason, raw = reasons_sql(model, checked, "problems", record_text)
    stored = []
    for column in contract:
        name = quote_identifier(column.name)
        if column.default is not None:
            stored.append(f"coalesce({name}, cast({sql_literal(str(column.default))} as {column.sql_type}))")
        else:
            stored.append(name)
    stored += [quote_identifier(name) for name in carried]
    names = [quote_identifier(c.name) for c in contract] + [quote_identifier(n) for n in carried]
    # The reasons are worked out only for rows with problems: CASE evaluates its branches selectively.
    return f"""
        create or replace temp table {STAGED} as
        select *, {store.key_hash_sql(model)} as _key_hash
        from (
        select {", ".join(f"{value} as {name}" for value, name in zip(stored, names, strict=True))},
               _ordinal, nullif(problems, 0) as _problems, _column, _reason, _raw
        from (
            select *,
                   case when problems <> 0 then {first_column} end as _column,
                   case when problems <> 0 then {reason} end as _reason,
                   case when problems <> 0 then {raw} end as _raw
            from (
                select *, {problems} as problems
                from (select {", ".join(parsed)} from {source.reader})
            )
        )
        )
    """
