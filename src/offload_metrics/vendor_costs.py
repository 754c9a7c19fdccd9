"""Vendor reports: OpenAI and Anthropic cost pages read into the vendor_costs contract, their usage
pages into vendor_usage, and the organisation mapping put beside every row of both.

Two hooks of ingest.load_file, so that vendor files go through the same lossless pipeline as every
other kind (checks, duplicates, conflicts, rejects, load history):

- read_report(text): a vendor's JSON cost or usage pages as a relation of the contract's columns in
  text, with the line where each result starts (ingest calls it when looks_like_report says so);
- mapped_source(cur, source, params, mapping): the source of a vendor_costs or vendor_usage load
  (a report, or a plain CSV, Parquet or JSON Lines file of the kind) with the function, business
  unit and team the organisation mapping gives each row's account. A row no rule maps breaks the
  kind's row rule and is rejected with its account named; the reconciliation shows a cost row's
  amount as unassigned.

Amounts: Anthropic writes a decimal string in cents ("123.45" is $1.2345), converted by moving the
decimal point; OpenAI writes a JSON number, read from its text (never through a float). Both are
rounded half-even to the store's 8 decimal places of a dollar (a millionth of a cent) where the
vendor writes more.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import json
import math
import re
import typing
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd

from offload_metrics import config, schema
from offload_metrics.mapping import Mapping

if TYPE_CHECKING:  # the ingest package imports this module
    from offload_metrics.ingest.sources import Source

KIND = schema.VendorCost.kind
USAGE_KIND = schema.VendorUsage.kind
MAPPED_KINDS = (KIND, USAGE_KIND)
# Where each vendor's account is found, as the organisation mapping names it.
ACCOUNT_SOURCES = {"openai": "openai.project_id", "anthropic": "anthropic.workspace_id"}
OTHER_ACCOUNT_SOURCE = "vendor.account"
# Anthropic reports its default workspace with a null workspace_id.
ANTHROPIC_DEFAULT_WORKSPACE = "default"
REPORT_COLUMNS = {
    KIND: ("day", "vendor", "account", "line_item", "model", "amount_usd", "currency"),
    USAGE_KIND: (
        "day", "vendor", "account", "model", "line_item", "input_tokens", "cached_input_tokens", "output_tokens",
        "requests",
    ),
}  # fmt: skip
# A result with one of these keys is a usage report's (tokens), else a cost report's (amounts).
TOKEN_MARKERS = {"input_tokens", "uncached_input_tokens", "output_tokens"}
MAPPED_COLUMNS = ("function", "business_unit", "team")
CENT = Decimal(1).scaleb(-schema.MONEY_SCALE)
# The smallest amount money's DECIMAL(18,8) cannot hold.
MONEY_LIMIT = Decimal(10) ** (18 - schema.MONEY_SCALE)
HEAD_BYTES = 65536
READ_TABLE = "_vendor_read"
MAPPED_TABLE = "_vendor_mapped"
REPORT_VIEW = "_vendor_report"


class ReportError(ValueError):
    """A file that looks like a vendor report but cannot be read as one."""


@dataclass(frozen=True)
class Report:
    """A vendor report's results as text columns of the contract, one row per result."""

    report_format: str  # openai_costs | anthropic_costs | openai_usage | anthropic_usage
    rows: pd.DataFrame  # the kind's REPORT_COLUMNS as text, and _ordinal
    lines: np.ndarray  # the physical line each result starts on

    @property
    def kind(self) -> str:
        return USAGE_KIND if self.report_format.endswith("_usage") else KIND

    @property
    def names(self) -> tuple[str, ...]:
        return REPORT_COLUMNS[self.kind]


