"""Vendor cost reports: OpenAI and Anthropic cost pages and plain CSV into one table, mapped to teams."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import example, write_csv
from offload_metrics import ingest, mapping, vendor_costs

FIXTURES = Path(__file__).parent / "fixtures" / "vendor"
MAPPING = mapping.load_mapping(FIXTURES / "mapping.toml")
ROWS = (
    "select day::VARCHAR, vendor, account, line_item, model, amount_usd, function, business_unit, team "
    "from vendor_costs order by all"
)
REJECTS = "select line, column_name, reason from rejected_rows order by load_id, line"


def load(conn, path, mapping=MAPPING):
    return ingest.load_file(conn, path, mapping=mapping)


def test_an_openai_costs_page_and_an_anthropic_cost_report_load_into_the_same_table(conn):
    openai = load(conn, FIXTURES / "openai_costs_page.json")
    anthropic = load(conn, FIXTURES / "anthropic_cost_report.json")

    assert (openai.kind, openai.rows_read, openai.accepted, openai.rejected) == ("vendor_costs", 6, 4, 2)
    assert (anthropic.kind, anthropic.rows_read, anthropic.accepted, anthropic.rejected) == (
        "vendor_costs",
        4,
        4,
        0,
    )
    marketing = ("Marketing", "Consumer", "Brand")
    tier_1 = ("Customer Support", "Care", "Tier 1")
    sonnet = "claude-sonnet-4-20250514"
    assert conn.execute(ROWS).fetchall() == [
        # Anthropic: cents as decimal strings, "123.45" is $1.2345; a null workspace is the default one.
        ("2025-03-03", "anthropic", "default", "Web Search Usage", None, Decimal("10.00000000"),
         "Customer Support", "Care", None),
        ("2025-03-03", "anthropic", "wrkspc_01Support", "Claude Sonnet 4 Usage - Input Tokens", sonnet,
         Decimal("1.23450000"), *tier_1),
        ("2025-03-03", "anthropic", "wrkspc_01Support", "Claude Sonnet 4 Usage - Output Tokens", sonnet,
         Decimal("10.50500000"), *tier_1),
        # OpenAI: a JSON number read from its text; 1.2345678912345678 kept to 8 places, 1.5e-05 exactly.
        ("2025-03-03", "openai", "proj_brand", "gpt-4o-2024-08-06, input", None, Decimal("1.23456789"), *marketing),
        ("2025-03-03", "openai", "proj_brand", "gpt-4o-2024-08-06, output", None, Decimal("0.06000000"), *marketing),
        ("2025-03-03", "openai", "proj_support", "gpt-4o-mini-2024-07-18, input", None, Decimal("0.00001500"),
         *tier_1),
        # 12.3456789 cents is $0.123456789: rounded half-even to the store's 8 places.
        ("2025-03-04", "anthropic", "wrkspc_01Support", "Claude Sonnet 4 Usage - Input Tokens", sonnet,
         Decimal("0.12345679"), *tier_1),
        ("2025-03-04", "openai", "proj_brand", "gpt-4o-2024-08-06, input", None, Decimal("2.50000000"), *marketing),
    ]  # fmt: skip
    assert conn.execute(REJECTS).fetchall() == [
        (
            52,
            "account",
            'account: no rule of the organisation mapping maps this account (got "proj_unknown")',
        ),
        (61, "account", "account: is required"),
    ]


def test_a_vendor_cost_with_no_mapping_is_rejected_with_its_account_named(conn, tmp_path):
    path = write_csv(
        tmp_path / "chargeback.csv",
        [
            {"day": "2025-03-04", "vendor": "internal", "account": "cc-100", "line_item": "GPU hours",
             "amount_usd": "10.00"},
            {"day": "2025-03-04", "vendor": "internal", "account": "cc-999", "line_item": "GPU hours",
             "amount_usd": "2.50"},
        ],
    )  # fmt: skip
    rules = tmp_path / "mapping.csv"
    rules.write_text("source,match,function,business_unit,team\nvendor.account,cc-1*,Sales,Enterprise,\n")

    result = load(conn, path, mapping.load_mapping(rules))

    assert (result.rows_read, result.accepted, result.rejected) == (2, 1, 1)
    assert conn.execute(REJECTS).fetchall() == [
        (3, "account", 'account: no rule of the organisation mapping maps this account (got "cc-999")')
    ]
    assert conn.execute("select account, amount_usd from stg_vendor_unassigned").fetchall() == [
        ("cc-999", Decimal("2.50000000"))
    ]


def test_without_a_mapping_every_vendor_row_is_rejected_and_the_file_still_loads(conn):
    result = load(conn, FIXTURES / "anthropic_cost_report.json", mapping=None)

    assert (result.status, result.rows_read, result.accepted, result.rejected) == ("loaded", 4, 0, 4)
    assert conn.execute("select sum(amount_usd) from stg_vendor_unassigned").fetchone() == (
        Decimal("21.86295679"),  # 1.2345 + 10.505 + 10 + 0.12345679
    )


def test_reloading_a_report_adds_nothing(conn):
    load(conn, FIXTURES / "openai_costs_page.json")
    again = load(conn, FIXTURES / "openai_costs_page.json")

    assert again.status == "already loaded"
    assert conn.execute("select count(*) from vendor_costs").fetchone() == (4,)


def test_the_same_bucket_and_line_in_two_pages_is_a_duplicate_and_a_changed_amount_a_conflict(conn, tmp_path):
    page = json.loads((FIXTURES / "openai_costs_page.json").read_text())
    first_bucket = {**page, "data": page["data"][:1]}
    changed = json.loads(json.dumps(first_bucket))
    changed["data"][0]["results"][1]["amount"]["value"] = 0.07
    # One page a line, as a script that saves each page of a paged export writes them.
    (tmp_path / "pages.jsonl").write_text(json.dumps(first_bucket) + "\n" + json.dumps(changed) + "\n")

    result = load(conn, tmp_path / "pages.jsonl")

    assert (result.rows_read, result.accepted, result.duplicate, result.conflict) == (6, 3, 2, 1)
    assert conn.execute("select line, column_name, outcome from rejected_rows").fetchall() == [
        (2, "amount_usd", "conflict")
    ]


def test_a_gzip_report_and_an_array_of_pages_load_like_the_page(conn, tmp_path):
    text = (FIXTURES / "anthropic_cost_report.json").read_text()
    with gzip.open(tmp_path / "cost.json.gz", "wt") as handle:
        handle.write("[" + text + "]")

    result = load(conn, tmp_path / "cost.json.gz")

    assert (result.rows_read, result.accepted) == (4, 4)


def test_a_report_in_another_currency_is_rejected_for_its_currency(conn, tmp_path):
    page = json.loads((FIXTURES / "anthropic_cost_report.json").read_text())
    page["data"][1]["results"][0]["currency"] = "EUR"
    (tmp_path / "eur.json").write_text(json.dumps(page))

    result = load(conn, tmp_path / "eur.json")

    assert (result.accepted, result.rejected) == (3, 1)
    assert conn.execute(REJECTS).fetchall() == [(1, "currency", 'currency: must be one of USD (got "EUR")')]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"data": [{"start_time": 1, "results": [}', "not valid JSON (line 1, column 41"),
        ('{"data": {"start_time": 1, "results": []}}', "a page must be a JSON object with a data list"),
        (
            '[{"data": [{"start_time": 1740960000, "results": []}]}, '
            '{"data": [{"starting_at": "2025-03-03T00:00:00Z", "results": []}]}]',
            "mixes OpenAI and Anthropic pages",
        ),
        # An amount that gives its value twice: Python's reader kept 100.0, the last.
        (
            '{"object": "page", "data": [{"object": "bucket", "start_time": 1740960000, "end_time": 1741046400, '
            '"results": [{"object": "organization.costs.result", '
            '"amount": {"value": 1.0, "currency": "usd", "value": 100.0}}]}]}',
            'an object gives the key "value" more than once, so which value counts cannot be told',
        ),
        (
            '{"object": "page", "data": [{"object": "bucket", "start_time": 1740960000, "results": []}]}\n'
            '{"object": "page", "object": "page", "data": []}\n',
            'line 2: an object gives the key "object" more than once',
        ),
    ],
)
def test_an_unreadable_report_changes_nothing_and_says_why(conn, tmp_path, content, message):
    path = tmp_path / "costs.json"
    path.write_text(content)

    with pytest.raises(ingest.IngestError, match="is not a readable vendor cost or usage report") as raised:
        load(conn, path)

    assert message in str(raised.value)
    assert conn.execute("select count(*) from loads").fetchone() == (0,)


@pytest.mark.parametrize(
    "line",
    [
        # A usage event whose extra column holds the words of a vendor page.
        {**example("usage_events"), "extra": {"results": [1], "start_time": 2}},
        # As a tool's output in a trace often does: the search results and when it started.
        {**example("usage_events"), "output": {"results": [{"title": "x"}], "start_time": "2025-03-04"}},
    ],
    ids=["extra-column", "nested-output"],
)
def test_json_lines_holding_a_vendor_pages_words_in_a_value_load_as_their_kind(conn, tmp_path, line):
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(line) + "\n")

    result = load(conn, path)

    assert (result.kind, result.accepted) == ("usage_events", 1)


def test_a_page_a_line_an_array_of_pages_and_one_page_are_told_from_their_shape():
    bucket = {"object": "bucket", "start_time": 1740960000, "results": []}
    page = {"object": "page", "data": [bucket], "has_more": False}
    for text in (json.dumps(page), json.dumps([page, page]), json.dumps(page) + "\n" + json.dumps(page)):
        assert vendor_costs.looks_like_report(text.encode())
    # The same words one level down, or a bucket's list under another name, are not a page.
    assert not vendor_costs.looks_like_report(json.dumps({"page": page}).encode())
    assert not vendor_costs.looks_like_report(json.dumps({"items": [bucket]}).encode())


def test_a_cents_string_converts_exactly_and_never_through_a_float():
    assert vendor_costs._dollars("123.45", cents=True) == "1.2345"
    assert vendor_costs._dollars("0.1", cents=True) == "0.001"
    assert vendor_costs._dollars("-250", cents=True) == "-2.50"
    assert vendor_costs._dollars("12.3456789", cents=True) == "0.12345679"
    assert vendor_costs._dollars("12O", cents=True) == "12O"  # handed on, for the pipeline to reject


def test_after_the_mapping_covers_an_account_a_reload_loads_its_rows_and_nothing_twice(conn):
    first = load(conn, FIXTURES / "openai_costs_page.json")
    wider = mapping.Mapping(
        (*MAPPING.rules, mapping.Rule(5, "openai.project_id", "proj_unknown", "Sales", "Enterprise", None))
    )

    again = load(conn, FIXTURES / "openai_costs_page.json", mapping=wider)

    assert (first.accepted, first.rejected) == (4, 2)
    # The four rows stored before are duplicates; proj_unknown's row now maps; the row without a
    # project is still rejected.
    assert (again.status, again.accepted, again.duplicate, again.rejected) == ("loaded", 1, 4, 1)
    assert conn.execute(
        "select account, function, amount_usd from vendor_costs where account = 'proj_unknown'"
    ).fetchall() == [("proj_unknown", "Sales", Decimal("0.75000000"))]
    # What is unassigned now is only the row with no project: $0.25, counted once over both loads.
    assert conn.execute("select account, amount_usd from stg_vendor_unassigned").fetchall() == [
        (None, Decimal("0.25000000"))
    ]


def test_the_command_line_loads_a_report_with_a_mapping_file(tmp_path):
    import subprocess
    import sys

    cli = str(Path(sys.executable).with_name("offload-metrics"))
    db = tmp_path / "cli.duckdb"
    done = subprocess.run(
        [cli, "ingest", "--db", str(db), "--mapping", str(FIXTURES / "mapping.toml"),
         str(FIXTURES / "anthropic_cost_report.json")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    assert "loaded" in done.stdout
    import duckdb

    with duckdb.connect(str(db), read_only=True) as connection:
        assert connection.execute("select count(*), sum(amount_usd) from vendor_costs").fetchone() == (
            4,
            Decimal("21.86295679"),
        )


USAGE_ROWS = (
    "select day::VARCHAR, vendor, account, model, line_item, input_tokens, cached_input_tokens, output_tokens, "
    "requests, function, team from vendor_usage order by all"
)


def test_openai_completions_usage_and_an_anthropic_usage_report_load_into_one_usage_table(conn):
    openai = load(conn, FIXTURES / "openai_usage_completions.json")
    anthropic = load(conn, FIXTURES / "anthropic_usage_report.json")

    assert (openai.kind, openai.accepted, openai.rejected) == ("vendor_usage", 2, 0)
    assert (anthropic.kind, anthropic.accepted, anthropic.rejected) == ("vendor_usage", 1, 1)
    assert conn.execute(USAGE_ROWS).fetchall() == [
        # Anthropic's input is uncached 1500 + cache reads 300 + cache writes 100 + 50.
        ("2025-03-03", "anthropic", "wrkspc_01Support", "claude-sonnet-4-20250514",
         "service_tier=standard; context_window=0-200k", 1950, 300, 700, None, "Customer Support", "Tier 1"),
        # A batch row is its own line; OpenAI's input_tokens already include the cached ones.
        ("2025-03-03", "openai", "proj_brand", "gpt-4o-2024-08-06", "batch=true", 40, 0, 10, 1, "Marketing", "Brand"),
        ("2025-03-03", "openai", "proj_brand", "gpt-4o-2024-08-06", None, 1000, 200, 500, 5, "Marketing", "Brand"),
    ]  # fmt: skip
    # The default workspace's row has a token count that is not a number: rejected, never coerced.
    assert conn.execute(REJECTS).fetchall() == [
        (1, "output_tokens", 'output_tokens: must be a whole number (got "12O")')
    ]


def test_cost_and_usage_results_in_one_file_are_refused(conn, tmp_path):
    costs = json.loads((FIXTURES / "openai_costs_page.json").read_text())
    usage = json.loads((FIXTURES / "openai_usage_completions.json").read_text())
    (tmp_path / "both.json").write_text(json.dumps([costs, usage]))

    with pytest.raises(ingest.IngestError, match="mixes cost and usage results"):
        load(conn, tmp_path / "both.json")


def test_unmapped_vendor_accounts_are_listed_with_the_telemetry_values_to_map(conn):
    load(conn, FIXTURES / "openai_costs_page.json")

    assert mapping.unmapped_values(conn).to_dict("records") == [
        {"unmapped": 'openai.project_id="proj_unknown"', "records": 1, "files": "openai_costs_page.json"},
        {"unmapped": "openai.project_id=(none)", "records": 1, "files": "openai_costs_page.json"},
    ]


def test_hostile_results_are_each_rejected_with_their_reason_and_nothing_is_coerced(conn, tmp_path):
    def result(value, **changes):
        return {"object": "organization.costs.result", "amount": {"value": value, "currency": "usd"},
                "line_item": "x", "project_id": "proj_brand", **changes}  # fmt: skip

    page = {
        "object": "page",
        "data": [
            {"start_time": 1740960000, "results": [
                result(1e30, line_item="huge"),
                result("12O", line_item="letters"),
                result(True, line_item="boolean"),
                "not an object",
                result(-1.5, line_item="credit"),
                result(0.1, line_item='quote " and \' in it', project_id="proj_'; drop table loads; --"),
            ]},
            {"start_time": "1740960000", "results": [result(1)]},
        ],
    }  # fmt: skip
    (tmp_path / "hostile.json").write_text(json.dumps(page))

    loaded = load(conn, tmp_path / "hostile.json")

    assert (loaded.rows_read, loaded.accepted, loaded.rejected) == (7, 1, 6)
    assert conn.execute("select line_item, amount_usd from vendor_costs").fetchall() == [
        ("credit", Decimal("-1.50000000"))
    ]
    assert [reason for _, _, reason in conn.execute(REJECTS).fetchall()] == [
        "amount_usd: has more digits than can be stored exactly (the largest is 9,999,999,999.99999999) "
        '(got "1000000000000000000000000000000")',
        'amount_usd: must be a decimal number (at most 8 decimal places) (got "12O")',
        'amount_usd: must be a decimal number (at most 8 decimal places) (got "true")',
        "account: is required; amount_usd: is required",
        'account: no rule of the organisation mapping maps this account (got "proj_\'; drop table loads; --")',
        'day: must be a date (YYYY-MM-DD) (got "1740960000")',
    ]
    assert conn.execute("select count(*) from loads").fetchone() == (1,)


def test_amounts_that_python_or_duckdb_would_bend_are_rejected_as_written(conn, tmp_path):
    """Python's Decimal reads "1_000" as 1000 and no int() reads 5,000 digits; an amount past what
    money holds cannot be rounded to cents. Each is its row's rejection, never a crash or a coercion."""
    many = "9" * 5000

    def result(value: str, item: str) -> str:
        return (
            f'{{"object": "organization.costs.result", "amount": {{"value": {value}, "currency": "usd"}}, '
            f'"line_item": "{item}", "project_id": "proj_brand"}}'
        )

    results = [
        result('"1_000"', "separators"),
        result("123456789012345678901234567.123456789", "too large"),
        result(many, "five thousand digits"),
        result('"2.5"', "fine"),
    ]
    (tmp_path / "bent.json").write_text(
        '{"object": "page", "data": ['
        f'{{"start_time": 1740960000, "results": [{", ".join(results)}]}}, '
        f'{{"start_time": {many}, "results": [{result("1", "a start of 5,000 digits")}]}}]}}'
    )

    loaded = load(conn, tmp_path / "bent.json")

    assert (loaded.rows_read, loaded.accepted, loaded.rejected) == (5, 1, 4)
    assert conn.execute("select line_item, amount_usd from vendor_costs").fetchall() == [
        ("fine", Decimal("2.50000000"))
    ]
    too_many = (
        "amount_usd: has more digits than can be stored exactly (the largest is 9,999,999,999.99999999)"
    )
    reasons = [reason for _, _, reason in conn.execute(REJECTS).fetchall()]
    assert reasons[:3] == [
        'amount_usd: must be a decimal number (at most 8 decimal places) (got "1_000")',
        f'{too_many} (got "123456789012345678901234567.123456789")',
        # A value is shown to its first 80 characters.
        f'{too_many} (got "{many[:80]}")',
    ]
    assert reasons[3].startswith('day: must be a date (YYYY-MM-DD) (got "9999')


