"""Wins in the applied range: only what first happened between from and to."""

from __future__ import annotations

import datetime as dt

from offload_metrics import metrics, report, summary, wins
from offload_metrics.config import Settings

RANGE = metrics.Filters(
    as_of=dt.date(2025, 3, 31), date_from=dt.date(2025, 2, 1), date_to=dt.date(2025, 3, 31)
)


def kinds(conn, kind: str, filters: metrics.Filters = RANGE):
    return [(win.subject, win.on) for win in wins.evaluate(conn, filters, Settings()) if win.kind == kind]


def test_teams_validating_net_output_for_the_first_time(data):
    # Baseline headcount 4: capacity 640 h; the bar 0.30 is 192 h saved.
    for team in ("Early", "New", "Never"):
        data.baseline(team, headcount=4, routine=1000)
    data.saved("2025-01", "Early", tasks=192, baseline=60, minutes=0)  # validated before the range
    data.saved("2025-03", "Early", tasks=200, baseline=60, minutes=0)
    data.saved("2025-01", "New", tasks=191, baseline=60, minutes=0)  # just below the bar in January
    data.saved("2025-02", "New", tasks=192, baseline=60, minutes=0)  # first validated in the range
    data.saved("2025-03", "New", tasks=300, baseline=60, minutes=0)
    data.saved("2025-03", "Never", tasks=150, baseline=60, minutes=0)
    data.load()
    assert kinds(data.conn, "team_validated") == [("Consumer / New", "2025-02")]
    win = wins.evaluate(data.conn, RANGE, Settings())[-1]
    assert win.figures["net_output_uplift"] == 192 / 640
    assert (
        win.message
        == "New (Consumer) validated Net Output for the first time in 2025-02: uplift 30.0% without more headcount"
    )


def test_agents_copied_to_a_new_business_unit(data):
    data.event("spread", "validated", "2024-12-01", "Consumer")
    data.event("spread", "deployed", "2025-01-10", "Sales")  # before the range: not a win
    data.event("spread", "deployed", "2025-02-10", "Retail")
    data.event("spread", "deployed", "2025-03-01", "Online")
    data.event("again", "validated", "2024-12-01", "Consumer")
    data.event("again", "deployed", "2025-01-10", "Sales")
    data.event("again", "deployed", "2025-03-10", "Sales")  # a unit it already had
    data.event("pilot", "validated", "2025-02-01", "Consumer")
    data.event("pilot", "deployed", "2025-02-05", "Consumer")  # its own pilot unit
    data.event("late", "validated", "2025-02-01", "Consumer")
    data.event("late", "deployed", "2025-04-05", "Sales")  # after the range
    data.usage("2025-04-05", "late")
    data.load()
    assert kinds(data.conn, "agent_copied") == [("spread", "2025-03-31")]
    win = next(w for w in wins.evaluate(data.conn, RANGE, Settings()) if w.kind == "agent_copied")
    assert (win.figures["new_business_units"], win.figures["replications"]) == (2, 3)


def test_functions_entering_a_new_phase(data):
    # 1,000 routine hours: 100 h is 0.10 (crossing point), 150 h is 0.15 (acceleration).
    data.baseline("Brand", headcount=4, routine=1000)
    data.saved("2025-01", "Brand", tasks=100, baseline=60, minutes=0)  # crossing point before the range
    data.saved("2025-02", "Brand", tasks=90, baseline=60, minutes=0)  # back down: nothing new
    data.saved("2025-03", "Brand", tasks=150, baseline=60, minutes=0)  # acceleration: new
    data.baseline("Desk", headcount=4, routine=1000, function="Sales", bu="Sales")
    data.saved(
        "2025-02", "Desk", tasks=99, baseline=60, minutes=0, function="Sales", bu="Sales"
    )  # just below
    data.load()
    assert kinds(data.conn, "function_new_phase") == [("Marketing", "2025-03")]


def test_agents_newly_passing_the_gate(data):
    # Before the range (as of 2025-01-31) "old" passes already; "new" passes only by 2025-03-31.
    data.gated("old", "2025-01-15", tasks=100, completed=100, correct=90, incorrect=10)
    data.gated("new", "2025-01-15", tasks=100, completed=100, correct=79, incorrect=21)
    data.gated("new", "2025-03-15", tasks=100, completed=100, correct=100, incorrect=0)  # 179/200 = 89.5%
    data.gated("fails", "2025-03-15", tasks=100, completed=89, correct=100, incorrect=0)  # 89% automation
    data.load()
    assert kinds(data.conn, "agent_passed_gate") == [("new", "2025-03-31")]


