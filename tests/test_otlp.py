"""OpenTelemetry GenAI spans in: spans made by the real SDK, written as the Collector writes them."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode, set_span_in_context

from conftest import table_rows
from offload_metrics import config, ingest, mapping, metrics, report, store

CLI = shutil.which("offload-metrics") or str(Path(sys.executable).with_name("offload-metrics"))
T0 = 1_741_079_700_000_000_000  # 2025-03-04T09:15:00Z in nanoseconds
SECOND = 1_000_000_000
MAPPING = """
[[rule]]
source = "resource.service.namespace"
match = "marketing*"
function = "Marketing"
business_unit = "Consumer"
team = "Brand Content"

[[rule]]
source = "resource.service.name"
match = "support-bot"
function = "Customer Support"
business_unit = "Consumer"
team = "Tier 1"
"""
PRICES = {"gpt-4o-mini": (Decimal("0.15"), Decimal("0.6")), "claude-haiku": (Decimal("3"), Decimal("15"))}


def hex_ids(value: object) -> object:
    """protobuf's JSON writes ids as base64; the Collector writes them as hex."""
    if isinstance(value, dict):
        return {
            key: base64.b64decode(item).hex()
            if key in ("traceId", "spanId", "parentSpanId")
            else hex_ids(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [hex_ids(item) for item in value]
    return value


def collector_line(exporter: InMemorySpanExporter) -> str:
    """The spans an SDK finished, as one line of the Collector's file exporter."""
    request = encode_spans(exporter.get_finished_spans())
    return json.dumps(hex_ids(json_format.MessageToDict(request, use_integers_for_enums=True)))


def provider(**resource: str) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider(resource=Resource.create(resource))
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    return tracer_provider, exporter


def child(tracer, parent, name: str, start: int, end: int, **attributes) -> None:
    span = tracer.start_span(
        name, context=set_span_in_context(parent), start_time=start, attributes=attributes
    )
    span.end(end_time=end)


def sdk_file(path: Path) -> dict[str, str]:
    """Two services: a marketing agent in today's attribute names with chat and tool children and a
    passing evaluation; a support agent in the older names that fails, with its own usage and a
    low evaluation score. Returns each agent's event id."""
    marketing, marketing_spans = provider(
        **{"service.name": "brief-svc", "service.namespace": "marketing-apps"}
    )
    tracer = marketing.get_tracer("agents")
    agent = tracer.start_span(
        "invoke_agent Brief writer",
        start_time=T0,
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.id": "mkt-brief-writer",
            "gen_ai.agent.name": "Brief writer",
            "gen_ai.provider.name": "openai",
        },
    )
    child(tracer, agent, "chat gpt-4o", T0 + SECOND, T0 + 3 * SECOND, **{
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.provider.name": "openai",
        "gen_ai.usage.input_tokens": 3000, "gen_ai.usage.output_tokens": 800, "gen_ai.usage.cost": 0.02,
    })  # fmt: skip
    child(tracer, agent, "chat gpt-4o-mini", T0 + 3 * SECOND, T0 + 4 * SECOND, **{
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 200, "gen_ai.usage.output_tokens": 50,
    })  # fmt: skip
    child(tracer, agent, "execute_tool search", T0 + 4 * SECOND, T0 + 5 * SECOND, **{
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search",
    })  # fmt: skip
    agent.add_event(
        "gen_ai.evaluation.result",
        {"gen_ai.evaluation.name": "correctness", "gen_ai.evaluation.score.label": "pass"},
        timestamp=T0 + 6 * SECOND,
    )
    agent.end(end_time=T0 + 5_400_000_000)
    support, support_spans = provider(**{"service.name": "support-bot"})
    tracer = support.get_tracer("agents")
    failing = tracer.start_span(
        "invoke_agent support-triage",
        start_time=T0 + 3600 * SECOND,
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "support-triage",
            "gen_ai.system": "anthropic",
            "gen_ai.request.model": "claude-haiku",
            "gen_ai.usage.prompt_tokens": 400,
            "gen_ai.usage.completion_tokens": 100,
        },
    )
    failing.add_event(
        "gen_ai.evaluation.result",
        {"gen_ai.evaluation.name": "correctness", "gen_ai.evaluation.score.value": 0.3},
        timestamp=T0 + 3602 * SECOND,
    )
    failing.set_status(Status(StatusCode.ERROR, "tool timed out"))
    failing.end(end_time=T0 + 3600 * SECOND + 1_250_000_000)
    path.write_text(
        collector_line(marketing_spans) + "\n" + collector_line(support_spans) + "\n", encoding="utf-8"
    )

    def event_id(span) -> str:
        context = span.get_span_context()
        return f"{context.trace_id:032x}:{context.span_id:016x}"

    return {"marketing": event_id(agent), "support": event_id(failing)}


