"""Finance on vendor bills and honest estimates: reconciliation, the cost source, estimated time saved
beside documented, and coverage. Every expected figure is worked out by hand in the test."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from conftest import records, write_csv
from offload_metrics import ingest, mapping, metrics, report, summary
from offload_metrics.config import Settings, parse_settings

MARCH = dt.date(2025, 3, 1)
APRIL = dt.date(2025, 4, 1)


def load_vendor_costs(conn, folder, rows, rules):
    """A plain vendor_costs CSV and a CSV mapping of its accounts (vendor.account rules)."""
    mapping_file = folder / "mapping.csv"
    mapping_file.write_text(
        "source,match,function,business_unit,team\n"
        + "".join(
            f"vendor.account,{account},{function},{unit},{team}\n" for account, function, unit, team in rules
        )
    )
    columns = ["day", "vendor", "account", "line_item", "amount_usd"]
    path = write_csv(folder / "vendor_costs.csv", [dict(zip(columns, row, strict=True)) for row in rows])
    return ingest.load_file(conn, path, mapping=mapping.load_mapping(mapping_file))


@pytest.fixture
def costs(data, tmp_path):
    """Marketing: usage $3.00 and vendor $5.00 in March; Sales: usage $4.00 and vendor $1.00 in March;
    $0.70 billed to an account no rule maps. Marketing saved 10 documented hours at the default $60."""
    data.usage("2025-03-10", "m1", cost="1.00", count=3)
    data.usage("2025-03-11", "s1", function="Sales", bu="Enterprise", team="Deals", cost="2.00", count=2)
    data.saved("2025-03", "Brand", tasks=10, baseline=60, minutes=0)
    conn = data.load()
    result = load_vendor_costs(
        conn,
        tmp_path,
        [
            ("2025-03-03", "llm", "acct-mkt", "tokens", "4.25"),
            ("2025-03-20", "llm", "acct-mkt", "tokens", "0.75"),
            ("2025-03-05", "llm", "acct-sales", "tokens", "1.00"),
            ("2025-03-05", "llm", "acct-lost", "tokens", "0.70"),
        ],
        [("acct-mkt", "Marketing", "Consumer", "Brand"), ("acct-sales", "Sales", "Enterprise", "")],
    )
    assert (result.accepted, result.rejected) == (3, 1)
    return conn


def test_reconciliation_shows_the_known_difference_per_function_month(costs):
    frame = metrics.reconciliation(costs, metrics.Filters(), Settings(), exact=True)

    assert records(frame, "function", "month", "usage_cost_usd", "vendor_cost_usd", "difference_usd") == [
        ("Marketing", MARCH, Decimal("3.00000000"), Decimal("5.00000000"), Decimal("2.00000000")),
        ("Sales", MARCH, Decimal("4.00000000"), Decimal("1.00000000"), Decimal("-3.00000000")),
    ]
    assert list(frame["difference_share"]) == [pytest.approx(2 / 5), pytest.approx(-3 / 1)]


def test_unassigned_vendor_cost_is_its_own_row_so_the_invoice_adds_up(costs):
    by_function = metrics.reconciliation_summary(costs, metrics.Filters(), Settings(), exact=True)
    organisation = metrics.reconciliation_summary(
        costs, metrics.Filters(), Settings(), ("organisation",), exact=True
    )

    assert records(
        by_function, "function", "vendor_cost_usd", "unassigned_vendor_cost_usd", "billed_usd"
    ) == [
        ("Marketing", Decimal("5.00000000"), None, Decimal("5.00000000")),
        ("Sales", Decimal("1.00000000"), None, Decimal("1.00000000")),
        (None, Decimal("0"), Decimal("0.70000000"), Decimal("0.70000000")),
    ]
    # 5.00 + 1.00 assigned + 0.70 unassigned = 6.70, what the vendor billed.
    assert records(
        organisation, "usage_cost_usd", "vendor_cost_usd", "unassigned_vendor_cost_usd", "billed_usd"
    ) == [(Decimal("7.00000000"), Decimal("6.00000000"), Decimal("0.70000000"), Decimal("6.70000000"))]


def test_unassigned_cost_belongs_to_no_function_so_a_function_filter_leaves_it_out(costs):
    frame = metrics.reconciliation_summary(
        costs, metrics.Filters(functions=("Marketing",)), Settings(), ("organisation",), exact=True
    )

    assert records(frame, "vendor_cost_usd", "unassigned_vendor_cost_usd", "billed_usd") == [
        (Decimal("5.00000000"), None, Decimal("5.00000000"))
    ]


def test_each_vendor_account_is_set_against_the_usage_of_the_unit_it_maps_to(costs):
    frame = metrics.reconciliation_accounts(costs, metrics.Filters(), Settings(), exact=True)

    assert records(
        frame, "account", "function", "team", "vendor_cost_usd", "is_unassigned", "unit_usage_cost_usd", "difference_usd"
    ) == [
        ("acct-mkt", "Marketing", "Brand", Decimal("5.00000000"), False, Decimal("3.00000000"), Decimal("2.00000000")),
        # A rule without a team sets the account against its whole business unit.
        ("acct-sales", "Sales", None, Decimal("1.00000000"), False, Decimal("4.00000000"), Decimal("-3.00000000")),
        ("acct-lost", None, None, Decimal("0.70000000"), True, None, None),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("source", "marketing_cost", "sales_cost"),
    [("usage", 3.00, 4.00), ("vendor", 5.00, 1.00), ("larger", 5.00, 4.00)],
)
def test_cost_source_switches_the_reports_agent_cost_and_everything_derived_from_it(
    costs, source, marketing_cost, sales_cost
):
    settings = parse_settings({"finance": {"cost_source": source}})

    built = report.build(costs, metrics.Filters(), settings)

    functions = {row["function"]: row for row in built["functions"]}
    assert (functions["Marketing"]["agent_cost_usd"], functions["Sales"]["agent_cost_usd"]) == (
        marketing_cost,
        sales_cost,
    )
    # Marketing's labor value: 10 hours x $60 = $600.00; net savings and the pool follow the cost.
    assert functions["Marketing"]["net_savings_usd"] == 600.00 - marketing_cost
    assert functions["Marketing"]["reinvestment_pool_usd"] == round(0.25 * (600.00 - marketing_cost), 2)
    assert functions["Marketing"]["roi"] == pytest.approx((600.00 - marketing_cost) / marketing_cost)
    org = built["org"]
    assert (org["cost_source"], org["agent_cost_usd"]) == (source, marketing_cost + sales_cost)
    # Both sources stay in the report whichever is chosen.
    assert (org["usage_cost_usd"], org["vendor_cost_usd"], org["unassigned_vendor_cost_usd"]) == (
        7.00,
        6.00,
        0.70,
    )
    assert (functions["Sales"]["usage_cost_usd"], functions["Sales"]["vendor_cost_usd"]) == (4.00, 1.00)
    assert [(row["function"], row["difference_usd"]) for row in built["reconciliation"]] == [
        ("Marketing", 2.00),
        ("Sales", -3.00),
    ]


# --- estimated time saved -----------------------------------------------------------------------------


@pytest.fixture
def usage_with_baselines(data):
    """Brand (Consumer) in March: 4 completed, 1 escalated and 1 failed campaign briefs, no time_saved;
    Social (Consumer) in March: 3 completed posts, no time_saved; Brand in April: 2 completed briefs
    and a time_saved row; Care (Support) in March: 2 escalated tasks only."""
    data.usage("2025-03-03", "b1", team="Brand", task_type="campaign_brief", cost="1.00", count=4)
    data.usage("2025-03-03", "b1", team="Brand", task_type="campaign_brief", status="escalated", cost="1.00")
    data.usage("2025-03-03", "b1", team="Brand", task_type="campaign_brief", status="failed", cost="1.00")
    data.usage("2025-03-04", "p1", team="Social", task_type="post", cost="1.00", count=3)
    data.usage("2025-04-02", "b1", team="Brand", task_type="campaign_brief", cost="5.00", count=2)
    data.usage("2025-03-05", "c1", function="Support", bu="Care", team="Tier 1", status="escalated", count=2)
    data.saved("2025-04", "Brand", tasks=2, baseline=30, minutes=6)
    # The team's baseline for briefs is more specific than the function's for every task type.
    data.task_baseline("Marketing", 45, 8, bu="Consumer", team="Brand", task_type="campaign_brief",
                       note="Time study of 30 briefs")  # fmt: skip
    data.task_baseline("Marketing", 10, 2, source="documented")
    return data.load()


def test_estimates_for_a_team_month_without_time_saved_and_none_for_one_with_it(usage_with_baselines):
    frame = metrics.estimates(usage_with_baselines, metrics.Filters(), Settings(), exact=True)

    assert records(frame, "team", "month", "completed_tasks", "estimated_tasks") == [
        ("Brand", MARCH, 4, 4),  # Brand in April has a time_saved row: no estimate
        ("Social", MARCH, 3, 3),
    ]
    # Brand: 4 completed briefs x (45 - 8) / 60 = 148/60 hours; Social: 3 posts x (10 - 2) / 60 = 0.4.
    assert list(frame["estimated_hours_saved"]) == [pytest.approx(148 / 60), pytest.approx(0.4)]
    # At the default $60 an hour: $148.00 and $24.00.
    assert [round(value, 2) for value in frame["estimated_labor_value_usd"]] == [
        Decimal("148.00"),
        Decimal("24.00"),
    ]
    assert list(frame["basis"]) == [
        "team Consumer / Brand, campaign_brief: 45 -> 8 minutes per task (estimate; Time study of 30 briefs)",
        "function Marketing, every task type: 10 -> 2 minutes per task (documented)",
    ]


def test_an_escalated_task_earns_no_estimate(usage_with_baselines):
    frame = metrics.estimates(usage_with_baselines, metrics.Filters(), Settings())

    # Care's two escalated tasks completed nothing; Brand's escalated and failed briefs are not counted.
    assert "Tier 1" not in set(frame["team"])
    assert list(frame[frame["team"] == "Brand"]["completed_tasks"]) == [4]


def test_estimates_are_never_mixed_into_documented_hours(usage_with_baselines):
    organisation = metrics.net_output(
        usage_with_baselines, metrics.Filters(), Settings(), by=("organisation",)
    )
    built = report.build(usage_with_baselines, metrics.Filters(), Settings())

    # Only April's documented row: 2 x (30 - 6) / 60 = 0.8 hours.
    assert list(organisation["hours_saved"]) == [pytest.approx(0.8)]
    assert built["org"]["hours_saved"] == pytest.approx(0.8)
    assert built["org"]["estimated_hours_saved"] == pytest.approx(148 / 60 + 0.4)
    assert [row["validated_net_output"] for row in built["teams"]] == [False]
    assert [(row["team"], row["basis"] is not None) for row in built["estimates"]] == [
        ("Brand", True),
        ("Social", True),
    ]


def test_coverage_is_the_share_of_usage_with_documented_savings(usage_with_baselines):
    frame = metrics.coverage(usage_with_baselines, metrics.Filters(), Settings(), by=("organisation",))

    # 13 tasks: Brand March 6, Social 3, Brand April 2, Care 2; only Brand April's 2 are documented.
    # Cost: 6 + 3 + 10 + 0 = $19; documented $10. Estimates cover 4 + 3 completed tasks.
    assert records(frame, "tasks", "documented_tasks", "estimated_tasks") == [(13, 2, 7)]
    assert list(frame["documented_task_share"]) == [pytest.approx(2 / 13)]
    assert list(frame["documented_cost_share"]) == [pytest.approx(10 / 19)]
    assert list(frame["estimated_task_share"]) == [pytest.approx(7 / 13)]
    built = report.build(usage_with_baselines, metrics.Filters(), Settings())
    assert built["org"]["documented_task_share"] == pytest.approx(2 / 13)
    marketing = next(row for row in built["functions"] if row["function"] == "Marketing")
    assert marketing["documented_cost_share"] == pytest.approx(10 / 19)


def test_a_chosen_preset_estimates_where_no_baseline_applies(data):
    data.usage(
        "2025-03-03", "s1", function="Sales", bu="Enterprise", team="Deals", task_type="quote", count=5
    )
    conn = data.load()

    without = metrics.estimates(conn, metrics.Filters(), Settings())
    with_preset = metrics.estimates(
        conn, metrics.Filters(), parse_settings({"estimates": {"preset": "6 minutes per completed task"}})
    )

    assert records(without, "completed_tasks", "estimated_tasks", "estimated_hours_saved", "basis") == [
        (5, 0, None, None)
    ]
    # 5 completed tasks x 6 minutes / 60 = 0.5 hours.
    assert records(with_preset, "estimated_tasks", "estimated_hours_saved", "basis") == [
        (5, 0.5, 'preset "6 minutes per completed task": 6 -> 0 minutes per task (estimate)')
    ]


def test_a_preset_must_be_one_of_the_named_presets():
    with pytest.raises(Exception, match="is not one of the presets"):
        parse_settings({"estimates": {"preset": "seven minutes"}})
    edited = parse_settings({"estimates": {"preset": "Quick", "presets": {"Quick": [3, 1]}}})
    assert edited.estimates.chosen == (3.0, 1.0)


def test_reconciliation_sets_the_vendors_token_counts_against_the_usage_logs(costs, tmp_path):
    # The usage log of the costs fixture has no tokens; the vendor counted 1,000 in and 250 out for
    # Marketing's account in March.
    rules = tmp_path / "usage_mapping.csv"
    rules.write_text(
        "source,match,function,business_unit,team\nvendor.account,acct-mkt,Marketing,Consumer,Brand\n"
    )
    path = write_csv(
        tmp_path / "vendor_usage.csv",
        [
            {
                "day": "2025-03-03",
                "vendor": "llm",
                "account": "acct-mkt",
                "input_tokens": 1000,
                "output_tokens": 250,
            }
        ],
    )
    assert ingest.load_file(costs, path, mapping=mapping.load_mapping(rules)).accepted == 1

    frame = metrics.reconciliation(costs, metrics.Filters(), Settings(), exact=True)

    assert records(frame, "function", "usage_tokens", "vendor_tokens") == [
        ("Marketing", 0, 1250),
        ("Sales", 0, 0),
    ]


def test_the_executive_summary_names_the_cost_source_and_keeps_estimates_apart(costs):
    settings = parse_settings({"finance": {"cost_source": "larger"}})

    text = summary.markdown(report.build(costs, metrics.Filters(), settings))

    assert (
        "- Agent cost is the larger of the usage log's and the vendors' cost, per function-month: usage log $7.00; "
        "vendor bills $6.00 assigned and $0.70 unassigned (no mapping rule)."
    ) in text
    # Marketing $5.00 (bills) + Sales $4.00 (usage log).
    assert "- Agent cost: **$9.00**" in text
    assert (
        "- Estimated labor value where no team documented savings: — (estimated, not in net savings)" in text
    )


# --- money from minutes ---------------------------------------------------------------------------


def test_money_from_minutes_is_exact_to_the_half_cent(data):
    """20 minutes at $30.045 an hour is $10.015 exactly, so $10.02 rounded half up. Through a double
    (20 / 60 hours) it lands just under $10.015 and shows $10.01."""
    data.baseline("Brand", headcount=5, routine=500, rate="30.045")
    # March: 1 task x (20 - 0) minutes = 20 minutes x $30.045 / 60 = $10.015.
    data.saved("2025-03", "Brand", tasks=1, baseline=20, minutes=0)
    # April: 3 tasks x (20.1 - 0.1) minutes = 60 minutes = $30.045; a person would take 3 x 20.1 =
    # 60.3 minutes = $30.195225.
    data.saved("2025-04", "Brand", tasks=3, baseline=20.1, minutes=0.1)
    # May, no time saved: 1 completed task estimated at 20 -> 0 minutes = $10.015.
    data.usage("2025-05-06", "b1", team="Brand", task_type="campaign_brief", cost="1.00")
    data.task_baseline("Marketing", 20, 0, bu="Consumer", team="Brand", task_type="campaign_brief")
    conn = data.load()

    months = metrics.finance(conn, metrics.Filters(), Settings(), exact=True)
    assert records(months, "month", "labor_value_usd", "human_cost_usd")[:2] == [
        (MARCH, Decimal("10.015"), Decimal("10.015")),
        (APRIL, Decimal("30.045"), Decimal("30.195225")),
    ]
    estimates = metrics.estimates(conn, metrics.Filters(), Settings(), exact=True)
    assert records(estimates, "month", "estimated_labor_value_usd") == [
        (dt.date(2025, 5, 1), Decimal("10.015"))
    ]

    march = metrics.Filters(date_from=MARCH, date_to=dt.date(2025, 3, 31), as_of=dt.date(2025, 3, 31))
    marketing = report.build(conn, march, Settings())["functions"][0]
    assert (marketing["function"], marketing["labor_value_usd"]) == ("Marketing", 10.02)
    may = metrics.Filters(
        date_from=dt.date(2025, 5, 1), date_to=dt.date(2025, 5, 31), as_of=dt.date(2025, 5, 31)
    )
    assert report.build(conn, may, Settings())["org"]["estimated_labor_value_usd"] == 10.02
