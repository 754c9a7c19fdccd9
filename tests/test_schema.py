"""The data contract: columns, rules and examples per input kind, as SPEC defines them."""

from __future__ import annotations

import pytest

from offload_metrics import schema

SPEC_COLUMNS = {
    "usage_events": [
        "event_id",
        "occurred_at",
        "agent_id",
        "function",
        "business_unit",
        "team",
        "task_type",
        "status",
        "review",
        "api_calls",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "latency_ms",
    ],
    "time_saved": [
        "record_id",
        "period_start",
        "period_end",
        "function",
        "business_unit",
        "team",
        "agent_id",
        "task_type",
        "tasks",
        "baseline_minutes_per_task",
        "minutes_per_task",
        "headcount",
    ],
    "replication_events": [
        "event_id",
        "agent_id",
        "event_type",
        "occurred_on",
        "function",
        "business_unit",
        "team",
    ],
    "agents": [
        "agent_id",
        "name",
        "description",
        "owner_function",
        "owner_business_unit",
        "owner_team",
        "risk_class",
        "blueprint",
        "created_on",
        "seeding_strategy",  # round 2: what drives spread, optional
        "source",
    ],
    "org_baseline": [
        "function",
        "business_unit",
        "team",
        "headcount",
        "routine_hours_per_month",
        "loaded_hourly_cost_usd",
    ],
    # Second round: the plain CSV form of vendor cost reports, and task baselines for estimates.
    "vendor_costs": [
        "day",
        "vendor",
        "account",
        "line_item",
        "model",
        "amount_usd",
        "currency",
        "function",
        "business_unit",
        "team",
    ],
    "vendor_usage": [
        "day",
        "vendor",
        "account",
        "model",
        "line_item",
        "input_tokens",
        "cached_input_tokens",
        "output_tokens",
        "requests",
        "function",
        "business_unit",
        "team",
    ],
    "task_baselines": [
        "function",
        "business_unit",
        "team",
        "task_type",
        "baseline_minutes_per_task",
        "minutes_per_task_with_agent",
        "source",
        "note",
    ],
    "collaboration": [
        "period_start",
        "period_end",
        "source_function",
        "source_business_unit",
        "source_team",
        "target_function",
        "target_business_unit",
        "target_team",
        "collaboration_hours",
        "meeting_count",
        "email_count",
        "direction",
    ],
}


@pytest.mark.parametrize("kind", list(schema.KINDS))
def test_columns_follow_spec(kind):
    assert [column.name for column in schema.columns(schema.KINDS[kind])] == SPEC_COLUMNS[kind]


@pytest.mark.parametrize("kind", list(schema.KINDS))
def test_each_example_row_satisfies_its_model(kind):
    model = schema.KINDS[kind]
    values = {key: value for key, value in model.example.items() if value != ""}
    assert model.model_validate(values).model_dump()


@pytest.mark.parametrize("kind", list(schema.KINDS))
def test_a_file_with_a_kinds_columns_is_detected_as_that_kind(kind):
    assert schema.detect_kind(SPEC_COLUMNS[kind]) == kind


def test_a_file_with_two_kinds_columns_is_ambiguous():
    assert schema.detect_kind(SPEC_COLUMNS["usage_events"] + ["event_type", "occurred_on"]) is None


def test_rules_read_as_spec_states_them():
    usage = {column.name: column for column in schema.columns(schema.UsageEvent)}
    assert usage["status"].rule_text == "one of completed, escalated, failed; required"
    assert usage["api_calls"].rule_text == "a whole number; ≥ 0; optional, default 0"
    assert usage["cost_usd"].sql_type == "DECIMAL(18,8)"
    assert usage["latency_ms"].rule_text == "a whole number; ≥ 0; optional, default empty"
    baseline = {column.name: column for column in schema.columns(schema.OrgBaseline)}
    assert baseline["loaded_hourly_cost_usd"].rule_text.startswith("a decimal number")
    assert baseline["headcount"].gt == 0


def test_json_schema_describes_every_kind_and_column():
    documents = schema.json_schema()
    assert set(documents) == set(schema.KINDS)
    assert documents["usage_events"]["properties"]["status"]["description"].startswith("completed")
    assert "event_id" in documents["usage_events"]["required"]


def test_the_readme_shows_each_kinds_example_row():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for model in schema.KINDS.values():
        assert schema.example_row(model) in readme, model.kind