def test_anthropic_token_parts_are_summed_whole_or_the_row_is_rejected(conn, tmp_path):
    """Uncached, cache-read and cache-creation input tokens are one count: a part written "100" or
    100.0 or "1e2" still counts in full (it dropped the other parts before), and a part that is no whole number
    rejects the row with every part shown."""

    def result(model: str, uncached: object) -> dict:
        return {
            "uncached_input_tokens": uncached,
            "cache_read_input_tokens": 50,
            "cache_creation": {"ephemeral_1h_input_tokens": 7, "ephemeral_5m_input_tokens": 3},
            "output_tokens": 20,
            "workspace_id": "wrkspc_01Support",
            "model": model,
        }

    page = {
        "data": [
            {
                "starting_at": "2025-03-04T00:00:00Z",
                "ending_at": "2025-03-05T00:00:00Z",
                "results": [
                    result("m1", "100"),
                    result("m2", 100.0),
                    result("m3", 100),
                    result("m4", "1e2x"),
                    result("m5", "1e2"),
                ],
            }
        ],
        "has_more": False,
    }
    (tmp_path / "usage.json").write_text(json.dumps(page))

    loaded = load(conn, tmp_path / "usage.json")

    assert (loaded.kind, loaded.accepted, loaded.rejected) == ("vendor_usage", 4, 1)
    # 100 + 50 + 7 + 3 input tokens in each.
    assert conn.execute("select model, input_tokens from vendor_usage order by model").fetchall() == [
        ("m1", 160),
        ("m2", 160),
        ("m3", 160),
        ("m5", 160),
    ]
    [(_, column, reason)] = conn.execute(REJECTS).fetchall()
    assert column == "input_tokens"
    assert reason == 'input_tokens: must be a whole number (got "1e2x + 50 + 7 + 3")'


def test_a_parquet_account_of_plain_bytes_is_mapped_as_its_text(conn, tmp_path):
    """An account written as BINARY without a text annotation reaches the mapping decoded: proj_zürich,
    not proj_z\\xC3\\xBCrich, which no rule names."""
    import duckdb

    zurich = mapping.Mapping(
        (mapping.Rule(1, "openai.project_id", "proj_zürich", "Marketing", "Consumer", None),)
    )
    row = {**example("vendor_costs"), "account": "proj_zürich"}
    path = tmp_path / "costs.parquet"
    columns = ", ".join(f"encode('{value}') as {name}" for name, value in row.items())
    duckdb.execute(f"copy (select {columns}) to '{path}' (format parquet)")

    result = load(conn, path, mapping=zurich)

    assert (result.accepted, result.rejected) == (1, 0)
    assert conn.execute("select account, function, business_unit from vendor_costs").fetchall() == [
        ("proj_zürich", "Marketing", "Consumer")
    ]