def test_a_win_names_a_catalogued_agent_by_its_name_and_its_id(data):
    data.agent("fin-7f3a", "Finance", name="Invoice matcher")
    data.gated("fin-7f3a", "2025-03-15", tasks=100, completed=100, correct=100, incorrect=0)
    data.load()
    found = [win for win in wins.evaluate(data.conn, RANGE, Settings()) if win.kind == "agent_passed_gate"]
    assert [(win.subject, win.message) for win in found] == [
        (
            "fin-7f3a",
            "Invoice matcher (fin-7f3a) passes its gate as of 2025-03-31: accuracy 100.0%, automation 100.0%",
        )
    ]


def test_wins_are_in_the_report_and_its_summary(data):
    data.baseline("Brand", headcount=4, routine=1000)
    data.saved("2025-03", "Brand", tasks=200, baseline=60, minutes=0)
    data.load()
    built = report.build(data.conn, RANGE, Settings())
    assert [(win["kind"], win["subject"], win["on"]) for win in built["wins"]] == [
        ("function_new_phase", "Marketing", "2025-03"),
        ("team_validated", "Consumer / Brand", "2025-03"),
    ]
    page = summary.markdown(built)
    assert (
        "## Wins in this range\n\n- Marketing entered acceleration in 2025-03 (20.0% of routine work offloaded)\n"
        in page
    )
    assert "No projection of scale: fewer than 2 functions have a forecast." in page


def test_an_empty_database_has_no_forecast_alerts_or_wins(conn):
    built = report.build(conn, metrics.Filters(), Settings())
    assert (built["forecast"]["functions"], built["alerts"], built["wins"]) == ([], [], [])
    assert built["forecast"]["org"]["status"] == "none"


def test_the_report_with_alerts_and_wins_follows_its_schema(data):
    import json
    from importlib import resources

    import jsonschema

    data.gated("below", "2025-03-15", tasks=100, completed=100, correct=79, incorrect=21)
    data.baseline("Brand", headcount=4, routine=1000)
    data.saved("2025-03", "Brand", tasks=200, baseline=60, minutes=0)
    data.usage("2025-02-10", "pricey", function="Sales", cost="1.00", count=10)
    data.usage("2025-03-10", "pricey", function="Sales", cost="5.00", count=10)
    built = report.build(data.load(), RANGE, Settings())
    schema = json.loads(resources.files("offload_metrics").joinpath("report.schema.json").read_text())
    jsonschema.validate(built, schema)
    assert {alert["rule"] for alert in built["alerts"]} == {
        "gate_newly_failing", "agent_cost_per_task", "function_cost_per_task",
    }  # fmt: skip
    assert built["wins"]


def test_a_copy_of_an_agent_on_the_cull_list_is_said_to_fail_its_gate_not_celebrated(data):
    """The overview listed agents as wins for being copied while its cull list marked them for removal."""
    data.event("c1", "validated", "2025-01-10", "Consumer").event("c1", "deployed", "2025-03-05", "Sales")
    data.event("c2", "validated", "2025-01-11", "Consumer").event("c2", "deployed", "2025-03-06", "Sales")
    # c1: 70 of 100 reviewed correct, 70% accuracy: on the cull list. c2: 95 of 100, 100% automation.
    data.gated("c1", "2025-03-15", tasks=100, completed=100, correct=70, incorrect=30)
    data.gated("c2", "2025-03-15", tasks=100, completed=100, correct=95, incorrect=5)
    data.load()
    built = report.build(data.conn, RANGE, Settings())
    assert [agent["agent_id"] for agent in built["cull_list"]] == ["c1"]
    copied = [win for win in built["wins"] if win["kind"] == "agent_copied"]
    # The report's wins keep their words; the summary says which copy is on the cull list.
    assert [win["message"] for win in copied] == [
        "c1 was copied to 1 new business unit (1 beyond its pilot unit in all)",
        "c2 was copied to 1 new business unit (1 beyond its pilot unit in all)",
    ]
    page = summary.markdown(built)
    assert (
        "- c1 was copied to 1 new business unit (1 beyond its pilot unit in all), though it fails its gate: it is "
        "on the cull list, so fix it before it spreads further\n"
        "- c2 was copied to 1 new business unit (1 beyond its pilot unit in all)\n" in page
    )
