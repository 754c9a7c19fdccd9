"""Agent telemetry as input kinds: OpenTelemetry GenAI spans and Langfuse exports.

An importer (otlp.py, langfuse.py) reads its file set-based in DuckDB into two temporary tables:
``_tele_runs``, one row per agent run (an ``invoke_agent`` span, an AGENT observation or a trace)
with the usage event's columns as text, and ``_tele_candidates``, the organisation mapping's
candidate values of each run. ``finish`` applies the mapping and leaves ``_tele_events`` (runs
that became events, contract-shaped, for the ingest pipeline's checks, deduplication and rollup)
and ``_tele_rejects`` (records that made no event, each with its record number and reason).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import ClassVar, Literal

import duckdb
from pydantic import Field

from offload_metrics import config, kinds, schema, store
from offload_metrics.mapping import Mapping

# Input kinds read from telemetry rather than from the five-file contract: each makes usage events
# (or reviews of them) through the organisation mapping.
KINDS = {
    "otlp_traces": "OpenTelemetry traces (OTLP JSON, as the Collector's file exporter writes them)",
    "langfuse_observations": "Langfuse observations export",
    "langfuse_scores": "Langfuse scores export",
}
kinds.check(tuple(KINDS), kinds.TELEMETRY, "telemetry.KINDS")
RECORD_WORDS = {"otlp_traces": "spans", "langfuse_observations": "observations", "langfuse_scores": "scores"}
# Columns that identify a Langfuse export (snake_case, as its blob storage and UI exports write them).
LANGFUSE_COLUMNS = {
    "langfuse_observations": {"id", "trace_id", "type", "start_time"},
    "langfuse_scores": {"id", "trace_id", "name", "data_type"},
}
OTLP_START = re.compile(rb'^(\xef\xbb\xbf)?\s*\{\s*"resourceSpans"\s*:')

# The usage event columns an importer fills in _tele_runs, all as text: the contract's checks then
# run on them exactly as on a CSV file (a token count of "12.5" is rejected, never rounded).
RUN_COLUMNS = (
    "event_id",
    "occurred_at",
    "agent_id",
    "task_type",
    "status",
    "review",
    "api_calls",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "latency_ms",
)
REVIEW_LABELS = {"correct": "correct", "pass": "correct", "passed": "correct", "incorrect": "incorrect",
                 "fail": "incorrect", "failed": "incorrect"}  # fmt: skip


# A Collector batch or an exported record is one line; lines of many megabytes are normal.
MAX_LINE_BYTES = 1 << 26


class TelemetryError(ValueError):
    """A telemetry file that cannot be loaded as asked (the message says why)."""


class Review(schema.InputKind):
    """A review that arrives apart from its event: a Langfuse score of the configured name."""

    kind: ClassVar[str] = "reviews"
    key: ClassVar[tuple[str, ...]] = ("review_id",)
    title: ClassVar[str] = "Reviews"
    example: ClassVar[dict[str, str]] = {
        "review_id": "score-1",
        "event_id": "obs-1",
        "trace_id": "trace-1",
        "review": "correct",
        "name": "correctness",
        "reviewed_at": "2025-03-04 09:20:00",
    }

    review_id: schema.Text = Field(description="The score's id (the dedup key).")
    event_id: schema.Text | None = Field(None, description="The observation the score names, if any.")
    trace_id: schema.Text = Field(description="The trace the score belongs to.")
    review: Literal["correct", "incorrect"] = Field(description="The score read as a review.")
    name: schema.Text = Field(description="The score's name.")
    reviewed_at: dt.datetime = Field(description="When the score was given (UTC).")


@dataclass
class Staged:
    """What an importer read: records, the events they made, the records it rejected."""

    records_read: int
    events: int
    rejected: int
    outside: int  # records read that belong to no agent run (spans outside any invoke_agent span)
    record_format: str  # how a record number maps to a line: jsonl, csv, parquet or document
    records_in_file: int  # records the reader returned, for line numbers


def detect_kind(names: list[str] | tuple[str, ...]) -> str | None:
    """The Langfuse export kind whose identifying columns all appear in names, else None."""
    present = set(names)
    matches = [kind for kind, needed in LANGFUSE_COLUMNS.items() if needed <= present]
    return matches[0] if len(matches) == 1 else None


def is_otlp(head: bytes) -> bool:
    """Whether a file's first bytes are an OTLP JSON traces object (JSON Lines or one document)."""
    return bool(OTLP_START.match(head))