def looks_like_report(head: bytes) -> bool:
    """Whether the start of a (decompressed) file is a vendor's JSON cost or usage page: a page (or
    an array of pages, or one a line) whose "data" list holds time buckets, each an object with a
    "results" list and its start ("start_time", "starting_at"); or, so that a damaged page is told
    what is wrong with it, a page with a "data" key where those words appear. The words alone are not
    enough: a usage event or a Langfuse observation may hold them in a value of its own."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").decode("utf-8", "replace")
    if text[:1] not in ("{", "["):
        return False
    stack: list[tuple[str, str | None]] = []  # per open container: "{" or "[", and the key it opened under
    key = None
    bucket: set[str] = set()  # what the time bucket being read has shown
    page_with_data = False
    for match in _TOKENS.finditer(text):
        token = match.group(0)
        in_bucket = _in_bucket(stack)
        if token[0] == '"':
            if match.group(2):
                key = match.group(1)
                bucket |= {key} & START_KEYS if in_bucket else set()
                page_with_data = page_with_data or (key == "data" and _at_page(stack))
            continue
        if token in "{[":
            if in_bucket and token == "[" and key == "results":
                bucket.add("results")
            stack.append((token, key if stack and stack[-1][0] == "{" else None))
            key = None
            if _in_bucket(stack):
                bucket = set()
        elif stack:
            stack.pop()
        if "results" in bucket and bucket & START_KEYS:
            return True
    return page_with_data and '"results"' in text and any(f'"{start}"' in text for start in START_KEYS)


def _at_page(stack: list[tuple[str, str | None]]) -> bool:
    """Whether the innermost open container is a page: a top-level object, or one in a top-level array."""
    return (
        bool(stack) and stack[-1][0] == "{" and (len(stack) == 1 or (len(stack) == 2 and stack[0][0] == "["))
    )


def _in_bucket(stack: list[tuple[str, str | None]]) -> bool:
    """Whether the innermost open container is a time bucket: an object in a page's "data" list."""
    return len(stack) >= 3 and stack[-1][0] == "{" and stack[-2] == ("[", "data") and _at_page(stack[:-2])


# The key of a time bucket's start, in OpenAI's pages and in Anthropic's.
START_KEYS = frozenset({"start_time", "starting_at"})


def read_report(text: str) -> Report:
    """The results of a vendor's cost pages: one page, a JSON array of pages, or one page a line."""
    pages_with_offsets = _pages(text)
    records: list[dict[str, str | None]] = []
    offsets: list[int] = []
    formats: set[str] = set()
    vendors: set[str] = set()
    for start, page in pages_with_offsets:
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            raise ReportError("a page must be a JSON object with a data list of time buckets")
        found = _result_offsets(text, start)
        results = 0
        for position, bucket in enumerate(page["data"]):
            if not isinstance(bucket, dict) or not isinstance(bucket.get("results"), list):
                raise ReportError(f"data[{position}] is not a time bucket with a results list")
            vendor = "anthropic" if "starting_at" in bucket else "openai"
            vendors.add(vendor)
            for result in bucket["results"]:
                fields = _object(result)
                report_format = f"{vendor}_{'usage' if TOKEN_MARKERS & set(fields) else 'costs'}"
                formats.add(report_format)
                records.append(READERS[report_format](bucket, fields))
            results += len(bucket["results"])
        # Each result's line, when the scan found them all (else the page's first line).
        offsets += found if len(found) == results else [start] * results
    if len(vendors) > 1:
        raise ReportError("mixes OpenAI and Anthropic pages; load each vendor's pages as its own file")
    if len(formats) > 1:
        raise ReportError(
            "mixes cost and usage results; load the cost report and the usage report as two files"
        )
    report_format = formats.pop() if formats else "openai_costs"
    columns = REPORT_COLUMNS[USAGE_KIND if report_format.endswith("_usage") else KIND]
    frame = pd.DataFrame(records, columns=list(columns), dtype=object)
    frame["_ordinal"] = np.arange(len(frame), dtype=np.int64)
    newlines = [match.start() for match in re.finditer("\n", text)]
    lines = np.asarray([bisect.bisect_left(newlines, offset) + 1 for offset in offsets], dtype=np.int64)
    return Report(report_format, frame, lines)


class _RepeatedKey(ValueError):
    """A JSON object gives a key more than once."""


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    found = dict(pairs)
    if len(found) < len(pairs):
        from offload_metrics.ingest.base import repeated  # the ingest package imports this module

        raise _RepeatedKey(", ".join(json.dumps(key) for key in repeated([key for key, _ in pairs])))
    return found


def _json(text: str) -> object:
    """A page's JSON: numbers exact, and an object that gives a key twice refused (an amount's
    "value" given twice: which one is the cost cannot be told, so none is taken)."""
    return json.loads(text, parse_float=Decimal, parse_int=_integer, object_pairs_hook=_unique_keys)