def org(tmp_path: Path) -> mapping.Mapping:
    path = tmp_path / "org.toml"
    path.write_text(MAPPING, encoding="utf-8")
    return mapping.load_mapping(path)


def priced() -> config.Settings:
    return config.parse_settings(
        {"telemetry": {"prices": {k: [str(a), str(b)] for k, (a, b) in PRICES.items()}}}
    )


def test_sdk_spans_make_one_event_per_agent_with_every_field(conn, tmp_path):
    ids = sdk_file(tmp_path / "traces.jsonl")
    result = ingest.load_file(conn, tmp_path / "traces.jsonl", settings=priced(), mapping=org(tmp_path))
    assert (result.kind, result.records_read, result.events_made, result.rows_read, result.accepted) == (
        "otlp_traces", 5, 2, 2, 2,
    )  # fmt: skip
    # gpt-4o-mini has no cost attribute: 200 x 0.15 / 1M + 50 x 0.6 / 1M = 0.00006, estimated.
    # The failing agent has no children: its own (older-named) tokens, priced 400 x 3 / 1M + 100 x 15 / 1M.
    assert table_rows(conn, "usage_events") == sorted(
        [
            (ids["marketing"], dt.datetime(2025, 3, 4, 9, 15), "mkt-brief-writer", "Marketing", "Consumer",
             "Brand Content", "invoke_agent Brief writer", "completed", "correct", 3, 3200, 850,
             Decimal("0.02006000"), 5400),
            (ids["support"], dt.datetime(2025, 3, 4, 10, 15), "support-triage", "Customer Support", "Consumer",
             "Tier 1", "invoke_agent support-triage", "failed", "incorrect", 0, 400, 100, Decimal("0.00270000"),
             1250),
        ]
    )  # fmt: skip
    estimated = conn.execute(
        "select event_id, estimated_cost_usd from usage_events order by event_id"
    ).fetchall()
    assert dict(estimated) == {ids["marketing"]: Decimal("0.00006000"), ids["support"]: Decimal("0.00270000")}
    rollup = conn.execute(
        "select sum(tasks), sum(correct), sum(incorrect), sum(failed), sum(cost_usd), sum(estimated_cost_usd) "
        "from usage_daily"
    ).fetchone()
    assert rollup == (2, 1, 1, 1, Decimal("0.02276000"), Decimal("0.00276000"))


