"""Definitions live in the SQL headers; docs/metrics.md and the report keys must not drift from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from offload_metrics import config, definitions, report

DOCS = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"
IDENTIFIERS = {"function", "business_unit", "team", "month", "agent_id"}


def test_the_docs_carry_the_sql_definitions_word_for_word():
    text = DOCS.read_text(encoding="utf-8")
    start = text.index(definitions.DOCS_START)
    end = text.index(definitions.DOCS_END) + len(definitions.DOCS_END)
    assert text[start:end] == definitions.markdown(), "run: python -m offload_metrics.definitions"


def test_the_docs_list_every_setting_with_its_default():
    text = DOCS.read_text(encoding="utf-8")
    for row in config.describe_settings():
        default = list(row["default"]) if isinstance(row["default"], tuple) else row["default"]
        assert f"| `{row['key']}` | `{default}` | {row['description']} |" in text


@pytest.mark.parametrize(
    ("keys", "family"),
    [
        (report.ORG_KEYS, None),
        (report.FUNCTION_KEYS, None),
        (report.ADOPTION_KEYS, "adoption"),
        (report.TEAM_KEYS, "net_output"),
        (report.AGENT_KEYS, "agents"),
    ],
)
def test_every_number_in_the_report_has_a_definition(keys, family):
    missing = [key for key in keys if key not in IDENTIFIERS and not definitions.lookup(key, family)]
    assert missing == []


def test_a_header_parses_into_entries_with_continuations():
    text = (
        "-- Definition: What it is,\n-- over two lines.\n-- tasks: count of\n--   events; by\n"
        "--   reviewed: a continuation that looks like an entry.\n-- Grain: one row.\nselect 1\n-- late: ignored"
    )
    assert [(entry.name, entry.text) for entry in definitions.parse(text, "x.sql")] == [
        ("Definition", "What it is, over two lines."),
        ("tasks", "count of events; by reviewed: a continuation that looks like an entry."),
        ("Grain", "one row."),
    ]


def test_lookup_prefers_the_named_family():
    assert definitions.lookup("tasks", "gates").startswith("tasks the agent ran in the gate window")
    assert definitions.lookup("tasks", "usage").startswith("count of usage events")
    assert definitions.lookup("no_such_metric") == ""


def test_an_input_field_is_defined_by_the_contract():
    assert definitions.lookup("risk_class").startswith("low (internal data, drafting, summarising)")


QUERIES = [name for name in definitions.FAMILIES if not name.startswith(("rollup_", "stg_", "macro_"))]


@pytest.mark.parametrize("family", QUERIES)
def test_every_defined_metric_is_a_column_the_file_outputs(conn, family):
    """An entry of a header names a column of the file's result; a mis-wrapped line would not."""
    from offload_metrics import metrics
    from offload_metrics.config import Settings

    by = metrics.DIMENSIONS.get(family, (None,))[1:2] or ()
    sql = metrics.render(family, tuple(by))
    filters = metrics.Filters().resolve(conn)
    used = set(metrics._PARAMETER.findall(metrics._COMMENT.sub("", sql)))
    values = {key: value for key, value in metrics.parameters(filters, Settings()).items() if key in used}
    outputs = {row[0] for row in conn.execute(f"describe {sql}", values).fetchall()}
    named = {entry.name for entry in definitions.all_definitions() if entry.file == f"{family}.sql"}
    assert named - {"Definition", "Grain"} <= outputs


def test_plain_lines_name_only_settings_and_fill_the_current_values():
    from offload_metrics.config import Settings

    known = set(definitions.setting_values(Settings()))
    plain = [entry for entry in definitions.all_definitions() if entry.plain]
    assert len(plain) > 60
    named = {name for entry in plain for name in definitions._SETTING.findall(entry.text)}
    assert named <= known
    changed = Settings.model_validate({"adoption": {"phase_bounds": [0.05, 0.2, 0.7]}})
    words = definitions.in_words("phase", "adoption", changed)
    assert words.startswith(
        "Where the function is on the S-curve: pilot plateau below 5% of routine work, crossing point "
        "below 20%, acceleration below 70%, then saturation."
    )
    assert "15%" not in words and "{" not in words
    assert words.endswith("Formula: docs/metrics.md, adoption.sql.")
    # Without a plain line the technical definition stands.
    assert definitions.in_words("average_latency_ms", "usage", changed) == definitions.lookup(
        "average_latency_ms", "usage"
    )