def _repeated(error: _RepeatedKey, where: str = "") -> ReportError:
    from offload_metrics.ingest.rules import REPEATED_REASON  # the ingest package imports this module

    return ReportError(f"{where}an object gives the key {error} more than once, {REPEATED_REASON}")


def _pages(text: str) -> list[tuple[int, object]]:
    """(offset, page) of each page: the whole text as one page or an array of them, else one a line."""
    try:
        whole = _json(text)
    except _RepeatedKey as error:
        raise _repeated(error) from None
    except json.JSONDecodeError as error:
        if "Extra data" not in error.msg:
            raise ReportError(
                f"not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
            ) from None
        pages = []
        offset = 0
        # Split on line feeds only: JSON text may hold other line separators (U+2028) inside strings.
        for number, line in enumerate(text.split("\n"), start=1):
            if line.strip():
                try:
                    pages.append((offset, _json(line)))
                except _RepeatedKey as line_error:
                    raise _repeated(line_error, f"line {number}: ") from None
                except json.JSONDecodeError as line_error:
                    raise ReportError(
                        f"line {number} is not a JSON page (column {line_error.colno}: {line_error.msg})"
                    ) from None
            offset += len(line) + 1
        return pages
    if isinstance(whole, list):
        starts = _top_level_objects(text)
        return list(zip(starts if len(starts) == len(whole) else [0] * len(whole), whole, strict=True))
    return [(0, whole)]


_TOKENS = re.compile(r'"((?:[^"\\]|\\.)*)"(\s*:)?|[\[\]{}]')


def _result_offsets(text: str, start: int) -> list[int]:
    """Offsets of the objects inside a "results" array of the page starting at start."""
    offsets = []
    stack: list[str | None] = []  # per open container: the key an array opened under, None for objects
    key = None
    for match in _TOKENS.finditer(text, start):
        token = match.group(0)
        if token[0] == '"':
            key = match.group(1) if match.group(2) else key
            continue
        if token in "{[":
            if token == "{" and stack and stack[-1] == "results":
                offsets.append(match.start())
            stack.append(key if token == "[" else None)
            key = None
        else:
            stack.pop()
            if not stack:
                break
    return offsets


def _top_level_objects(text: str) -> list[int]:
    """Offsets of the objects directly inside a top-level JSON array."""
    offsets, depth = [], 0
    for match in _TOKENS.finditer(text):
        token = match.group(0)
        if token[0] == '"':
            continue
        if token in "{[":
            if token == "{" and depth == 1:
                offsets.append(match.start())
            depth += 1
        else:
            depth -= 1
    return offsets