def test_the_report_of_an_imported_file_equals_the_report_of_the_same_events_in_the_contract(tmp_path):
    """The whole report, not a few figures: importing changes nothing a hand-written file would say."""
    ids = sdk_file(tmp_path / "traces.jsonl")
    header = "event_id,occurred_at,agent_id,function,business_unit,team,task_type,status,review,api_calls,input_tokens,output_tokens,cost_usd,latency_ms"
    rows = [
        f"{ids['marketing']},2025-03-04T09:15:00Z,mkt-brief-writer,Marketing,Consumer,Brand Content,"
        "invoke_agent Brief writer,completed,correct,3,3200,850,0.02006,5400",
        f"{ids['support']},2025-03-04T10:15:00Z,support-triage,Customer Support,Consumer,Tier 1,"
        "invoke_agent support-triage,failed,incorrect,0,400,100,0.0027,1250",
    ]
    (tmp_path / "usage.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    reports = []
    for name, load in (
        (
            "otel",
            lambda conn: ingest.load_file(
                conn, tmp_path / "traces.jsonl", settings=priced(), mapping=org(tmp_path)
            ),
        ),
        ("csv", lambda conn: ingest.load_file(conn, tmp_path / "usage.csv")),
    ):
        with store.connect(tmp_path / f"{name}.duckdb") as conn:
            load(conn)
            reports.append(
                json.loads(report.to_json(report.build(conn, metrics.Filters(), config.Settings())))
            )
    otel, hand_written = reports
    assert otel["data_quality"]["accepted"] == 2
    assert sorted(agent["agent_id"] for agent in otel["agents"]) == ["mkt-brief-writer", "support-triage"]
    assert otel == hand_written


def otlp_span(
    trace: str,
    span: str,
    *,
    parent: str = "",
    name: str = "chat m",
    start: int = T0,
    end: int = T0 + SECOND,
    status: int = 0,
    **attributes: object,
) -> dict:
    values = []
    for key, value in attributes.items():
        key = key.replace("__", ".")
        if isinstance(value, bool):
            values.append({"key": key, "value": {"boolValue": value}})
        elif isinstance(value, int):
            values.append({"key": key, "value": {"intValue": str(value)}})
        elif isinstance(value, float):
            values.append({"key": key, "value": {"doubleValue": value}})
        else:
            values.append({"key": key, "value": {"stringValue": value}})
    return {
        "traceId": trace, "spanId": span, "parentSpanId": parent, "name": name, "kind": 1,
        "startTimeUnixNano": str(start), "endTimeUnixNano": str(end), "attributes": values,
        "status": {"code": status} if status else {}, "droppedAttributesCount": 0, "someFutureField": {"x": 1},
    }  # fmt: skip


def traces_data(spans: list[dict], **resource: str) -> dict:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": k.replace("__", "."), "value": {"stringValue": v}}
                                            for k, v in resource.items()]},
                "scopeSpans": [{"scope": {"name": "hand"}, "spans": spans}],
                "schemaUrl": "https://opentelemetry.io/schemas/1.37.0",
            }
        ]
    }  # fmt: skip


TRACE = "0af7651916cd43dd8448eb211c80319c"
MARKETING = {"service__namespace": "marketing-apps", "service__name": "brief-svc"}


def agent_span(span: str, agent: str | None = "writer", **extra) -> dict:
    attributes = {"gen_ai__operation__name": "invoke_agent", **extra}
    if agent:
        attributes["gen_ai__agent__id"] = agent
    return otlp_span(TRACE, span, name=f"invoke_agent {agent}", end=T0 + 2 * SECOND, **attributes)


def write_lines(path: Path, documents: list[object]) -> Path:
    path.write_text(
        "".join((d if isinstance(d, str) else json.dumps(d)) + "\n" for d in documents), encoding="utf-8"
    )
    return path


def usage(conn) -> dict[str, tuple]:
    return {
        row[0]: row[1:]
        for row in conn.execute(
            "select event_id, agent_id, api_calls, input_tokens, output_tokens, cost_usd from usage_events"
        ).fetchall()
    }


def test_aggregate_usage_on_the_agent_span_is_not_counted_twice(conn, tmp_path):
    spans = [
        agent_span("a000000000000001", gen_ai__usage__input_tokens=1000, gen_ai__usage__output_tokens=100),
        otlp_span(TRACE, "c000000000000001", parent="a000000000000001", gen_ai__operation__name="chat",
                  gen_ai__usage__input_tokens=600, gen_ai__usage__output_tokens=60),
        otlp_span(TRACE, "c000000000000002", parent="a000000000000001", gen_ai__operation__name="chat",
                  gen_ai__usage__input_tokens=400, gen_ai__usage__output_tokens=40),
    ]  # fmt: skip
    ingest.load_file(
        conn, write_lines(tmp_path / "t.jsonl", [traces_data(spans, **MARKETING)]), mapping=org(tmp_path)
    )
    assert usage(conn) == {f"{TRACE}:a000000000000001": ("writer", 2, 1000, 100, Decimal(0))}


