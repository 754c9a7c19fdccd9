"""Ingest: every row ends accepted, duplicate, conflict or rejected; files load whole or not at all."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import example, snapshot, table_rows, write_csv, write_jsonl, write_parquet
from offload_metrics import config, ingest, mapping, metrics, report, schema, store
from offload_metrics.config import Settings

WRITERS = {"csv": write_csv, "jsonl": write_jsonl, "parquet": write_parquet}
EXTENSIONS = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}

EXPECTED_EXAMPLE_ROWS = {
    "usage_events": (
        "evt-000001",
        dt.datetime(2025, 3, 4, 8, 15),  # 09:15 at +01:00 is 08:15 UTC
        "mkt-brief-writer",
        "Marketing",
        "Consumer",
        "Brand Content",
        "campaign_brief",
        "completed",
        "correct",
        4,
        3200,
        850,
        Decimal("0.02130000"),
        5400,
    ),
    "time_saved": (
        "ts-000001",
        dt.date(2025, 3, 1),
        dt.date(2025, 3, 31),
        "Marketing",
        "Consumer",
        "Brand Content",
        "mkt-brief-writer",
        "campaign_brief",
        420,
        45.0,
        8.0,
        12,
    ),
    "replication_events": (
        "rep-000001",
        "mkt-brief-writer",
        "validated",
        dt.date(2025, 2, 14),
        "Marketing",
        "Consumer",
        "Brand Content",
    ),
    "agents": (
        "mkt-brief-writer",
        "Campaign brief writer",
        "Drafts campaign briefs from a product sheet.",
        "Marketing",
        "Consumer",
        "Brand Content",
        "low",
        "1. Connect the product catalog. 2. Copy the prompt pack. 3. Review 20 briefs.",
        dt.date(2024, 11, 2),
        "champion",
        "built",
    ),
    "org_baseline": ("Marketing", "Consumer", "Brand Content", 12, 700.0, Decimal("68.50000000")),
    "vendor_costs": (
        dt.date(2025, 3, 4),
        "openai",
        "proj_brand_content",
        "gpt-4o-2024-08-06, input",
        None,
        Decimal("12.34560000"),
        "USD",
        "Marketing",
        "Consumer",
        "Brand Content",
    ),
    "vendor_usage": (
        dt.date(2025, 3, 4),
        "openai",
        "proj_brand_content",
        "gpt-4o-2024-08-06",
        None,
        120000,
        0,
        30000,
        None,
        "Marketing",
        "Consumer",
        "Brand Content",
    ),
    "task_baselines": (
        "Marketing",
        "Consumer",
        "Brand Content",
        "campaign_brief",
        45.0,
        8.0,
        "estimate",
        "Time study of 30 briefs, March 2025",
    ),
    "collaboration": (
        dt.date(2025, 3, 1),
        dt.date(2025, 3, 31),
        "Marketing",
        "Consumer",
        "Brand Content",
        "Sales Operations",
        "Field Sales Ops",
        "Deal Desk",
        42.5,
        18,
        240,
        "undirected",
    ),
}
# Vendor cost rows need the organisation mapping to be accepted; it maps the example's projects.
EXAMPLE_MAPPING = mapping.Mapping(
    (mapping.Rule(1, "openai.project_id", "proj_brand_content*", "Marketing", "Consumer", "Brand Content"),)
)


def load(conn, path: Path, **options) -> ingest.LoadResult:
    return ingest.load_file(conn, path, **{"mapping": EXAMPLE_MAPPING, **options})


def varied_key(kind: str) -> str:
    """The key column that tells a kind's rows apart: the last required one."""
    model = schema.KINDS[kind]
    required = {column.name for column in schema.columns(model) if column.required}
    return [name for name in model.key if name in required][-1]


def rejections(conn) -> list[tuple]:
    return conn.execute(
        "select line, column_name, outcome, reason from rejected_rows order by load_id, line"
    ).fetchall()


@pytest.mark.parametrize("file_format", list(WRITERS))
@pytest.mark.parametrize("kind", list(schema.KINDS))
def test_each_kind_loads_its_example(conn, tmp_path, kind, file_format):
    path = WRITERS[file_format](tmp_path / f"{kind}.{EXTENSIONS[file_format]}", [example(kind)])

    result = load(conn, path)

    assert (result.kind, result.status, result.rows_read, result.accepted) == (kind, "loaded", 1, 1)
    assert table_rows(conn, kind) == [EXPECTED_EXAMPLE_ROWS[kind]]
    assert rejections(conn) == []


REJECTIONS = [
    ("usage_events", {"event_id": ""}, "event_id", "event_id: is required"),
    (
        "usage_events",
        {"occurred_at": "yesterday"},
        "occurred_at",
        'occurred_at: must be an ISO 8601 timestamp (got "yesterday")',
    ),
    (
        "usage_events",
        {"occurred_at": "epoch"},
        "occurred_at",
        'occurred_at: must be an ISO 8601 timestamp (got "epoch")',
    ),
    (
        "usage_events",
        {"occurred_at": "2025-02-30T10:00:00Z"},
        "occurred_at",
        'occurred_at: must be an ISO 8601 timestamp (got "2025-02-30T10:00:00Z")',
    ),
    (
        "usage_events",
        {"status": "done"},
        "status",
        'status: must be one of completed, escalated, failed (got "done")',
    ),
    ("usage_events", {"status": ""}, "status", "status: is required"),
    (
        "usage_events",
        {"review": "maybe"},
        "review",
        'review: must be one of correct, incorrect (got "maybe")',
    ),
    ("usage_events", {"api_calls": "12O"}, "api_calls", 'api_calls: must be a whole number (got "12O")'),
    ("usage_events", {"api_calls": "12.5"}, "api_calls", 'api_calls: must be a whole number (got "12.5")'),
    (
        "usage_events",
        {"input_tokens": "0x1F"},
        "input_tokens",
        'input_tokens: must be a whole number (got "0x1F")',
    ),
    ("usage_events", {"output_tokens": "-3"}, "output_tokens", 'output_tokens: must be ≥ 0 (got "-3")'),
    ("usage_events", {"cost_usd": "-0.5"}, "cost_usd", 'cost_usd: must be ≥ 0 (got "-0.5")'),
    (
        "usage_events",
        {"cost_usd": "0.123456789"},
        "cost_usd",
        'cost_usd: has more than 8 decimal places (money is stored exactly) (got "0.123456789")',
    ),
    (
        "usage_events",
        {"cost_usd": "1_000"},
        "cost_usd",
        'cost_usd: must be a decimal number (at most 8 decimal places) (got "1_000")',
    ),
    (
        "usage_events",
        {"cost_usd": "$5"},
        "cost_usd",
        'cost_usd: must be a decimal number (at most 8 decimal places) (got "$5")',
    ),
    ("usage_events", {"latency_ms": "-1"}, "latency_ms", 'latency_ms: must be ≥ 0 (got "-1")'),
    (
        "usage_events",
        {"occurred_at": "2025-03-04T09:15:00+25:00"},
        "occurred_at",
        'occurred_at: must be an ISO 8601 timestamp (got "2025-03-04T09:15:00+25:00")',
    ),
    (
        "usage_events",
        {"occurred_at": "2025-03-04T09:15:00+05:30:45"},
        "occurred_at",
        'occurred_at: must be an ISO 8601 timestamp (got "2025-03-04T09:15:00+05:30:45")',
    ),
    (
        "usage_events",
        {"occurred_at": "2025-03-04T09:15:00 Etc/GMT+5"},
        "occurred_at",
        'occurred_at: must be an ISO 8601 timestamp (got "2025-03-04T09:15:00 Etc/GMT+5")',
    ),
    ("time_saved", {"period_end": "2025-02-28"}, "period_end", "period_end: must not be before period_start"),
    (
        "time_saved",
        {"period_start": "2025-3-1"},
        "period_start",
        'period_start: must be a date (YYYY-MM-DD) (got "2025-3-1")',
    ),
    ("time_saved", {"tasks": ""}, "tasks", "tasks: is required"),
    (
        "time_saved",
        {"baseline_minutes_per_task": "0"},
        "baseline_minutes_per_task",
        'baseline_minutes_per_task: must be > 0 (got "0")',
    ),
    (
        "time_saved",
        {"minutes_per_task": "-1"},
        "minutes_per_task",
        'minutes_per_task: must be ≥ 0 (got "-1")',
    ),
    (
        "time_saved",
        {"minutes_per_task": "NaN"},
        "minutes_per_task",
        'minutes_per_task: must be a number (got "NaN")',
    ),
    ("time_saved", {"headcount": "0"}, "headcount", 'headcount: must be > 0 (got "0")'),
    (
        "replication_events",
        {"event_type": "copied"},
        "event_type",
        'event_type: must be one of validated, deployed, retired (got "copied")',
    ),
    (
        "replication_events",
        {"occurred_on": "14/02/2025"},
        "occurred_on",
        'occurred_on: must be a date (YYYY-MM-DD) (got "14/02/2025")',
    ),
    ("agents", {"name": ""}, "name", "name: is required"),
    (
        "agents",
        {"risk_class": "extreme"},
        "risk_class",
        'risk_class: must be one of low, medium, high (got "extreme")',
    ),
    ("org_baseline", {"headcount": "0"}, "headcount", 'headcount: must be > 0 (got "0")'),
    (
        "org_baseline",
        {"loaded_hourly_cost_usd": "0"},
        "loaded_hourly_cost_usd",
        'loaded_hourly_cost_usd: must be > 0 (got "0")',
    ),
    (
        "org_baseline",
        {"routine_hours_per_month": "lots"},
        "routine_hours_per_month",
        'routine_hours_per_month: must be a number (got "lots")',
    ),
    (
        "org_baseline",
        {"routine_hours_per_month": "1e300"},
        "routine_hours_per_month",
        'routine_hours_per_month: must be ≤ 10,000,000 (got "1e300")',
    ),
    (
        "time_saved",
        {"tasks": "1000000001"},
        "tasks",
        'tasks: must be ≤ 1,000,000,000 (got "1000000001")',
    ),
    (
        "org_baseline",
        {"loaded_hourly_cost_usd": "100000.01"},
        "loaded_hourly_cost_usd",
        'loaded_hourly_cost_usd: must be ≤ 100,000 (got "100000.01")',
    ),
    (
        "time_saved",
        {"baseline_minutes_per_task": "100000.5"},
        "baseline_minutes_per_task",
        'baseline_minutes_per_task: must be ≤ 100,000 (got "100000.5")',
    ),
    (
        "task_baselines",
        {"minutes_per_task_with_agent": "1e30"},
        "minutes_per_task_with_agent",
        'minutes_per_task_with_agent: must be ≤ 100,000 (got "1e30")',
    ),
]