def _text(value: object) -> str | None:
    """A JSON value as the text the pipeline checks (None for null; numbers exactly as written)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def _integer(digits: str) -> int | Decimal:
    """A JSON integer: an int, or beyond Python's 4,300-digit limit for int() a Decimal, which the
    contract then rejects as too large (instead of the whole file failing to parse)."""
    return int(digits) if len(digits) < 4000 else Decimal(digits)


# A plain number as the contract writes one; Python's Decimal would also read "1_000" and " 1 ".
PLAIN_NUMBER = re.compile(r"[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?")


def _dollars(value: object, cents: bool) -> str | None:
    """An amount as exact dollars with at most 8 decimal places; text that is not a plain number, or
    an amount beyond what money holds, is handed on as it is, for the pipeline to reject with its
    reason."""
    if value is None or isinstance(value, bool):
        return _text(value)
    written = _text(value) or ""
    if not PLAIN_NUMBER.fullmatch(written.strip()):
        return written
    amount = Decimal(written.strip())
    if cents:
        amount = amount.scaleb(-2)
    if abs(amount) >= MONEY_LIMIT:
        return format(amount, "f")
    exponent = amount.as_tuple().exponent  # a plain number: the amount is finite
    if isinstance(exponent, int) and exponent < -schema.MONEY_SCALE:
        amount = amount.quantize(CENT, rounding=ROUND_HALF_EVEN)
    return format(amount, "f")


def _utc_day_of_seconds(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(value, dt.UTC).date().isoformat()
        except (OverflowError, OSError, ValueError):
            pass
    return _text(value)


def _utc_day_of_rfc3339(value: object) -> str | None:
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC)
        return moment.date().isoformat()
    return _text(value)


def _currency(value: object) -> str | None:
    # OpenAI writes "usd", Anthropic "USD".
    return value.upper() if isinstance(value, str) else _text(value)


def _object(value: object) -> dict:
    """A JSON object as it is; anything else (a part of a report missing or malformed) as an empty one,
    whose fields then read as absent and are rejected with their reasons."""
    return value if isinstance(value, dict) else {}


def _openai_cost(bucket: dict, result: dict) -> dict[str, str | None]:
    amount = _object(result.get("amount"))
    return {
        "day": _utc_day_of_seconds(bucket.get("start_time")),
        "vendor": "openai",
        "account": _text(result.get("project_id")),
        "line_item": _text(result.get("line_item")),
        "model": None,
        "amount_usd": _dollars(amount.get("value"), cents=False),
        "currency": _currency(amount.get("currency")),
    }


def _anthropic_cost(bucket: dict, result: dict) -> dict[str, str | None]:
    parts = [result.get(key) for key in ("cost_type", "token_type", "context_window", "service_tier")]
    line_item = result.get("description") or "; ".join(str(part) for part in parts if part) or None
    return {
        "day": _utc_day_of_rfc3339(bucket.get("starting_at")),
        "vendor": "anthropic",
        "account": _text(result.get("workspace_id")) or ANTHROPIC_DEFAULT_WORKSPACE,
        "line_item": _text(line_item),
        "model": _text(result.get("model")),
        "amount_usd": _dollars(result.get("amount"), cents=True),
        "currency": _currency(result.get("currency")),
    }


def ingest_settings(settings: config.Settings, mapping: Mapping) -> str:
    """What, besides the file, decides a vendor cost load's rows (recorded with the load): the
    ingest settings and the mapping."""
    return settings.ingest.fingerprint(mapping_sha256=mapping.fingerprint)


def _count(*values: object) -> str | None:
    """The sum of token counts as text, each part a whole number as the contract writes one (100,
    100.0, "100"); else the parts as written joined with " + ", for the pipeline to reject with its
    reason (one odd part never drops the others from the sum)."""
    present = [value for value in values if value is not None]
    if not present:
        return None
    whole = [_whole(value) for value in present]
    if all(part is not None for part in whole):
        return str(sum(typing.cast(list[int], whole)))
    return " + ".join(_text(value) or "" for value in present)


def _whole(value: object) -> int | None:
    """A token count part as an int, when it is a whole number below 2^53 written as a JSON number or
    as text the contract reads as one (100, 100.0, 1e2); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and PLAIN_NUMBER.fullmatch(value.strip()):
        value = Decimal(value.strip())
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and abs(value) < 2**53 and value.is_integer() else None
    if isinstance(value, Decimal):
        return (
            int(value)
            if value.is_finite() and abs(value) < 2**53 and value == value.to_integral_value()
            else None
        )
    return None


def _grouping(result: dict, keys: tuple[str, ...]) -> str | None:
    """The grouping values a usage result carries besides account and model, as one line item."""
    parts = [f"{key}={_text(result[key])}" for key in keys if result.get(key) not in (None, "")]
    return "; ".join(parts) or None


def _openai_usage(bucket: dict, result: dict) -> dict[str, str | None]:
    return {
        "day": _utc_day_of_seconds(bucket.get("start_time")),
        "vendor": "openai",
        "account": _text(result.get("project_id")),
        "model": _text(result.get("model")),
        "line_item": _grouping(result, ("api_key_id", "user_id", "batch", "service_tier")),
        # OpenAI's input_tokens already include the cached ones.
        "input_tokens": _count(result.get("input_tokens")),
        "cached_input_tokens": _count(result.get("input_cached_tokens")),
        "output_tokens": _count(result.get("output_tokens")),
        "requests": _count(result.get("num_model_requests")),
    }


