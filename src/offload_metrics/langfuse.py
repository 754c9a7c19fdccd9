"""Langfuse exports (observations and scores; CSV, JSON Lines or Parquet) into usage events and reviews.

Observations: one usage event per AGENT observation (or per trace, setting
``telemetry.langfuse_event_per``); its GENERATION and TOOL observations (nearest AGENT ancestor
only) give tokens, API calls and cost. Scores of the name ``telemetry.review_evaluation`` become
reviews of the events they name (by observation, else by trace), kept in their own table.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from offload_metrics import config, store, telemetry
from offload_metrics.mapping import Mapping

if TYPE_CHECKING:  # the ingest package imports this module
    from offload_metrics.ingest.sniff import Header

OBSERVATION_FIELDS = (
    "id", "trace_id", "type", "parent_observation_id", "start_time", "end_time", "name", "level",
    "usage_details", "cost_details", "total_cost", "latency", "metadata", "environment", "project_id",
    "trace_name", "tags", "provided_model_name", "model", "user_id", "session_id", "release", "version",
)  # fmt: skip
SCORE_FIELDS = ("id", "trace_id", "observation_id", "name", "value", "string_value", "data_type", "timestamp")
# Fields that hold JSON (maps and lists): read as JSON text from any format.
JSON_FIELDS = ("usage_details", "cost_details", "metadata", "tags")
ALWAYS_SOURCES = ("langfuse.project_id", "langfuse.environment")
GENERATION_TYPES = ("GENERATION", "EMBEDDING")


def _read_rows(
    cur: duckdb.DuckDBPyConnection,
    path: Path,
    file_format: str,
    names: tuple[str, ...],
    native_types: tuple[str, ...],
    delimiter: str,
    compressed: bool,
    rejects: str,
    fields: tuple[str, ...],
) -> None:
    """_lf_rows: record_no, then each field as text (JSON text for maps and lists), null when absent."""
    params: dict[str, object] = {"path": str(path)}
    if file_format == "parquet":
        from offload_metrics.ingest.rules import source_text_sql  # the ingest package imports this module

        types = dict(zip(names, native_types, strict=True))
        columns = []
        for field in fields:
            quoted = f'"{field}"'
            if field not in types:
                columns.append(f"NULL::VARCHAR as {field}")
            elif types[field] == "VARCHAR":
                columns.append(f"{quoted} as {field}")
            elif field in JSON_FIELDS and types[field] != "BLOB":
                columns.append(f"to_json({quoted})::VARCHAR as {field}")
            else:  # as text; a BLOB (text some writers store as plain bytes) decoded as UTF-8
                columns.append(f"{source_text_sql(quoted, types[field])} as {field}")
        cur.execute(
            f"""
            create or replace temp table _lf_rows as
            select file_row_number as record_no, {", ".join(columns)}
            from read_parquet($path, file_row_number = true)
            """,
            params,
        )
        return
    params["compression"] = "gzip" if compressed else "none"
    if file_format == "csv":
        params["delimiter"] = delimiter
        spec = ", ".join(f"'c{index}': 'VARCHAR'" for index in range(len(names)))
        columns = [
            f"nullif(c{names.index(field)}, '') as {field}" if field in names else f"NULL::VARCHAR as {field}"
            for field in fields
        ]
        cur.execute(
            f"""
            create or replace temp table _lf_rows as
            select {", ".join(columns)}
            from read_csv($path, columns = {{{spec}}}, header = true, delim = $delimiter, quote = '"', escape = '"',
                          compression = $compression, auto_detect = false, max_line_size = {telemetry.MAX_LINE_BYTES},
                          buffer_size = {telemetry.MAX_LINE_BYTES}, store_rejects = true,
                          rejects_table = '{rejects}_errors', rejects_scan = '{rejects}_scans')
            """,
            params,
        )
        cur.execute("alter table _lf_rows add column record_no BIGINT")
        cur.execute(f"update _lf_rows set record_no = rowid - {telemetry.first_rowid(cur, '_lf_rows')}")
        return
    extract = []
    for field in fields:
        path_literal = "'$." + field + "'"
        if field in JSON_FIELDS:
            extract.append(
                f"case when doc is not null then json_extract(doc, {path_literal})::VARCHAR end as {field}"
            )
        else:
            extract.append(
                f"case when doc is not null then json_extract_string(doc, {path_literal}) end as {field}"
            )
    telemetry.read_lines(cur, "_lf_lines", str(path), "gzip" if compressed else "none", rejects)
    base = telemetry.first_rowid(cur, "_lf_lines")
    cur.execute(
        f"""
        create or replace temp table _lf_rows as
        select record_no, doc is null as unreadable, {_repeated_sql(fields)} as repeated,
               left(line, 200) as line_text, {", ".join(extract)}
        from (
            select rowid - {base} as record_no, line,
                   case when json_valid(line) and json_type(line) = 'OBJECT' then line::JSON end as doc
            from _lf_lines
        )
        """
    )


def _repeated_sql(fields: tuple[str, ...]) -> str:
    """The fields a JSON object gives more than once, or whose map gives a key more than once, each
    with its reason ({c: field, r: reason}; null or empty when none): JSON leaves which value counts
    to the reader, so the record is rejected."""
    from offload_metrics.ingest.base import sql_literal  # the ingest package imports this module
    from offload_metrics.ingest.rules import repeated_key_reason

    def given(field: str) -> str:
        return f"len(list_filter(json_keys(doc), lambda key: key = {sql_literal(field)}))"

    found = [
        f"{{'c': {sql_literal(field)}, 'r': case when {given(field)} > 1 then {repeated_key_reason(field, given(field))} end}}"
        for field in fields
    ]
    maps_unique = []
    for field in (field for field in fields if field in JSON_FIELDS):
        unique, reason = _map_repeats(field, f"json_keys(doc, {sql_literal('$.' + field)})")
        maps_unique.append(unique)
        found.append(f"{{'c': {sql_literal(field)}, 'r': case when not {unique} then {reason} end}}")
    # Most objects repeat no key at all, and are told so cheaply.
    unique = " and ".join(["len(json_keys(doc)) = list_unique(json_keys(doc))", *maps_unique])
    return f"case when doc is null or ({unique}) then NULL else list_filter([{', '.join(found)}], lambda f: f.r is not null) end"


def _map_repeats(field: str, keys: str) -> tuple[str, str]:
    """SQL: whether a map field's keys (`keys`, a list) are unique, and the reason when they are not."""
    from offload_metrics.ingest.base import sql_literal  # the ingest package imports this module
    from offload_metrics.ingest.rules import REPEATED_REASON

    repeats = f"list_sort(list_filter(list_distinct({keys}), lambda k: len(list_filter({keys}, lambda o: o = k)) > 1))"
    reason = (
        f"{sql_literal(field + ': gives the key ')} || array_to_string({repeats}, ', ') "
        f"|| {sql_literal(' more than once, ' + REPEATED_REASON)}"
    )
    return f"coalesce(len({keys}) = list_unique({keys}), true)", reason