@pytest.mark.parametrize(("kind", "changes", "column", "reason"), REJECTIONS)
def test_each_rule_rejects_with_its_reason(conn, tmp_path, kind, changes, column, reason):
    good = example(kind)
    bad = example(kind, **changes)
    key = schema.KINDS[kind].key[-1]
    if key not in changes:
        bad[key] = f"{good[key]}-bad"
    path = write_csv(tmp_path / f"{kind}.csv", [good, bad])

    result = load(conn, path)

    assert (result.rows_read, result.accepted, result.rejected) == (2, 1, 1)
    assert rejections(conn) == [(3, column, "rejected", reason)]
    assert table_rows(conn, kind) == [EXPECTED_EXAMPLE_ROWS[kind]]


@pytest.mark.parametrize("file_format", ["jsonl", "parquet"])
def test_rejections_read_the_same_from_jsonl_and_parquet(conn, tmp_path, file_format):
    rows = [
        example("usage_events", event_id="a"),
        example("usage_events", event_id="b", status="done"),
        example("usage_events", event_id="c", api_calls="12.5"),
    ]
    path = WRITERS[file_format](tmp_path / f"usage.{file_format}", rows)

    result = load(conn, path)

    assert (result.accepted, result.rejected) == (1, 2)
    assert rejections(conn) == [
        (2, "status", "rejected", 'status: must be one of completed, escalated, failed (got "done")'),
        (3, "api_calls", "rejected", 'api_calls: must be a whole number (got "12.5")'),
    ]


def test_numbers_written_in_other_exact_forms_keep_their_value(conn, tmp_path):
    rows = [
        example(
            "usage_events",
            event_id="a",
            api_calls="12.0",
            input_tokens="1e3",
            output_tokens=" 7 ",
            cost_usd="5.",
        ),
        example("usage_events", event_id="b", api_calls="+5", cost_usd=".5", latency_ms=""),
        example(
            "usage_events", event_id="c", cost_usd="1.5e2", api_calls="", input_tokens="", output_tokens=""
        ),
    ]
    load(conn, write_csv(tmp_path / "forms.csv", rows))

    stored = conn.execute(
        "select event_id, api_calls, input_tokens, output_tokens, cost_usd, latency_ms from usage_events order by 1"
    ).fetchall()
    assert stored == [
        ("a", 12, 1000, 7, Decimal("5.00000000"), 5400),
        ("b", 5, 3200, 850, Decimal("0.50000000"), None),
        ("c", 0, 0, 0, Decimal("150.00000000"), 5400),
    ]


@pytest.mark.parametrize("file_format", list(WRITERS))
def test_repeated_keys_in_one_file_are_duplicates_or_conflicts(conn, tmp_path, file_format):
    rows = [
        example("usage_events", event_id="a"),
        example("usage_events", event_id="b"),
        example("usage_events", event_id="a"),
        example("usage_events", event_id="b", status="escalated", cost_usd="0.5"),
        example("usage_events", event_id="c"),
    ]
    result = load(conn, WRITERS[file_format](tmp_path / f"repeats.{EXTENSIONS[file_format]}", rows))

    counts = (result.rows_read, result.accepted, result.duplicate, result.conflict, result.rejected)
    assert counts == (5, 3, 1, 1, 0)
    # Lines count the CSV header; JSON Lines and Parquet rows start at 1.
    first, later = (3, 5) if file_format == "csv" else (2, 4)
    reason = f'event_id "b" repeats line {first} of this file with a different status, cost_usd'
    assert rejections(conn) == [(later, "status", "conflict", reason)]
    assert conn.execute("select event_id, status from usage_events order by 1").fetchall() == [
        ("a", "completed"),
        ("b", "completed"),
        ("c", "completed"),
    ]


def test_a_valid_row_is_kept_when_an_earlier_row_with_its_key_was_rejected(conn, tmp_path):
    rows = [example("usage_events", event_id="a", status="done"), example("usage_events", event_id="a")]
    result = load(conn, write_csv(tmp_path / "first-bad.csv", rows))

    assert (result.accepted, result.rejected, result.duplicate, result.conflict) == (1, 1, 0, 0)


def test_across_loads_the_stored_row_wins(conn, tmp_path):
    load(
        conn,
        write_csv(
            tmp_path / "first.csv",
            [example("usage_events", event_id="a"), example("usage_events", event_id="b")],
        ),
    )
    second = [
        example("usage_events", event_id="a"),
        example("usage_events", event_id="b", review="incorrect"),
        example("usage_events", event_id="d"),
    ]
    result = load(conn, write_csv(tmp_path / "second.csv", second))

    assert (result.rows_read, result.accepted, result.duplicate, result.conflict) == (3, 1, 1, 1)
    assert rejections(conn) == [
        (3, "review", "conflict", 'event_id "b" was already loaded (load 1) with a different review')
    ]
    assert conn.execute("select event_id, review from usage_events order by 1").fetchall() == [
        ("a", "correct"),
        ("b", "correct"),
        ("d", "correct"),
    ]


def test_composite_keys_deduplicate_org_baseline(conn, tmp_path):
    rows = [
        example("org_baseline"),
        example("org_baseline", team="Web"),
        example("org_baseline", headcount="13"),
    ]
    result = load(conn, write_csv(tmp_path / "baseline.csv", rows))

    assert (result.accepted, result.conflict) == (2, 1)
    assert rejections(conn) == [
        (
            4,
            "headcount",
            "conflict",
            'business_unit "Consumer", team "Brand Content" repeats line 2 of this file with a different headcount',
        )
    ]


def test_loading_the_same_file_again_changes_nothing(conn, tmp_path):
    path = write_csv(tmp_path / "usage.csv", [example("usage_events"), example("usage_events", status="bad")])
    load(conn, path)
    before = snapshot(conn)

    again = load(conn, path)

    assert (again.status, again.load_id, again.accepted) == ("already loaded", 1, 0)
    assert "nothing added" in again.message
    assert snapshot(conn) == before


def test_offsets_convert_to_utc_across_a_month_boundary(conn, tmp_path):
    rows = [
        example("usage_events", event_id="late", occurred_at="2025-01-31T23:30:00-02:00"),
        example("usage_events", event_id="early", occurred_at="2025-02-01T00:30:00+01:00"),
        example("usage_events", event_id="plain", occurred_at="2025-02-28 23:59:59"),
    ]
    load(conn, write_csv(tmp_path / "tz.csv", rows))

    assert conn.execute("select event_id, occurred_at from usage_events order by 1").fetchall() == [
        ("early", dt.datetime(2025, 1, 31, 23, 30)),
        ("late", dt.datetime(2025, 2, 1, 1, 30)),
        ("plain", dt.datetime(2025, 2, 28, 23, 59, 59)),
    ]
    assert conn.execute("select day, sum(tasks) from usage_daily group by day order by day").fetchall() == [
        (dt.date(2025, 1, 31), 1),
        (dt.date(2025, 2, 1), 1),
        (dt.date(2025, 2, 28), 1),
    ]


def test_every_offset_a_clock_can_have_converts_in_each_way_it_is_written(conn, tmp_path):
    written = ["+14:00", "-12:00", "+05:30", "+0530", "+05", "-03:30"]
    rows = [
        example("usage_events", event_id=f"e{number}", occurred_at=f"2025-03-04T12:00:00{offset}")
        for number, offset in enumerate(written)
    ]

    result = load(conn, write_csv(tmp_path / "offsets.csv", rows))

    assert result.accepted == len(written)
    # Noon at each offset, in UTC.
    assert [
        row[0] for row in conn.execute("select occurred_at from usage_events order by event_id").fetchall()
    ] == [
        dt.datetime(2025, 3, 3, 22, 0),
        dt.datetime(2025, 3, 5, 0, 0),
        dt.datetime(2025, 3, 4, 6, 30),
        dt.datetime(2025, 3, 4, 6, 30),
        dt.datetime(2025, 3, 4, 7, 0),
        dt.datetime(2025, 3, 4, 15, 30),
    ]


def test_lines_are_physical_lines_with_bom_crlf_and_multiline_fields(conn, tmp_path):
    rows = [
        example("usage_events", event_id="a", team="Brand\nContent"),
        example("usage_events", event_id="b", status="done"),
        example("usage_events", event_id="c", task_type="one\ntwo\nthree"),
        example("usage_events", event_id="d", api_calls="x"),
    ]
    path = write_csv(tmp_path / "messy.csv", rows, newline="\r\n", bom=True)

    result = load(conn, path)

    assert (result.accepted, result.rejected) == (2, 2)
    # header 1; a spans 2-3; b is 4; c spans 5-7; d is 8
    assert [(line, column) for line, column, *_ in rejections(conn)] == [(4, "status"), (8, "api_calls")]
    assert conn.execute("select team from usage_events where event_id = 'a'").fetchone() == (
        "Brand\nContent",
    )


def test_lines_count_blank_lines_and_unsplittable_records(conn, tmp_path):
    header = ",".join(schema.UsageEvent.example)
    good = ",".join(schema.UsageEvent.example.values())
    text = "\n".join(
        [
            header,
            good,
            "",
            good.replace("evt-000001", "b").replace("completed", "done"),
            "only,three,fields",
            good.replace("evt-000001", "c").replace(",4,", ",x,"),
        ]
    )
    path = tmp_path / "gaps.csv"
    path.write_text(text + "\n", encoding="utf-8")

    result = load(conn, path)

    assert (result.rows_read, result.accepted, result.rejected) == (4, 1, 3)
    assert [(line, column, reason) for line, column, _, reason in rejections(conn)] == [
        (4, "status", 'status: must be one of completed, escalated, failed (got "done")'),
        (5, "function", "line has fewer fields than the header"),
        (6, "api_calls", 'api_calls: must be a whole number (got "x")'),
    ]


