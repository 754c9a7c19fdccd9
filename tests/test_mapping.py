"""The organisation mapping: file formats, rule order, globs, unmapped values named, bad files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from offload_metrics import mapping

TOML_RULES = """
[[rule]]
source = "resource.service.namespace"
match = "checkout"
function = "Sales"
business_unit = "Consumer"
team = "Checkout"

[[rule]]
source = "resource.service.name"
match = "support-*"
function = "Customer Service"
business_unit = "Consumer"

[[rule]]
source = "resource.service.namespace"
match = "*"
function = "Operations"
business_unit = "Shared Services"
team = "Catch-all"
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def apply(rules: mapping.Mapping, records: dict[int, dict[str, str]]) -> dict[int, tuple]:
    """Map records given as row id -> {source: value} in a fresh DuckDB, the way importers do."""
    with duckdb.connect() as conn:
        rules.register(conn, sources=("resource.service.namespace", "resource.service.name"))
        conn.execute("create temp table rows_in (row_id BIGINT)")
        conn.execute("create temp table candidates (row_id BIGINT, source VARCHAR, value VARCHAR)")
        for row_id, values in records.items():
            conn.execute("insert into rows_in values (?)", [row_id])
            for source, value in values.items():
                conn.execute("insert into candidates values (?, ?, ?)", [row_id, source, value])
        result = conn.execute(
            f"select row_id, rule_no, function, business_unit, team, unmapped, reason "
            f"from ({rules.match_sql('rows_in', 'candidates')}) order by row_id"
        ).fetchall()
    return {row[0]: row[1:] for row in result}


def test_toml_rules_apply_in_order_first_match_wins(tmp_path):
    rules = mapping.load_mapping(write(tmp_path / "org.toml", TOML_RULES))
    mapped = apply(
        rules,
        {
            # Both rule 1 (exact) and rule 3 (glob *) match: the first wins.
            1: {"resource.service.namespace": "checkout", "resource.service.name": "cart"},
            # Rule 2's glob on service.name comes before rule 3's catch-all on the namespace.
            2: {"resource.service.namespace": "care", "resource.service.name": "support-bot"},
            # Only the catch-all matches.
            3: {"resource.service.namespace": "billing", "resource.service.name": "invoicer"},
            # No namespace, a name no rule names: unmapped, its value named.
            4: {"resource.service.name": "invoicer"},
            # Nothing at all.
            5: {},
        },
    )
    assert mapped == {
        1: (1, "Sales", "Consumer", "Checkout", None, None),
        2: (2, "Customer Service", "Consumer", None, None, None),
        3: (3, "Operations", "Shared Services", "Catch-all", None, None),
        4: (
            None,
            None,
            None,
            None,
            'resource.service.name="invoicer"',
            'no mapping rule matches resource.service.name="invoicer"',
        ),
        5: (
            None,
            None,
            None,
            None,
            "(none of resource.service.namespace, resource.service.name is set)",
            "no mapping rule matches (none of resource.service.namespace, resource.service.name is set)",
        ),
    }


def test_exact_match_is_whole_and_case_sensitive(tmp_path):
    rules = mapping.load_mapping(
        write(
            tmp_path / "org.csv",
            "source,match,function,business_unit,team\nresource.service.namespace,checkout,Sales,Consumer,\n",
        )
    )
    mapped = apply(
        rules,
        {
            1: {"resource.service.namespace": "checkout"},
            2: {"resource.service.namespace": "Checkout"},
            3: {"resource.service.namespace": "checkout-eu"},
        },
    )
    assert [row[0] for row in mapped.values()] == [1, None, None]
    assert mapped[2][4] == 'resource.service.namespace="Checkout"'
    assert mapped[3][4] == 'resource.service.namespace="checkout-eu"'


def test_glob_forms(tmp_path):
    rules = mapping.load_mapping(
        write(
            tmp_path / "org.csv",
            "source,match,function,business_unit\n"
            "resource.service.name,agent-?,Finance,Corporate\n"
            "resource.service.name,[xy]-*,Legal,Corporate\n",
        )
    )
    mapped = apply(
        rules,
        {
            1: {"resource.service.name": "agent-7"},
            2: {"resource.service.name": "agent-77"},
            3: {"resource.service.name": "y-anything"},
            4: {"resource.service.name": "z-anything"},
        },
    )
    assert [row[0] for row in mapped.values()] == [1, None, 2, None]


def test_unmapped_values_are_named_in_source_order_and_quoted_as_json(tmp_path):
    rules = mapping.load_mapping(
        write(tmp_path / "org.csv", "source,match,function,business_unit\nresource.service.name,cart,F,B\n")
    )
    mapped = apply(rules, {1: {"resource.service.name": 'say "hi"', "resource.service.namespace": "nope"}})
    assert mapped[1][4] == 'resource.service.namespace="nope", resource.service.name="say \\"hi\\""'


def test_without_a_mapping_file_everything_is_unmapped_and_says_why():
    rules = mapping.load_mapping(None)
    assert rules.is_empty
    mapped = apply(rules, {1: {"resource.service.namespace": "checkout"}})
    assert mapped[1] == (
        None,
        None,
        None,
        None,
        'resource.service.namespace="checkout"',
        'no mapping rule matches resource.service.namespace="checkout" '
        "(no mapping file: name one with --mapping or the setting mapping.file)",
    )