def test_a_span_counts_toward_its_nearest_agent_only(conn, tmp_path):
    spans = [
        agent_span("a000000000000001", "outer"),
        otlp_span(TRACE, "b000000000000001", parent="a000000000000001", name="workflow step"),
        otlp_span(TRACE, "c000000000000001", parent="b000000000000001", gen_ai__operation__name="chat",
                  gen_ai__usage__input_tokens=10, gen_ai__usage__output_tokens=1),
        agent_span("a000000000000002", "inner") | {"parentSpanId": "b000000000000001"},
        otlp_span(TRACE, "c000000000000002", parent="a000000000000002", gen_ai__operation__name="generate_content",
                  gen_ai__usage__input_tokens=20, gen_ai__usage__output_tokens=2),
        otlp_span(TRACE, "d000000000000002", parent="a000000000000002", gen_ai__operation__name="execute_tool"),
    ]  # fmt: skip
    result = ingest.load_file(
        conn, write_lines(tmp_path / "t.jsonl", [traces_data(spans, **MARKETING)]), mapping=org(tmp_path)
    )
    assert usage(conn) == {
        f"{TRACE}:a000000000000001": ("outer", 1, 10, 1, Decimal(0)),
        f"{TRACE}:a000000000000002": ("inner", 2, 20, 2, Decimal(0)),
    }
    # Six spans: two agents, three inference or tool spans under them, one workflow step in neither.
    assert (result.records_read, result.events_made, result.outside) == (6, 2, 1)


def test_unmapped_service_and_missing_agent_id_are_rejected_with_the_value_named(conn, tmp_path):
    spans_elsewhere = [agent_span("a000000000000001", "writer")]
    spans = [agent_span("a000000000000002", None), agent_span("a000000000000003", "fine")]
    path = write_lines(
        tmp_path / "t.jsonl",
        [traces_data(spans_elsewhere, service__name="billing"), traces_data(spans, **MARKETING)],
    )
    result = ingest.load_file(conn, path, mapping=org(tmp_path))
    assert (result.rows_read, result.accepted, result.rejected, result.events_made) == (3, 1, 2, 1)
    assert result.balanced
    assert store.rejected_rows(conn)[["line", "column_name", "reason"]].values.tolist() == [
        [1, "mapping", 'no mapping rule matches resource.service.name="billing"'],
        [2, "agent_id", f"the invoke_agent span {TRACE}:a000000000000002 has neither gen_ai.agent.id nor gen_ai.agent.name"],
    ]  # fmt: skip
    assert mapping.unmapped_values(conn).values.tolist() == [
        ['resource.service.name="billing"', 1, "t.jsonl"]
    ]


def test_a_malformed_line_is_rejected_with_its_line_and_the_rest_loads(conn, tmp_path):
    good = [traces_data([agent_span(f"a00000000000000{n}", "writer")], **MARKETING) for n in (1, 2)]
    path = write_lines(
        tmp_path / "t.jsonl", [good[0], "", '{"resourceSpans": [', good[1], '{"resourceLogs": []}']
    )
    result = ingest.load_file(conn, path, mapping=org(tmp_path))
    assert (result.rows_read, result.accepted, result.rejected) == (4, 2, 2)
    assert store.rejected_rows(conn)[["line", "reason"]].values.tolist() == [
        [3, "not valid JSON"],
        [5, "not an OTLP traces object (no resourceSpans list)"],
    ]


