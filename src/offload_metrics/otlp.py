"""OpenTelemetry GenAI spans (OTLP JSON) into usage events, set-based in DuckDB.

Reads what the Collector's ``file`` exporter writes (one TracesData object per line), a single such
JSON document, either gzip-compressed. One usage event per ``invoke_agent`` span; the inference and
tool spans under it (their nearest ``invoke_agent`` ancestor only) give its tokens, API calls and
cost. See the README section "Loading OpenTelemetry and Langfuse data" for every field's rule.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb

from offload_metrics import config, store, telemetry
from offload_metrics.mapping import Mapping

PARSE_BATCH_BYTES = 32 << 20
_ATTRIBUTES = [
    {"key": "VARCHAR", "value": {"stringValue": "VARCHAR", "intValue": "VARCHAR", "doubleValue": "VARCHAR",
                                 "boolValue": "BOOLEAN"}}
]  # fmt: skip
_SPAN = {
    "traceId": "VARCHAR",
    "spanId": "VARCHAR",
    "parentSpanId": "VARCHAR",
    "name": "VARCHAR",
    "startTimeUnixNano": "VARCHAR",
    "endTimeUnixNano": "VARCHAR",
    "attributes": _ATTRIBUTES,
    "events": [{"timeUnixNano": "VARCHAR", "name": "VARCHAR", "attributes": _ATTRIBUTES}],
    "status": {"code": "VARCHAR", "message": "VARCHAR"},
}
# The part of TracesData the importer reads, as from_json's structure: other fields are ignored, and
# a value of another JSON type than expected reads as null rather than failing the line.
TRACES_DATA = json.dumps(
    {"resourceSpans": [{"resource": {"attributes": _ATTRIBUTES}, "scopeSpans": [{"spans": [_SPAN]}]}]}
)
INFERENCE_OPERATIONS = ("chat", "text_completion", "generate_content", "embeddings")
# The span attributes a value is read from: OTLP requires an attribute's key to be unique, and one
# given twice (a processor that appends instead of replacing) leaves which value counts untold.
READ_ATTRIBUTES = (
    "gen_ai.operation.name", "gen_ai.agent.id", "gen_ai.agent.name", "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
    "gen_ai.usage.cost.amount", "gen_ai.usage.cost", "gen_ai.response.model", "gen_ai.request.model",
)  # fmt: skip
# Always offered to the mapping, so that an unmapped event names its service.
ALWAYS_SOURCES = ("resource.service.namespace", "resource.service.name")
MACROS = """
create or replace temp macro otlp_text(v) as
    coalesce(v.stringValue, v.intValue, v.doubleValue,
             case when v.boolValue then 'true' when not v.boolValue then 'false' end);
create or replace temp macro otlp_attr(attributes, wanted) as
    otlp_text(list_extract(list_filter(attributes, lambda a: a.key = wanted), 1).value);
create or replace temp macro otlp_keyed(attributes, attribute_keys, wanted) as
    otlp_text(attributes[list_position(attribute_keys, wanted)].value);