def test_jsonl_lines_that_are_not_objects_are_rejected_with_their_line(conn, tmp_path):
    path = tmp_path / "usage.jsonl"
    write_jsonl(path, [example("usage_events", event_id="a")])
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n{not json\n[1, 2]\n")
        handle.write(
            '{"event_id": "b", "occurred_at": "2025-03-04T10:00:00Z", "agent_id": "x", '
            '"function": "HR", "business_unit": "People", "status": "failed", "api_calls": 3.5}\n'
        )

    result = load(conn, path)

    assert (result.rows_read, result.accepted, result.rejected) == (4, 1, 3)
    assert rejections(conn) == [
        (3, None, "rejected", "not a JSON object"),
        (4, None, "rejected", "not a JSON object"),
        (5, "api_calls", "rejected", 'api_calls: must be a whole number (got "3.5")'),
    ]


def test_semicolon_and_tab_delimited_files_load(conn, tmp_path):
    load(conn, write_csv(tmp_path / "a.csv", [example("agents")], delimiter=";"))
    load(conn, write_csv(tmp_path / "b.tsv", [example("org_baseline")], delimiter="\t"))

    assert table_rows(conn, "agents") == [EXPECTED_EXAMPLE_ROWS["agents"]]
    assert table_rows(conn, "org_baseline") == [EXPECTED_EXAMPLE_ROWS["org_baseline"]]


def test_unknown_columns_are_ignored_and_named(conn, tmp_path):
    row = {**example("agents"), "cost_centre": "CC-1"}
    result = load(conn, write_csv(tmp_path / "agents.csv", [row]))

    assert result.ignored_columns == ("cost_centre",)
    assert conn.execute("select ignored_columns from loads").fetchone() == (["cost_centre"],)


def _variants(kind: str) -> list[dict[str, object]]:
    key = varied_key(kind)
    return [example(kind, **{key: f"{example(kind)[key]}-{index}"}) for index in range(3)]


@pytest.mark.parametrize("kind", list(schema.KINDS))
def test_the_same_data_as_csv_parquet_and_jsonl_gives_identical_tables(tmp_path, kind):
    tables = {}
    for file_format, writer in WRITERS.items():
        rows = [*_variants(kind), example(kind, **{varied_key(kind): ""})]
        path = writer(tmp_path / f"{kind}.{EXTENSIONS[file_format]}", rows)
        with store.connect(tmp_path / f"{file_format}.duckdb") as connection:
            result = load(connection, path)
            tables[file_format] = (table_rows(connection, kind), result.rejected)
    assert tables["csv"] == tables["jsonl"] == tables["parquet"]
    assert len(tables["csv"][0]) == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\x00\x01\x02binary\xff\xfe", "not a text file"),
        (b"\xff\xfe\xfdtext", "not UTF-8 text"),
        (b"colour,size\nred,10\n", "do not match any input kind"),
        (
            b"agent_id,name,owner_function\nx,y,z\n",
            "is not a usage_events file: missing required column(s) event_id",
        ),
        (b"PAR1 this is not parquet", "not a readable Parquet file"),
        (b"event_id,,agent_id,\ne1,x,a,y\n", 'the header repeats column(s) "" (a column without a name)'),
        (
            b"agent_id,name,owner_function\rx,y,z\r",
            "its lines end with a carriage return alone (old Mac text)",
        ),
        (
            b"agent_id,name\nx,y\n\xff\n",
            "not UTF-8 text: line 3 has a byte that is not UTF-8 (0xFF, at byte offset",
        ),
    ],
    ids=[
        "empty",
        "binary",
        "not-utf8",
        "unknown-columns",
        "wrong-kind",
        "broken-parquet",
        "unnamed-columns",
        "cr-only",
        "not-utf8-line",
    ],
)
def test_files_that_cannot_be_loaded_get_one_message_and_change_nothing(conn, tmp_path, content, message):
    load(conn, write_csv(tmp_path / "existing.csv", [example("agents")]))
    before = snapshot(conn)
    path = tmp_path / "input.csv"
    path.write_bytes(content)
    kind = "usage_events" if "wrong-kind" in message or "is not a usage_events" in message else None

    with pytest.raises(ingest.IngestError) as raised:
        load(conn, path, kind=kind)

    assert message in raised.value.message
    assert snapshot(conn) == before


def test_unknown_columns_message_lists_what_each_kind_needs(conn, tmp_path):
    path = tmp_path / "colours.csv"
    path.write_text("colour,size\nred,10\n", encoding="utf-8")

    with pytest.raises(ingest.IngestError) as raised:
        load(conn, path)

    assert (
        "usage_events: event_id, occurred_at, agent_id, function, business_unit, status"
        in raised.value.message
    )
    assert "org_baseline: function, business_unit, team, headcount" in raised.value.message