def _json_cell_rejects(cur: duckdb.DuckDBPyConnection, fields: tuple[str, ...]) -> None:
    """CSV and Parquet exports hold maps and lists as JSON text in a cell: a cell that is not JSON
    (cut short in a spreadsheet, say), or a map that gives a key twice, rejects its record with the
    field named, as a JSON Lines record is judged; the file's other records load."""
    from offload_metrics.ingest.base import sql_literal  # the ingest package imports this module

    checks = []
    for field in (field for field in fields if field in JSON_FIELDS):
        unique, repeated = _map_repeats(field, f"json_keys({field})")
        invalid = f"{sql_literal(field + ': is not valid JSON (got ')} || to_json(left({field}, 80)) || ')'"
        checks.append(
            f"{{'c': {sql_literal(field)}, 'r': case when {field} is null then NULL "
            f"when not json_valid({field}) then {invalid} when not {unique} then {repeated} end}}"
        )
    if not checks:
        return
    pairs = ", ".join(f"{sql_literal(field)}, {field}" for field in fields)
    cur.execute(
        f"""
        create or replace temp table _lf_cell_problems as
        select record_no, problems
        from (select record_no, list_filter([{", ".join(checks)}], lambda f: f.r is not null) as problems from _lf_rows)
        where len(problems) > 0
        """
    )
    cur.execute(
        f"""
        insert into _tele_rejects
        select record_no, problems[1].c, array_to_string(list_transform(problems, lambda f: f.r), '; '),
               json_object({pairs})::VARCHAR
        from _lf_rows join _lf_cell_problems using (record_no)
        """
    )
    cur.execute("delete from _lf_rows where record_no in (select record_no from _lf_cell_problems)")
    cur.execute("drop table _lf_cell_problems")