def _anthropic_usage(bucket: dict, result: dict) -> dict[str, str | None]:
    creation = _object(result.get("cache_creation"))
    return {
        "day": _utc_day_of_rfc3339(bucket.get("starting_at")),
        "vendor": "anthropic",
        "account": _text(result.get("workspace_id")) or ANTHROPIC_DEFAULT_WORKSPACE,
        "model": _text(result.get("model")),
        "line_item": _grouping(result, ("api_key_id", "service_tier", "context_window", "inference_geo")),
        # All input: uncached, read from the cache and written to it.
        "input_tokens": _count(
            result.get("uncached_input_tokens"),
            result.get("cache_read_input_tokens"),
            creation.get("ephemeral_1h_input_tokens"),
            creation.get("ephemeral_5m_input_tokens"),
        ),
        "cached_input_tokens": _count(result.get("cache_read_input_tokens")),
        "output_tokens": _count(result.get("output_tokens")),
        "requests": None,
    }


READERS = {
    "openai_costs": _openai_cost,
    "anthropic_costs": _anthropic_cost,
    "openai_usage": _openai_usage,
    "anthropic_usage": _anthropic_usage,
}


def report_source(report: Report, cur: duckdb.DuckDBPyConnection) -> Source:
    """The report's rows as a pipeline source (registered on cur; text columns, known ordinals)."""
    from offload_metrics import ingest

    cur.register(REPORT_VIEW, report.rows)
    return ingest.Source(
        reader=REPORT_VIEW,
        columns={name: ingest.quote_identifier(name) for name in report.names},
        native_types={},
        ordinal="_ordinal",
    )


def mapped_source(
    cur: duckdb.DuckDBPyConnection, source: Source, params: dict[str, object], mapping: Mapping
) -> Source:
    """The source with each row's function, business unit and team from the organisation mapping.

    The file is read once into a temporary table (with its position in the file), the mapping
    matches each row's account under the source its vendor names, and the load reads both.
    """
    from offload_metrics import ingest

    ordinal = source.ordinal if source.ordinal != "NULL::BIGINT" else "row_number() over () - 1"
    read = f"create or replace temp table {READ_TABLE} as select {ordinal} as _row_id, * from {source.reader}"
    cur.execute(read, {key: value for key, value in params.items() if f"${key}" in read})
    vendor = _raw_text(source, "vendor")
    account = _raw_text(source, "account")
    cases = " ".join(
        f"when {ingest.sql_literal(name)} then {ingest.sql_literal(where)}"
        for name, where in ACCOUNT_SOURCES.items()
    )
    mapping.register(cur, (*ACCOUNT_SOURCES.values(), OTHER_ACCOUNT_SOURCE))
    candidates = (
        f"(select _row_id as row_id, case lower({vendor}) {cases} else {ingest.sql_literal(OTHER_ACCOUNT_SOURCE)} "
        f"end as source, {account} as value from {READ_TABLE})"
    )
    rows = f"(select _row_id as row_id from {READ_TABLE})"
    cur.execute(f"create or replace temp table {MAPPED_TABLE} as {mapping.match_sql(rows, candidates)}")
    mapped = ", ".join(f"m.{name} as _mapped_{name}" for name in MAPPED_COLUMNS)
    reader = (
        f"(select r.*, {mapped} from {READ_TABLE} as r left join {MAPPED_TABLE} as m on m.row_id = r._row_id)"
    )
    columns = {**source.columns, **{name: f"_mapped_{name}" for name in MAPPED_COLUMNS}}
    native = {name: kind for name, kind in source.native_types.items() if name not in MAPPED_COLUMNS}
    return ingest.Source(
        reader=reader,
        columns=columns,
        native_types=native,
        unreadable=source.unreadable,
        record_text=source.record_text,
        ordinal="_row_id",
        empty_is_null=source.empty_is_null,
    )


def _raw_text(source: Source, name: str) -> str:
    """A column's text in the source, empty as null (the account the mapping sees), read as the
    staged column is (a Parquet column of plain bytes decoded as UTF-8)."""
    from offload_metrics.ingest.rules import source_text_sql  # the ingest package imports this module

    expression = source.columns.get(name)
    if expression is None:
        return "NULL::VARCHAR"
    return f"nullif({source_text_sql(expression, source.native_types.get(name))}, '')"


def drop_temporaries(cur: duckdb.DuckDBPyConnection) -> None:
    for table in (READ_TABLE, MAPPED_TABLE):
        cur.execute(f"drop table if exists {table}")
    with contextlib.suppress(duckdb.Error):
        cur.unregister(REPORT_VIEW)
