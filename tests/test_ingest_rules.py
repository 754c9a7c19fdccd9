"""The contract's rules compiled to DuckDB SQL (ingest/rules.py)."""

from __future__ import annotations

from offload_metrics import config, schema
from offload_metrics.ingest import rules as ingest_rules


def test_a_row_rule_names_columns_whole():
    rule = schema.RowRule("minutes_per_task", "minutes_per_task <= baseline_minutes_per_task", "x")
    values = {"minutes_per_task": "m", "baseline_minutes_per_task": "b", "period_start": "s"}
    assert ingest_rules.row_rule_sql(rule, values) == "(b is not null and m is not null and not (m <= b))"


def test_a_bounds_reason_names_the_settings():
    bounds = config.Ingest(min_date="2020-01-01", max_date="2030-12-31")
    assert ingest_rules.bounds_reason(bounds) == (
        "must be between 2020-01-01 and 2030-12-31 (settings ingest.min_date and ingest.max_date)"
    )