def test_a_header_only_file_loads_nothing_and_says_so(conn, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text(",".join(schema.Agent.example) + "\n", encoding="utf-8")

    result = load(conn, path)

    assert (result.status, result.rows_read, result.accepted) == ("loaded", 0, 0)
    assert result.message == "the file has a header but no rows"


@pytest.mark.parametrize("phase", ["reading", "checking", "rollup", "saving"])
def test_an_error_part_way_leaves_the_database_as_it_was(conn, tmp_path, phase):
    load(conn, write_csv(tmp_path / "first.csv", [example("usage_events", event_id="a")]))
    before = snapshot(conn)
    rows = [example("usage_events", event_id=f"n{index}") for index in range(50)] + [
        example("usage_events", event_id="a", status="failed"),
        example("usage_events", event_id="bad", status="?"),
    ]
    path = write_csv(tmp_path / "second.csv", rows)

    def fail(entered: str) -> None:
        if entered == phase:
            raise RuntimeError(f"injected failure in {phase}")

    with pytest.raises(RuntimeError, match="injected failure"):
        load(conn, path, progress=ingest.LoadProgress(on_phase=fail))

    assert snapshot(conn) == before
    assert load(conn, path).accepted == 50


def test_a_database_failure_part_way_is_one_message_and_changes_nothing(conn, tmp_path):
    load(conn, write_csv(tmp_path / "first.csv", [example("usage_events", event_id="a")]))
    before = snapshot(conn)

    def out_of_space(entered: str) -> None:
        if entered == "rollup":
            raise duckdb.IOException("No space left on device")

    with pytest.raises(ingest.IngestError) as raised:
        load(conn, write_csv(tmp_path / "second.csv", [example("usage_events", event_id="b")]),
             progress=ingest.LoadProgress(on_phase=out_of_space))  # fmt: skip
    assert raised.value.message == (
        "the disk is full: nothing was changed; free some space and load it again (No space left on device)"
    )
    assert snapshot(conn) == before


def test_a_killed_load_leaves_the_database_as_it_was(db_path, tmp_path):
    rows = [example("usage_events", event_id=f"e{index}") for index in range(200_000)]
    path = write_csv(tmp_path / "big.csv", rows)
    with store.connect(db_path) as connection:
        load(connection, write_csv(tmp_path / "first.csv", [example("usage_events", event_id="first")]))
        before = snapshot(connection)
    script = textwrap.dedent(
        f"""
        import sys, time
        from offload_metrics import ingest, store
        conn = store.connect({str(db_path)!r})
        def announce(phase):
            print(phase, flush=True)
            if phase == "checking":
                time.sleep(60)
        ingest.load_file(conn, {str(path)!r}, progress=ingest.LoadProgress(on_phase=announce))
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "reading"
    assert child.stdout.readline().strip() == "checking"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()

    with store.connect(db_path) as connection:
        assert snapshot(connection) == before
        assert load(connection, path).accepted == 200_000


def test_each_load_is_checkpointed(db_path, tmp_path):
    with store.connect(db_path) as connection:
        load(connection, write_csv(tmp_path / "a.csv", [example("usage_events")]))
        wal = Path(f"{db_path}.wal")
        assert not wal.exists() or wal.stat().st_size == 0


def test_progress_reports_phases_and_fraction_while_loading(conn, tmp_path):
    rows = [example("usage_events", event_id=f"e{index}") for index in range(100_000)]
    path = write_csv(tmp_path / "progress.csv", rows)
    seen: list[tuple[str, float]] = []
    state = ingest.LoadProgress()

    result = ingest.run_with_progress(
        lambda progress: load(conn, path, progress=progress),
        lambda progress: seen.append((progress.phase, progress.fraction)),
        state,
        interval=0.01,
    )

    assert result.accepted == 100_000
    phases = [phase for phase, _ in seen]
    assert "reading" in phases
    assert phases.index("reading") < len(phases) - 1
    fractions = [fraction for phase, fraction in seen if phase == "reading"]
    assert fractions == sorted(fractions)
    assert all(0 <= fraction <= 1 for _, fraction in seen)


# The rollup summed per key, and the same figures recomputed from scratch from the raw events.
ROLLUP_SUMS = """
    select day, function, business_unit, team, agent_id, sum(tasks), sum(completed), sum(escalated),
           sum(failed), sum(correct), sum(incorrect), sum(api_calls), sum(input_tokens), sum(output_tokens),
           sum(cost_usd), sum(latency_ms_sum), sum(latency_count)
    from usage_daily group by all order by all
"""
# What one accepted event of each valid shape below adds to its rollup key, worked out by hand from
# the contract's example (4 API calls, 3200 + 850 tokens, $0.0213, 5400 ms, reviewed correct, at
# 2025-03-04T09:15+01:00, which is 08:15 UTC): key, then tasks, completed, escalated, failed, correct,
# incorrect, api_calls, input_tokens, output_tokens, cost_usd, latency_ms_sum, latency_count.
EXAMPLE_KEY = ("Marketing", "Consumer", "Brand Content", "mkt-brief-writer")
EXAMPLE_SUMS = (4, 3200, 850, Decimal("0.0213"))
CONTRIBUTIONS = {
    "good": ((dt.date(2025, 3, 4), *EXAMPLE_KEY), (1, 1, 0, 0, 1, 0, *EXAMPLE_SUMS, 5400, 1)),
    "other status": ((dt.date(2025, 3, 4), *EXAMPLE_KEY), (1, 0, 1, 0, 1, 0, *EXAMPLE_SUMS, 5400, 1)),
    # 23:30 at -02:00 is 01:30 UTC the next day.
    "next utc day": ((dt.date(2025, 3, 5), *EXAMPLE_KEY), (1, 1, 0, 0, 0, 1, *EXAMPLE_SUMS, 5400, 1)),
    "other agent, no team": (
        (dt.date(2025, 3, 4), "Marketing", "Consumer", None, "helper-2"),
        (1, 1, 0, 0, 1, 0, *EXAMPLE_SUMS, 0, 0),
    ),
}


def expected_rollup(shapes: Iterable[str]) -> list[tuple]:
    """The rollup's per-key sums of accepted events of these shapes, from CONTRIBUTIONS."""
    totals: dict[tuple, list] = {}
    for shape in shapes:
        key, values = CONTRIBUTIONS[shape]
        totals[key] = [a + b for a, b in zip(totals.get(key, [0] * len(values)), values, strict=True)]
    # In the order of ROLLUP_SUMS: by key, a missing team after the named ones.
    return sorted(
        ((*key, *values) for key, values in totals.items()),
        key=lambda row: tuple((value is None, value) for value in row[:5]),
    )


def stored_shapes(connection) -> list[str]:
    """Which valid shape of ROW_SHAPES each stored event has (each differs from "good" in one field)."""
    rows = connection.execute("select agent_id, status, review from usage_events").fetchall()
    return [
        "other agent, no team" if agent == "helper-2" else
        "other status" if status == "escalated" else
        "next utc day" if review == "incorrect" else "good"
        for agent, status, review in rows
    ]  # fmt: skip


ROW_SHAPES = {
    "good": {},
    "bad status": {"status": "done"},
    "bad tokens": {"input_tokens": "12O"},
    "negative cost": {"cost_usd": "-1"},
    "missing agent": {"agent_id": ""},
    "other status": {"status": "escalated"},
    "next utc day": {"occurred_at": "2025-03-04T23:30:00-02:00", "review": "incorrect"},
    "other agent, no team": {"agent_id": "helper-2", "team": "", "latency_ms": ""},
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    file_format=st.sampled_from(list(WRITERS)),
    batches=st.lists(
        st.lists(st.tuples(st.integers(0, 12), st.sampled_from(list(ROW_SHAPES))), min_size=0, max_size=30),
        min_size=1,
        max_size=3,
    ),
)
def test_every_row_read_is_accounted_for(tmp_path_factory, file_format, batches):
    """read = accepted + duplicate + conflict + rejected for any mix of rows, in any format, over
    several loads; and the rollup equals a recomputation from the events."""
    folder = tmp_path_factory.mktemp("messy")
    with store.connect(folder / "db.duckdb") as connection:
        for number, batch in enumerate(batches):
            rows = [example("usage_events", event_id=f"e{key}", **ROW_SHAPES[shape]) for key, shape in batch]
            path = folder / f"batch{number}.{EXTENSIONS[file_format]}"
            if rows:
                WRITERS[file_format](path, rows)
            else:
                path = folder / f"batch{number}.csv"
                path.write_text(",".join(schema.UsageEvent.example) + "\n", encoding="utf-8")
            result = load(connection, path)
            if result.status == "already loaded":
                continue
            assert result.balanced
            assert result.rows_read == len(rows)
        totals = connection.execute(
            "select sum(rows_read), sum(accepted), sum(duplicate), sum(conflict), sum(rejected) from loads"
        ).fetchone()
        stored = connection.execute("select count(*), count(distinct event_id) from usage_events").fetchone()
        listed = connection.execute("select count(*) from rejected_rows").fetchone()[0]
        rollup = connection.execute(ROLLUP_SUMS).fetchall()
        shapes = stored_shapes(connection)
    rows_read, accepted, duplicate, conflict, rejected = (value or 0 for value in totals)
    assert rows_read == accepted + duplicate + conflict + rejected
    assert stored == (accepted, accepted)
    assert listed == conflict + rejected
    assert rollup == expected_rollup(shapes)


BASELINE_SHAPES = {
    "good": {},
    "bigger": {"headcount": "30"},
    "bad headcount": {"headcount": "0"},
    "no rate": {"loaded_hourly_cost_usd": ""},
}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 2), st.sampled_from(list(BASELINE_SHAPES))), max_size=20
    )
)
def test_every_baseline_row_is_accounted_for_with_its_two_column_key(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("baseline")
    teams = [example("org_baseline", business_unit=f"BU{unit}", team=f"T{team}", **BASELINE_SHAPES[shape])
             for unit, team, shape in rows]  # fmt: skip
    with store.connect(folder / "db.duckdb") as connection:
        if not teams:
            return
        result = load(connection, write_csv(folder / "baseline.csv", teams))
        stored = connection.execute(
            "select count(*), count(distinct (business_unit, team)) from org_baseline"
        ).fetchone()
    assert result.balanced and result.rows_read == len(teams)
    assert stored == (result.accepted, result.accepted)


def test_rollup_equals_a_recomputation_after_loads_with_repeats_and_rejections(conn, tmp_path):
    first = [
        example(
            "usage_events",
            event_id=f"a{index}",
            occurred_at=f"2025-03-{1 + index % 5:02d}T10:00:00Z",
            status=["completed", "escalated", "failed"][index % 3],
        )
        for index in range(30)
    ]
    second = [
        *first[10:],
        example("usage_events", event_id="late", review="incorrect", cost_usd="x"),
        example("usage_events", event_id="late2", review="incorrect", team=""),
    ]
    load(conn, write_csv(tmp_path / "one.csv", first))
    load(conn, write_csv(tmp_path / "two.csv", second))

    rollup = conn.execute(ROLLUP_SUMS).fetchall()
    # Each of the five days holds 6 of a0..a29 (index % 5); as 5 and 3 are coprime, their statuses
    # (index % 3) are 2 completed, 2 escalated, 2 failed, all reviewed correct. The second load adds
    # only late2 (late's cost is rejected; the rest are repeats): completed, incorrect, no team.
    day = (6, 2, 2, 2, 6, 0, 6 * 4, 6 * 3200, 6 * 850, Decimal("0.1278"), 6 * 5400, 6)
    assert rollup == [
        *[(dt.date(2025, 3, number), *EXAMPLE_KEY, *day) for number in (1, 2, 3)],
        (dt.date(2025, 3, 4), *EXAMPLE_KEY, *day),
        (dt.date(2025, 3, 4), "Marketing", "Consumer", None, "mkt-brief-writer",
         1, 1, 0, 0, 0, 1, *EXAMPLE_SUMS, 5400, 1),
        (dt.date(2025, 3, 5), *EXAMPLE_KEY, *day),
    ]  # fmt: skip


def test_the_rollup_compacts_without_changing_its_sums(conn, tmp_path):
    counts = []
    for number in range(4):
        rows = [example("usage_events", event_id=f"b{number}-{index}") for index in range(3)]
        load(conn, write_csv(tmp_path / f"batch{number}.csv", rows))
        counts.append(conn.execute("select count(*), sum(tasks) from usage_daily").fetchone())

    # One key; each load appends a row, and the third (3 rows > 2 x 1) folds them into one.
    assert counts == [(1, 3), (2, 6), (1, 9), (2, 12)]


def test_values_that_look_like_sql_are_only_data(conn, tmp_path):
    """A value that looks like SQL is stored as text, not run."""
    hostile = "x'); drop table loads; --"
    load(conn, write_csv(tmp_path / "hostile.csv", [example("usage_events", team=hostile, status=hostile)]))

    assert conn.execute("select count(*) from loads").fetchone() == (1,)
    assert rejections(conn)[0][3].startswith("status: must be one of")


def test_an_unterminated_quote_is_one_rejected_record(conn, tmp_path):
    """The open quote runs to the end of the file: one record, rejected, with the line it starts on."""
    path = tmp_path / "broken.csv"
    header = ",".join(schema.Agent.example)
    path.write_text(header + '\nx,"unterminated,Marketing\ny,Name,,Marketing,,,,,\n', encoding="utf-8")

    result = load(conn, path)

    assert (result.rows_read, result.accepted, result.rejected) == (1, 0, 1)
    assert rejections(conn) == [
        (2, "name", "rejected", "line has a quote that is not closed, or a quote inside an unquoted value")
    ]


def test_connections_use_utc(db_path):
    with store.connect(db_path) as connection:
        assert connection.execute("select current_setting('TimeZone')").fetchone() == ("UTC",)
        assert connection.cursor().execute("select current_setting('TimeZone')").fetchone() == ("UTC",)


def test_values_reach_sql_as_parameters_not_text(tmp_path):
    """The staging statement holds no text from the file: column names are positional or contract names."""
    path = write_csv(tmp_path / "x.csv", [{**example("usage_events"), "weird'); select 1; --": "v"}])
    with duckdb.connect() as connection:
        header = ingest.read_header(connection, path)
    sql = ingest.stage_sql(schema.UsageEvent, header, "rejects")
    assert "weird" not in sql
    assert str(path) not in sql


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_gzip_compressed_files_load_with_their_line_numbers(conn, tmp_path, file_format):
    import gzip

    rows = [
        example("usage_events", event_id="a", team="two\nlines" if file_format == "csv" else "Brand"),
        example("usage_events", event_id="b", status="done"),
    ]
    plain = WRITERS[file_format](tmp_path / f"usage.{file_format}", rows)
    packed = tmp_path / f"usage.{file_format}.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))

    result = load(conn, packed)

    assert (result.file_format, result.accepted, result.rejected) == (file_format, 1, 1)
    line = 4 if file_format == "csv" else 2
    assert rejections(conn) == [
        (line, "status", "rejected", 'status: must be one of completed, escalated, failed (got "done")')
    ]


@pytest.mark.parametrize(
    ("keys", "duplicate"),
    [(["a", "b", "c", "d"], 0), (["a", "b", "c", "c"], 1), (["a", "c", "b", "a"], 1)],
    ids=["sorted", "sorted-with-a-repeat", "unsorted-with-a-repeat"],
)
def test_repeats_are_found_whether_keys_come_sorted_or_not(conn, tmp_path, keys, duplicate):
    rows = [example("usage_events", event_id=key) for key in keys]
    result = load(conn, write_csv(tmp_path / "keys.csv", rows))
    assert (result.accepted, result.duplicate) == (len(set(keys)), duplicate)


# ---------------------------------------------------------------------------------------------
# Trust: dates, exact JSON Lines numbers, nested values, late keys, long lines

BOUNDS_REASON = "must be between 1900-01-01 and 2199-12-31 (settings ingest.min_date and ingest.max_date)"
DATE_COLUMNS = [
    ("usage_events", "occurred_at"),
    ("time_saved", "period_start"),
    ("time_saved", "period_end"),
    ("replication_events", "occurred_on"),
    ("agents", "created_on"),
]
# The dates the issue quotes. A BC date in a date column already fails the YYYY-MM-DD form; in a
# timestamp column it parsed. 0001-01-01T00:30+01:00 is 23:30 UTC on the last day of 1 BC.
OUT_OF_RANGE = ["0044-03-15 (BC)", "0001-01-01T00:30+01:00", "9999-12-31"]


def _date_reason(kind: str, column: str, value: str) -> str:
    is_timestamp = column == "occurred_at"
    if not is_timestamp and value[:10] != value:  # not YYYY-MM-DD: the form is wrong
        return f"{column}: must be a date (YYYY-MM-DD) (got {json.dumps(value)})"
    return f"{column}: {BOUNDS_REASON} (got {json.dumps(value)})"


def _with_date(kind: str, column: str, value: str) -> dict[str, object]:
    changes: dict[str, object] = {column: value}
    if column == "period_start":
        changes["period_end"] = "2025-03-31"
    if column == "period_end":
        changes["period_start"] = "1899-01-01"  # itself out of range: both columns are named
    return example(kind, **changes)


@pytest.mark.parametrize("file_format", list(WRITERS))
@pytest.mark.parametrize(("kind", "column"), DATE_COLUMNS)
def test_dates_outside_the_sane_range_are_rejected_in_every_date_column(
    conn, tmp_path, kind, column, file_format
):
    key = schema.KINDS[kind].key[0]
    rows = [{**_with_date(kind, column, value), key: f"k{index}"} for index, value in enumerate(OUT_OF_RANGE)]
    rows.append(example(kind, **{key: "fine"}))
    path = WRITERS[file_format](tmp_path / f"{kind}.{EXTENSIONS[file_format]}", rows)

    result = load(conn, path)

    assert (result.rows_read, result.accepted, result.rejected) == (4, 1, 3)
    reasons = [reason for _, _, _, reason in rejections(conn)]
    for value, reason in zip(OUT_OF_RANGE, reasons, strict=True):
        expected = _date_reason(kind, column, value)
        if column == "period_end":
            expected = f'period_start: {BOUNDS_REASON} (got "1899-01-01"); ' + expected
        if column == "period_start" and value == "9999-12-31":
            expected += "; period_end: must not be before period_start"
        assert reason == expected


def test_the_date_bounds_are_settings(conn, tmp_path):
    rows = [
        example("usage_events", event_id="old", occurred_at="1950-06-01T00:00:00Z"),
        example("usage_events"),
    ]
    path = write_csv(tmp_path / "usage.csv", rows)
    bounds = config.parse_settings(
        {"ingest": {"min_date": dt.date(2000, 1, 1), "max_date": dt.date(2030, 12, 31)}}
    )

    result = load(conn, path, settings=bounds)

    assert (result.accepted, result.rejected) == (1, 1)
    assert rejections(conn) == [
        (
            2,
            "occurred_at",
            "rejected",
            "occurred_at: must be between 2000-01-01 and 2030-12-31 (settings ingest.min_date and "
            'ingest.max_date) (got "1950-06-01T00:00:00Z")',
        )
    ]


def test_the_load_history_records_the_ingest_settings_and_reloads_when_they_change(conn, tmp_path):
    rows = [
        example("usage_events", event_id="old", occurred_at="1950-06-01T00:00:00Z"),
        example("usage_events"),
    ]
    path = write_csv(tmp_path / "usage.csv", rows)
    narrow = config.parse_settings({"ingest": {"min_date": dt.date(2000, 1, 1)}})

    first = load(conn, path, settings=narrow)
    again = load(conn, path, settings=narrow)
    wider = load(conn, path)

    assert (first.status, first.accepted, first.rejected) == ("loaded", 1, 1)
    assert (again.status, again.load_id) == ("already loaded", first.load_id)
    assert (wider.status, wider.accepted, wider.duplicate) == ("loaded", 1, 1)
    recorded = conn.execute("select ingest_settings from loads order by load_id").fetchall()
    assert [json.loads(text) for (text,) in recorded] == [
        {"settings": {"ingest": {"min_date": "2000-01-01", "max_date": "2199-12-31"}}},
        {"settings": {"ingest": {"min_date": "1900-01-01", "max_date": "2199-12-31"}}},
    ]


def _jsonl_with_numbers(path: Path, rows: list[tuple[str, dict[str, str]]]) -> Path:
    """JSON Lines whose numbers are written as the given text, unquoted (json.dumps would round)."""
    lines = []
    for event_id, numbers in rows:
        record = {key: value for key, value in example("usage_events", event_id=event_id).items()}
        for name in ("api_calls", "input_tokens", "output_tokens", "cost_usd", "latency_ms"):
            record.pop(name)
        text = json.dumps(record)[:-1]
        lines.append(text + "".join(f', "{name}": {number}' for name, number in numbers.items()) + "}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_numbers_reach_decimal_and_integer_columns_exactly_or_are_rejected(conn, tmp_path):
    path = _jsonl_with_numbers(
        tmp_path / "usage.jsonl",
        [
            ("a", {"cost_usd": "1234567890.12345678", "api_calls": "4"}),
            ("b", {"cost_usd": "12345678.123456789"}),
            ("c", {"cost_usd": "99999999.999999999"}),
            ("d", {"api_calls": "1.0000000000000001"}),
            ("e", {"cost_usd": "99999999.99999999", "input_tokens": "9007199254740991", "latency_ms": "1e3"}),
        ],
    )

    result = load(conn, path)

    assert (result.rows_read, result.accepted, result.rejected) == (5, 2, 3)
    stored = conn.execute(
        "select event_id, api_calls, input_tokens, cost_usd, latency_ms from usage_events order by event_id"
    ).fetchall()
    assert stored == [
        ("a", 4, 0, Decimal("1234567890.12345678"), None),
        ("e", 0, 9007199254740991, Decimal("99999999.99999999"), 1000),
    ]
    places = "has more than 8 decimal places (money is stored exactly)"
    assert rejections(conn) == [
        (2, "cost_usd", "rejected", f'cost_usd: {places} (got "12345678.123456789")'),
        (3, "cost_usd", "rejected", f'cost_usd: {places} (got "99999999.999999999")'),
        (4, "api_calls", "rejected", 'api_calls: must be a whole number (got "1.0000000000000001")'),
    ]


LONG_NUMBERS = [
    ("money-29-places", {"cost_usd": "1.00000000000000000000000000001"}),
    ("calls-29-places", {"api_calls": "1.00000000000000000000000000001"}),
    ("money-30-digits", {"cost_usd": "123456789012345678901234567890"}),
    ("calls-30-digits", {"api_calls": "123456789012345678901234567890"}),
    ("tokens-30-digits", {"input_tokens": "123456789012345678901234567890"}),
    ("money-1e400", {"cost_usd": "1e400"}),
    ("calls-1e400", {"api_calls": "1e400"}),
    ("negative-zero", {"cost_usd": "-0.0", "api_calls": "-0.0"}),
    ("exponent", {"api_calls": "1E2", "cost_usd": "1E2"}),
    ("money-1.5e-30", {"cost_usd": "1.5e-30"}),
    ("calls-tiny", {"api_calls": "1e-99999999999999999999"}),
    ("money-tiny", {"cost_usd": "1e-99999999999999999999"}),
]
# By the contract: money has at most 8 decimal places and 10 before the point, counts are whole and
# below 2^53, and a value is stored exactly or its row is rejected. -0.0 is zero (DECIMAL and
# BIGINT have no negative zero, so nothing changes) and 1E2 is exactly 100, as CSV reads them.
LONG_NUMBER_REASONS = [
    'cost_usd: has more than 8 decimal places (money is stored exactly) (got "1.00000000000000000000000000001")',
    'api_calls: must be a whole number (got "1.00000000000000000000000000001")',
    "cost_usd: has more digits than can be stored exactly (the largest is 9,999,999,999.99999999) "
    '(got "123456789012345678901234567890")',
    "api_calls: has more digits than can be stored exactly (the largest is 9,007,199,254,740,991) "
    '(got "123456789012345678901234567890")',
    "input_tokens: has more digits than can be stored exactly (the largest is 9,007,199,254,740,991) "
    '(got "123456789012345678901234567890")',
    'cost_usd: has more digits than can be stored exactly (the largest is 9,999,999,999.99999999) (got "1e400")',
    'api_calls: has more digits than can be stored exactly (the largest is 9,007,199,254,740,991) (got "1e400")',
]


def _csv_with_numbers(path: Path, rows: list[tuple[str, dict[str, str]]]) -> Path:
    """The CSV twin of _jsonl_with_numbers: the same numbers as text, the other numbers empty."""
    empty = dict.fromkeys(("api_calls", "input_tokens", "output_tokens", "cost_usd", "latency_ms"), "")
    return write_csv(
        path, [example("usage_events", event_id=event_id, **empty) | numbers for event_id, numbers in rows]
    )


@pytest.mark.parametrize("file_format", ["jsonl", "csv"])
def test_numbers_with_more_digits_than_storable_are_rejected_never_rounded(conn, tmp_path, file_format):
    write = _jsonl_with_numbers if file_format == "jsonl" else _csv_with_numbers
    path = write(tmp_path / f"usage.{file_format}", [*LONG_NUMBERS, ("plain", {"cost_usd": "1.25"})])
    first_line = 1 if file_format == "jsonl" else 2

    result = load(conn, path)

    assert (result.rows_read, result.accepted, result.rejected) == (13, 3, 10)
    assert conn.execute(
        "select event_id, api_calls, cost_usd from usage_events order by event_id"
    ).fetchall() == [
        ("exponent", 100, Decimal("100")),
        ("negative-zero", 0, Decimal("0")),
        ("plain", 0, Decimal("1.25")),
    ]
    assert rejections(conn) == [
        *(
            (first_line + index, reason.split(":")[0], "rejected", reason)
            for index, reason in enumerate(LONG_NUMBER_REASONS)
        ),
        (
            first_line + 9,
            "cost_usd",
            "rejected",
            'cost_usd: has more than 8 decimal places (money is stored exactly) (got "1.5e-30")',
        ),
        (
            first_line + 10,
            "api_calls",
            "rejected",
            'api_calls: must be a whole number (got "1e-99999999999999999999")',
        ),
        (
            first_line + 11,
            "cost_usd",
            "rejected",
            'cost_usd: must be a decimal number (at most 8 decimal places) (got "1e-99999999999999999999")',
        ),
    ]


def test_jsonl_numbers_are_read_from_their_own_key_not_a_nested_one_or_a_string(conn, tmp_path):
    numbers = ("api_calls", "input_tokens", "output_tokens", "cost_usd", "latency_ms")
    record = {
        key: value for key, value in example("usage_events", event_id="x").items() if key not in numbers
    }
    base = json.dumps(record)[:-1]
    lines = [
        base.replace('"x"', '"nested-differs"') + ', "meta": {"cost_usd": 7}, "cost_usd": 1.25}',
        base.replace('"x"', '"in-a-string"')
        + ', "note": "\\"cost_usd\\": 1.0", "cost_usd": 1.00000000000000000000000000001}',
        base.replace('"x"', '"nested-same-value"')
        + ', "meta": {"cost_usd": 1.0}, "cost_usd": 1.00000000000000000000000000001}',
        # The key written with an escape, and another key ending in a quote and cost_usd.
        base.replace('"x"', '"escaped-key"')
        + ', "cost\\u005fusd": 1.00000000000000000000000000001, "x\\"cost_usd": 1.0}',
    ]
    path = tmp_path / "usage.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = load(conn, path)

    assert (result.rows_read, result.accepted, result.rejected) == (4, 1, 3)
    assert conn.execute("select event_id, cost_usd from usage_events").fetchall() == [
        ("nested-differs", Decimal("1.25"))
    ]
    assert rejections(conn) == [
        (
            2,
            "cost_usd",
            "rejected",
            'cost_usd: has more than 8 decimal places (money is stored exactly) (got "1.00000000000000000000000000001")',
        ),
        # The nested 1.0 equals the record's own number as a double: the record's own digits are
        # the ones at the object's top level, and they are judged.
        (
            3,
            "cost_usd",
            "rejected",
            'cost_usd: has more than 8 decimal places (money is stored exactly) (got "1.00000000000000000000000000001")',
        ),
        (
            4,
            "cost_usd",
            "rejected",
            "cost_usd: must be a decimal number (at most 8 decimal places) "
            '(got "1.0 (its digits cannot be told apart in the line)")',
        ),
    ]


def test_a_jsonl_number_is_judged_on_its_own_digits_beside_a_nested_key_of_its_name(conn, tmp_path):
    # The same value written otherwise in a nested object (1.5 and 1.50, 1e3 and 1000.0) was
    # rejected as "its digits cannot be told apart"; the record's own digits are at depth 1.
    numbers = ("api_calls", "input_tokens", "output_tokens", "cost_usd", "latency_ms")

    def base(key: str) -> str:
        record = {
            name: value
            for name, value in example("usage_events", event_id=key).items()
            if name not in numbers
        }
        return json.dumps(record)[:-1]

    lines = [
        base("money") + ', "cost_usd": 1.5, "meta": {"cost_usd": 1.50}}',
        base("tokens") + ', "input_tokens": 1e3, "meta": {"input_tokens": 1000.0, "{": "}"}}',
        # A brace inside a string counts for nothing; the record's own integer is inexact.
        base("inexact") + ', "note": "{{", "meta": [{"api_calls": 1}], "api_calls": 1.0000000000000001}',
    ]
    path = tmp_path / "usage.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = load(conn, path)

    assert (result.rows_read, result.accepted, result.rejected) == (3, 2, 1)
    assert conn.execute(
        "select event_id, cost_usd, input_tokens from usage_events order by 1"
    ).fetchall() == [
        ("money", Decimal("1.5"), 0),
        ("tokens", Decimal("0"), 1000),
    ]
    [(line, column, _, reason)] = rejections(conn)
    assert (line, column) == (3, "api_calls")
    assert reason.endswith('(got "1.0000000000000001")')


def test_parquet_money_with_more_places_than_allowed_is_rejected_not_rounded(conn, tmp_path):
    path = _parquet(
        tmp_path / "usage.parquet",
        f"{USAGE_SELECT}, (case when i = 0 then '1.00000000000000000000000000001' else '2.5' end)::DECIMAL(38,30) "
        "as cost_usd from range(2) t(i)",
    )

    result = load(conn, path)

    assert (result.rows_read, result.accepted, result.rejected) == (2, 1, 1)
    assert conn.execute("select event_id, cost_usd from usage_events").fetchall() == [("e1", Decimal("2.5"))]
    assert rejections(conn) == [
        (
            1,
            "cost_usd",
            "rejected",
            'cost_usd: has more than 8 decimal places (money is stored exactly) (got "1.000000000000000000000000000010")',
        )
    ]


def test_jsonl_keys_first_written_after_the_first_100_objects_count(conn, tmp_path):
    rows = [(f"e{index:03d}", {}) for index in range(150)] + [
        ("late", {"cost_usd": "1.25", "api_calls": "3"})
    ]
    path = _jsonl_with_numbers(tmp_path / "usage.jsonl", rows)

    result = load(conn, path)

    assert (result.rows_read, result.accepted, result.ignored_columns) == (151, 151, ())
    assert conn.execute(
        "select api_calls, cost_usd from usage_events where event_id = 'late'"
    ).fetchall() == [(3, Decimal("1.25"))]
    assert conn.execute("select sum(cost_usd), sum(api_calls) from usage_events").fetchall() == [
        (Decimal("1.25"), 3)
    ]


def _jsonl_lines(folder: Path, lines: list[str]) -> Path:
    """A JSON Lines usage file of these lines, written as they are."""
    path = folder / "usage.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_objects_or_arrays_where_a_single_value_is_expected_are_rejected(conn, tmp_path):
    nested = example("usage_events", event_id="n1") | {"agent_id": {"a": 1}}
    listed = example("usage_events", event_id="n2") | {"cost_usd": [1], "team": ["x", "y"]}
    result = load(
        conn, _jsonl_lines(tmp_path, [json.dumps(row) for row in (nested, listed, example("usage_events"))])
    )

    assert (result.rows_read, result.accepted, result.rejected) == (3, 1, 2)
    single = "must be a single value, not a JSON object or array"
    assert rejections(conn) == [
        (1, "agent_id", "rejected", f'agent_id: {single} (got {{"a":1}})'),
        (2, "team", "rejected", f'team: {single} (got ["x","y"]); cost_usd: {single} (got [1])'),
    ]
    assert table_rows(conn, "usage_events") == [EXPECTED_EXAMPLE_ROWS["usage_events"]]


def test_jsonl_objects_that_give_a_column_twice_are_rejected(conn, tmp_path):
    # JSON leaves a repeated key's meaning to the reader; the money and the id must not be guessed.
    lines = [
        '{"event_id": "d1", "occurred_at": "2025-03-01T10:00:00Z", "agent_id": "a1", "function": "Finance", '
        '"business_unit": "BU", "team": "T", "task_type": "t", "status": "completed", '
        '"cost_usd": "1.00", "cost_usd": "100.00"}',
        '{"event_id": "d2", "event_id": "d3", "agent_id": "a1", "agent_id": "a2", "agent_id": "a3", '
        '"occurred_at": "2025-03-01T10:00:00Z", "function": "Finance", "business_unit": "BU", "team": "T", '
        '"task_type": "t", "status": "completed"}',
        # A key the contract does not read, and a key repeated inside a nested value, change nothing.
        '{"event_id": "d4", "occurred_at": "2025-03-01T10:00:00Z", "agent_id": "a1", "function": "Finance", '
        '"business_unit": "BU", "team": "T", "task_type": "t", "status": "completed", "cost_usd": "2.50", '
        '"note": "x", "note": "y", "extra": {"cost_usd": 1, "cost_usd": 2}}',
    ]
    result = load(conn, _jsonl_lines(tmp_path, lines))

    assert (result.rows_read, result.accepted, result.rejected) == (3, 1, 2)
    told = "times in the object, so which value counts cannot be told"
    assert rejections(conn) == [
        (1, "cost_usd", "rejected", f"cost_usd: is given 2 {told}"),
        (2, "event_id", "rejected", f"event_id: is given 2 {told}; agent_id: is given 3 {told}"),
    ]
    kept = conn.execute("select raw from rejected_rows order by line").fetchall()
    assert [json.loads(raw)["line"] for (raw,) in kept] == lines[:2]
    assert conn.execute("select event_id, cost_usd from usage_events").fetchall() == [("d4", Decimal("2.50"))]


@pytest.mark.parametrize("file_format", list(WRITERS))
def test_a_nul_byte_in_a_text_value_rejects_its_row_wherever_it_stands(conn, tmp_path, file_format):
    # The file's first 64 KB are plain text (its format is told from them); the NUL comes later.
    rows = [example("usage_events", event_id=f"e{index:05d}") for index in range(800)]
    rows.append(example("usage_events", event_id="nul", agent_id="writer\x00-2", team="Brand\x00"))
    path = WRITERS[file_format](tmp_path / f"usage.{EXTENSIONS[file_format]}", rows)
    if file_format != "parquet":
        assert path.read_bytes().find(b"\0" if file_format == "csv" else b"\\u0000") > 65536

    result = load(conn, path)

    assert (result.rows_read, result.accepted, result.rejected) == (801, 800, 1)
    line = 801 if file_format == "parquet" else 802 if file_format == "csv" else 801
    nul = "holds a NUL byte (0x00), which is not text"
    assert rejections(conn) == [
        (
            line,
            "agent_id",
            "rejected",
            f'agent_id: {nul} (got "writer\\u0000-2"); team: {nul} (got "Brand\\u0000")',
        )
    ]
    assert conn.execute("select count(*) from usage_events where contains(agent_id, chr(0))").fetchall() == [
        (0,)
    ]


@pytest.mark.parametrize("file_format", list(WRITERS))
def test_digit_separators_in_integer_columns_are_rejected(conn, tmp_path, file_format):
    rows = [example("usage_events", event_id="x", api_calls="1_000"), example("usage_events")]
    path = WRITERS[file_format](tmp_path / f"usage.{EXTENSIONS[file_format]}", rows)

    result = load(conn, path)

    assert (result.accepted, result.rejected) == (1, 1)
    assert [reason for *_, reason in rejections(conn)] == ['api_calls: must be a whole number (got "1_000")']


def test_numbers_either_side_of_the_plainly_written_forms_follow_the_same_rules(conn, tmp_path):
    # Digits only (at most 15), and money with at most 10 whole digits and 1 to 8 decimals, skip the
    # slower checks of the text; each value here sits just inside or just outside those forms.
    values = [
        ("a", {"api_calls": "123456789012345"}),  # 15 digits: plain
        ("b", {"api_calls": "1234567890123456"}),  # 16 digits, below 2^53
        ("c", {"api_calls": "9007199254740993"}),  # 2^53 + 1
        ("d", {"api_calls": "0007"}),
        ("e", {"api_calls": "7.0"}),
        ("f", {"api_calls": "7.5"}),
        ("g", {"cost_usd": "1234567890.12345678"}),  # 10 whole digits and 8 decimals: plain
        ("h", {"cost_usd": "12345678901"}),  # 11 whole digits
        ("i", {"cost_usd": "0.100000000"}),  # 9 decimals, the last ones zeros
        ("j", {"cost_usd": "0.123456789"}),  # 9 decimals
        ("k", {"cost_usd": "1."}),
    ]
    rows = [example("usage_events", event_id=event_id, **changes) for event_id, changes in values]
    path = write_csv(tmp_path / "usage.csv", rows)

    result = load(conn, path)

    assert (result.accepted, result.rejected) == (7, 4)
    stored = conn.execute(
        "select event_id, api_calls, cost_usd from usage_events order by event_id"
    ).fetchall()
    example_calls = int(schema.KINDS["usage_events"].example["api_calls"])
    example_cost = Decimal(str(schema.KINDS["usage_events"].example["cost_usd"]))
    assert stored == [
        ("a", 123456789012345, example_cost),
        ("b", 1234567890123456, example_cost),
        ("d", 7, example_cost),
        ("e", 7, example_cost),
        ("g", example_calls, Decimal("1234567890.12345678")),
        ("i", example_calls, Decimal("0.1")),
        ("k", example_calls, Decimal("1")),
    ]
    assert [(line, reason) for line, _, _, reason in rejections(conn)] == [
        (
            4,
            'api_calls: has more digits than can be stored exactly (the largest is 9,007,199,254,740,991) (got "9007199254740993")',
        ),
        (7, 'api_calls: must be a whole number (got "7.5")'),
        (
            9,
            'cost_usd: has more digits than can be stored exactly (the largest is 9,999,999,999.99999999) (got "12345678901")',
        ),
        (11, 'cost_usd: has more than 8 decimal places (money is stored exactly) (got "0.123456789")'),
    ]


def _parquet(path: Path, select: str) -> Path:
    with duckdb.connect() as connection:
        connection.execute(f"copy ({select}) to '{path}' (format parquet)")
    return path


USAGE_SELECT = (
    "select 'e' || i as event_id, '2025-03-04T09:15:00Z' as occurred_at, 'a1' as agent_id, 'Marketing' as function, "
    "'Consumer' as business_unit, 'completed' as status"
)


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ("{'a': 1} as agent_id", "column agent_id is STRUCT(a INTEGER) in the Parquet file; it must be text"),
        ("['x', 'y'] as agent_id", "column agent_id is VARCHAR[] in the Parquet file; it must be text"),
        (
            "[1, 2] as api_calls",
            "column api_calls is INTEGER[] in the Parquet file; it must be a whole number",
        ),
    ],
)
def test_parquet_struct_and_list_columns_are_refused_with_the_reason(conn, tmp_path, column, message):
    select = USAGE_SELECT.replace("'a1' as agent_id", "") if "agent_id" in column else USAGE_SELECT
    path = _parquet(tmp_path / "usage.parquet", f"{select.replace(', ,', ',')}, {column} from range(2) t(i)")
    before = snapshot(conn)

    with pytest.raises(ingest.IngestError) as raised:
        load(conn, path)

    assert raised.value.message == message
    assert snapshot(conn) == before