"""


def _first_line_is_object(path: Path, compressed: bool) -> bool:
    """Whether the file is JSON Lines (its first non-blank line is a whole JSON object)."""
    opener = gzip.open if compressed else open
    with opener(path, "rt", encoding="utf-8-sig", errors="replace") as handle:
        for line in handle:
            if line.strip():
                try:
                    return isinstance(json.loads(line), dict)
                except json.JSONDecodeError:
                    return False
    return False


def _read_records(
    cur: duckdb.DuckDBPyConnection, path: Path, readable: Path, compressed: bool, rejects: str
) -> str:
    """Each TracesData object of the file as a row of _otlp_lines (in file order); its format.
    DuckDB reads `readable` (the file under a name it takes literally)."""
    params = {"path": str(readable), "compression": "gzip" if compressed else "none"}
    if _first_line_is_object(path, compressed):
        telemetry.read_lines(cur, "_otlp_lines", params["path"], params["compression"], rejects)
        return "jsonl"
    cur.execute(
        f"""
        create or replace temp table _otlp_lines as
        select json::VARCHAR as line
        from read_json_objects($path, format = 'unstructured', compression = $compression,
                               maximum_object_size = {telemetry.MAX_LINE_BYTES * 2})
        """,
        params,
    )
    return "document"


def _batches(cur: duckdb.DuckDBPyConnection) -> list[tuple[int, int]]:
    """Ranges of _otlp_lines' rowids holding about PARSE_BATCH_BYTES of text each.

    DuckDB works on 2,048 rows at a time: 2,048 Collector batches of a few megabytes each, parsed
    at once, would need gigabytes. Parsing a few dozen megabytes at a time keeps memory flat."""
    first, count, total = store.one(
        cur, "select coalesce(min(rowid), 0), count(*), coalesce(sum(strlen(line)), 0) from _otlp_lines"
    )
    per_batch = max(1, min(2048, int(PARSE_BATCH_BYTES * count / total) if total else 2048))
    return [
        (start, min(start + per_batch, first + count)) for start in range(first, first + count, per_batch)
    ]


def _parse_spans(cur: duckdb.DuckDBPyConnection) -> None:
    """One row per span (and one per unreadable record, with span fields null, its reason and the
    start of its text), in _otlp_spans, in file order.

    The lines table is one row group, which a DuckDB scan reads on one thread; so as many batches
    (see _batches) as DuckDB has threads are the branches of one UNION ALL, which DuckDB runs in
    parallel when the result is sorted (not when it must keep insertion order). The sort puts the
    spans back in file order: by record, then by position in the record. One statement per group of
    batches keeps memory to a few batches' worth."""
    base = telemetry.first_rowid(cur, "_otlp_lines")
    inference = ", ".join(f"'{name}'" for name in INFERENCE_OPERATIONS)
    read = ", ".join(f"'{name}'" for name in READ_ATTRIBUTES)
    cur.execute(MACROS)
    cur.execute(
        f"""
        create or replace temp macro otlp_parse_batch(first_rowid, last_rowid) as table
        with records as (
            select rowid - {base} as record_no, try(from_json(line, '{TRACES_DATA}')) as doc, line
            from _otlp_lines
            where rowid >= first_rowid and rowid < last_rowid
        ),
        resources as (
            -- CASE evaluates its branch only for the rows that take it: valid lines are parsed once.
            select record_no,
                   case when doc.resourceSpans is null then
                       case when not json_valid(line) then 'not valid JSON'
                            else 'not an OTLP traces object (no resourceSpans list)' end
                   end as unreadable_reason,
                   case when doc.resourceSpans is null then left(line, 200) end as unreadable_text,
                   doc.resourceSpans is null as unreadable,
                   unnest(case when doc.resourceSpans is null then [NULL] else doc.resourceSpans end) as rs,
                   unnest(case when doc.resourceSpans is null then [0] else range(len(doc.resourceSpans)) end)
                       as resource_no
            from records
        ),
        scopes as (
            select record_no, resource_no, unreadable, unreadable_reason, unreadable_text,
                   rs.resource.attributes as resource_attributes,
                   unnest(case when unreadable then [NULL] else rs.scopeSpans end) as ss,
                   unnest(case when unreadable then [0] else range(len(rs.scopeSpans)) end) as scope_no
            from resources
        ),
        spans as (
            select record_no, resource_no, scope_no, unreadable, unreadable_reason, unreadable_text,
                   resource_attributes,
                   unnest(case when unreadable then [NULL] else ss.spans end) as s,
                   unnest(case when unreadable then [0] else range(len(ss.spans)) end) as span_no
            from scopes
        ),
        keyed as (
            -- Each span's attribute keys once, so that every lookup below is a scan of plain text.
            select record_no, resource_no, scope_no, span_no, unreadable, unreadable_reason, unreadable_text,
                   resource_attributes, s, list_transform(s.attributes, lambda a: a.key) as attribute_keys
            from spans
        ),
        checked as (
            -- The attributes read below that the span gives more than once; null when it gives none twice.
            select *,
                   case when len(attribute_keys) = list_unique(attribute_keys) then NULL::VARCHAR[]
                        else list_filter([{read}], lambda k: len(list_filter(attribute_keys, lambda a: a = k)) > 1)
                   end as repeated_attributes
            from keyed
        ),
        parsed as (
            select *, otlp_keyed(s.attributes, attribute_keys, 'gen_ai.operation.name') as operation
            from checked
        ),
        final as (
            select
                record_no,
                resource_no,
                scope_no,
                span_no,
                unreadable,
                unreadable_reason,
                unreadable_text,
                lower(s.traceId) as trace_id,
                lower(s.spanId) as span_id,
                lower(nullif(s.parentSpanId, '')) as parent_id,
                -- The tree is walked on a 64-bit hash of (trace, span): a join on one integer, not two texts.
                hash(lower(s.traceId), lower(s.spanId)) as node_key,
                hash(lower(s.traceId), lower(nullif(s.parentSpanId, ''))) as parent_key,
                coalesce(operation = 'invoke_agent', starts_with(s.name, 'invoke_agent')) as is_agent,
                coalesce(operation in ({inference}), false) as is_inference,
                coalesce(operation = 'execute_tool', false) as is_tool,
                coalesce(otlp_keyed(s.attributes, attribute_keys, 'gen_ai.usage.input_tokens'),
                         otlp_keyed(s.attributes, attribute_keys, 'gen_ai.usage.prompt_tokens')) as input_raw,
                coalesce(otlp_keyed(s.attributes, attribute_keys, 'gen_ai.usage.output_tokens'),
                         otlp_keyed(s.attributes, attribute_keys, 'gen_ai.usage.completion_tokens')) as output_raw,
                coalesce(otlp_keyed(s.attributes, attribute_keys, 'gen_ai.usage.cost.amount'),
                         otlp_keyed(s.attributes, attribute_keys, 'gen_ai.usage.cost')) as cost_raw,
                coalesce(otlp_keyed(s.attributes, attribute_keys, 'gen_ai.response.model'),
                         otlp_keyed(s.attributes, attribute_keys, 'gen_ai.request.model')) as model,
                repeated_attributes,
                case when is_agent then s end as agent_span,
                case when is_agent then resource_attributes end as agent_resource
            from parsed
        )
        select * from final
        """
    )
    batches = _batches(cur) or [(base, base)]
    threads = int(store.scalar(cur, "select current_setting('threads')"))
    for group in range(0, len(batches), threads):
        branches = " union all ".join(
            f"select * from otlp_parse_batch({start}, {stop})"
            for start, stop in batches[group : group + threads]
        )
        target = "create or replace temp table _otlp_spans as" if group == 0 else "insert into _otlp_spans"
        cur.execute(f"{target} select * from ({branches}) order by record_no, resource_no, scope_no, span_no")