def _unreadable_rejects(cur: duckdb.DuckDBPyConnection) -> None:
    """JSON Lines records that are not JSON objects, or give a field twice, into _tele_rejects (other
    formats have none)."""
    if store.scalar(
        cur,
        "select count(*) from duckdb_columns() where table_name = '_lf_rows' and column_name = 'unreadable'",
    ):
        cur.execute(
            """
            insert into _tele_rejects
            select record_no, NULL, 'not a JSON object', json_object('line', line_text)::VARCHAR
            from _lf_rows where unreadable
            union all
            select record_no, repeated[1].c, array_to_string(list_transform(repeated, lambda f: f.r), '; '),
                   json_object('line', line_text)::VARCHAR
            from _lf_rows where len(repeated) > 0
            """
        )
        cur.execute("delete from _lf_rows where unreadable or len(repeated) > 0")


def _metadata(alias: str, key_parameter: str) -> str:
    """SQL for the metadata value under a key given as a parameter (a key, never SQL text)."""
    return f"json_extract_string({alias}.metadata, '$.' || to_json(nullif({key_parameter}, ''))::VARCHAR)"


def _observation_runs(
    cur: duckdb.DuckDBPyConnection, settings: config.Settings, mapping: Mapping
) -> tuple[str, ...]:
    """_tele_runs and _tele_candidates from _lf_rows: one run per AGENT observation or per trace."""
    generation_types = ", ".join(f"'{kind}'" for kind in GENERATION_TYPES)
    cur.execute(
        f"""
        create or replace temp table _lf_observations as
        select
            record_no,
            id,
            trace_id,
            nullif(parent_observation_id, '') as parent_id,
            upper(type) = 'AGENT' as is_agent,
            upper(type) in ({generation_types}) as is_generation,
            upper(type) = 'TOOL' as is_tool,
            name,
            trace_name,
            start_time,
            end_time,
            upper(level) = 'ERROR' as is_error,
            coalesce(json_extract_string(usage_details, '$.input'), json_extract_string(usage_details, '$.input_tokens'),
                     json_extract_string(usage_details, '$.prompt_tokens')) as input_raw,
            coalesce(json_extract_string(usage_details, '$.output'), json_extract_string(usage_details, '$.output_tokens'),
                     json_extract_string(usage_details, '$.completion_tokens')) as output_raw,
            coalesce(json_extract_string(cost_details, '$.total'), total_cost) as cost_raw,
            coalesce(provided_model_name, model) as model,
            latency,
            metadata,
            environment,
            project_id,
            tags
        from _lf_rows
        """
    )
    telemetry.register_prices(cur, settings)
    per_trace = settings.telemetry.langfuse_event_per == "trace"
    if per_trace:
        owner_sql = """
            select o.trace_id as run_key, o.id
            from _lf_observations as o
            where o.is_generation or o.is_tool
        """
        runs_sql = """
            select distinct on (trace_id) trace_id as run_key, trace_id as event_id, *
            from _lf_observations
            order by trace_id, is_agent desc, parent_id is not null, start_time, record_no
        """
    else:
        owner_sql = """
            with recursive
            nodes as (select distinct on (id) id, parent_id, is_agent from _lf_observations),
            walk(id, cursor, hops) as (
                select id, parent_id, 1 from _lf_observations
                where (is_generation or is_tool) and parent_id is not null and not is_agent
                union all
                select w.id, n.parent_id, w.hops + 1
                from walk as w join nodes as n on n.id = w.cursor
                where not n.is_agent and n.parent_id is not null and w.hops < 256
            )
            select distinct w.cursor as run_key, w.id
            from walk as w join nodes as n on n.id = w.cursor and n.is_agent
        """
        runs_sql = "select id as run_key, id as event_id, * from _lf_observations where is_agent"
    estimate_own = telemetry.estimate_sql(
        telemetry.count_sql("a.input_raw"), telemetry.count_sql("a.output_raw"), "p"
    )
    task_type_metadata = _metadata("a", "$task_type_attribute")
    if per_trace:
        occurred_at = "strftime(a.first_start, '%Y-%m-%dT%H:%M:%S.%f')"
        agent_id, is_error = "coalesce(a.trace_agent, a.trace_name)", "a.trace_error"
        latency = "cast(epoch_ms(a.trace_end) - epoch_ms(a.first_start) as VARCHAR)"
    else:
        occurred_at, agent_id, is_error = "a.start_time", "a.name", "a.is_error"
        latency = (
            "coalesce(cast(epoch_ms(try_cast(a.end_time as TIMESTAMP)) - epoch_ms(try_cast(a.start_time as TIMESTAMP))"
            f" as VARCHAR), {telemetry.whole_text_sql('try_cast(a.latency as DOUBLE) * 1000')})"
        )
    cur.execute(
        f"""
        create or replace temp table _lf_runs as
        select row_number() over (order by record_no) - 1 as row_id, * from ({runs_sql})
        """
    )
    cur.execute(
        f"""
        create or replace temp table _tele_runs as
        with owned as ({owner_sql}),
        units as (
            select distinct on (w.run_key, o.id) w.run_key, o.*, {telemetry.count_sql("o.input_raw")} as input_n,
                   {telemetry.count_sql("o.output_raw")} as output_n, {telemetry.money_sql("o.cost_raw")} as cost_n
            from owned as w join _lf_observations as o on o.id = w.id
        ),
        children as (
            select
                u.run_key,
                count(*) as api_calls,
                count(*) filter (where u.is_generation) as generations,
                bool_or(u.is_error) as any_error,
                max(try_cast(u.end_time as TIMESTAMP)) as last_end,
                {telemetry.child_usage_sql("is_generation")}
            from units as u
            left join _tele_prices as p on p.model = u.model
            group by u.run_key
        ),
        traces as (
            -- In per-trace mode the run spans the whole trace: its first start and last end.
            select trace_id, min(try_cast(start_time as TIMESTAMP)) as first_start,
                   max(try_cast(end_time as TIMESTAMP)) as last_end, bool_or(is_error) as any_error,
                   arg_min(name, (not is_agent, record_no)) as agent_name
            from _lf_observations
            group by trace_id
        ),
        agents as (
            select
                a.*,
                {telemetry.money_sql("a.cost_raw")} as own_cost,
                {estimate_own} as own_estimate,
                -- Without GENERATIONs under it, the agent's own usage counts (per trace too: the
                -- trace's run is its AGENT observation when it has one).
                a.is_agent and coalesce(c.generations, 0) = 0 as own_is_unit,
                c.api_calls, c.generations, c.input_sum, c.input_bad, c.output_sum, c.output_bad, c.with_cost,
                c.cost_bad, c.cost_sum, c.estimated,
                t.first_start, t.last_end as trace_end, t.any_error as trace_error, t.agent_name as trace_agent
            from _lf_runs as a
            left join _tele_prices as p on p.model = a.model
            left join children as c on c.run_key = a.run_key
            left join traces as t on t.trace_id = a.trace_id
        ),
        final as (
            select
                a.row_id,
                a.record_no,
                a.event_id,
                a.trace_id,
                {occurred_at} as occurred_at,
                {agent_id} as agent_id,
                coalesce(case when $task_type_attribute <> '' then {task_type_metadata} end, a.trace_name, a.name) as task_type,
                case when {is_error} then 'failed'
                     when $escalated_attribute <> '' and lower(coalesce(
                         {_metadata("a", "$escalated_attribute")}, 'false')) not in ('false', '0', '')
                         then 'escalated'
                     else 'completed' end as status,
                NULL::VARCHAR as review,
                cast(coalesce(a.api_calls, 0) as VARCHAR) as api_calls,
                case when a.own_is_unit then a.input_raw
                     else coalesce(a.input_bad, cast(coalesce(a.input_sum, 0) as VARCHAR)) end as input_tokens,
                case when a.own_is_unit then a.output_raw
                     else coalesce(a.output_bad, cast(coalesce(a.output_sum, 0) as VARCHAR)) end as output_tokens,
                case when a.cost_raw is not null and a.own_cost is null then a.cost_raw
                     when a.own_is_unit or (a.cost_raw is not null and coalesce(a.with_cost, 0) = 0)
                         then cast(coalesce(a.own_cost, a.own_estimate) as VARCHAR)
                     else coalesce(a.cost_bad, cast(a.cost_sum as VARCHAR)) end as cost_usd,
                {latency} as latency_ms,
                case when a.cost_raw is not null and (a.own_is_unit or coalesce(a.with_cost, 0) = 0) then 0::DECIMAL(18,8)
                     when a.own_is_unit then coalesce(a.own_estimate, 0)
                     else coalesce(a.estimated, 0) end as estimated_cost_usd,
                case when a.event_id is null then 'id' end as reject_column,
                case when a.event_id is null then 'the observation has no id' end as reject_reason
            from agents as a
        )
        select * from final
        """,
        {
            "task_type_attribute": settings.telemetry.task_type_attribute,
            "escalated_attribute": settings.telemetry.escalated_attribute,
        },
    )
    fields = [s.removeprefix("langfuse.") for s in mapping.sources("langfuse.", ALWAYS_SOURCES)]
    plain = [f for f in fields if f in OBSERVATION_FIELDS and f not in JSON_FIELDS]
    metadata_keys = [f.removeprefix("metadata.") for f in fields if f.startswith("metadata.")]
    parts = [
        f"select row_id, 'langfuse.{field}' as source, {field} as value from _lf_runs" for field in plain
    ]
    if metadata_keys:
        parts.append(
            "select r.row_id, 'langfuse.metadata.' || k.key, "
            "json_extract_string(r.metadata, '$.' || to_json(k.key)::VARCHAR) "
            "from _lf_runs as r, (select unnest($metadata_keys::VARCHAR[]) as key) as k"
        )
    if "tags" in fields:
        parts.append(
            "select row_id, 'langfuse.tags', unnest(case when json_type(tags::JSON) = 'ARRAY' "
            "then json_extract_string(tags::JSON, '$[*]') else [tags] end) from _lf_runs where tags is not null"
        )
    cur.execute(
        "create or replace temp table _tele_candidates as " + " union all ".join(parts),
        {"metadata_keys": metadata_keys} if metadata_keys else {},
    )
    known = [
        f"langfuse.{field}"
        for field in fields
        if field in plain or field == "tags" or field.startswith("metadata.")
    ]
    unknown = [f"langfuse.{field}" for field in fields if f"langfuse.{field}" not in known]
    if unknown:
        raise telemetry.TelemetryError(
            f"the mapping names {', '.join(unknown)}, which this export does not have "
            f"(fields: {', '.join(OBSERVATION_FIELDS)}, metadata.<key>, tags)"
        )
    return tuple(known)


