"""Definitions live in the SQL headers; docs/metrics.md and the report keys must not drift from them."""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
import tomllib
from pathlib import Path

import pytest

from offload_metrics import config, definitions, metrics, report, store

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
    internal = {public: name for name, public in report.PUBLIC_NAMES.items()}
    missing = [
        key
        for key in keys
        if key not in IDENTIFIERS and not definitions.lookup(internal.get(key, key), family)
    ]
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
    outputs = set(metrics.query(conn, family, metrics.Filters(), Settings(), by).columns)
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


def test_write_replaces_only_the_generated_part(tmp_path):
    page = tmp_path / "metrics.md"
    page.write_text(
        f"# Metrics\nHand-written.\n{definitions.DOCS_START}\nstale words\n{definitions.DOCS_END}\nAfter.\n",
        encoding="utf-8",
    )
    definitions.write(str(page))
    text = page.read_text(encoding="utf-8")
    assert text.startswith(f"# Metrics\nHand-written.\n{definitions.DOCS_START}\n")
    assert text.endswith(f"{definitions.DOCS_END}\nAfter.\n")
    assert "stale words" not in text
    assert "### `usage.sql`" in text


def test_every_sql_file_is_documented():
    assert sorted(f"{name}.sql" for name in definitions.FAMILIES) == store.sql_files()


def test_the_sql_files_sit_in_their_layers():
    paths = store.sql_paths()
    assert {path.split("/")[0] for path in paths.values()} == set(store.SQL_LAYERS)
    assert all(paths[name] == f"staging/{name}" for name in paths if name.startswith("stg_"))
    assert all(paths[name] == f"macros/{name}" for name in paths if name.startswith("macro_"))
    assert paths["rollup_usage_daily.sql"] == "rollup/rollup_usage_daily.sql"
    assert paths["time_saved_in_range.sql"] == "intermediate/time_saved_in_range.sql"
    assert paths["usage.sql"] == "metrics/usage.sql"


def test_the_package_data_ships_every_sql_file_in_its_layer():
    """setuptools' package-data globs do not cross folders: each layer's files must match one."""
    pyproject = tomllib.loads((DOCS.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = [
        pattern.split("/") for pattern in pyproject["tool"]["setuptools"]["package-data"]["offload_metrics"]
    ]

    def shipped(path: list[str]) -> bool:
        return any(
            len(pattern) == len(path) and all(map(fnmatch.fnmatchcase, path, pattern)) for pattern in patterns
        )

    assert [path for path in store.sql_paths().values() if not shipped(["sql", *path.split("/")])] == []


# Only this test reads parameters out of the SQL text, to check each file's declaration against it.
USED_PARAMETER = re.compile(r"\$(\w+)")


def _used(sql: str) -> set[str]:
    return set(USED_PARAMETER.findall(re.sub(r"--[^\n]*", "", sql)))


@pytest.mark.parametrize("file", store.sql_files())
def test_each_file_declares_the_parameters_its_own_text_uses(file):
    text = store.sql_text(file)
    assert sorted(metrics.declared_parameters(text)) == sorted(_used(text))
    assert list(metrics.declared_parameters(text)) == sorted(metrics.declared_parameters(text))


@pytest.mark.parametrize("family", QUERIES)
def test_a_query_runs_with_exactly_the_parameters_of_the_files_it_includes(family):
    by = metrics.DIMENSIONS.get(family, (None,))[1:2] or ()
    assert metrics.query_parameters(family) == _used(metrics.render(family, tuple(by)))
    assert metrics.query_parameters(family) <= set(metrics.parameters(metrics.Filters(), config.Settings()))


def test_the_declared_parameters_are_read_from_the_header_only():
    text = "-- Definition: x.\n-- Parameters: as_of, date_to\n-- Grain: one row.\nselect $as_of, $date_to\n-- Parameters: late\n"
    assert metrics.declared_parameters(text) == ("as_of", "date_to")
    assert [entry.name for entry in definitions.parse(text, "x.sql")] == ["Definition", "Grain"]
    assert metrics.declared_parameters("select 1\n") == ()


def test_a_file_using_a_parameter_it_does_not_declare_fails_naming_it(conn):
    values = metrics.bind(
        "metrics/x.sql", frozenset({"as_of"}), {"as_of": dt.date(2025, 3, 31), "date_to": None}
    )
    assert values == {"as_of": dt.date(2025, 3, 31)}
    with pytest.raises(metrics.QueryError, match=r"metrics/x.sql .*declares the parameters as_of .*date_to"):
        metrics.execute(conn, "metrics/x.sql", "select $as_of, $date_to", values)
    with pytest.raises(
        metrics.QueryError, match=r"metrics/x.sql .*declares the parameters as_of on its.*Expected 0"
    ):
        metrics.execute(conn, "metrics/x.sql", "select 1", values)
    # A parameter used and declared runs; one declared that nothing provides is refused before running.
    assert metrics.execute(conn, "metrics/x.sql", "select $as_of", values).fetchall() == [
        (dt.date(2025, 3, 31),)
    ]
    with pytest.raises(
        metrics.QueryError,
        match=r"metrics/x\.sql declares parameters that no filter or setting provides: as_off",
    ):
        metrics.bind("metrics/x.sql", frozenset({"as_of", "as_off"}), {"as_of": None})


def test_an_unknown_file_fails_naming_it():
    with pytest.raises(store.StoreError, match=r"No SQL file is named no_such_model\.sql"):
        metrics.render("no_such_model")
    with pytest.raises(store.StoreError, match=r"No SQL file is named usage\.sql\.sql"):
        store.sql_text("usage.sql.sql")


def test_staging_views_and_macros_take_no_parameters():
    schema_files = store.sql_files("staging") + store.sql_files("macros")
    assert len(schema_files) == 16
    assert [name for name in schema_files if metrics.declared_parameters(store.sql_text(name))] == []


@pytest.mark.parametrize(
    ("metric", "family"),
    [
        ("documented_task_share", "coverage"), ("documented_cost_share", "coverage"),
        ("usage_cost_usd", "finance"), ("vendor_cost_usd", "finance"), ("difference_usd", "reconciliation_summary"),
        ("unassigned_vendor_cost_usd", "reconciliation_summary"), ("estimated_hours_saved", "estimates_summary"),
        ("estimated_labor_value_usd", "estimates_summary"), ("centrality_index", None), ("is_bridge", None),
        ("seed_score", None), ("share_along_ties", None), ("expected_share", None), ("p_value", None),
        ("median_days_along_ties", None),
    ],
)  # fmt: skip
def test_the_hover_text_of_a_figure_on_a_page_is_plain_words_with_the_settings(metric, family):
    # These read as formulas with column and setting names ("documented_tasks / tasks.") on hover.
    settings = config.Settings()
    said = definitions.in_words(metric, family, settings)
    words = said.split("\n\nFormula:")[0]
    assert words and "_" not in words and "{" not in words, said
    assert said.endswith(".") and "Formula: docs/metrics.md" in said


@pytest.mark.parametrize(
    "family", ["reconciliation", "reconciliation_accounts", "coverage", "savings_side_by_side"]
)
def test_a_tables_hover_is_its_own_definition_never_another_files(family):
    # These fell back to usage.sql's plain line: "What the agents did over the chosen months ...".
    said = definitions.in_words("Definition", family, config.Settings())
    assert "What the agents did over the chosen months" not in said
    assert said.startswith(definitions.lookup("Definition", family)[:40])