def _agent_runs(
    cur: duckdb.DuckDBPyConnection, settings: config.Settings, mapping: Mapping
) -> tuple[str, ...]:
    """_tele_runs and _tele_candidates from the spans: one run per invoke_agent span."""
    cur.execute(
        """
        create or replace temp table _otlp_agents as
        select row_number() over (order by record_no, resource_no, scope_no, span_no) - 1 as row_id, *
        from _otlp_spans
        where is_agent
        """
    )
    telemetry.register_prices(cur, settings)
    estimate_own = telemetry.estimate_sql(
        telemetry.count_sql("a.input_raw"), telemetry.count_sql("a.output_raw"), "p"
    )
    from offload_metrics.ingest.rules import REPEATED_REASON  # the ingest package imports this module

    cur.execute(
        "create or replace temp macro otlp_repeats(span) as 'span ' || span.trace_id || ':' || span.span_id "
        "|| ' gives the attribute ' || array_to_string(span.repeated_attributes, ', ') || ' more than once'"
    )
    evaluation_review = telemetry.review_sql(
        "otlp_attr(event.attributes, 'gen_ai.evaluation.score.label')",
        "try_cast(otlp_attr(event.attributes, 'gen_ai.evaluation.score.value') as DOUBLE)",
    )
    cur.execute(
        f"""
        create or replace temp table _tele_runs as
        with recursive
        nodes as (
            -- One row per span: a span the Collector sent twice is one node of the tree.
            select node_key, any_value(parent_key) as parent_key, bool_or(is_agent) as is_agent
            from _otlp_spans
            where not unreadable
            group by node_key
        ),
        walk(node_key, cursor, hops) as (
            select node_key, parent_key, 1
            from _otlp_spans
            where (is_inference or is_tool) and parent_id is not null and not is_agent
            union all
            select w.node_key, n.parent_key, w.hops + 1
            from walk as w
            join nodes as n on n.node_key = w.cursor
            where not n.is_agent and n.parent_key is not null and w.hops < 256
        ),
        owned as (
            -- The nearest invoke_agent ancestor of each inference or tool span.
            select distinct w.node_key, w.cursor as agent_key
            from walk as w
            join nodes as n on n.node_key = w.cursor and n.is_agent
        ),
        units as (
            select o.agent_key, o.node_key, any_value(s.trace_id) as trace_id,
                   any_value(s.is_inference) as is_inference, any_value(s.is_tool) as is_tool,
                   any_value(s.input_raw) as input_raw, any_value(s.output_raw) as output_raw,
                   any_value(s.cost_raw) as cost_raw, any_value(s.model) as model,
                   -- A span the Collector sent twice is one unit: its repeats are told once.
                   any_value(case when len(s.repeated_attributes) > 0 then otlp_repeats(s) end) as repeated
            from owned as o
            join _otlp_spans as s on s.node_key = o.node_key
            group by o.agent_key, o.node_key
        ),
        typed_units as (
            select *, {telemetry.count_sql("input_raw")} as input_n, {telemetry.count_sql("output_raw")} as output_n,
                   {telemetry.money_sql("cost_raw")} as cost_n
            from units
        ),
        children as (
            select
                u.trace_id,
                u.agent_key,
                count(*) as api_calls,
                count(*) filter (where u.is_inference) as inference_spans,
                {telemetry.child_usage_sql("is_inference")},
                string_agg(u.repeated, '; ' order by u.repeated) as repeated
            from typed_units as u
            left join _tele_prices as p on p.model = u.model
            group by u.trace_id, u.agent_key
        ),
        evaluations as (
            select row_id, try_cast(event.timeUnixNano as HUGEINT) as time_ns,
                   {evaluation_review} as review
            from (select row_id, unnest(agent_span.events) as event from _otlp_agents)
            where event.name = 'gen_ai.evaluation.result'
              and ($review_evaluation = ''
                   or otlp_attr(event.attributes, 'gen_ai.evaluation.name') = $review_evaluation)
        ),
        reviews as (
            select row_id, arg_max(review, time_ns) as review
            from evaluations
            where review is not null
            group by row_id
        ),
        agents as (
            select
                a.*,
                a.agent_span.name as name,
                try_cast(a.agent_span.startTimeUnixNano as HUGEINT) as start_ns,
                try_cast(a.agent_span.endTimeUnixNano as HUGEINT) as end_ns,
                coalesce(otlp_attr(a.agent_span.attributes, 'gen_ai.agent.id'),
                         otlp_attr(a.agent_span.attributes, 'gen_ai.agent.name')) as agent_id,
                a.agent_span.status.code in ('2', 'STATUS_CODE_ERROR')
                    or otlp_attr(a.agent_span.attributes, 'error.type') is not null as is_failed,
                $escalated_attribute <> '' and (
                    lower(coalesce(otlp_attr(a.agent_span.attributes, $escalated_attribute), 'false'))
                        not in ('false', '0', '')
                    or list_contains(list_transform(a.agent_span.events, lambda e: e.name), $escalated_attribute)
                ) as is_escalated,
                {telemetry.money_sql("a.cost_raw")} as own_cost,
                {estimate_own} as own_estimate,
                regexp_full_match(a.trace_id, '[0-9a-f]{{32}}') and regexp_full_match(a.span_id, '[0-9a-f]{{16}}')
                    as ids_are_hex
            from _otlp_agents as a
            left join _tele_prices as p on p.model = a.model
        ),
        final as (
            select
                a.row_id,
                a.record_no,
                a.trace_id || ':' || a.span_id as event_id,
                a.trace_id,
                coalesce(strftime(make_timestamp(try_cast(a.start_ns // 1000 as BIGINT)), '%Y-%m-%dT%H:%M:%S.%f'),
                         a.agent_span.startTimeUnixNano) as occurred_at,
                a.agent_id,
                coalesce(case when $task_type_attribute <> ''
                              then otlp_attr(a.agent_span.attributes, $task_type_attribute) end, a.name) as task_type,
                case when a.is_failed then 'failed' when a.is_escalated then 'escalated' else 'completed' end as status,
                r.review,
                cast(coalesce(c.api_calls, 0) as VARCHAR) as api_calls,
                case when coalesce(c.inference_spans, 0) = 0 then a.input_raw
                     else coalesce(c.input_bad, cast(c.input_sum as VARCHAR)) end as input_tokens,
                case when coalesce(c.inference_spans, 0) = 0 then a.output_raw
                     else coalesce(c.output_bad, cast(c.output_sum as VARCHAR)) end as output_tokens,
                case when a.cost_raw is not null and a.own_cost is null then a.cost_raw
                     when coalesce(c.inference_spans, 0) = 0 or (a.cost_raw is not null and c.with_cost = 0)
                         then cast(coalesce(a.own_cost, a.own_estimate) as VARCHAR)
                     else coalesce(c.cost_bad, cast(c.cost_sum as VARCHAR)) end as cost_usd,
                {telemetry.whole_text_sql("(a.end_ns - a.start_ns) / 1000000")} as latency_ms,
                case when a.cost_raw is not null and (coalesce(c.inference_spans, 0) = 0 or c.with_cost = 0)
                         then 0::DECIMAL(18,8)
                     when coalesce(c.inference_spans, 0) = 0 then coalesce(a.own_estimate, 0)
                     else c.estimated end as estimated_cost_usd,
                case when not a.ids_are_hex then 'traceId'
                     when len(a.repeated_attributes) > 0 or c.repeated is not null then 'attributes'
                     when a.agent_id is null then 'agent_id' end as reject_column,
                case when not a.ids_are_hex then
                         'traceId and spanId must be hex (32 and 16 digits; got ' || to_json(a.trace_id) || ' and '
                         || to_json(a.span_id) || '): protobuf''s own JSON writes base64, the Collector hex'
                     when len(a.repeated_attributes) > 0 or c.repeated is not null then
                         concat_ws('; ', case when len(a.repeated_attributes) > 0 then otlp_repeats(a) end, c.repeated)
                         || ', ' || $repeated_reason
                     when a.agent_id is null then
                         'the invoke_agent span ' || a.trace_id || ':' || a.span_id
                         || ' has neither gen_ai.agent.id nor gen_ai.agent.name' end as reject_reason
            from agents as a
            left join children as c on c.agent_key = a.node_key and c.trace_id = a.trace_id
            left join reviews as r on r.row_id = a.row_id
        )
        select * from final
        """,
        {
            "review_threshold": settings.telemetry.review_threshold,
            "review_evaluation": settings.telemetry.review_evaluation,
            "escalated_attribute": settings.telemetry.escalated_attribute,
            "task_type_attribute": settings.telemetry.task_type_attribute,
            "repeated_reason": REPEATED_REASON,
        },
    )
    resource_keys = [s.removeprefix("resource.") for s in mapping.sources("resource.", ALWAYS_SOURCES)]
    span_keys = [s.removeprefix("span.") for s in mapping.sources("span.")]
    cur.execute(
        """
        create or replace temp table _tele_candidates as
        select a.row_id, 'resource.' || k.key as source, otlp_attr(a.agent_resource, k.key) as value
        from _otlp_agents as a, (select unnest($resource_keys::VARCHAR[]) as key) as k
        union all
        select a.row_id, 'span.' || k.key, otlp_attr(a.agent_span.attributes, k.key)
        from _otlp_agents as a, (select unnest($span_keys::VARCHAR[]) as key) as k
        """,
        {"resource_keys": resource_keys, "span_keys": span_keys},
    )
    return (*("resource." + key for key in resource_keys), *("span." + key for key in span_keys))