def ingest_settings(settings: config.Settings, mapping: Mapping) -> str:
    """What, besides the file, decides the events a telemetry load makes (recorded with the load)."""
    return settings.ingest.fingerprint(
        mapping_sha256=mapping.fingerprint, telemetry=settings.telemetry.model_dump(mode="json")
    )


def review_sql(label: str, value: str) -> str:
    """correct / incorrect from an evaluation's label (correct/incorrect, pass/fail) or its score
    against $review_threshold; null when neither says. A score that is no finite number (NaN, as
    protobuf JSON writes a double that is none, or Infinity) says nothing: DuckDB orders NaN above
    every number, so it would otherwise count as correct."""
    whens = " ".join(f"when '{text}' then '{review}'" for text, review in REVIEW_LABELS.items())
    return (
        f"coalesce(case lower(trim({label})) {whens} end, "
        f"case when not isfinite({value}) then NULL when {value} >= $review_threshold then 'correct' "
        f"when {value} < $review_threshold then 'incorrect' end)"
    )


def register_prices(cur: duckdb.DuckDBPyConnection, settings: config.Settings) -> None:
    """The price table as a temporary table: model, USD per million input and output tokens."""
    cur.execute(
        "create or replace temp table _tele_prices (model VARCHAR, input_usd DECIMAL(18,8), output_usd DECIMAL(18,8))"
    )
    prices = settings.telemetry.prices
    if prices:
        cur.executemany(
            "insert into _tele_prices values (?, ?, ?)",
            [[model, pair[0], pair[1]] for model, pair in prices.items()],
        )


def estimate_sql(input_tokens: str, output_tokens: str, alias: str) -> str:
    """Estimated USD of tokens at a price row (alias), exact to 8 places; null when not priced."""
    return (
        f"cast(round(({input_tokens} * {alias}.input_usd + {output_tokens} * {alias}.output_usd) "
        f"* 0.000001::DECIMAL(7,6), 8) as DECIMAL(18,8))"
    )


def child_usage_sql(is_model_call: str) -> str:
    """Select items over a run's units `u` joined to their price row `p`: the tokens and cost its
    model calls (those where the boolean column `is_model_call` holds) add up to, the first value
    that was not a number, and how much of the cost was estimated from prices."""
    when = f"u.{is_model_call}"
    estimate = estimate_sql("input_n", "output_n", "p")
    return f"""
                sum(u.input_n) filter (where {when}) as input_sum,
                max(u.input_raw) filter (where {when} and u.input_raw is not null and u.input_n is null) as input_bad,
                sum(u.output_n) filter (where {when}) as output_sum,
                max(u.output_raw) filter (where {when} and u.output_raw is not null and u.output_n is null) as output_bad,
                count(u.cost_raw) filter (where {when}) as with_cost,
                max(u.cost_raw) filter (where {when} and u.cost_raw is not null and u.cost_n is null) as cost_bad,
                sum(coalesce(u.cost_n, {estimate})) filter (where {when}) as cost_sum,
                coalesce(sum({estimate}) filter (where {when} and u.cost_raw is null), 0) as estimated"""


def count_sql(text: str) -> str:
    """A token count as BIGINT, null unless written as a whole number (DuckDB's own cast would
    round "12.5" to 13)."""
    return (
        f"(case when regexp_full_match({text}, '\\s*[+]?[0-9]{{1,18}}\\s*') then cast({text} as BIGINT) end)"
    )


def money_sql(text: str) -> str:
    """A cost attribute as DECIMAL(18,8): a number written as a double is rounded to 8 places. Null
    for text that is not a plain number ("1_000", which DuckDB's own cast reads as 1000) or that no
    DECIMAL(18,8) holds (1e12): the attribute's text then goes on as the cost, and its run is
    rejected with the reason, instead of the whole file failing on the cast."""
    # A digit separator is the one thing DuckDB's DECIMAL cast takes that a plain number has not.
    return (
        f"(case when strpos({text}, '_') = 0 "
        f"then try_cast(round(try_cast({text} as DECIMAL(38,18)), 8) as DECIMAL(18,8)) end)"
    )