def test_gzip_and_a_single_pretty_printed_document_load_the_same(conn, tmp_path):
    document = traces_data([agent_span("a000000000000001", "writer")], **MARKETING)
    with gzip.open(tmp_path / "t.json.gz", "wt", encoding="utf-8") as handle:
        handle.write(json.dumps(document) + "\n")
    (tmp_path / "pretty.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    first = ingest.load_file(conn, tmp_path / "t.json.gz", mapping=org(tmp_path))
    second = ingest.load_file(conn, tmp_path / "pretty.json", mapping=org(tmp_path))
    assert (first.kind, first.accepted, second.kind, second.duplicate) == ("otlp_traces", 1, "otlp_traces", 1)


def test_nanosecond_timestamps_across_a_month_boundary(conn, tmp_path):
    start = 1_738_367_999_999_999_999  # 2025-01-31T23:59:59.999999999Z
    end = start + 250_000_001  # 2025-02-01T00:00:00.250000000Z
    span = otlp_span(TRACE, "a000000000000001", name="invoke_agent writer", start=start, end=end,
                     gen_ai__operation__name="invoke_agent", gen_ai__agent__id="writer")  # fmt: skip
    ingest.load_file(
        conn, write_lines(tmp_path / "t.jsonl", [traces_data([span], **MARKETING)]), mapping=org(tmp_path)
    )
    assert conn.execute("select occurred_at, latency_ms from usage_events").fetchall() == [
        (dt.datetime(2025, 1, 31, 23, 59, 59, 999999), 250)
    ]
    assert conn.execute("select day from usage_daily").fetchall() == [(dt.date(2025, 1, 31),)]


def test_base64_ids_are_rejected_with_the_reason(conn, tmp_path):
    span = agent_span("a000000000000001", "writer") | {
        "traceId": "CvdlGRbNQ92ESOshHIAxnA==",
        "spanId": "oAAAAAAAAAE=",
    }
    result = ingest.load_file(
        conn, write_lines(tmp_path / "t.jsonl", [traces_data([span], **MARKETING)]), mapping=org(tmp_path)
    )
    assert result.rejected == 1
    assert "must be hex" in store.rejected_rows(conn)["reason"][0]


def test_a_span_sent_twice_is_a_duplicate_and_its_children_count_once(conn, tmp_path):
    spans = [
        agent_span("a000000000000001", "writer"),
        otlp_span(TRACE, "c000000000000001", parent="a000000000000001", gen_ai__operation__name="chat",
                  gen_ai__usage__input_tokens=5, gen_ai__usage__output_tokens=1),
    ]  # fmt: skip
    batch = traces_data(spans, **MARKETING)
    result = ingest.load_file(conn, write_lines(tmp_path / "t.jsonl", [batch, batch]), mapping=org(tmp_path))
    assert (result.rows_read, result.accepted, result.duplicate) == (2, 1, 1)
    assert usage(conn) == {f"{TRACE}:a000000000000001": ("writer", 1, 5, 1, Decimal(0))}


def test_escalation_and_task_type_come_from_configured_attributes(conn, tmp_path):
    spans = [
        agent_span("a000000000000001", "writer", app__escalated=True, app__task="brief"),
        agent_span("a000000000000002", "writer", app__escalated=False, app__task="brief"),
        agent_span("a000000000000003", "writer")
        | {"events": [{"timeUnixNano": str(T0), "name": "app.escalated"}]},
    ]
    settings = config.parse_settings(
        {"telemetry": {"escalated_attribute": "app.escalated", "task_type_attribute": "app.task"}}
    )
    ingest.load_file(conn, write_lines(tmp_path / "t.jsonl", [traces_data(spans, **MARKETING)]), settings=settings,
                     mapping=org(tmp_path))  # fmt: skip
    assert conn.execute("select task_type, status from usage_events order by event_id").fetchall() == [
        ("brief", "escalated"),
        ("brief", "completed"),
        ("invoke_agent writer", "escalated"),
    ]


def test_reloading_after_the_mapping_changed_loads_what_now_maps_and_nothing_twice(tmp_path):
    db = tmp_path / "o.duckdb"
    spans = [traces_data([agent_span("a000000000000001", "writer")], **MARKETING),
             traces_data([agent_span("b000000000000001", "fixer")], service__name="billing")]  # fmt: skip
    path = write_lines(tmp_path / "t.jsonl", spans)
    (tmp_path / "org.toml").write_text(MAPPING, encoding="utf-8")
    (tmp_path / "more.toml").write_text(
        MAPPING + '\n[[rule]]\nsource = "resource.service.name"\nmatch = "billing"\nfunction = "Finance"\n'
        'business_unit = "Corporate"\n',
        encoding="utf-8",
    )

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120, check=False)

    without = cli("ingest", "--db", str(db), str(path))
    assert without.returncode == 0, without.stderr
    assert "2 records rejected" in without.stdout
    first = cli("ingest", "--db", str(db), "--mapping", str(tmp_path / "org.toml"), str(path))
    again = cli("ingest", "--db", str(db), "--mapping", str(tmp_path / "org.toml"), str(path))
    wider = cli("ingest", "--db", str(db), "--mapping", str(tmp_path / "more.toml"), str(path))
    assert [first.returncode, again.returncode, wider.returncode] == [0, 0, 0]
    # The same file under the same mapping is already loaded: no load recorded for it below.
    assert "already" in again.stdout
    with store.connect(db, read_only=True) as conn:
        assert conn.execute(
            "select rows_read, accepted, duplicate, rejected from loads where outcome = 'loaded' order by load_id"
        ).fetchall() == [(2, 0, 0, 2), (2, 1, 0, 1), (2, 1, 1, 0)]
        assert conn.execute("select agent_id, function from usage_events order by agent_id").fetchall() == [
            ("fixer", "Finance"),
            ("writer", "Marketing"),
        ]
        assert mapping.unmapped_values(conn).empty
    listed = cli("rejects", "--db", str(db), "--unmapped", "--format", "json")
    assert json.loads(listed.stdout) == []