def test_a_parquet_integer_beyond_2_53_is_rejected_as_in_csv_and_json_lines(conn, tmp_path):
    """BIGINT holds 2^53 + 1 exactly, but the contract's integers stop below 2^53 in every format, so
    a file's rows do not depend on the format it was written in."""
    path = _parquet(
        tmp_path / "usage.parquet",
        f"{USAGE_SELECT}, case when i = 1 then 9007199254740993 when i = 2 then -9007199254740993 "
        "else 9007199254740991 end::BIGINT as api_calls from range(3) t(i)",
    )

    result = load(conn, path)

    assert (result.accepted, result.rejected) == (1, 2)
    assert conn.execute("select api_calls from usage_events").fetchall() == [(9007199254740991,)]
    too_many = "api_calls: has more digits than can be stored exactly (the largest is 9,007,199,254,740,991)"
    assert [reason for *_, reason in rejections(conn)] == [
        f'{too_many} (got "9007199254740993")',
        f'{too_many} (got "-9007199254740993")',
    ]


def test_a_parquet_file_that_names_a_column_twice_is_refused_and_nothing_is_loaded(conn, tmp_path):
    # pyarrow writes two columns of one name; DuckDB reads the second as cost_usd_1, so the first
    # was stored and the other "ignored": which one is meant cannot be told, as in a CSV header.
    import pyarrow as pa
    import pyarrow.parquet as pq

    values = {"event_id": ["e1"], "occurred_at": ["2025-03-04T09:15:00Z"], "agent_id": ["a1"],
              "function": ["Marketing"], "business_unit": ["Consumer"], "status": ["completed"]}  # fmt: skip
    arrays = [pa.array(column) for column in values.values()]
    repeated = tmp_path / "repeated.parquet"
    pq.write_table(
        pa.Table.from_arrays(
            [*arrays, pa.array(["1.00"]), pa.array(["100.00"])], names=[*values, "cost_usd", "cost_usd"]
        ),
        repeated,
    )
    with pytest.raises(
        ingest.IngestError, match=r"^repeated.parquet: the schema repeats column\(s\) cost_usd$"
    ):
        load(conn, repeated)
    assert conn.execute("select count(*) from usage_events").fetchone() == (0,)
    # A field of a nested column may share a column's name: no repeat (the nested column, which
    # the contract does not read, is ignored).
    nested = tmp_path / "nested.parquet"
    pq.write_table(
        pa.Table.from_arrays(
            [*arrays, pa.array([{"cost_usd": "1.00"}]), pa.array(["2.00"])],
            names=[*values, "extra", "cost_usd"],
        ),
        nested,
    )
    result = load(conn, nested)
    assert (result.accepted, result.ignored_columns) == (1, ("extra",))