def whole_text_sql(number: str) -> str:
    """A DOUBLE rounded to a whole number, as text: a BIGINT's digits where it fits, else the
    double's text (1.2e+22), which the contract then rejects as too large, with its line."""
    return f"coalesce(cast(try_cast(round({number}) as BIGINT) as VARCHAR), cast(round({number}) as VARCHAR))"


def finish(cur: duckdb.DuckDBPyConnection, mapping: Mapping, sources: tuple[str, ...]) -> tuple[int, int]:
    """Apply the mapping to _tele_runs: events to _tele_events, the rest added to _tele_rejects."""
    mapping.register(cur, sources)
    cur.execute(
        f"create or replace temp table _tele_mapped as {mapping.match_sql('_tele_runs', '_tele_candidates')}"
    )
    cur.execute(
        f"""
        create or replace temp table _tele_events as
        select row_number() over (order by r.row_id) - 1 as _ordinal, r.record_no, r.trace_id,
               {", ".join("r." + name for name in RUN_COLUMNS[:3])}, m.function, m.business_unit, m.team,
               {", ".join("r." + name for name in RUN_COLUMNS[3:])}, r.estimated_cost_usd
        from _tele_runs as r
        join _tele_mapped as m on m.row_id = r.row_id
        where r.reject_reason is null and m.rule_no is not null
        order by r.row_id
        """
    )
    cur.execute(
        """
        insert into _tele_rejects
        select r.record_no, coalesce(r.reject_column, 'mapping'), coalesce(r.reject_reason, m.reason),
               json_object('event_id', r.event_id, 'trace_id', r.trace_id, 'agent_id', r.agent_id,
                           'unmapped', case when r.reject_reason is null then m.unmapped end)::VARCHAR
        from _tele_runs as r
        join _tele_mapped as m on m.row_id = r.row_id
        where r.reject_reason is not null or m.rule_no is null
        """
    )
    return staged_counts(cur)


def staged_counts(cur: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """How many events (_tele_events) and rejected records (_tele_rejects) an importer has staged."""
    events = store.scalar(cur, "select count(*) from _tele_events")
    rejected = store.scalar(cur, "select count(*) from _tele_rejects")
    return int(events), int(rejected)


def read_lines(cur: duckdb.DuckDBPyConnection, table: str, path: str, compression: str, rejects: str) -> None:
    """Each non-blank line of a JSON Lines file as a row of the temporary table `table`, in file
    order, as text; lines the reader refuses (longer than MAX_LINE_BYTES) go to its rejects tables."""
    cur.execute(
        f"""
        create or replace temp table {table} as
        select line
        from read_csv($path, columns = {{'line': 'VARCHAR'}}, header = false, delim = '\x01', quote = '',
                      escape = '', compression = $compression, auto_detect = false,
                      max_line_size = {MAX_LINE_BYTES}, buffer_size = {MAX_LINE_BYTES},
                      store_rejects = true, rejects_table = '{rejects}_errors', rejects_scan = '{rejects}_scans')
        where line is not null and trim(line, ' \t\r') <> ''
        """,
        {"path": path, "compression": compression},
    )


def first_rowid(cur: duckdb.DuckDBPyConnection, table: str) -> int:
    """The rowid of a temporary table's first row: rows created in a transaction are numbered from
    an offset, in insertion order, so rowid minus this is the record's position in the file."""
    return int(store.scalar(cur, f"select coalesce(min(rowid), 0) from {table}"))


def create_rejects(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute(
        "create or replace temp table _tele_rejects (record_no BIGINT, column_name VARCHAR, reason VARCHAR, raw VARCHAR)"
    )


def drop_temporary(cur: duckdb.DuckDBPyConnection) -> None:
    for table in ("_tele_runs", "_tele_candidates", "_tele_mapped", "_tele_events", "_tele_rejects",
                  "_tele_prices", "_otlp_lines", "_otlp_spans", "_otlp_agents", "_lf_rows", "_lf_lines",
                  "_lf_observations", "_lf_runs"):  # fmt: skip
        cur.execute(f"drop table if exists {table}")