def test_a_bad_mapping_file_stops_ingest_before_anything_loads(tmp_path):
    (tmp_path / "bad.csv").write_text("source,match,function\n", encoding="utf-8")
    result = subprocess.run(
        [CLI, "ingest", "--db", str(tmp_path / "o.duckdb"), "--mapping", str(tmp_path / "bad.csv"),
         str(tmp_path / "whatever.jsonl")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    # The console wraps long paths wherever it likes, so compare without white space.
    assert "bad.csv:line1:missingcolumn(s)business_unit" in "".join(result.stderr.split())
    assert not (tmp_path / "o.duckdb").exists()


@pytest.mark.parametrize("kind", ["otlp_traces"])
def test_the_kind_can_be_named(conn, tmp_path, kind):
    path = write_lines(
        tmp_path / "t.txt", [traces_data([agent_span("a000000000000001", "writer")], **MARKETING)]
    )
    assert ingest.load_file(conn, path, kind=kind, mapping=org(tmp_path)).accepted == 1


def test_the_report_says_how_much_of_the_cost_is_estimated(conn, tmp_path):
    spans = [
        agent_span("a000000000000001", "writer", gen_ai__request__model="m", gen_ai__usage__input_tokens=1_000_000,
                   gen_ai__usage__output_tokens=0),
        agent_span("a000000000000002", "writer", gen_ai__usage__cost=2.25),
    ]  # fmt: skip
    settings = config.parse_settings({"telemetry": {"prices": {"m": ["1.5", "4"]}}})
    ingest.load_file(conn, write_lines(tmp_path / "t.jsonl", [traces_data(spans, **MARKETING)]), settings=settings,
                     mapping=org(tmp_path))  # fmt: skip
    built = report.build(conn, metrics.Filters(), config.Settings())
    assert (built["org"]["agent_cost_usd"], built["org"]["estimated_agent_cost_usd"]) == (3.75, 1.5)
    assert [
        (f["function"], f["agent_cost_usd"], f["estimated_agent_cost_usd"]) for f in built["functions"]
    ] == [("Marketing", 3.75, 1.5)]


def test_hostile_values_are_rejected_with_their_reason_and_line(conn, tmp_path):
    spans = [
        agent_span("a000000000000001", "writer"),
        otlp_span(TRACE, "c000000000000001", parent="a000000000000001", gen_ai__operation__name="chat",
                  gen_ai__usage__input_tokens="12.5"),
        # Ends before it starts.
        agent_span("a000000000000002", "writer") | {"endTimeUnixNano": str(T0 - SECOND)},
        # Values of other JSON types than OTLP's: read as null, never a crash.
        agent_span("a000000000000003", "writer") | {
            "attributes": [
                {"key": "gen_ai.operation.name", "value": {"stringValue": "invoke_agent"}},
                {"key": "gen_ai.agent.id", "value": {"stringValue": "writer"}},
                {"key": "gen_ai.usage.input_tokens", "value": {"intValue": 7}},
                {"key": "gen_ai.request.model", "value": {"stringValue": {"nested": 1}}},
                {"key": "error.type", "value": {"boolValue": "yes"}},
            ],
            "status": {"code": "STATUS_CODE_ERROR"},
        },
        # A parent cycle among plain spans ends the walk.
        otlp_span(TRACE, "e000000000000001", parent="e000000000000002", gen_ai__operation__name="chat"),
        otlp_span(TRACE, "e000000000000002", parent="e000000000000001", name="loop"),
    ]  # fmt: skip
    path = write_lines(tmp_path / "t.jsonl", ["", traces_data(spans, **MARKETING)])
    result = ingest.load_file(conn, path, mapping=org(tmp_path))
    assert (result.records_read, result.rows_read, result.accepted, result.rejected) == (6, 3, 1, 2)
    assert store.rejected_rows(conn)[["line", "column_name", "reason"]].values.tolist() == [
        [2, "input_tokens", 'input_tokens: must be a whole number (got "12.5")'],
        [2, "latency_ms", 'latency_ms: must be ≥ 0 (got "-1000")'],
    ]
    assert conn.execute("select status, input_tokens, output_tokens from usage_events").fetchall() == [
        ("failed", 7, 0)
    ]


def test_a_cost_or_latency_no_column_holds_rejects_its_span_and_the_rest_load(conn, tmp_path):
    """A cost of $1e12 (own or a child's), a cost written "1_000" and an end a million years on were
    cast in SQL and refused the whole file; each now rejects its own agent span, with its line."""
    spans = [
        agent_span("a000000000000001", "writer", gen_ai__usage__cost=1e12),
        agent_span("a000000000000002", "writer"),
        otlp_span(TRACE, "c000000000000002", parent="a000000000000002", gen_ai__operation__name="chat",
                  gen_ai__usage__cost=5e11),
        agent_span("a000000000000003", "writer", gen_ai__usage__cost="1_000"),
        agent_span("a000000000000004", "writer") | {"endTimeUnixNano": "99999999999999999999999999999999"},
        agent_span("a000000000000005", "writer", gen_ai__usage__cost="0.25"),
    ]  # fmt: skip
    path = write_lines(tmp_path / "t.jsonl", [traces_data(spans, **MARKETING)])

    result = ingest.load_file(conn, path, mapping=org(tmp_path))

    assert (result.rows_read, result.accepted, result.rejected) == (5, 1, 4)
    too_many = "has more digits than can be stored exactly"
    *costs, latency = sorted(store.rejected_rows(conn)[["column_name", "reason"]].values.tolist())
    assert costs == [
        ["cost_usd", f'cost_usd: {too_many} (the largest is 9,999,999,999.99999999) (got "1000000000000.0")'],
        ["cost_usd", f'cost_usd: {too_many} (the largest is 9,999,999,999.99999999) (got "500000000000.0")'],
        ["cost_usd", 'cost_usd: must be a decimal number (at most 8 decimal places) (got "1_000")'],
    ]
    # (1e32 - start) ns in milliseconds, as a double's text: about 1e26.
    assert latency[0] == "latency_ms"
    assert latency[1].startswith(
        f'latency_ms: {too_many} (the largest is 9,007,199,254,740,991) (got "9.9999'
    )
    assert latency[1].endswith('e+25")')
    assert conn.execute("select cost_usd from usage_events").fetchall() == [(Decimal("0.25"),)]


def test_a_file_without_agent_spans_loads_nothing_and_says_so(conn, tmp_path):
    spans = [otlp_span(TRACE, "c000000000000001", gen_ai__operation__name="chat")]
    result = ingest.load_file(conn, write_lines(tmp_path / "t.jsonl", [traces_data(spans, **MARKETING)]))
    assert (result.rows_read, result.records_read, result.outside) == (0, 1, 1)
    assert result.message == "1 spans read, 0 usage events made, 0 records rejected, 1 spans in no agent run"


def test_rejects_shows_the_unmapped_values_before_the_rows_and_alone_with_unmapped(conn, db_path, tmp_path):
    spans = [agent_span("a000000000000001", "writer")]
    path = write_lines(tmp_path / "t.jsonl", [traces_data(spans, service__name="billing")])
    ingest.load_file(conn, path, mapping=org(tmp_path))
    conn.close()

    def rejects(*args: str) -> str:
        done = subprocess.run(
            [CLI, "rejects", "--db", str(db_path), *args],
            capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "300"},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    both = rejects()
    assert both.index("Unmapped values") < both.index("Rejected and conflicting rows")
    assert 'resource.service.name="billing"' in both
    alone = rejects("--unmapped")
    assert "Unmapped values" in alone and "Rejected and conflicting rows" not in alone


def test_an_evaluation_score_that_is_no_number_reviews_nothing(conn, tmp_path):
    # The SDK writes a NaN or infinite score as protobuf JSON does: "NaN", "Infinity", "-Infinity".
    # DuckDB orders NaN above every number, so NaN and Infinity read as correct and -Infinity as
    # incorrect, inflating accuracy; such a score says nothing, as a missing one does.
    tracer_provider, exporter = provider(**{"service.name": "support-bot"})
    tracer = tracer_provider.get_tracer("agents")
    for index, score in enumerate([float("nan"), float("inf"), float("-inf"), 0.9]):
        span = tracer.start_span(
            "invoke_agent triage",
            start_time=T0 + index * SECOND,
            attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.id": f"triage-{index}"},
        )
        span.add_event(
            "gen_ai.evaluation.result",
            {"gen_ai.evaluation.name": "correctness", "gen_ai.evaluation.score.value": score},
            timestamp=T0 + index * SECOND + 1,
        )
        span.end(end_time=T0 + index * SECOND + 2)
    line = collector_line(exporter)
    assert '"NaN"' in line and '"-Infinity"' in line
    path = tmp_path / "spans.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    result = ingest.load_file(conn, path, mapping=org(tmp_path))
    assert (result.accepted, result.rejected) == (4, 0)
    assert conn.execute("select agent_id, review from usage_events order by agent_id").fetchall() == [
        ("triage-0", None),
        ("triage-1", None),
        ("triage-2", None),
        ("triage-3", "correct"),
    ]


def test_a_span_that_gives_a_read_attribute_twice_rejects_its_agent_run(conn, tmp_path):
    # OTLP requires unique attribute keys; a processor that appends instead of replacing gives one
    # twice. Which token count is meant cannot be told, so the agent's run is rejected, naming the
    # span; an attribute the importer does not read may repeat.
    tracer_provider, exporter = provider(**{"service.name": "support-bot"})
    tracer = tracer_provider.get_tracer("agents")
    for index in range(3):
        agent = tracer.start_span(
            "invoke_agent triage",
            start_time=T0 + index * SECOND,
            attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.id": f"triage-{index}"},
        )
        child(tracer, agent, "chat", T0 + index * SECOND, T0 + index * SECOND + 1, **{
            "gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 100, "http.method": "POST",
        })  # fmt: skip
        agent.end(end_time=T0 + index * SECOND + 2)
    document = json.loads(collector_line(exporter))
    spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    chats = [span for span in spans if span["name"] == "chat"]
    # triage-1's chat gives its input tokens twice; triage-2's chat repeats an attribute not read.
    repeat = {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "99000"}}
    chats[1]["attributes"].append(repeat)
    chats[2]["attributes"].append({"key": "http.method", "value": {"stringValue": "GET"}})
    path = tmp_path / "spans.jsonl"
    path.write_text(json.dumps(document) + "\n", encoding="utf-8")

    result = ingest.load_file(conn, path, mapping=org(tmp_path))

    assert (result.accepted, result.rejected) == (2, 1)
    assert conn.execute("select agent_id, input_tokens from usage_events order by 1").fetchall() == [
        ("triage-0", 100),
        ("triage-2", 100),
    ]
    [(column, reason)] = store.rejected_rows(conn)[["column_name", "reason"]].values.tolist()
    assert column == "attributes"
    assert reason == (
        f"span {chats[1]['traceId']}:{chats[1]['spanId']} gives the attribute gen_ai.usage.input_tokens "
        "more than once, so which value counts cannot be told"
    )