def test_parquet_bytes_without_a_text_annotation_are_read_as_utf8_text_or_reject_their_row(conn, tmp_path):
    """Some writers store strings as plain BINARY: their UTF-8 text is the value (cast to text, DuckDB
    would store Zürich as 'Z\\xC3\\xBCrich'), and bytes that are not UTF-8 reject their row, with its
    row number and column, and the other rows load."""
    path = _parquet(
        tmp_path / "usage.parquet",
        "select 'e' || i as event_id, '2025-03-04T09:15:00Z' as occurred_at, 'a1' as agent_id, "
        "'Marketing' as function, 'Consumer' as business_unit, "
        "case when i = 1 then '\\x5A\\xFF' else 'Z\\xC3\\xBCrich' end::BLOB as team, "
        "case when i = 2 then 'done' else 'completed' end::BLOB as status, '12'::BLOB as api_calls "
        "from range(3) t(i)",
    )
    with duckdb.connect() as check:
        assert {row[1] for row in check.execute(f"describe select * from '{path}'").fetchall()} >= {"BLOB"}

    result = load(conn, path)

    assert (result.rows_read, result.accepted, result.rejected) == (3, 1, 2)
    assert conn.execute("select event_id, team, status, api_calls from usage_events").fetchall() == [
        ("e0", "Zürich", "completed", 12)
    ]
    assert rejections(conn) == [
        (2, "team", "rejected", 'team: not UTF-8 text (got "Z\\\\xFF")'),
        (3, "status", "rejected", 'status: must be one of completed, escalated, failed (got "done")'),
    ]