def _score_reviews(cur: duckdb.DuckDBPyConnection, settings: config.Settings) -> int:
    """_tele_events of reviews from the scores of the configured name; returns the scores left aside."""
    by_label = telemetry.review_sql("s.string_value", "NULL")
    by_value = telemetry.review_sql("NULL", "try_cast(s.value as DOUBLE)")
    cur.execute(
        f"""
        create or replace temp table _tele_events as
        with named as (
            select * from _lf_rows as s
            where $review_name <> '' and s.name = $review_name
        ),
        final as (
            select
                row_number() over (order by s.record_no) - 1 as _ordinal,
                s.record_no,
                s.id as review_id,
                nullif(s.observation_id, '') as event_id,
                s.trace_id,
                case upper(s.data_type)
                    when 'BOOLEAN' then case when try_cast(s.value as DOUBLE) = 1 or lower(s.string_value) = 'true'
                                             then 'correct'
                                             when try_cast(s.value as DOUBLE) = 0 or lower(s.string_value) = 'false'
                                             then 'incorrect'
                                             else coalesce(s.string_value, s.value) end
                    when 'CATEGORICAL' then coalesce({by_label},
                                                     s.string_value)
                    when 'NUMERIC' then coalesce({by_value}, s.value)
                    else 'data type ' || coalesce(s.data_type, 'none')
                end as review,
                s.name,
                s.timestamp as reviewed_at
            from named as s
        )
        select * from final
        """,
        {
            "review_name": settings.telemetry.review_evaluation,
            "review_threshold": settings.telemetry.review_threshold,
        },
    )
    return int(
        store.scalar(
            cur,
            "select count(*) from _lf_rows where not ($review_name <> '' and name is not distinct from $review_name)",
            {"review_name": settings.telemetry.review_evaluation},
        )
    )


