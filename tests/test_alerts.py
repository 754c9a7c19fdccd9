"""Alert rules: each fires at its threshold and not just below it; the command's exit code; the webhook."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest

from offload_metrics import alerts, metrics
from offload_metrics.config import Settings

CLI = shutil.which("offload-metrics") or str(Path(sys.executable).with_name("offload-metrics"))


def fired(conn, as_of: str, rule: str, settings: Settings | None = None):
    found = alerts.evaluate(conn, metrics.Filters(as_of=dt.date.fromisoformat(as_of)), settings or Settings())
    return [(alert.subject, alert.severity) for alert in found if alert.rule == rule]


def test_an_agent_newly_failing_its_gate(data):
    # 100 tasks, all completed; accuracy 79/100 fails the 80% bar, 80/100 passes.
    data.gated("below", "2025-03-15", tasks=100, completed=100, correct=79, incorrect=21)
    data.gated("at", "2025-03-15", tasks=100, completed=100, correct=80, incorrect=20)
    # Already failing 30 days before as_of (2025-03-01: its window holds 2025-02-15): not new.
    data.gated("old", "2025-02-15", tasks=100, completed=100, correct=50, incorrect=50)
    data.load()
    assert fired(data.conn, "2025-03-31", "gate_newly_failing") == [("below", "critical")]
    alert = alerts.gate_newly_failing(
        data.conn, metrics.Filters(as_of=dt.date(2025, 3, 31)).resolve(data.conn), Settings()
    )[0]
    assert (alert.figures["accuracy"], alert.figures["automation"], alert.figures["gate_before"]) == (
        0.79,
        1.0,
        None,
    )
    assert (alert.page, alert.is_finance) == ("/fleet", False)


def test_an_alert_names_a_catalogued_agent_by_its_name_and_its_id(data):
    # An executive knows "Invoice matcher", not fin-7f3a; the subject stays the id for scripts.
    data.agent("fin-7f3a", "Finance", name="Invoice matcher")
    data.gated("fin-7f3a", "2025-03-15", tasks=100, completed=100, correct=79, incorrect=21)
    data.gated("uncatalogued", "2025-03-15", tasks=100, completed=100, correct=79, incorrect=21)
    data.load()
    found = alerts.evaluate(data.conn, metrics.Filters(as_of=dt.date(2025, 3, 31)), Settings())
    said = {alert.subject: alert.message for alert in found if alert.rule == "gate_newly_failing"}
    assert said == {
        "fin-7f3a": "Invoice matcher (fin-7f3a) now fails its gate: accuracy 79.0%, automation 100.0% "
        "(needs 80% and 90%)",
        "uncatalogued": "uncatalogued now fails its gate: accuracy 79.0%, automation 100.0% (needs 80% and 90%)",
    }


def test_cost_per_task_above_its_trailing_median(data):
    # Three months at $1.00 a task (median $1.00), then $2.01 (above 2x) for one, $2.00 (at 2x) for the other.
    for agent, function, april in (("pricey", "Marketing", "2.01"), ("steady", "Sales", "2.00")):
        for month in ("2025-01", "2025-02", "2025-03"):
            data.usage(f"{month}-10", agent, function=function, cost="1.00", count=10)
        data.usage("2025-04-10", agent, function=function, cost=april, count=10)
    data.load()
    assert fired(data.conn, "2025-04-30", "agent_cost_per_task") == [("pricey", "warning")]
    assert fired(data.conn, "2025-04-30", "function_cost_per_task") == [("Marketing", "warning")]
    found = alerts.evaluate(data.conn, metrics.Filters(as_of=dt.date(2025, 4, 30)), Settings())
    agent_alert = next(alert for alert in found if alert.rule == "agent_cost_per_task")
    # Money stays out of the message and the plain figures: a role without finance access can be shown them.
    assert agent_alert.finance_figures == {
        "cost_per_task_usd": 2.01, "trailing_median_cost_per_task_usd": 1.0, "multiple": 2.01,
    }  # fmt: skip
    assert agent_alert.figures == {"agent_id": "pricey", "month": "2025-04", "trailing_months": 3}
    assert "$" not in agent_alert.message and agent_alert.is_finance
    assert agent_alert.as_dict()["is_finance"] is True


def test_a_cost_per_task_of_exactly_the_multiple_in_thirds_does_not_alert(data):
    # $1.00 over 3 tasks a month, then $2.00 over 3: exactly 2x the median, though 2/3 and 2 x 1/3
    # differ in Decimal's 28th digit (0.666...667 against 0.666...666). "More than" is strict.
    for month, costs in (("2025-01", ("0.33333333", "0.33333333", "0.33333334")),
                         ("2025-02", ("0.33333333", "0.33333333", "0.33333334")),
                         ("2025-03", ("0.66666666", "0.66666666", "0.66666668"))):  # fmt: skip
        for cost in costs:
            data.usage(f"{month}-10", "thirds", function="Marketing", cost=cost)
    data.load()
    assert fired(data.conn, "2025-03-31", "agent_cost_per_task") == []
    assert fired(data.conn, "2025-03-31", "function_cost_per_task") == []


def test_cost_spikes_of_agents_named_like_missing_values_over_an_even_number_of_months(data):
    # "NaT" and "<NA>" are agent ids like any other. Two months before at $1.00 and $1.50 a task: the
    # median is their mean, $1.25, so $2.51 is above 2x and $2.50 is not.
    for agent, april in (("NaT", "2.51"), ("<NA>", "2.50")):
        data.usage("2025-02-10", agent, cost="1.00", count=10)
        data.usage("2025-03-10", agent, cost="1.50", count=10)
        data.usage("2025-04-10", agent, cost=april, count=10)
    data.load()
    found = alerts.evaluate(data.conn, metrics.Filters(as_of=dt.date(2025, 4, 30)), Settings())
    spikes = [alert for alert in found if alert.rule == "agent_cost_per_task"]
    assert [(alert.subject, alert.figures, alert.finance_figures) for alert in spikes] == [
        (
            "NaT",
            {"agent_id": "NaT", "month": "2025-04", "trailing_months": 2},
            {"cost_per_task_usd": 2.51, "trailing_median_cost_per_task_usd": 1.25, "multiple": 2.008},
        )
    ]


def test_a_function_in_the_pilot_plateau_too_long(data):
    data.baseline("Brand", headcount=4, routine=400)
    data.saved("2024-01", "Brand", tasks=10, baseline=60, minutes=0)  # 10 of 400 hours: 2.5%
    data.event("a1", "validated", "2024-01-15", "Consumer")
    data.usage("2025-02-20", "a1")
    data.load()
    # More than 12 months after 2024-01: 2025-02 is 13 (fires), 2025-01 is 12 (does not).
    assert fired(data.conn, "2025-02-01", "plateau_too_long") == [("Marketing", "warning")]
    assert fired(data.conn, "2025-01-31", "plateau_too_long") == []


def test_a_validated_agent_waiting_for_a_first_copy(data):
    data.event("a1", "validated", "2025-01-01", "Consumer")
    data.event("copied", "validated", "2025-01-01", "Consumer")
    data.event("copied", "deployed", "2025-01-20", "Sales")
    data.usage("2025-04-02", "a1")
    data.load()
    # More than 90 days: 2025-04-02 is day 91 (fires), 2025-04-01 day 90 (does not).
    assert fired(data.conn, "2025-04-02", "waiting_for_copy") == [("a1", "info")]
    assert fired(data.conn, "2025-04-01", "waiting_for_copy") == []


def test_a_team_that_grew_while_its_uplift_stayed_below_the_bar(data):
    # Headcount 5 against a baseline of 4: capacity 5 x 160 = 800 h; the bar 0.30 is 240 h saved.
    data.baseline("Below", headcount=4, routine=1000)
    data.baseline("AtBar", headcount=4, routine=1000)
    data.baseline("Steady", headcount=4, routine=1000)
    data.saved("2025-03", "Below", tasks=239, baseline=60, minutes=0, headcount=5)  # 239 / 800: fires
    data.saved("2025-03", "AtBar", tasks=240, baseline=60, minutes=0, headcount=5)  # 240 / 800: at the bar
    data.saved("2025-03", "Steady", tasks=10, baseline=60, minutes=0, headcount=4)  # low, but did not grow
    data.load()
    assert fired(data.conn, "2025-03-31", "grew_without_uplift") == [("Consumer / Below", "warning")]
    alert = next(
        a
        for a in alerts.evaluate(data.conn, metrics.Filters(), Settings())
        if a.rule == "grew_without_uplift"
    )
    assert alert.figures == {
        "function": "Marketing", "business_unit": "Consumer", "team": "Below", "month": "2025-03",
        "headcount": 5, "baseline_headcount": 4, "net_output_uplift": 239 / 800,
    }  # fmt: skip
    assert alert.page == "/net_output"


def test_an_agent_whose_usage_fell(data):
    # February against March (as_of is March's last day): more than a 50% fall alerts.
    for agent, february, march in (
        ("half_gone", 100, 49),
        ("half", 100, 50),
        ("few", 19, 0),
        ("enough", 20, 0),
    ):
        data.usage("2025-02-10", agent, count=february)
        if march:
            data.usage("2025-03-10", agent, count=march)
    data.load()
    assert fired(data.conn, "2025-03-31", "usage_fell") == [("enough", "warning"), ("half_gone", "warning")]
    # Mid-March, March is not a whole month yet: January (nothing) against February, so no fall.
    assert fired(data.conn, "2025-03-15", "usage_fell") == []


def test_alerts_are_ordered_most_severe_first(data):
    data.gated("below", "2025-03-15", tasks=100, completed=100, correct=79, incorrect=21)
    data.event("a1", "validated", "2024-11-01", "Consumer")
    data.load()
    found = alerts.evaluate(data.conn, metrics.Filters(as_of=dt.date(2025, 3, 31)), Settings())
    assert [(alert.rule, alert.severity) for alert in found] == [
        ("gate_newly_failing", "critical"), ("waiting_for_copy", "info"),
    ]  # fmt: skip
    assert alerts.at_or_above(found, "warning") == found[:1]


# --- the command --------------------------------------------------------------------------------------


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, "alerts", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def alerting_db(data, db_path):
    """A database with one critical alert (a newly failing gate) and one info alert (a 150-day wait)."""
    data.gated("below", "2025-03-15", tasks=100, completed=100, correct=79, incorrect=21)
    data.event("a1", "validated", "2024-11-01", "Consumer")
    data.load().close()
    return db_path


def test_the_command_exits_1_when_an_alert_is_at_or_above_the_level(alerting_db):
    result = run("--db", str(alerting_db), "--as-of", "2025-03-31")
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        "2 alerts as of 2025-03-31:",
        "[critical] gate_newly_failing: below now fails its gate: accuracy 79.0%, automation 100.0% "
        "(needs 80% and 90%) (see /fleet)",
        "[info] waiting_for_copy: a1 has waited 150 days for a first copy since its validation in Consumer "
        "(see /replication)",
    ]
    as_json = run(
        "--db", str(alerting_db), "--as-of", "2025-03-31", "--format", "json", "--min-severity", "critical"
    )
    assert as_json.returncode == 1
    body = json.loads(as_json.stdout)
    assert body["as_of"] == "2025-03-31"
    assert [(alert["rule"], alert["severity"], alert["page"]) for alert in body["alerts"]] == [
        ("gate_newly_failing", "critical", "/fleet")
    ]


def test_the_command_exits_0_when_nothing_reaches_the_level(alerting_db):
    # Before the failing tasks, only the wait (info, 120 days on 2025-03-01) is there.
    result = run("--db", str(alerting_db), "--as-of", "2025-03-01", "--min-severity", "warning")
    assert (result.returncode, result.stdout.strip()) == (
        0,
        "No alerts at or above warning as of 2025-03-01.",
    )


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list] = []
    status = 200
    delay = 0.0

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(type(self).delay)
        type(self).received.append((self.headers["Content-Type"], json.loads(body)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    handler = type("Receiver", (_Receiver,), {"received": [], "status": 200, "delay": 0.0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_the_webhook_receives_the_json(alerting_db, receiver):
    handler, url = receiver
    result = run(
        "--db", str(alerting_db), "--as-of", "2025-03-31", "--webhook", url, "--min-severity", "critical"
    )
    assert result.returncode == 1, result.stderr
    assert len(handler.received) == 1
    content_type, body = handler.received[0]
    assert content_type == "application/json"
    assert [alert["subject"] for alert in body["alerts"]] == ["below"]


def test_the_webhook_url_comes_from_the_settings(alerting_db, receiver, tmp_path):
    handler, url = receiver
    settings = tmp_path / "offload.toml"
    settings.write_text(f'[alerts]\nwebhook_url = "{url}"\n', encoding="utf-8")
    result = run("--db", str(alerting_db), "--as-of", "2025-03-31", "--config", str(settings))
    assert result.returncode == 1, result.stderr
    assert [alert["rule"] for alert in handler.received[0][1]["alerts"]] == [
        "gate_newly_failing",
        "waiting_for_copy",
    ]


def test_a_webhook_that_fails_gets_a_clear_message_and_exit_4(alerting_db, receiver, tmp_path):
    handler, url = receiver
    handler.status = 500
    result = run("--db", str(alerting_db), "--as-of", "2025-03-31", "--webhook", url)
    assert result.returncode == 4
    assert f"webhook {url} answered HTTP 500" in result.stderr
    assert "not delivered" in result.stderr


def test_a_webhook_that_does_not_answer_times_out(alerting_db, receiver, tmp_path):
    handler, url = receiver
    handler.delay = 3.0
    settings = tmp_path / "offload.toml"
    settings.write_text("[alerts]\nwebhook_timeout_seconds = 0.5\n", encoding="utf-8")
    started = time.monotonic()
    result = run(
        "--db", str(alerting_db), "--as-of", "2025-03-31", "--webhook", url, "--config", str(settings)
    )
    assert result.returncode == 4
    assert f"webhook {url} did not answer within 0.5 seconds" in result.stderr
    assert time.monotonic() - started < 30


def test_an_unreachable_or_non_http_webhook_is_named(alerting_db):
    with pytest.raises(alerts.WebhookError, match="could not be reached"):
        alerts.send("http://127.0.0.1:9/hook", "{}", 2)
    result = run("--db", str(alerting_db), "--webhook", "file:///etc/passwd")
    assert result.returncode == 4
    assert "only http:// and https:// URLs are supported" in result.stderr


@pytest.mark.parametrize("url", ["http://[::1", "http://exa mple.com/"])
def test_a_webhook_address_that_is_no_url_is_named_with_exit_4_not_a_traceback(alerting_db, url):
    # Exit 1 means "alerts found" to cron: a crash must not read so.
    result = run("--db", str(alerting_db), "--as-of", "2025-03-31", "--webhook", url)
    assert result.returncode == 4
    assert "is not a valid URL" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_date_outside_the_years_a_file_may_hold_is_a_usage_error(alerting_db, day):
    result = run("--db", str(alerting_db), "--as-of", day)
    assert result.returncode == 2
    assert f"{day} is outside 1900-01-01 to 2199-12-31" in result.stderr and "Traceback" not in result.stderr
    # The last day a file may hold works: a --to after as_of is clamped to it.
    report = subprocess.run(
        [CLI, "report", "--db", str(alerting_db), "--to", "2199-12-31"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert report.returncode == 0, report.stderr


def test_the_filters_narrow_the_alerts(data):
    data.event("mine", "validated", "2025-01-01", "Consumer")
    data.event("theirs", "validated", "2025-01-01", "Sales", function="Sales")
    data.usage("2025-04-02", "mine")
    data.load()
    chosen = metrics.Filters(as_of=dt.date(2025, 4, 2), functions=("Sales",))
    assert [alert.subject for alert in alerts.evaluate(data.conn, chosen, Settings())] == ["theirs"]


def test_without_a_database_the_command_says_so(tmp_path):
    result = run("--db", str(tmp_path / "none.duckdb"))
    assert result.returncode == 3
    assert "No database at" in result.stderr


def test_a_bad_severity_is_a_usage_error(alerting_db):
    result = run("--db", str(alerting_db), "--min-severity", "urgent")
    assert result.returncode == 2
    assert "'urgent' is not one of 'info', 'warning', 'critical'" in result.stderr


def test_the_dashboard_says_a_wait_for_a_copy_with_the_units_already_using_the_agent_and_its_gate():
    waiting = {
        "rule": "waiting_for_copy",
        "subject": "w1",
        "message": "w1 has waited 171 days for a first copy",
    }
    other = {"rule": "usage_fell", "subject": "w1", "message": "w1's tasks fell by 60%"}
    undeployed = {"w1": ["Retail"], "w2": ["Labs", "Retail"]}
    assert alerts.said(other, undeployed, {"w1"}) == "w1's tasks fell by 60%"
    assert alerts.said(waiting, {}) == "w1 has waited 171 days for a first copy"
    assert alerts.said(waiting, undeployed) == (
        "w1 has waited 171 days for a first copy, though Retail already uses it without a recorded deployment"
    )
    assert alerts.said({**waiting, "subject": "w2"}, undeployed, {"w2"}) == (
        "w1 has waited 171 days for a first copy, though Labs and Retail already use it without a recorded "
        "deployment; it fails its gate, so fix it before it is copied"
    )