def test_a_parquet_double_that_is_no_number_rejects_its_row_not_the_file(conn, tmp_path):
    # pandas and pyarrow write a missing float as NaN, and leave NaN out of the column's min and max
    # (here 12 and 12): DuckDB then took the cast to BIGINT for safe, and one NaN refused the whole
    # file with its cast error, where infinity or 2.5 rejected only their rows.
    import pyarrow.parquet as pq

    with duckdb.connect() as connection:
        table = connection.sql(
            f"{USAGE_SELECT}, case when i = 1 then 'nan'::DOUBLE else 12 end as input_tokens from range(4) t(i)"
        ).to_arrow_table()
    path = tmp_path / "usage.parquet"
    pq.write_table(table, path)

    result = load(conn, path)

    assert (result.rows_read, result.accepted, result.rejected) == (4, 3, 1)
    assert conn.execute("select event_id, input_tokens from usage_events order by 1").fetchall() == [
        ("e0", 12),
        ("e2", 12),
        ("e3", 12),
    ]
    assert rejections(conn) == [
        (2, "input_tokens", "rejected", 'input_tokens: must be a whole number (got "nan")')
    ]


def test_one_parquet_value_out_of_range_rejects_its_row_not_the_file(conn, tmp_path):
    path = _parquet(
        tmp_path / "usage.parquet",
        f"{USAGE_SELECT}, case when i = 1 then 18446744073709551615 else 7 end::UBIGINT as api_calls, "
        "case when i = 2 then '1000000000000000000000000000000.00' else '2.5' end::DECIMAL(38,2) as cost_usd "
        "from range(4) t(i)",
    )

    result = load(conn, path)

    assert (result.rows_read, result.accepted, result.rejected) == (4, 2, 2)
    assert conn.execute("select event_id, api_calls, cost_usd from usage_events order by 1").fetchall() == [
        ("e0", 7, Decimal("2.5")),
        ("e3", 7, Decimal("2.5")),
    ]
    assert rejections(conn) == [
        (
            2,
            "api_calls",
            "rejected",
            "api_calls: has more digits than can be stored exactly (the largest is 9,007,199,254,740,991) "
            '(got "18446744073709551615")',
        ),
        (
            3,
            "cost_usd",
            "rejected",
            "cost_usd: has more digits than can be stored exactly (the largest is 9,999,999,999.99999999) "
            '(got "1000000000000000000000000000000.00")',
        ),
    ]