def stage(
    cur: duckdb.DuckDBPyConnection,
    kind: str,
    path: Path,
    readable: Path,
    header: Header,
    rejects: str,
    settings: config.Settings,
    mapping: Mapping,
) -> telemetry.Staged:
    """Read a Langfuse export into _tele_events and _tele_rejects (see telemetry.py)."""
    from offload_metrics.ingest import is_gzip

    fields = OBSERVATION_FIELDS if kind == "langfuse_observations" else SCORE_FIELDS
    compressed = header.file_format != "parquet" and is_gzip(path)
    _read_rows(cur, readable, header.file_format, header.names, header.native_types, header.delimiter, compressed,
               rejects, fields)  # fmt: skip
    records = store.scalar(cur, "select count(*) from _lf_rows")
    telemetry.create_rejects(cur)
    _unreadable_rejects(cur)
    if header.file_format != "jsonl":
        _json_cell_rejects(cur, fields)
    read = store.scalar(cur, "select count(*) from _lf_rows")
    if kind == "langfuse_observations":
        # What an observation export must have; scores' identifying columns are checked on detection.
        missing = [field for field in ("id", "trace_id", "type", "start_time") if field not in header.names]
        if missing:
            raise telemetry.TelemetryError(
                f"is not a Langfuse observations export: no {', '.join(missing)} column"
            )
    if kind == "langfuse_scores":
        aside = _score_reviews(cur, settings)
        events, rejected = telemetry.staged_counts(cur)
    else:
        sources = _observation_runs(cur, settings, mapping)
        events, rejected = telemetry.finish(cur, mapping, sources)
        in_runs = store.scalar(
            cur, "select count(*) + coalesce(sum(cast(api_calls as BIGINT)), 0) from _tele_runs"
        )
        aside = int(read) - int(in_runs)
    return telemetry.Staged(
        records_read=int(read),
        events=events,
        rejected=rejected,
        outside=max(aside, 0),
        record_format=header.file_format,
        records_in_file=int(records),
    )