def stage(
    cur: duckdb.DuckDBPyConnection,
    path: Path,
    readable: Path,
    compressed: bool,
    rejects: str,
    settings: config.Settings,
    mapping: Mapping,
) -> telemetry.Staged:
    """Read an OTLP JSON file into _tele_events and _tele_rejects (see telemetry.py)."""
    record_format = _read_records(cur, path, readable, compressed, rejects)
    _parse_spans(cur)
    records = store.scalar(cur, "select count(*) from _otlp_lines")
    # The text is parsed: free its memory for the agent tree.
    cur.execute("drop table _otlp_lines")
    telemetry.create_rejects(cur)
    cur.execute(
        """
        insert into _tele_rejects
        select record_no, NULL, unreadable_reason, json_object('line', unreadable_text)::VARCHAR
        from _otlp_spans
        where unreadable
        """
    )
    sources = _agent_runs(cur, settings, mapping)
    events, rejected = telemetry.finish(cur, mapping, sources)
    spans, agents = store.one(
        cur,
        "select count(*) filter (where not unreadable), count(*) filter (where is_agent) from _otlp_spans",
    )
    in_runs = store.scalar(cur, "select coalesce(sum(cast(api_calls as BIGINT)), 0) from _tele_runs")
    return telemetry.Staged(
        records_read=int(spans),
        events=events,
        rejected=rejected,
        outside=int(spans) - int(agents) - int(in_runs),
        record_format=record_format,
        records_in_file=int(records),
    )