def _agents_with_a_long_blueprint(path: Path, megabytes: int) -> Path:
    rows = [example("agents", agent_id=f"a{index}") for index in range(5)]
    rows[2]["blueprint"] = "x" * (megabytes * 1_000_000)
    return (write_jsonl if path.suffix == ".jsonl" else write_csv)(path, rows)


@pytest.mark.parametrize(
    ("file_format", "megabytes"), [("csv", 3), ("csv", 24), ("csv", 40), ("csv", 100), ("jsonl", 40)]
)
def test_a_line_longer_than_the_limit_is_counted_and_rejected_with_its_line(
    conn, tmp_path, file_format, megabytes
):
    path = _agents_with_a_long_blueprint(tmp_path / f"agents.{file_format}", megabytes)
    first_line = 2 if file_format == "csv" else 1

    result = load(conn, path)

    assert (result.rows_read, result.accepted, result.rejected) == (5, 4, 1)
    assert rejections(conn) == [(first_line + 2, None, "rejected", "line is longer than 2 MB")]
    assert [row[0] for row in table_rows(conn, "agents")] == ["a0", "a1", "a3", "a4"]


def test_a_gzip_with_one_enormous_line_reads_every_other_line(conn, tmp_path):
    plain = _agents_with_a_long_blueprint(tmp_path / "plain.csv", 40)
    path = tmp_path / "agents.csv.gz"
    with gzip.open(path, "wb", compresslevel=1) as handle:
        handle.write(plain.read_bytes())

    result = load(conn, path)

    assert (result.rows_read, result.accepted, result.rejected) == (5, 4, 1)
    assert rejections(conn) == [(4, None, "rejected", "line is longer than 2 MB")]


def test_a_gzip_json_lines_line_of_half_a_gigabyte_is_rejected_without_being_held_in_memory(tmp_path):
    """The command line loads a gzip whose third line is 512 MiB decompressed, streamed into the gzip
    in 1 MiB pieces: the line is rejected with its number, the other four load, and the process never
    holds the line (its peak memory stays below the line's size). benchmarks/long_line.py runs the
    same at 4 GB."""
    path = tmp_path / "agents.jsonl.gz"
    piece = b"x" * (1 << 20)
    with gzip.open(path, "wb", compresslevel=1) as handle:
        for index in range(5):
            line = json.dumps(example("agents", agent_id=f"a{index}", blueprint="")).encode()
            if index == 2:
                head, tail = line.split(b'"blueprint": ""')
                handle.write(head + b'"blueprint": "')
                for _ in range(512):
                    handle.write(piece)
                line = b'"' + tail
            handle.write(line + b"\n")
    db = tmp_path / "db.duckdb"
    cli = shutil.which("offload-metrics") or str(Path(sys.executable).with_name("offload-metrics"))

    # A child's peak memory counts the memory of the process it was forked from, so the command runs
    # under a small Python that reports its child's peak (ru_maxrss, KiB on Linux).
    measure = (
        "import resource, subprocess, sys; "
        "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
        "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )

    measured = subprocess.run(
        [sys.executable, "-c", measure, cli, "ingest", "--db", str(db), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )

    code, peak_kib = (int(word) for word in measured.stdout.split())
    assert code == 0, measured.stderr
    assert peak_kib * 1024 < 512 * (1 << 20), f"peak {peak_kib // 1024} MiB"
    with duckdb.connect(str(db), read_only=True) as connection:
        assert connection.execute("select rows_read, accepted, rejected from loads").fetchall() == [(5, 4, 1)]
        assert rejections(connection) == [(3, None, "rejected", "line is longer than 2 MB")]
        assert connection.execute("select agent_id from agents order by 1").fetchall() == [
            ("a0",),
            ("a1",),
            ("a3",),
            ("a4",),
        ]


def test_a_quoted_multi_line_field_over_the_csv_field_limit_loads_with_a_rejected_row(conn, tmp_path):
    rows = [example("agents", agent_id=f"m{index}") for index in range(3)]
    rows[0]["blueprint"] = "1. Connect the catalog.\n" * 6000  # 144,000 characters over 6,000 lines
    rows[2]["risk_class"] = "bogus"
    path = write_csv(tmp_path / "agents.csv", rows)
    other = write_csv(tmp_path / "events.csv", [example("replication_events")])

    result = load(conn, path)
    loaded_after = load(conn, other)

    assert (result.rows_read, result.accepted, result.rejected) == (3, 2, 1)
    assert rejections(conn) == [
        (6004, "risk_class", "rejected", 'risk_class: must be one of low, medium, high (got "bogus")')
    ]
    assert conn.execute("select length(blueprint) from agents where agent_id = 'm0'").fetchone() == (144_000,)
    assert loaded_after.accepted == 1


MONEY_TEXT = st.builds(
    lambda whole, decimals: f"{whole}.{decimals}" if decimals else str(whole),
    st.integers(0, 10**11),
    st.text(alphabet="0123456789", max_size=11),
)
COUNT_TEXT = st.one_of(
    st.integers(0, 2**53 - 1).map(str), st.sampled_from(["1.0000000000000001", "12.0", "1e3", "2.5"])
)


def _money_is_valid(text: str) -> bool:
    value = Decimal(text)
    return value < 10**10 and value.normalize().as_tuple().exponent >= -8


def _count_value(text: str) -> int | None:
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() and value < 2**53 else None


def _write_typed_parquet(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """Parquet with money as DECIMAL(38,11) and counts as BIGINT, built from the texts exactly."""
    with duckdb.connect() as connection:
        connection.execute("create table t (event_id VARCHAR, cost_usd DECIMAL(38,11), api_calls BIGINT)")
        connection.executemany("insert into t values (?, ?::DECIMAL(38,11), ?)", [list(row) for row in rows])
        fixed = ", ".join(
            f"{sql!r} as {name}"
            for name, sql in example("usage_events").items()
            if name not in ("event_id", "cost_usd", "api_calls")
        ).replace('"', "'")
        connection.execute(f"copy (select *, {fixed} from t) to '{path}' (format parquet)")
    return path


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    file_format=st.sampled_from(["jsonl", "parquet"]),
    values=st.lists(st.tuples(MONEY_TEXT, COUNT_TEXT), min_size=1, max_size=25),
)
def test_typed_jsonl_and_parquet_numbers_are_stored_exactly_or_rejected(
    tmp_path_factory, file_format, values
):
    """Numbers written as JSON numbers or typed Parquet columns: every row accounted for, and each
    stored amount equals the text it was written from, digit for digit."""
    folder = tmp_path_factory.mktemp("typed")
    if file_format == "parquet":
        values = [
            (money, str(_count_value(count) or 0)) for money, count in values
        ]  # BIGINT holds whole numbers
        path = _write_typed_parquet(
            folder / "usage.parquet",
            [(f"e{index}", money, count) for index, (money, count) in enumerate(values)],
        )
    else:
        path = _jsonl_with_numbers(
            folder / "usage.jsonl",
            [
                (f"e{index}", {"cost_usd": money, "api_calls": count})
                for index, (money, count) in enumerate(values)
            ],
        )
    expected = {
        f"e{index}": (Decimal(money), _count_value(count))
        for index, (money, count) in enumerate(values)
        if _money_is_valid(money) and _count_value(count) is not None
    }

    with store.connect(folder / "db.duckdb") as connection:
        result = load(connection, path)
        stored = connection.execute("select event_id, cost_usd, api_calls from usage_events").fetchall()

    assert result.balanced
    assert (result.rows_read, result.accepted, result.rejected) == (
        len(values),
        len(expected),
        len(values) - len(expected),
    )
    assert {event_id: (cost, calls) for event_id, cost, calls in stored} == expected


def test_a_long_line_and_a_multi_line_field_in_one_file_keep_every_line_number(conn, tmp_path):
    rows = [example("agents", agent_id=f"a{index}") for index in range(5)]
    rows[0]["blueprint"] = "1. step\n2. step"  # lines 2-3
    rows[2]["blueprint"] = "x" * 3_000_000  # line 5
    rows[4]["risk_class"] = "bogus"  # line 7
    path = write_csv(tmp_path / "agents.csv", rows)

    result = load(conn, path)

    assert (result.rows_read, result.accepted, result.rejected) == (5, 3, 2)
    assert rejections(conn) == [
        (5, None, "rejected", "line is longer than 2 MB"),
        (7, "risk_class", "rejected", 'risk_class: must be one of low, medium, high (got "bogus")'),
    ]


def test_the_largest_values_the_contract_allows_still_make_a_report(data):
    """A billion tasks in one record at 100,000 minutes each, at $100,000 an hour, beside a team of
    10,000,000 routine hours: the report's exact sums hold them (one more is rejected above). Before
    the bounds, one row of 1e30 minutes made every report fail on a DECIMAL overflow."""
    data.usage("2025-03-10", "a1", cost="1.00")
    data.saved("2025-03", "Brand", tasks=1_000_000_000, baseline=100_000, minutes=0)
    data.baseline("Brand", headcount=1, routine=10_000_000, rate="100000")
    conn = data.load()

    built = report.build(conn, metrics.Filters(), Settings())

    [marketing] = [row for row in built["functions"] if row["function"] == "Marketing"]
    # 1,000,000,000 tasks x 100,000 minutes / 60 = 1,666,666,666,666.67 hours, x $100,000 an hour.
    assert round(marketing["hours_saved"], 2) == 1_666_666_666_666.67
    assert marketing["labor_value_usd"] == pytest.approx(1e9 * 100_000 / 60 * 100_000, rel=1e-12)
    # A quarter of the net savings (labor value less the $1.00 of usage) goes to the pool.
    assert marketing["reinvestment_pool_usd"] == pytest.approx(
        0.25 * (1e9 * 100_000 / 60 * 100_000 - 1), rel=1e-12
    )


def test_a_broken_parquet_file_is_named_as_the_user_named_it_without_duckdbs_sql(conn, tmp_path):
    path = tmp_path / "events.parquet"
    path.write_bytes(b"PAR1" + b"\0" * 64)

    with pytest.raises(ingest.IngestError) as raised:
        load(conn, path)

    message = raised.value.message
    assert message.startswith("not a readable Parquet file (")
    # Neither DuckDB's SQL nor the path it read (a temporary copy, for an upload) is in the message.
    assert "LINE 1" not in message and "read_parquet" not in message
    assert str(tmp_path) not in message
