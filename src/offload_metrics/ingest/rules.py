"""The contract's validation rules compiled to DuckDB SQL: each column's raw text, typed value and
checks, the row rules, the problem bitmask of a row and the reasons it was rejected.

The rules themselves are data (offload_metrics.rules, from the contract); this module is their
DuckDB form, used by the staging pass and by the reasons, so a rule is written once."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from offload_metrics import config, schema
from offload_metrics.ingest.base import sql_literal

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
    """A DOUBLE as BIGINT when it is a whole number that a DOUBLE holds exactly, else null. NaN is
    tested first: DuckDB holds NaN equal to itself and lets it through the bound, and its cast fails
    the whole statement (a Parquet DOUBLE column's NaN refused the file)."""
    return (
        f"(case when isfinite({number}) and {number} = trunc({number}) and abs({number}) < {EXACT_INTEGER_LIMIT} "
        f"then cast({number} as BIGINT) end)"
    )


# How integers and money are written in nearly every file: digits only (at most 15, which a DOUBLE
# holds exactly), and for money at most 10 whole digits and 1 to 8 decimals. A value written so is
# well formed and has no more places than money keeps, so the slower checks of its text run only
# for the other values (one expression match instead of five string searches and a CASE: on 10M
# realistic events the staging pass's checks took 6.66 s instead of 6.91 s, medians of three).
PLAIN_NUMBER_PATTERNS = {"integer": r"[0-9]{1,15}", "money": r"[0-9]{1,10}([.][0-9]{1,8})?"}


def _plainly_written(column: schema.Column, raw: str) -> str:
    return f"regexp_full_match({raw}, {sql_literal(PLAIN_NUMBER_PATTERNS[column.base])})"


def _well_formed(column: schema.Column, raw: str, value: str, typed: bool = False) -> str | None:
    """Form check for values DuckDB's casts accept too generously: 'epoch' as a timestamp,
    and digit separators (1_000) in a decimal or an integer, which must be written plainly. A
    `typed` column (a Parquet TIMESTAMP) holds instants already: its text is DuckDB's own."""
    if column.base == "money":
        return f"(strpos({raw}, '_') = 0)"
    if column.base == "integer":
        # A DOUBLE reads 1.0000000000000001 as 1: decimals are counted on the text.
        plain = f"(strpos({raw}, '.') = 0 and strpos({raw}, 'e') = 0 and strpos({raw}, 'E') = 0)"
        searched = f"(strpos({raw}, '_') = 0 and {_unless(plain, f'{decimal_places_sql(raw)} = 0')})"
        return _unless(_plainly_written(column, raw), searched)
    if column.base == "timestamp":
        # Starts with a digit (so not 'epoch' or 'infinity'); string comparison, no allocation. An
        # offset, where a sign follows the date, is one a clock can have (-14:00 to +14:00): DuckDB
        # reads +25:00 too, and moves the time by a day. Only values with a sign there are matched.
        # The pattern reads the last seven characters only: an offset is at most that long.
        starts = f"({raw} >= '0' and {raw} < ':')"
        if typed:
            return starts
        signed = f"(contains(substr({raw}, 11), '+') or contains(substr({raw}, 11), '-'))"
        offset = f"regexp_full_match(right(rtrim({raw}), 7), {sql_literal(OFFSET_PATTERN)})"
        return f"({starts} and {_unless(f'not {signed}', offset)})"
    return None


# The end of a timestamp with a UTC offset of -14:00 to +14:00 (+05, +0530, +05:30).
OFFSET_PATTERN = r"^.*[0-9][+-]((0[0-9]|1[0-3])(:?[0-5][0-9])?|14(:?00)?)$"


# A NUL byte is no character of text: DuckDB's CSV reader and JSON's \u0000 pass it into a value,
# where it would cut the text short in exports and other tools.
NUL_REASON = "holds a NUL byte (0x00), which is not text"


def column_checks(
    column: schema.Column, raw: str, value: str, bounds: config.Ingest, typed: bool = False
) -> tuple[tuple[str, str], ...]:
    checks: list[tuple[str, str]] = []
    if column.required:
        checks.append((f"{raw} is null", "is required"))
    if column.base == "text":
        checks.append((f"contains({raw}, chr(0))", NUL_REASON))
    if column.base in EXACT_LIMITS:
        checks.append(_too_many_digits(raw, value, column.base))
    if column.base != "text":
        form = _well_formed(column, raw, value, typed)
        broken = f"{value} is null" if form is None else f"({value} is null or not {form})"
        checks.append((f"{raw} is not null and {broken}", f"must be {schema.BASE_WORDS[column.base]}"))
    if column.base == "money":
        dot = f"strpos({raw}, '.')"
        few_places = (
            f"(strpos({raw}, 'e') = 0 and strpos({raw}, 'E') = 0 "
            f"and ({dot} = 0 or length({raw}) - {dot} <= {schema.MONEY_SCALE}))"
        )
        exact = f"{decimal_places_sql(raw)} <= {schema.MONEY_SCALE}"
        within = _unless(_plainly_written(column, raw), _unless(few_places, exact))
        checks.append(
            (
                f"{value} is not null and not {within}",
                f"has more than {schema.MONEY_SCALE} decimal places (money is stored exactly)",
            )
        )
    if column.allowed:
        checks.append(
            (f"{raw} is not null and {value} is null", f"must be one of {', '.join(column.allowed)}")
        )
    if column.base in ("date", "timestamp"):
        checks.append((_outside_bounds(column, value, bounds), bounds_reason(bounds)))
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
    if column.le is not None:
        checks.append(
            (f"{value} > {_number_literal(column.le)}", f"must be ≤ {schema.bound_text(column.le)}")
        )
    return tuple(checks)


# The largest magnitude each exact column stores without changing a digit: integers pass through
# a DOUBLE (whole up to 2^53), money is DECIMAL(18,8) (10 digits before the point).
EXACT_LIMITS = {"integer": EXACT_INTEGER_LIMIT, "money": 10 ** (18 - schema.MONEY_SCALE)}
# A plain number's whole digits, decimals and exponent, as written.
NUMBER_PARTS = r"^\s*[+-]?([0-9]*)\.?([0-9]*)(?:[eE]([+-]?[0-9]+))?\s*$"


def decimal_places_sql(raw: str) -> str:
    """SQL: the decimal places the number written as `raw` needs, counted on its text, so a value
    with more digits than any DECIMAL holds is never rounded before it is counted (1e2 needs 0,
    1.50 needs 1, 1.5e-30 needs 31); null when raw is not a plain number or its exponent is absurd."""
    parts = f"regexp_extract({raw}, {sql_literal(NUMBER_PARTS)}, ['whole', 'decimals', 'exponent'])"
    digits = "(p.whole || p.decimals)"
    exponent = "try_cast(coalesce(nullif(p.exponent, ''), '0') as BIGINT)"
    places = (
        f"case when ltrim({digits}, '0') = '' then 0 when {exponent} is null then NULL "
        f"else greatest(length(p.decimals) - {exponent} - (length({digits}) - length(rtrim({digits}, '0'))), 0) end"
    )
    return (
        f"(case when regexp_full_match({raw}, {sql_literal(NUMBER_PATTERN)}) "
        f"then list_transform([{parts}], lambda p: {places})[1] end)"
    )


def _unless(plain: str, counted: str) -> str:
    """SQL: true when the quick text test `plain` holds, else whether `counted` does (false when
    null). A CASE, not an OR: where DuckDB computes a value (not a filter), it evaluates every side
    of an OR or an AND for every row, and only a CASE's branches for the rows that take them.
    Counting decimal places on every row tripled the cost of staging a file; matching every
    timestamp against the offset pattern, not only those with a sign, cost a seventh of it."""
    return f"(case when {plain} then true else coalesce({counted}, false) end)"


def _too_many_digits(raw: str, value: str, base: str) -> tuple[str, str]:
    """A plain number too large to store exactly (1e400, 30 digits): named as such, not as a
    malformed value."""
    number = f"try_cast({raw} as DOUBLE)"
    # Only a value that did not parse is matched against the pattern (a CASE, as in _unless).
    return (
        f"(case when {raw} is not null and {value} is null then regexp_full_match({raw}, "
        f"{sql_literal(NUMBER_PATTERN)}) and abs({number}) >= {EXACT_LIMITS[base]} else false end)",
        too_many_digits_reason(base),
    )


def too_many_digits_reason(base: str) -> str:
    decimals = "." + "9" * schema.MONEY_SCALE if base == "money" else ""
    return f"has more digits than can be stored exactly (the largest is {EXACT_LIMITS[base] - 1:,}{decimals})"


def _outside_bounds(column: schema.Column, value: str, bounds: config.Ingest) -> str:
    """A date or UTC timestamp before min_date or after max_date (settings, validated dates)."""
    low, high = f"DATE '{bounds.min_date.isoformat()}'", f"DATE '{bounds.max_date.isoformat()}'"
    if column.base == "date":
        return f"({value} < {low} or {value} > {high})"
    return f"({value} < {low}::TIMESTAMP or {value} >= ({high} + INTERVAL 1 DAY)::TIMESTAMP)"


def bounds_reason(bounds: config.Ingest) -> str:
    return (
        f"must be between {bounds.min_date.isoformat()} and {bounds.max_date.isoformat()} "
        "(settings ingest.min_date and ingest.max_date)"
    )


def _number_literal(bound: float) -> str:
    """A bound as a literal that compares without casting every value (0, not 0.0)."""
    return str(int(bound)) if bound == int(bound) else repr(bound)


def column_sql_checks(
    column: schema.Column, raw: str, value: str, bounds: config.Ingest, undecodable: str | None = None
) -> ColumnSql:
    """A column's checks over already computed raw text and value (names or expressions), and
    whether its bytes are not text (undecodable_sql, computed beside them) where they can be."""
    checks = column_checks(column, raw, value, bounds)
    if undecodable is not None:
        checks = ((undecodable, NOT_TEXT), *checks)
    return ColumnSql(column, raw, value, checks)


NOT_TEXT = "not UTF-8 text"


def _decoded(source: str) -> str:
    """SQL: bytes as UTF-8 text, null where they are not UTF-8."""
    return f"try(decode({source}))"


def source_text_sql(source: str, native_type: str | None) -> str:
    """SQL: a source column as text. Bytes without a text annotation (a Parquet BLOB) are decoded as
    UTF-8 (cast to VARCHAR, Zürich would be 'Z\\xC3\\xBCrich'), or where they are not UTF-8 kept as
    their escaped text, which undecodable_sql's check rejects where the caller runs it (the contract's
    files do; the Langfuse importer keeps the escaped text)."""
    if native_type == "BLOB":
        return f"coalesce({_decoded(source)}, cast({source} as VARCHAR))"
    return f"cast({source} as VARCHAR)"


def undecodable_sql(source: str | None, native_type: str | None) -> str | None:
    """SQL: whether a Parquet value of bytes without a text annotation (BLOB) is not UTF-8 text;
    None for every other column, whose text DuckDB has already checked."""
    if source is None or native_type != "BLOB":
        return None
    return f"({source} is not null and {_decoded(source)} is null)"


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
        return ColumnSql(column, raw, value, column_checks(column, raw, value, bounds))
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
        if column.base == "integer":
            # The contract's limit holds in every format: a BIGINT above 2^53 is rejected as in CSV.
            value = f"(case when abs(try_cast({source} as HUGEINT)) < {EXACT_INTEGER_LIMIT} then {value} end)"
        if column.base == "text":
            raw = f"nullif({source}, '')"
            value = f"try_cast({raw} as {column.sql_type})" if column.allowed else raw
    elif native_type == "BLOB":
        # Parquet bytes without a text annotation: UTF-8 text is read as its characters; other
        # bytes reject their row (undecodable_sql).
        raw = f"nullif({source_text_sql(source, native_type)}, '')"
        return column_sql_checks(column, raw, _text_value(column, f"nullif({_decoded(source)}, '')"), bounds,
                                 undecodable_sql(source, native_type))  # fmt: skip
    else:
        text = f"cast({source} as VARCHAR)" if native_type else source
        raw = text if empty_is_null and column.base == "text" else f"nullif({text}, '')"
        value = _text_value(column, raw)
    return ColumnSql(column, raw, value, column_checks(column, raw, value, bounds, typed=native))


def row_rule_sql(rule: schema.RowRule, values: dict[str, str]) -> str:
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
        breach = row_rule_sql(rule, values)
        terms.append(f"(case when {breach} then {1 << bit}::UBIGINT else 0::UBIGINT end)")
        fine.append(f"not coalesce({breach}, false)")
    if not terms:
        return "0::UBIGINT"
    return f"(case when {' and '.join(fine)} then 0::UBIGINT else {' + '.join(terms)} end)"


def reasons_sql(
    model: type[schema.InputKind], specs: Sequence[ColumnSql], problems: str, record_text: str | None = None
) -> tuple[str, str, str]:
    """(first broken column, all reasons, raw values as JSON) of a row with problems.

    Over the same column expressions (specs) and bitmask (problems) the row was judged by, so
    each rule is compiled once and its reason worked out in the same pass, only for the rows that
    break one. record_text names the record's text where a record can be unreadable, hold a
    nested value or give a column twice (JSON Lines), else None."""
    first_column = []
    reasons = []
    for bit, spec in enumerate(specs):
        if not spec.checks:
            continue
        flag = f"({problems} & {1 << bit}::UBIGINT) <> 0"
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
        flag = f"({problems} & {1 << (len(specs) + offset)}::UBIGINT) <> 0"
        first_column.append(f"when {flag} then {sql_literal(rule.column)}")
        shown = ""
        if rule.show_value:
            shown = f" || coalesce(' (got ' || to_json(left({raw_of[rule.column]}, 80)) || ')', '')"
        reasons.append(f"case when {flag} then {sql_literal(rule.column + ': ' + rule.reason)}{shown} end")
    column = f"case {' '.join(first_column)} end" if first_column else "NULL::VARCHAR"
    reason = f"array_to_string(list_filter([{', '.join(reasons)}], lambda r: r is not null), '; ')"
    pairs = ", ".join(f"{sql_literal(spec.column.name)}, {spec.raw}" for spec in specs)
    raw = f"json_object({pairs})::VARCHAR"
    if record_text is None:
        return column, reason, raw
    # A record that is no JSON object, holds an object or array where a value belongs, or gives a
    # column twice: its reasons are read from its text.
    unreadable = f"({problems} & {UNREADABLE}) <> 0"
    nested = f"({problems} & {NESTED}) <> 0"

    def path(name: str) -> str:
        return sql_literal(json_path(name))

    def given(name: str) -> str:  # how many times the object gives the column
        return f"len(list_filter(json_keys({record_text}), lambda key: key = {sql_literal(name)}))"

    nested_column, nested_reason = _record_reasons(
        specs,
        lambda name: f"json_type({record_text}, {path(name)}) in ('OBJECT', 'ARRAY')",
        lambda name: (
            f"{sql_literal(name + ': must be a single value, not a JSON object or array (got ')} "
            f"|| left(json_extract({record_text}, {path(name)})::VARCHAR, 80) || ')'"
        ),
    )
    repeated = f"({problems} & {REPEATED}) <> 0"
    repeated_column, repeated_reason = _record_reasons(
        specs,
        lambda name: f"{given(name)} > 1",
        lambda name: repeated_key_reason(name, given(name)),
    )
    column = (
        f"case when {unreadable} then NULL when {nested} then {nested_column} "
        f"when {repeated} then {repeated_column} else {column} end"
    )
    reason = (
        f"case when {unreadable} then 'not a JSON object' when {nested} then {nested_reason} "
        f"when {repeated} then {repeated_reason} else {reason} end"
    )
    whole = f"{unreadable} or {nested} or {repeated}"
    raw = f"(case when {whole} then json_object('line', {record_text})::VARCHAR else {raw} end)"
    return column, reason, raw


def repeated_key_reason(name: str, times: str) -> str:
    """SQL text of the reason a JSON object that gives `name` `times` times (SQL) is rejected."""
    before, after = repeated_key_words(name)
    return f"{sql_literal(before)} || {times} || {sql_literal(after)}"


def repeated_key_words(name: str) -> tuple[str, str]:
    """The words before and after the count in the reason a JSON object that gives `name` more than
    once is rejected (DuckDB's ingest and the Spark rollup both word it so)."""
    return name + ": is given ", " times in the object, " + REPEATED_REASON


# Why a JSON object that gives a value twice is rejected (JSON leaves which one counts to the reader).
REPEATED_REASON = "so which value counts cannot be told"


def _record_reasons(
    specs: Sequence[ColumnSql], breaks: Callable[[str], str], reason_of: Callable[[str], str]
) -> tuple[str, str]:
    """(first column, all reasons) of a record judged on its text, column by column in contract order:
    `breaks` gives a column's condition, `reason_of` its reason as SQL text."""
    names = [spec.column.name for spec in specs]
    columns = ", ".join(f"case when {breaks(name)} then {sql_literal(name)} end" for name in names)
    reasons = ", ".join(f"case when {breaks(name)} then {reason_of(name)} end" for name in names)
    return (
        f"list_filter([{columns}], lambda c: c is not null)[1]",
        f"array_to_string(list_filter([{reasons}], lambda r: r is not null), '; ')",
    )


# Bit of _problems for a record that is not a record of the kind at all (a line that is not a
# JSON object); the row bits above it are then meaningless.
UNREADABLE_BIT = 63


UNREADABLE = f"{1 << UNREADABLE_BIT}::UBIGINT"


# Bit of _problems for a JSON object with a nested object or array in a contract column; its
# reasons are then read from the record's text, kept whole.
NESTED_BIT = 62


NESTED = f"{1 << NESTED_BIT}::UBIGINT"


# Bit of _problems for a JSON object that gives a contract column twice; its reasons are read from
# the record's text, kept whole.
REPEATED_BIT = 61


REPEATED = f"{1 << REPEATED_BIT}::UBIGINT"


# Wide exact types for integer and money text (the Spark rollup checks decimals with them; here
# decimals are counted on the text, see decimal_places_sql).
EXACT_JSON_TYPES = {"money": "DECIMAL(38,28)", "integer": "DECIMAL(38,22)"}


def json_path(name: str) -> str:
    return "$." + json.dumps(name)