def test_fingerprint_is_sha256_of_the_canonical_rules(tmp_path):
    toml = mapping.load_mapping(
        write(
            tmp_path / "a.toml",
            '[[rule]]\nsource = "langfuse.project_id"\nmatch = "p1"\nfunction = "HR"\nbusiness_unit = "Corp"\n',
        )
    )
    csv_form = mapping.load_mapping(
        write(tmp_path / "a.csv", "match,source,business_unit,function\np1,langfuse.project_id,Corp,HR\n")
    )
    canonical = json.dumps([["langfuse.project_id", "p1", "HR", "Corp", None]])
    assert toml.fingerprint == csv_form.fingerprint == hashlib.sha256(canonical.encode()).hexdigest()
    assert mapping.load_mapping(None).fingerprint == hashlib.sha256(b"[]").hexdigest()


def test_sources_offered_for_a_prefix(tmp_path):
    rules = mapping.load_mapping(
        write(
            tmp_path / "org.csv",
            "source,match,function,business_unit\n"
            "span.app.team,a,F,B\n"
            "resource.k8s.namespace.name,x,F,B\n"
            "langfuse.metadata.team,t,F,B\n"
            "resource.service.name,y,F,B\n",
        )
    )
    assert rules.sources("resource.", always=("resource.service.namespace", "resource.service.name")) == (
        "resource.service.namespace",
        "resource.service.name",
        "resource.k8s.namespace.name",
    )
    assert rules.sources("langfuse.") == ("langfuse.metadata.team",)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("m.toml", "[[rule]\nsource = 1", "m.toml: not valid TOML"),
        ("m.toml", "[rules]\nx = 1\n", "m.toml: unknown table or key rules: rules are [[rule]] tables"),
        ("m.toml", "", "m.toml: the file has no rules"),
        (
            "m.toml",
            '[[rule]]\nsource = "resource.service.name"\nmatch = "a"\nfunction = "F"\nbusiness_unit = "B"\n'
            '[[rule]]\nsource = "resource.service.name"\nmatch = "b"\nfunction = "F"\n',
            "m.toml: rule 2: business_unit is required",
        ),
        (
            "m.toml",
            '[[rule]]\nsource = "service.name"\nmatch = "a"\nfunction = "F"\nbusiness_unit = "B"\n',
            "m.toml: rule 1: unknown source 'service.name' (sources: resource.<attribute>",
        ),
        (
            "m.toml",
            '[[rule]]\nsource = "span.x"\nmatch = "a"\nfunction = "F"\nbusiness_unit = "B"\nfunktion = "G"\n',
            "m.toml: rule 1: unknown key(s) funktion",
        ),
        (
            "m.toml",
            '[[rule]]\nsource = "span.x"\nmatch = 7\nfunction = "F"\nbusiness_unit = "B"\n',
            "m.toml: rule 1: match must be text (got 7)",
        ),
        (
            "m.csv",
            "source,match,function,business_unit\nspan.x,a,F,B\nspan.y,b,F\n",
            "m.csv: line 3: has 3 fields, the header has 4",
        ),
        ("m.csv", "source,match,function\n", "m.csv: line 1: missing column(s) business_unit"),
        ("m.csv", "source,match,function,business_unit,owner\n", "m.csv: line 1: unknown column(s) owner"),
        (
            "m.csv",
            "source,match,function,business_unit\nspan.x,a,F,B\n\nspan.x,a,G,B\n",
            "m.csv: line 4: repeats the source and match of line 2, so it could never apply",
        ),
        (
            "m.csv",
            "source,match,function,business_unit\nspan.x,[ab,F,B\n",
            "m.csv: line 2: match '[ab' opens a [ that it does not close",
        ),
        (
            "m.csv",
            "source,match,function,business_unit\nspan.,a,F,B\n",
            "m.csv: line 2: unknown source 'span.'",
        ),
        ("m.yaml", "rules: []", "m.yaml: a mapping file is .toml"),
    ],
)
def test_bad_files_name_file_rule_and_reason(tmp_path, name, text, message):
    path = write(tmp_path / name, text)
    with pytest.raises(mapping.MappingError) as raised:
        mapping.load_mapping(path)
    assert str(raised.value).startswith(str(tmp_path / name) + ": " + message.split(": ", 1)[1])


def test_a_missing_or_binary_file_is_named(tmp_path):
    with pytest.raises(mapping.MappingError, match="mapping file not found"):
        mapping.load_mapping(tmp_path / "absent.toml")
    (tmp_path / "bad.csv").write_bytes(b"source,match\n\xff\xfe\n")
    with pytest.raises(mapping.MappingError, match="not UTF-8 text"):
        mapping.load_mapping(tmp_path / "bad.csv")


def _readme_blocks(heading: str) -> list[str]:
    text = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    section = section[: section.index("\n## ", 1)]
    return [
        block.split("\n", 1)[1] for block in section.split("```toml")[1:] for block in [block.split("```")[0]]
    ]


def test_the_readme_examples_load(tmp_path):
    from offload_metrics import config

    rules_text, settings_text = _readme_blocks("### The organisation mapping")
    rules = mapping.load_mapping(write(tmp_path / "org.toml", rules_text))
    assert [(rule.source, rule.match, rule.is_glob, rule.team) for rule in rules.rules] == [
        ("resource.service.namespace", "checkout", False, "Checkout"),
        ("langfuse.metadata.team", "support-*", True, None),
    ]
    settings = config.load_settings(write(tmp_path / "offload.toml", settings_text))
    assert config.mapping_file(settings, tmp_path / "offload.toml") == tmp_path / "org.toml"
    assert settings.telemetry.review_threshold == 0.7
