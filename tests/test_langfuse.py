"""Langfuse exports in: observations and scores as CSV, JSON Lines and Parquet, in the export's own shape.

The fixtures follow Langfuse's blob storage export field reference: snake_case columns, timestamps
as `YYYY-MM-DD HH:MM:SS.ffffff` in UTC, usage_details and cost_details as maps (JSON objects in
JSON Lines, JSON text in CSV, MAP columns in Parquet), metadata values as strings, tags from the trace.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from conftest import table_rows
from offload_metrics import config, ingest, mapping, store

MAPPING = """source,match,function,business_unit,team
langfuse.metadata.team,brand,Marketing,Consumer,Brand Content
langfuse.project_id,proj-support,Customer Support,Consumer,Tier 1
langfuse.tags,finance-*,Finance,Corporate,
"""


def observation(id: str, trace_id: str, type: str, start: str, end: str, name: str, **fields) -> dict:
    row = {
        "id": id, "trace_id": trace_id, "project_id": "proj-mkt", "environment": "production", "type": type,
        "parent_observation_id": None, "start_time": start, "end_time": end, "name": name, "level": "DEFAULT",
        "status_message": None, "version": None, "metadata": {}, "usage_details": {}, "cost_details": {},
        "total_cost": None, "latency": None, "provided_model_name": None, "trace_name": None, "user_id": None,
        "session_id": None, "tags": [], "input": None, "output": None,
    }  # fmt: skip
    row.update(fields)
    return row


OBSERVATIONS = [
    # A marketing agent: a generation with usage and cost, a tool, and a generation under a SPAN.
    observation("obs-a1", "tr-1", "AGENT", "2025-03-04 09:15:00.000000", "2025-03-04 09:15:05.400000",
                "brief-writer", metadata={"team": "brand"}, trace_name="campaign_brief", tags=["marketing"]),
    observation("obs-g1", "tr-1", "GENERATION", "2025-03-04 09:15:01.000000", "2025-03-04 09:15:03.000000",
                "chat", parent_observation_id="obs-a1", provided_model_name="gpt-4o",
                usage_details={"input": 3000, "output": 800, "total": 3800},
                cost_details={"input": 0.0075, "output": 0.008, "total": 0.0155}, total_cost=0.0155),
    observation("obs-t1", "tr-1", "TOOL", "2025-03-04 09:15:03.000000", "2025-03-04 09:15:04.000000", "search",
                parent_observation_id="obs-a1"),
    observation("obs-s1", "tr-1", "SPAN", "2025-03-04 09:15:04.000000", "2025-03-04 09:15:05.000000", "refine",
                parent_observation_id="obs-a1"),
    observation("obs-g2", "tr-1", "GENERATION", "2025-03-04 09:15:04.000000", "2025-03-04 09:15:05.000000",
                "chat", parent_observation_id="obs-s1", provided_model_name="gpt-4o-mini",
                usage_details={"input": 200, "output": 50, "total": 250}),
    # A support agent that errors, with its own usage and no generations: priced from the settings.
    observation("obs-a2", "tr-2", "AGENT", "2025-03-31 23:59:59.500000", "2025-04-01 00:00:01.000000",
                "support-triage", project_id="proj-support", level="ERROR", status_message="tool timed out",
                provided_model_name="claude-haiku", usage_details={"input": 400, "output": 100}),
    # An agent of a project no rule maps.
    observation("obs-a3", "tr-3", "AGENT", "2025-03-05 10:00:00.000000", "2025-03-05 10:00:02.000000", "helper",
                project_id="proj-unknown", environment="staging"),
]  # fmt: skip
PRICES = {"telemetry": {"prices": {"gpt-4o-mini": ["0.15", "0.6"], "claude-haiku": ["3", "15"]}}}


def write_export(path: Path, rows: list[dict], file_format: str) -> Path:
    """Rows as the export writes them in each format."""
    if file_format == "jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        return path
    flat = [
        {key: json.dumps(value) if isinstance(value, dict | list) else ("" if value is None else value)
         for key, value in row.items()}
        for row in rows
    ]  # fmt: skip
    if file_format == "csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(flat)
        return path
    source = write_export(path.with_suffix(".source.jsonl"), rows, "jsonl")
    typed = {
        "usage_details": "MAP(VARCHAR, BIGINT)", "cost_details": "MAP(VARCHAR, DECIMAL(18,12))",
        "metadata": "MAP(VARCHAR, VARCHAR)", "tags": "VARCHAR[]", "start_time": "TIMESTAMP",
        "end_time": "TIMESTAMP", "timestamp": "TIMESTAMP", "value": "DOUBLE",
    }  # fmt: skip
    columns = ", ".join(
        f"cast({name}::JSON as {typed[name]}) as {name}" if typed.get(name, "").startswith(("MAP", "VARCHAR["))
        else f"cast({name} as {typed[name]}) as {name}" if name in typed else name
        for name in rows[0]
    )  # fmt: skip
    as_text = ", ".join(f"'{name}': 'VARCHAR'" for name in rows[0])
    with duckdb.connect() as conn:
        conn.execute(
            f"copy (select {columns} from read_json(?, format = 'newline_delimited', columns = {{{as_text}}})) "
            f"to '{path}' (format parquet)",
            [str(source)],
        )
    source.unlink()
    return path


def org(tmp_path: Path) -> mapping.Mapping:
    (tmp_path / "org.csv").write_text(MAPPING, encoding="utf-8")
    return mapping.load_mapping(tmp_path / "org.csv")


@pytest.mark.parametrize("file_format", ["csv", "jsonl", "parquet"])
def test_observations_make_one_event_per_agent_in_every_format(conn, tmp_path, file_format):
    path = write_export(tmp_path / f"observations.{file_format}", OBSERVATIONS, file_format)
    result = ingest.load_file(conn, path, settings=config.parse_settings(PRICES), mapping=org(tmp_path))
    assert (result.kind, result.records_read, result.events_made, result.accepted, result.rejected) == (
        "langfuse_observations", 7, 2, 2, 1,
    )  # fmt: skip
    # obs-g2 sits under a SPAN but its nearest AGENT is obs-a1; it has no cost: 200 x 0.15/1M + 50 x 0.6/1M.
    # obs-a2 has no generations: its own usage, priced 400 x 3/1M + 100 x 15/1M, estimated.
    assert table_rows(conn, "usage_events") == [
        ("obs-a1", dt.datetime(2025, 3, 4, 9, 15), "brief-writer", "Marketing", "Consumer", "Brand Content",
         "campaign_brief", "completed", None, 3, 3200, 850, Decimal("0.01556000"), 5400),
        ("obs-a2", dt.datetime(2025, 3, 31, 23, 59, 59, 500000), "support-triage", "Customer Support", "Consumer",
         "Tier 1", "support-triage", "failed", None, 0, 400, 100, Decimal("0.00270000"), 1500),
    ]  # fmt: skip
    assert conn.execute("select event_id, estimated_cost_usd from usage_events order by 1").fetchall() == [
        ("obs-a1", Decimal("0.00006000")),
        ("obs-a2", Decimal("0.00270000")),
    ]
    line = {"csv": 8, "jsonl": 7, "parquet": 7}[file_format]
    assert store.rejected_rows(conn)[["line", "reason"]].values.tolist() == [
        [line, 'no mapping rule matches langfuse.project_id="proj-unknown", langfuse.environment="staging"']
    ]


def test_a_parquet_export_whose_text_is_plain_bytes_is_read_as_its_text(conn, tmp_path):
    rows = [
        observation("obs-z1", "tr-z", "AGENT", "2025-03-04 09:00:00.000000", "2025-03-04 09:00:01.000000",
                    "rédacteur-zürich", project_id="proj-zürich"),
    ]  # fmt: skip
    (tmp_path / "org.csv").write_text(
        "source,match,function,business_unit,team\nlangfuse.project_id,proj-zürich,Customer Support,Consumer,Tier 1\n",
        encoding="utf-8",
    )
    typed = write_export(tmp_path / "typed.parquet", rows, "parquet")
    # The same export with its name and project written as BINARY without a text annotation.
    path = tmp_path / "bytes.parquet"
    with duckdb.connect() as writer:
        writer.execute(
            f"copy (select * replace (encode(name) as name, encode(project_id) as project_id) "
            f"from read_parquet('{typed}')) to '{path}' (format parquet)"
        )
        assert writer.execute(f"select typeof(name) from read_parquet('{path}') limit 1").fetchone() == (
            "BLOB",
        )
    result = ingest.load_file(conn, path, mapping=mapping.load_mapping(tmp_path / "org.csv"))
    assert (result.kind, result.accepted, result.rejected) == ("langfuse_observations", 1, 0)
    assert conn.execute("select agent_id, function from usage_events").fetchall() == [
        ("rédacteur-zürich", "Customer Support")
    ]


def test_a_csv_cell_that_is_not_json_or_repeats_a_key_rejects_its_record_only(conn, tmp_path):
    # A spreadsheet cuts a long cell short; a map that gives a key twice is as ambiguous in a CSV
    # cell as in a JSON Lines record. Before, the first refused the whole file with DuckDB's JSON
    # error, and the second took the first value (10 input tokens) silently.
    at = ("2025-03-04 09:15:00.000000", "2025-03-04 09:15:05.000000")
    rows = [
        observation("obs-a1", "tr-1", "AGENT", *at, "brief-writer", metadata='{"team": "brand"}'),
        observation("obs-g1", "tr-1", "GENERATION", *at, "chat", parent_observation_id="obs-a1",
                    usage_details='{"input": 10, "output": 2, "input": 99000}'),
        observation("obs-a2", "tr-2", "AGENT", *at, "brief-writer", metadata='{"team": "brand"'),
        observation("obs-a3", "tr-3", "AGENT", *at, "brief-writer", metadata='{"team": "brand", "team": "x"}'),
    ]  # fmt: skip
    result = ingest.load_file(conn, write_export(tmp_path / "o.csv", rows, "csv"), mapping=org(tmp_path))
    assert (result.rows_read, result.accepted, result.rejected) == (4, 1, 3)
    assert conn.execute("select event_id, input_tokens from usage_events").fetchall() == [("obs-a1", 0)]
    repeated = "more than once, so which value counts cannot be told"
    assert store.rejected_rows(conn)[["line", "column_name", "reason"]].values.tolist() == [
        [3, "usage_details", f"usage_details: gives the key input {repeated}"],
        [4, "metadata", 'metadata: is not valid JSON (got "{\\"team\\": \\"brand\\"")'],
        [5, "metadata", f"metadata: gives the key team {repeated}"],
    ]


def test_tags_and_metadata_keys_map_too(conn, tmp_path):
    rows = [
        observation("obs-f1", "tr-9", "AGENT", "2025-03-04 09:00:00.000000", "2025-03-04 09:00:01.000000",
                    "reconciler", project_id="proj-x", tags=["eu", "finance-close"]),
    ]  # fmt: skip
    ingest.load_file(conn, write_export(tmp_path / "o.jsonl", rows, "jsonl"), mapping=org(tmp_path))
    assert conn.execute("select function, business_unit, team from usage_events").fetchall() == [
        ("Finance", "Corporate", None)
    ]


def test_one_event_per_trace_when_configured(conn, tmp_path):
    path = write_export(tmp_path / "observations.jsonl", OBSERVATIONS[:5], "jsonl")
    settings = config.parse_settings(
        {**PRICES, "telemetry": {**PRICES["telemetry"], "langfuse_event_per": "trace"}}
    )
    result = ingest.load_file(conn, path, settings=settings, mapping=org(tmp_path))
    assert (result.records_read, result.events_made, result.accepted) == (5, 1, 1)
    assert table_rows(conn, "usage_events") == [
        ("tr-1", dt.datetime(2025, 3, 4, 9, 15), "brief-writer", "Marketing", "Consumer", "Brand Content",
         "campaign_brief", "completed", None, 3, 3200, 850, Decimal("0.01556000"), 5400),
    ]  # fmt: skip


def test_per_trace_an_agent_without_generations_counts_its_own_usage_as_per_agent(conn, tmp_path):
    # One AGENT observation with its own usage and no GENERATION under it: its own tokens count,
    # priced as an estimate, in either mode (per trace they read 0 before).
    rows = [
        observation("obs-a9", "tr-9", "AGENT", "2025-03-05 09:00:00.000000", "2025-03-05 09:00:01.000000",
                    "triage", metadata={"team": "brand"}, usage_details={"input": 40, "output": 60},
                    provided_model_name="gpt-4o-mini"),
    ]  # fmt: skip
    path = write_export(tmp_path / "observations.jsonl", rows, "jsonl")
    found = []
    for per in ("agent", "trace"):
        settings = config.parse_settings(
            {**PRICES, "telemetry": {**PRICES["telemetry"], "langfuse_event_per": per}}
        )
        with store.connect(tmp_path / f"{per}.duckdb") as db:
            ingest.load_file(db, path, settings=settings, mapping=org(tmp_path))
            found.append(
                db.execute(
                    "select input_tokens, output_tokens, cost_usd, estimated_cost_usd from usage_events"
                ).fetchall()
            )
    # gpt-4o-mini at $0.15 and $0.60 a million: (40 x 0.15 + 60 x 0.60) / 1e6 = $0.000042, all estimated.
    expected = [(40, 60, Decimal("0.00004200"), Decimal("0.00004200"))]
    assert found == [expected, expected]


def score(id: str, trace_id: str, observation_id: str | None, name: str, data_type: str, value, string_value):
    return {
        "id": id, "timestamp": "2025-04-02 08:00:00.000000", "project_id": "proj-mkt", "environment": "production",
        "trace_id": trace_id, "observation_id": observation_id, "session_id": None, "name": name, "value": value,
        "source": "ANNOTATION", "comment": None, "data_type": data_type, "string_value": string_value,
        "config_id": None,
    }  # fmt: skip


SCORES = [
    score("sc-1", "tr-1", "obs-a1", "correctness", "BOOLEAN", 1, "True"),
    score("sc-2", "tr-2", None, "correctness", "CATEGORICAL", None, "incorrect"),
    score("sc-3", "tr-1", "obs-g1", "toxicity", "NUMERIC", 0.02, None),
    score("sc-4", "tr-3", "obs-a3", "correctness", "NUMERIC", 0.8, None),
    score("sc-5", "tr-1", "obs-a1", "correctness", "CATEGORICAL", None, "maybe"),
]


@pytest.mark.parametrize("file_format", ["csv", "jsonl", "parquet"])
def test_scores_of_every_data_type_review_their_events_whichever_file_comes_first(
    conn, tmp_path, file_format
):
    settings = config.parse_settings(
        {**PRICES, "telemetry": {**PRICES["telemetry"], "review_evaluation": "correctness"}}
    )
    scores = ingest.load_file(
        conn, write_export(tmp_path / f"scores.{file_format}", SCORES, file_format), settings=settings
    )
    assert (scores.kind, scores.records_read, scores.accepted, scores.rejected, scores.outside) == (
        "langfuse_scores", 5, 3, 1, 1,
    )  # fmt: skip
    reason = store.rejected_rows(conn)["reason"].tolist()
    assert reason == ['review: must be one of correct, incorrect (got "maybe")']
    observations = write_export(tmp_path / "observations.csv", OBSERVATIONS, "csv")
    ingest.load_file(conn, observations, settings=settings, mapping=org(tmp_path))
    # sc-1 names obs-a1 (BOOLEAN 1: correct); sc-2 names only trace tr-2, whose agent is obs-a2 (incorrect);
    # sc-4 names obs-a3, which no rule mapped: it waits for its event.
    assert conn.execute(
        "select agent_id, sum(correct), sum(incorrect) from usage_daily group by agent_id order by agent_id"
    ).fetchall() == [("brief-writer", 1, 0), ("support-triage", 0, 1)]
    wider = tmp_path / "wider.csv"
    wider.write_text(MAPPING + "langfuse.project_id,proj-unknown,Operations,Corporate,\n", encoding="utf-8")
    ingest.load_file(conn, observations, settings=settings, mapping=mapping.load_mapping(wider))
    assert conn.execute(
        "select agent_id, sum(tasks), sum(correct), sum(incorrect) from usage_daily group by agent_id order by 1"
    ).fetchall() == [("brief-writer", 1, 1, 0), ("helper", 1, 1, 0), ("support-triage", 1, 0, 1)]


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_a_numeric_score_that_is_no_number_is_rejected_not_counted_correct(conn, tmp_path, file_format):
    settings = config.parse_settings({"telemetry": {"review_evaluation": "correctness"}})
    scores = [
        score("sc-nan", "tr-1", "obs-a1", "correctness", "NUMERIC", "NaN", None),
        score("sc-inf", "tr-2", None, "correctness", "NUMERIC", "Infinity", None),
    ]
    loaded = ingest.load_file(
        conn, write_export(tmp_path / f"s.{file_format}", scores, file_format), settings=settings
    )
    # Before: NaN >= 0.5 holds in DuckDB, so both read as correct reviews.
    assert (loaded.records_read, loaded.accepted, loaded.rejected) == (2, 0, 2)
    assert store.rejected_rows(conn)["reason"].tolist() == [
        'review: must be one of correct, incorrect (got "NaN")',
        'review: must be one of correct, incorrect (got "Infinity")',
    ]
    ingest.load_file(
        conn, write_export(tmp_path / "o.csv", OBSERVATIONS, "csv"), settings=settings, mapping=org(tmp_path)
    )
    assert conn.execute("select sum(correct), sum(incorrect) from usage_daily").fetchone() == (0, 0)


def test_a_later_review_replaces_the_event_s_own_and_the_rollup_follows(conn, tmp_path):
    settings = config.parse_settings({"telemetry": {"review_evaluation": "correctness"}})
    ingest.load_file(
        conn, write_export(tmp_path / "o.csv", OBSERVATIONS, "csv"), settings=settings, mapping=org(tmp_path)
    )
    first = [score("sc-1", "tr-1", "obs-a1", "correctness", "NUMERIC", 0.2, None)]
    ingest.load_file(conn, write_export(tmp_path / "s1.csv", first, "csv"), settings=settings)
    # A trace-level score does not override the observation's own score.
    later = [score("sc-9", "tr-1", None, "correctness", "BOOLEAN", 1, "True")]
    ingest.load_file(conn, write_export(tmp_path / "s2.csv", later, "csv"), settings=settings)
    assert conn.execute(
        "select sum(correct), sum(incorrect) from usage_daily where agent_id = 'brief-writer'"
    ).fetchall() == [(0, 1)]
    assert conn.execute("select count(*) from reviews").fetchone() == (2,)


def test_broken_records_are_rejected_with_their_line_and_the_rest_loads(conn, tmp_path):
    good = (
        write_export(tmp_path / "o.jsonl", OBSERVATIONS[:3], "jsonl").read_text(encoding="utf-8").splitlines()
    )
    (tmp_path / "broken.jsonl").write_text(
        "\n".join([good[0], "[1, 2]", good[1], "{oops", good[2]]) + "\n", encoding="utf-8"
    )
    result = ingest.load_file(conn, tmp_path / "broken.jsonl", mapping=org(tmp_path))
    assert (result.records_read, result.accepted, result.rejected) == (3, 1, 2)
    assert store.rejected_rows(conn)[["line", "reason"]].values.tolist() == [
        [2, "not a JSON object"],
        [4, "not a JSON object"],
    ]
    flat = write_export(tmp_path / "o.csv", OBSERVATIONS[:3], "csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "broken.csv").write_text(
        "\n".join([*flat[:2], flat[2] + ',"extra"', flat[3]]) + "\n", encoding="utf-8"
    )
    with store.connect(tmp_path / "other.duckdb") as other:
        result = ingest.load_file(other, tmp_path / "broken.csv", mapping=org(tmp_path))
        assert (result.rows_read, result.accepted, result.rejected) == (2, 1, 1)
        assert store.rejected_rows(other)[["line", "reason"]].values.tolist() == [
            [3, "line has more fields than the header"]
        ]


def test_an_object_that_gives_a_field_or_a_map_key_twice_is_rejected(conn, tmp_path):
    """JSON leaves which of two values counts to the reader (DuckDB's keeps the first), and a repeated
    field can carry the cost or, through metadata, the team: the record is rejected, naming it."""
    lines = (
        write_export(tmp_path / "o.jsonl", OBSERVATIONS[:1], "jsonl").read_text(encoding="utf-8").splitlines()
    )
    line = lines[0]
    assert line.startswith('{"id": "obs-a1", ')
    twice_cost = line.replace('"total_cost": null', '"total_cost": 100.0, "total_cost": 1.0')
    assert twice_cost != line
    escaped = line.replace('{"id": "obs-a1", ', '{"id": "obs-x", "i\\u0064": "obs-y", ')
    team_twice = line.replace(
        '"metadata": {"team": "brand"}', '"metadata": {"team": "brand", "team": "finance"}'
    )
    assert team_twice != line
    unread_twice = line.replace('"obs-a1"', '"obs-a4"')[:-1] + ', "input": "a", "input": "b"}'
    nested_twice = line.replace('"obs-a1"', '"obs-a5"')[:-1] + ', "output": {"x": 1, "x": 2}}'
    path = tmp_path / "twice.jsonl"
    path.write_text(
        "\n".join([twice_cost, escaped, team_twice, unread_twice, nested_twice]) + "\n", encoding="utf-8"
    )

    result = ingest.load_file(conn, path, mapping=org(tmp_path))

    assert (result.records_read, result.accepted, result.rejected) == (
        2,
        2,
        3,
    )  # records read: those readable
    reasons = store.rejected_rows(conn)[["line", "column_name", "reason"]].values.tolist()
    assert reasons == [
        [1, "total_cost", "total_cost: is given 2 times in the object, so which value counts cannot be told"],
        [2, "id", "id: is given 2 times in the object, so which value counts cannot be told"],
        [3, "metadata", "metadata: gives the key team more than once, so which value counts cannot be told"],
    ]
    assert json.loads(store.rejected_rows(conn)["raw"].iloc[2]) == {"line": team_twice[:200]}
    # A field the importer does not read, or a key inside one, changes nothing.
    assert conn.execute("select count(*), count(distinct team) from usage_events").fetchone() == (2, 1)


def test_a_cost_written_with_separators_or_too_large_rejects_its_agent_only(conn, tmp_path):
    """DuckDB's own cast reads "1_000" as 1000, and a cost of $1e12 failed the whole file's cast."""

    def agent(id: str, cost: object) -> dict:
        return observation(id, f"tr-{id}", "AGENT", "2025-03-04 09:15:00.000000", "2025-03-04 09:15:01.000000",
                           "brief-writer", metadata={"team": "brand"}, total_cost=cost)  # fmt: skip

    rows = [agent("a1", "1_000"), agent("a2", 1e12), agent("a3", "0.5")]
    path = write_export(tmp_path / "o.jsonl", rows, "jsonl")

    result = ingest.load_file(conn, path, mapping=org(tmp_path))

    assert (result.accepted, result.rejected) == (1, 2)
    assert store.rejected_rows(conn)[["line", "reason"]].values.tolist() == [
        [1, 'cost_usd: must be a decimal number (at most 8 decimal places) (got "1_000")'],
        [
            2,
            "cost_usd: has more digits than can be stored exactly (the largest is 9,999,999,999.99999999) "
            '(got "1000000000000.0")',
        ],
    ]
    assert conn.execute("select cost_usd::VARCHAR from usage_events").fetchall() == [("0.50000000",)]


def test_unloading_events_takes_out_what_their_later_reviews_changed(conn, tmp_path):
    settings = config.parse_settings({"telemetry": {"review_evaluation": "correctness"}})
    events = ingest.load_file(conn, write_export(tmp_path / "o.csv", OBSERVATIONS, "csv"), settings=settings,
                              mapping=org(tmp_path))  # fmt: skip
    reviews = ingest.load_file(conn, write_export(tmp_path / "s.csv", SCORES[:2], "csv"), settings=settings)
    assert conn.execute("select sum(correct), sum(incorrect) from usage_daily").fetchone() == (1, 1)
    with pytest.raises(store.StoreError, match="holds reviews"):
        store.unload(conn, reviews.load_id)
    store.unload(conn, events.load_id)
    assert conn.execute("select count(*), coalesce(sum(correct), 0) from usage_daily").fetchone() == (0, 0)
    assert conn.execute("select count(*) from reviews_counted").fetchone() == (0,)
