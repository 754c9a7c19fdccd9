"""Every metric of SPEC on small hand-made data; expected values are worked out by hand here."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from conftest import Data, records, write_csv
from offload_metrics import ingest, metrics, schema
from offload_metrics.config import Settings

D = dt.date
SETTINGS = Settings()


# --- usage -------------------------------------------------------------------------------------


def test_usage_per_function(data):
    conn = (
        data.usage(
            "2025-03-01", "a1", status="completed", api_calls=1, input_tokens=10, output_tokens=5, cost="0.10"
        )
        .usage(
            "2025-03-02", "a1", status="completed", api_calls=2, input_tokens=20, output_tokens=5, cost="0.20"
        )
        .usage(
            "2025-03-03", "a2", status="escalated", api_calls=3, input_tokens=30, output_tokens=5, cost="0.30"
        )
        .usage(
            "2025-03-04", "a2", status="failed", api_calls=4, input_tokens=40, output_tokens=5, cost="0.40"
        )
        .usage(
            "2025-03-04",
            "s1",
            function="Sales Operations",
            bu="Sales",
            api_calls=5,
            input_tokens=100,
            output_tokens=50,
            cost="1.00",
        )
        .load()
    )
    frame = metrics.usage(conn, metrics.Filters(), SETTINGS, exact=True)
    # Marketing: 4 tasks; api 1+2+3+4; tokens (10+20+30+40) + 4x5; cost 0.10+0.20+0.30+0.40; agents a1, a2;
    # one escalated and one failed of four.
    assert records(
        frame,
        "function",
        "tasks",
        "api_calls",
        "tokens",
        "agent_cost_usd",
        "active_agents",
        "escalation_rate",
        "failure_rate",
    ) == [
        ("Marketing", 4, 10, 120, Decimal("1.00000000"), 2, 0.25, 0.25),
        ("Sales Operations", 1, 5, 150, Decimal("1.00000000"), 1, 0.0, 0.0),
    ]


def test_usage_counts_only_days_in_the_range_and_by_any_grain(data):
    conn = (
        data.usage("2025-02-28", "a1")
        .usage("2025-03-01", "a1", count=2)
        .usage("2025-03-31", "a2", team="Web")
        .usage("2025-04-01", "a2")
        .load()
    )
    march = metrics.Filters(date_from=D(2025, 3, 1), date_to=D(2025, 3, 31))
    assert records(metrics.usage(conn, march, SETTINGS), "function", "tasks") == [("Marketing", 3)]
    by_team = metrics.usage(conn, march, SETTINGS, by=("team", "agent_id"))
    assert records(by_team, "team", "agent_id", "tasks") == [("Brand", "a1", 2), ("Web", "a2", 1)]
    by_month = metrics.usage(conn, metrics.Filters(), SETTINGS, by=("month",))
    assert records(by_month, "month", "tasks") == [
        (pd_ts("2025-02-01"), 1),
        (pd_ts("2025-03-01"), 3),
        (pd_ts("2025-04-01"), 1),
    ]


def test_usage_can_give_only_some_columns_ordered_by_them(data):
    conn = (
        data.usage("2025-04-02", "a2", cost="0.30")
        .usage("2025-03-01", "a2", cost="0.10")
        .usage("2025-03-05", "a1", count=2, cost="0.25")
        .load()
    )
    columns = ("agent_id", "month", "tasks", "agent_cost_usd")
    frame = metrics.usage(
        conn, metrics.Filters(), SETTINGS, by=("agent_id", "month"), exact=True, columns=columns
    )
    # a1 ran two tasks in March at 0.25 each; a2 one in March and one in April.
    assert list(frame.columns) == list(columns)
    assert [tuple(row) for row in frame.itertuples(index=False)] == [
        ("a1", D(2025, 3, 1), 2, Decimal("0.50000000")),
        ("a2", D(2025, 3, 1), 1, Decimal("0.10000000")),
        ("a2", D(2025, 4, 1), 1, Decimal("0.30000000")),
    ]
    with pytest.raises(ValueError, match="not a column name: tasks; drop"):
        metrics.usage(conn, metrics.Filters(), SETTINGS, columns=("tasks; drop",))


def test_a_cursor_joined_to_a_connection_gets_the_results_computed_on_it_in_the_block(data):
    conn = data.usage("2025-03-01", "a1").load()
    march = metrics.Filters(as_of=D(2025, 3, 31))
    with metrics.shared_results():
        assert records(metrics.usage(conn, march, SETTINGS), "function", "tasks") == [("Marketing", 1)]
        data.usage("2025-03-02", "a1").load()
        joined, apart = conn.cursor(), conn.cursor()
        metrics.join_shared(joined, conn)
        # The joined cursor counts as the connection: its first result, not the second row.
        assert records(metrics.usage(joined, march, SETTINGS), "function", "tasks") == [("Marketing", 1)]
        assert records(metrics.usage(apart, march, SETTINGS), "function", "tasks") == [("Marketing", 2)]
    # Outside a block, joining does nothing.
    later = conn.cursor()
    metrics.join_shared(later, conn)
    assert records(metrics.usage(later, march, SETTINGS), "function", "tasks") == [("Marketing", 2)]


@pytest.mark.parametrize(("page_path", "tasks_after_a_load"), [("", 1), ("seed", 1), ("data", 2)])
def test_a_page_that_only_reads_computes_each_figure_once_per_run_and_the_data_page_reads_afresh(
    data, page_path, tasks_after_a_load
):
    from offload_metrics import ui

    conn = data.usage("2025-03-01", "a1").load()
    march = metrics.Filters(as_of=D(2025, 3, 31))
    with ui.page_results(page_path):
        metrics.usage(conn, march, SETTINGS)
        data.usage("2025-03-02", "a1").load()
        # The Overview ("", the default page) and the others ask once a run; the Data page, which
        # loads files, reads what it just loaded.
        assert records(metrics.usage(conn, march, SETTINGS), "function", "tasks") == [
            ("Marketing", tasks_after_a_load)
        ]


def test_within_shared_results_a_query_runs_once_and_a_caller_cannot_change_what_others_get(data):
    conn = data.usage("2025-03-01", "a1").load()
    march = metrics.Filters(as_of=D(2025, 3, 31))
    with metrics.shared_results():
        first = metrics.usage(conn, march, SETTINGS)
        first["tasks"] = 99
        first.loc[0, "function"] = "changed"
        data.usage("2025-03-02", "a1").load()
        # The same file with the same values: the first run's result, not the new row's, and not
        # the caller's changes.
        assert records(metrics.usage(conn, march, SETTINGS), "function", "tasks") == [("Marketing", 1)]
        # Another grain is another query, so it sees both rows.
        assert records(metrics.usage(conn, march, SETTINGS, by=("agent_id",)), "agent_id", "tasks") == [
            ("a1", 2)
        ]
    assert records(metrics.usage(conn, march, SETTINGS), "function", "tasks") == [("Marketing", 2)]


def test_a_shared_results_block_inside_another_keeps_the_outer_ones_results(data):
    conn = data.usage("2025-03-01", "a1").load()
    march = metrics.Filters(as_of=D(2025, 3, 31))
    with metrics.shared_results():
        metrics.usage(conn, march, SETTINGS)
        with metrics.shared_results():
            data.usage("2025-03-02", "a1").load()
            assert records(metrics.usage(conn, march, SETTINGS), "function", "tasks") == [("Marketing", 1)]
        # Leaving the inner block ends nothing: the outer block still shares its first result.
        assert records(metrics.usage(conn, march, SETTINGS), "function", "tasks") == [("Marketing", 1)]
    assert records(metrics.usage(conn, march, SETTINGS), "function", "tasks") == [("Marketing", 2)]


def test_sections_run_in_parallel_on_their_own_cursors_share_the_blocks_results(data):
    conn = data.usage("2025-03-01", "a1").load()
    march = metrics.Filters(as_of=D(2025, 3, 31))

    def tasks(cursor):
        assert cursor is not conn
        return records(metrics.usage(cursor, march, SETTINGS), "function", "tasks")

    with metrics.shared_results():
        metrics.usage(conn, march, SETTINGS)
        data.usage("2025-03-02", "a1").load()
        # Every section's cursor counts as the connection it came from: the block's first result.
        found = metrics.in_parallel(conn, {name: tasks for name in ("one", "two", "three")}, workers=2)
    assert found == {name: [("Marketing", 1)] for name in ("one", "two", "three")}
    # Outside a block, or on one core, the sections run one after the other on the connection itself.
    assert metrics.in_parallel(conn, {"alone": lambda cursor: cursor is conn}, workers=2) == {"alone": True}
    with metrics.shared_results():
        assert metrics.in_parallel(conn, {"one core": lambda cursor: cursor is conn}, workers=1) == {
            "one core": True
        }


def test_a_failing_section_fails_the_whole_and_the_others_are_not_left_running(data):
    conn = data.usage("2025-03-01", "a1").load()

    def broken(cursor):
        raise ValueError("this section cannot be built")

    with metrics.shared_results(), pytest.raises(ValueError, match="cannot be built"):
        metrics.in_parallel(
            conn, {"fine": lambda cursor: metrics.data_quality(cursor), "broken": broken}, workers=2
        )
    # The connection still answers.
    assert metrics.data_quality(conn)["rows_read"] == 1


def pd_ts(text: str):
    import pandas as pd

    return pd.Timestamp(text)


def test_grouping_by_an_unknown_column_is_refused(data):
    conn = data.usage("2025-03-01", "a1").load()
    with pytest.raises(ValueError, match="usage groups by"):
        metrics.usage(conn, metrics.Filters(), SETTINGS, by=("cost_usd; drop table loads",))


# --- gates -------------------------------------------------------------------------------------


def test_gates_at_and_just_below_the_thresholds(data):
    # 16 of 20 reviewed correct is exactly 0.80; 45 of 50 completed is exactly 0.90: pass.
    data.gated("at_both", "2025-06-01", tasks=50, completed=45, correct=16, incorrect=4)
    # 79 of 100 correct (0.79) with 95% automation: fail on accuracy.
    data.gated("low_accuracy", "2025-06-01", tasks=100, completed=95, correct=79, incorrect=21)
    # 89 of 100 completed (0.89) with 100% accuracy: fail on automation.
    data.gated("low_automation", "2025-06-01", tasks=100, completed=89, correct=30, incorrect=0)
    # 49 tasks, or 19 reviewed: too little data, whatever the rates.
    data.gated("few_tasks", "2025-06-01", tasks=49, completed=49, correct=49, incorrect=0)
    data.gated("few_reviews", "2025-06-01", tasks=50, completed=10, correct=0, incorrect=19)
    conn = data.load()

    frame = metrics.gates(conn, metrics.Filters(as_of=D(2025, 6, 30)), SETTINGS)

    assert records(frame, "agent_id", "tasks", "reviewed", "accuracy", "automation", "gate") == [
        ("at_both", 50, 20, 0.80, 0.90, "pass"),
        ("few_reviews", 50, 19, 0.0, 0.20, "insufficient_data"),
        ("few_tasks", 49, 49, 1.0, 1.0, "insufficient_data"),
        ("low_accuracy", 100, 100, 0.79, 0.95, "fail"),
        ("low_automation", 100, 30, 1.0, 0.89, "fail"),
    ]


def test_the_gate_window_holds_day_90_and_not_day_91(data):
    # as_of 2025-06-30; 90 days ending there start on 2025-04-02 (June 30 days, May 31, April 2-30 is 29).
    data.gated("edge", "2025-04-02", tasks=50, completed=50, correct=20, incorrect=0)
    data.gated("edge", "2025-04-01", tasks=10, completed=0, correct=0, incorrect=10)
    data.gated("edge", "2025-07-01", tasks=10, completed=0, correct=0, incorrect=10)
    conn = data.load()

    frame = metrics.gates(conn, metrics.Filters(as_of=D(2025, 6, 30)), SETTINGS)

    assert records(frame, "agent_id", "tasks", "reviewed", "gate") == [("edge", 50, 20, "pass")]


def test_gate_thresholds_come_from_the_settings(data):
    data.gated("a", "2025-06-01", tasks=10, completed=10, correct=5, incorrect=0)
    conn = data.load()
    lenient = Settings.model_validate({"gates": {"min_tasks": 10, "min_reviewed": 5, "window_days": 30}})
    assert records(metrics.gates(conn, metrics.Filters(), lenient), "agent_id", "gate") == [("a", "pass")]
    assert records(metrics.gates(conn, metrics.Filters(), SETTINGS), "agent_id", "gate") == [
        ("a", "insufficient_data")
    ]


# --- Net Output ----------------------------------------------------------------------------------


def test_net_output_per_team_month(data):
    conn = (
        data.baseline("Steady", headcount=10, routine=1000)
        .baseline("Validated", headcount=5, routine=500)
        .baseline("Grew", headcount=5, routine=500)
        # Steady: 100 x (60 - 12) / 60 = 80 h and 50 x (30 - 6) / 60 = 20 h saved; delegated 100 + 25;
        # headcount 10 on one row, none on the other: 10 x 160 = 1600 h; uplift 100 / 1600 = 0.0625.
        .saved("2025-03", "Steady", tasks=100, baseline=60, minutes=12, headcount=10)
        .saved("2025-03", "Steady", tasks=50, baseline=30, minutes=6)
        # Validated: 300 x 50 / 60 = 250 h over 5 x 160 = 800 h: 0.3125 >= 0.30, headcount 5 <= 5.
        .saved("2025-03", "Validated", tasks=300, baseline=60, minutes=10)
        # Grew: 330 x 60 / 60 = 330 h over 6 x 160 = 960 h: 0.34375, but 6 people against a baseline of 5.
        .saved("2025-03", "Grew", tasks=330, baseline=60, minutes=0, headcount=6)
        # No baseline and no headcount: capacity unknown. Headcount but no baseline: uplift, never validated.
        .saved("2025-03", "Unknown", tasks=60, baseline=60, minutes=0)
        .saved("2025-03", "NoBaseline", tasks=256, baseline=60, minutes=0, headcount=4)
        .load()
    )
    frame = metrics.net_output_teams(conn, metrics.Filters(), SETTINGS)

    assert records(
        frame,
        "team",
        "delegated_hours",
        "hours_saved",
        "headcount",
        "capacity_hours",
        "net_output_uplift",
        "has_validated_net_output",
        "has_grown_headcount",
    ) == [
        ("Grew", 330.0, 330.0, 6, 960.0, 0.34375, False, True),
        ("NoBaseline", 256.0, 256.0, 4, 640.0, 0.4, False, False),
        ("Steady", 125.0, 100.0, 10, 1600.0, 0.0625, False, False),
        ("Unknown", 60.0, 60.0, None, None, None, False, False),
        ("Validated", 300.0, 250.0, 5, 800.0, 0.3125, True, False),
    ]
    summary = metrics.net_output(conn, metrics.Filters(), SETTINGS)
    # Over team-months with a capacity: (330 + 256 + 100 + 250) / (960 + 640 + 1600 + 800) = 936 / 4000.
    assert records(
        summary, "function", "hours_saved", "net_output_uplift", "validated_teams", "teams_grew_headcount"
    ) == [("Marketing", 996.0, 0.234, 1, 1)]


def test_net_output_uplift_at_the_validation_bound(data):
    # 240 h over 5 x 160 = 800 h is exactly 0.30.
    conn = data.baseline("Edge", headcount=5, routine=500).saved("2025-03", "Edge", 240, 60, 0).load()
    frame = metrics.net_output_teams(conn, metrics.Filters(), SETTINGS)
    assert records(frame, "net_output_uplift", "has_validated_net_output") == [(0.3, True)]


# --- adoption ------------------------------------------------------------------------------------


def test_phase_boundaries_and_the_cap(data):
    # Routine 1000 h; baseline minutes 60, so tasks are delegated hours.
    data.baseline("A-team", 10, 1000, function="A")
    months = {
        "2025-01": 99.9,
        "2025-02": 100,
        "2025-03": 149.9,
        "2025-04": 150,
        "2025-05": 599.9,
        "2025-06": 600,
        "2025-07": 1500,
    }
    for month, hours in months.items():
        data.saved(month, "A-team", tasks=1, baseline=hours * 60, minutes=0, function="A")
    conn = data.load()

    frame = metrics.adoption(conn, metrics.Filters(), SETTINGS)

    assert [
        (row.month.strftime("%Y-%m"), round(row.offloaded_share, 4), row.phase) for row in frame.itertuples()
    ] == [
        ("2025-01", 0.0999, "pilot_plateau"),
        ("2025-02", 0.1, "crossing_point"),
        ("2025-03", 0.1499, "crossing_point"),
        ("2025-04", 0.15, "acceleration"),
        ("2025-05", 0.5999, "acceleration"),
        ("2025-06", 0.6, "saturation"),
        ("2025-07", 1.0, "saturation"),
    ]


def _cascade_data(data: Data, first_validated: str = "2024-01-15") -> Data:
    """Functions A, B, C with 1000 routine hours each, D without a baseline."""
    for function in "ABC":
        data.baseline(f"{function}-team", 10, 1000, function=function)
    shares = {  # delegated hours per month
        "A": {"2025-01": 50, "2025-02": 100, "2025-03": 140, "2025-04": 150, "2025-05": 300, "2025-06": 350},
        "B": {"2025-01": 80, "2025-02": 120, "2025-03": 150, "2025-04": 300, "2025-05": 400, "2025-06": 450},
        "C": {"2025-02": 10, "2025-03": 200, "2025-04": 390, "2025-05": 410, "2025-06": 500},
    }
    for function, months in shares.items():
        for month, hours in months.items():
            data.saved(month, f"{function}-team", tasks=int(hours), baseline=60, minutes=0, function=function)
    data.usage("2025-06-15", "d1", function="D", bu="Elsewhere")
    data.event("v1", "validated", first_validated, "Consumer", function="A")
    return data


def test_cascade_crossing_and_rank(data):
    conn = _cascade_data(data).load()
    frame = metrics.cascade(conn, metrics.Filters(as_of=D(2025, 6, 30)), SETTINGS)
    # B and C first reach 0.15 in March (rank 1), A in April (rank 2); D has no baseline.
    assert records(frame, "function", "crossed_on", "cascade_rank") == [
        ("B", pd_ts("2025-03-01"), 1),
        ("C", pd_ts("2025-03-01"), 1),
        ("A", pd_ts("2025-04-01"), 2),
        ("D", None, None),
    ]
    assert records(frame, "function", "phase") == [
        ("B", "acceleration"),
        ("C", "acceleration"),
        ("A", "acceleration"),
        ("D", None),
    ]


def test_scale_and_a_fast_trajectory(data):
    conn = _cascade_data(data).load()
    org = metrics.adoption_org(conn, metrics.Filters(as_of=D(2025, 6, 30)), SETTINGS)
    # Two functions at >= 0.40 first in May (B 0.40, C 0.41); in April only C is near (0.39).
    at_scale = {
        row.month.strftime("%Y-%m"): (row.functions_at_scale, row.is_at_scale) for row in org.itertuples()
    }
    assert at_scale["2025-04"] == (0, False)
    assert at_scale["2025-05"] == (2, True)
    assert at_scale["2025-06"] == (2, True)
    program = metrics.program(conn, metrics.Filters(as_of=D(2025, 6, 30)), SETTINGS)
    # June: (350 + 450 + 500) / 3000 = 0.4333 organisation share; first validated 2024-01: 17 months to
    # 2025-06 and 16 to the first month at scale, 2025-05.
    assert program["offloaded_share"] == pytest.approx(1300 / 3000)
    assert (program["phase"], program["functions_at_scale"], program["is_at_scale"]) == (
        "acceleration",
        2,
        True,
    )
    assert (program["months_since_first_deployment"], program["time_to_scale_months"]) == (17, 16)
    assert program["trajectory"] == "fast"


@pytest.mark.parametrize(
    ("first_validated", "months_to_scale", "trajectory"),
    [("2023-11-20", 18, "on_track"), ("2022-05-02", 36, "on_track"), ("2022-04-30", 37, "slow")],
)
def test_trajectory_bands_once_at_scale(data, first_validated, months_to_scale, trajectory):
    conn = _cascade_data(data, first_validated=first_validated).load()
    program = metrics.program(conn, metrics.Filters(as_of=D(2025, 6, 30)), SETTINGS)
    assert (program["time_to_scale_months"], program["trajectory"]) == (months_to_scale, trajectory)


@pytest.mark.parametrize(
    ("first_validated", "delegated", "months_since", "trajectory"),
    [
        ("2024-01-10", 50, 17, "in_progress"),  # 17 months, share 0.05
        ("2023-12-10", 50, 18, "in_progress"),  # 18 is not above 18
        ("2023-11-10", 50, 19, "pilot_purgatory"),  # above 18 with a share below 0.10
        ("2023-11-10", 100, 19, "in_progress"),  # share 0.10 is not below 0.10
        ("2022-05-10", 100, 37, "stalled"),  # above 36 without reaching scale
        ("2022-05-10", 50, 37, "pilot_purgatory"),  # purgatory is checked first
    ],
)
def test_trajectory_before_scale(data, first_validated, delegated, months_since, trajectory):
    conn = (
        data.baseline("A-team", 10, 1000, function="A")
        .saved("2025-06", "A-team", tasks=delegated, baseline=60, minutes=0, function="A")
        .event("v1", "validated", first_validated, "Consumer", function="A")
        .load()
    )
    program = metrics.program(conn, metrics.Filters(as_of=D(2025, 6, 30)), SETTINGS)
    assert (program["months_since_first_deployment"], program["is_at_scale"], program["trajectory"]) == (
        months_since,
        False,
        trajectory,
    )


def test_the_program_counts_from_the_selected_agents_own_first_validation(data):
    # Agent a is validated first in BU-A (January: its pilot), again in BU-B (February) and in
    # Finance (February); agent m in BU-B (March). Only a's first validation makes it a pilot.
    conn = (
        data.baseline("T1", 10, 1000, function="Marketing", bu="BU-A")
        .baseline("T2", 5, 500, function="Marketing", bu="BU-B")
        .baseline("F1", 4, 400, function="Finance", bu="FIN-A")
        .event("a", "validated", "2025-01-10", "BU-A")
        .event("a", "validated", "2025-02-20", "BU-B")
        .event("m", "validated", "2025-03-15", "BU-B")
        .event("a", "validated", "2025-02-25", "FIN-A", function="Finance")
        .load()
    )
    as_of = D(2025, 3, 31)
    everyone = metrics.program(conn, metrics.Filters(as_of=as_of), SETTINGS)
    assert (str(everyone["first_deployment_month"])[:7], everyone["months_since_first_deployment"]) == (
        "2025-01",
        2,
    )
    # BU-B piloted only m (March): 0 months, not February's second validation of a.
    unit = metrics.program(conn, metrics.Filters(as_of=as_of, business_units=("BU-B",)), SETTINGS)
    assert (str(unit["first_deployment_month"])[:7], unit["months_since_first_deployment"]) == ("2025-03", 0)
    # Finance piloted no agent: a's function is Marketing, where it was first validated.
    finance = metrics.program(conn, metrics.Filters(as_of=as_of, functions=("Finance",)), SETTINGS)
    assert finance["first_deployment_month"] is None
    assert (finance["months_since_first_deployment"], finance["trajectory"]) == (None, None)


def test_a_function_without_rows_in_a_month_has_share_zero_and_without_baseline_null(data):
    conn = _cascade_data(data).load()
    frame = metrics.adoption(conn, metrics.Filters(as_of=D(2025, 6, 30)), SETTINGS)
    january = {row.function: row.offloaded_share for row in frame.itertuples() if row.month.month == 1}
    assert january["C"] == 0.0
    assert january["D"] != january["D"]  # NaN: no baseline


# --- replication ---------------------------------------------------------------------------------


def test_replication_per_agent(data):
    conn = (
        data.event("r1", "deployed", "2025-01-05", "Q")  # before validation: not counted
        .event("r1", "validated", "2025-01-10", "P")  # the pilot unit is P
        .event("r1", "deployed", "2025-01-20", "P")  # the pilot unit itself: not counted
        .event("r1", "validated", "2025-02-01", "Z")  # a second validation: the first counts
        .event("r1", "deployed", "2025-02-09", "Q")  # first replication, 30 days after validation
        .event("r1", "deployed", "2025-03-01", "R")
        .event("r1", "deployed", "2025-03-05", "Q")  # Q again: still two units
        .event("r2", "validated", "2025-01-01", "P")  # never replicated
        .event("r3", "validated", "2025-03-01", "P")
        .event("r3", "deployed", "2025-04-15", "Q")  # after as_of: not yet
        .load()
    )
    frame = metrics.replication(conn, metrics.Filters(as_of=D(2025, 3, 31)), SETTINGS)
    rows = [
        (
            row.agent_id,
            row.pilot_unit,
            row.validated_on.date(),
            row.first_replicated_on,
            row.replication_days,
            row.replications,
            row.waiting_days,
        )
        for row in frame.astype(object).where(frame.notna(), None).itertuples()
    ]
    assert [(a, p, v, None if f is None else f.date(), d, n, w) for a, p, v, f, d, n, w in rows] == [
        ("r1", "P", D(2025, 1, 10), D(2025, 2, 9), 30, 2, None),
        ("r2", "P", D(2025, 1, 1), None, None, 0, 89),
        ("r3", "P", D(2025, 3, 1), None, None, 0, 30),
    ]


def _replication_times(data: Data, function: str, replicated: list[int], censored: list[int]) -> None:
    """Agents validated on 2025-01-01 in P; as_of is 2025-12-31, so an agent censored at d days is
    validated d days before it instead."""
    as_of = D(2025, 12, 31)
    for index, days in enumerate(replicated):
        agent = f"{function}-e{index}"
        data.event(agent, "validated", "2025-01-01", "P", function=function)
        data.event(
            agent, "deployed", (D(2025, 1, 1) + dt.timedelta(days=days)).isoformat(), "Q", function=function
        )
    for index, days in enumerate(censored):
        agent = f"{function}-c{index}"
        data.event(agent, "validated", (as_of - dt.timedelta(days=days)).isoformat(), "P", function=function)


def test_kaplan_meier_medians(data):
    # Ties: events at 10, 10, 20 and censorings at 10, 30. At 10 all five are at risk (the censored one
    # too): S = 1 - 2/5 = 0.6. At 20 two are at risk: S = 0.6 x 1/2 = 0.3, so the KM median is 20; the
    # plain median of 10, 10, 20 is 10. (Censoring first at 10 would give 1 - 2/4 = 0.5 and a median 10.)
    _replication_times(data, "Ties", replicated=[10, 10, 20], censored=[10, 30])
    # All censored: no replicated agent, no median of either kind.
    _replication_times(data, "Waiting", replicated=[], censored=[5, 40])
    # Never reaches 0.5: one event at 5 among four agents, S = 0.75 after it.
    _replication_times(data, "Slow", replicated=[5], censored=[50, 60, 70])
    conn = data.load()

    summary = metrics.replication_summary(conn, metrics.Filters(as_of=D(2025, 12, 31)), SETTINGS)
    clean = summary.astype(object).where(summary.notna(), None)
    assert records(
        clean,
        "function",
        "validated_agents",
        "replicated_agents",
        "median_replication_days",
        "km_median_replication_days",
    ) == [
        ("Slow", 4, 1, 5.0, None),
        ("Ties", 5, 3, 10.0, 20),
        ("Waiting", 2, 0, None, None),
    ]
    # Still waiting: Slow's 3 censored, Ties' 2, Waiting's 2.
    assert records(summary, "function", "waiting_agents") == [("Slow", 3), ("Ties", 2), ("Waiting", 2)]
    curve = metrics.replication_curve(conn, metrics.Filters(as_of=D(2025, 12, 31)), SETTINGS)
    ties = curve[curve["function"] == "Ties"]
    assert records(ties, "days", "replicated", "censored", "at_risk") == [
        (10, 2, 1, 5),
        (20, 1, 0, 2),
        (30, 0, 1, 1),
    ]
    assert list(ties["survival"]) == pytest.approx([0.6, 0.3, 0.3])


def test_kaplan_meier_at_exactly_one_half(data):
    # Events at 10 and 20 among four, no censoring: S(10) = 3/4, S(20) = 3/4 x 2/3 = 1/2: the median is 20.
    _replication_times(data, "Half", replicated=[10, 20, 30, 40], censored=[])
    conn = data.load()
    summary = metrics.replication_summary(conn, metrics.Filters(as_of=D(2025, 12, 31)), SETTINGS)
    assert records(summary, "km_median_replication_days", "median_replication_days") == [(20, 25.0)]


def test_replication_counts_agents_validated_in_the_range(data):
    _replication_times(data, "Ties", replicated=[10, 20], censored=[])
    data.event("late", "validated", "2025-06-01", "P", function="Ties")
    conn = data.load()
    in_june = metrics.Filters(as_of=D(2025, 12, 31), date_from=D(2025, 6, 1))
    assert records(metrics.replication_summary(conn, in_june, SETTINGS), "function", "validated_agents") == [
        ("Ties", 1)
    ]


# --- finance -------------------------------------------------------------------------------------


def test_finance_per_function_month_and_total(data):
    conn = (
        data.baseline("T1", headcount=5, routine=500, rate="50")
        # March: T1 60 x (30 - 10) / 60 = 20 h x $50 = $1000; Tx has no baseline: 30 x 20 / 60 = 10 h x $60.
        .saved("2025-03", "T1", tasks=60, baseline=30, minutes=10)
        .saved("2025-03", "Tx", tasks=30, baseline=20, minutes=0)
        .usage("2025-03-10", "a1", cost="25.00", count=4)
        # April: T1 6 x 20 / 60 = 2 h x $50 = $100 against $300 of agents: negative, so no pool.
        .saved("2025-04", "T1", tasks=6, baseline=30, minutes=10)
        .usage("2025-04-10", "a1", cost="50.00", count=6)
        .load()
    )
    months = metrics.finance(conn, metrics.Filters(), SETTINGS, exact=True)
    assert records(
        months, "month", "labor_value_usd", "agent_cost_usd", "net_savings_usd", "reinvestment_pool_usd"
    ) == [
        (D(2025, 3, 1), Decimal("1600"), Decimal("100"), Decimal("1500"), Decimal("375")),
        (D(2025, 4, 1), Decimal("100"), Decimal("300"), Decimal("-200"), Decimal("0")),
    ]
    total = metrics.finance_summary(conn, metrics.Filters(), SETTINGS, exact=True)
    # Pool: 375 + 0, not 0.25 x 1300. ROI 1300 / 400. $400 over 10 tasks. Human: (60 x 0.5 x 50 +
    # 30 x 20/60 x 60 + 6 x 0.5 x 50) / 96 = 2250 / 96.
    assert records(
        total, "labor_value_usd", "agent_cost_usd", "net_savings_usd", "reinvestment_pool_usd"
    ) == [(Decimal("1700"), Decimal("400"), Decimal("1300"), Decimal("375"))]
    assert records(total, "roi", "agent_cost_per_task", "human_cost_per_task") == [(3.25, 40.0, 2250 / 96)]


def test_roi_is_undefined_without_cost(data):
    conn = data.baseline("T1", 5, 500, rate="50").saved("2025-03", "T1", 60, 30, 10).load()
    total = metrics.finance_summary(conn, metrics.Filters(), SETTINGS)
    assert total["roi"].isna().all()
    assert total["agent_cost_per_task"].isna().all()


# --- filters and defaults --------------------------------------------------------------------------


def test_as_of_defaults_to_the_latest_date_and_the_range_to_all_data(data):
    conn = (
        data.usage("2025-03-10", "a1")
        .saved("2025-02", "T", 1, 10, 5)
        .event("a", "validated", "2025-04-02", "P")
        .load()
    )
    resolved = metrics.Filters().resolve(conn)
    assert (resolved.as_of, resolved.date_from, resolved.date_to) == (
        D(2025, 4, 2),
        D(2025, 2, 1),
        D(2025, 4, 2),
    )


def test_a_range_ending_before_it_starts_is_refused(data):
    conn = data.usage("2025-03-10", "a1").load()
    with pytest.raises(metrics.FilterError, match="is after"):
        metrics.Filters(date_from=D(2025, 5, 1), date_to=D(2025, 4, 1)).resolve(conn)


def test_function_and_business_unit_filters_narrow_every_table(data):
    conn = (
        data.usage("2025-03-01", "m1", function="Marketing", bu="Consumer")
        .usage("2025-03-01", "m2", function="Marketing", bu="Pro")
        .usage("2025-03-01", "s1", function="Sales Operations", bu="Consumer")
        .saved("2025-03", "Brand", 10, 60, 0, function="Marketing", bu="Consumer")
        .saved("2025-03", "Deals", 10, 60, 0, function="Sales Operations", bu="Consumer")
        .event("m1", "validated", "2025-03-01", "Consumer", function="Marketing")
        .event("s1", "validated", "2025-03-01", "Consumer", function="Sales Operations")
        .baseline("Brand", 5, 100, function="Marketing", bu="Consumer")
        .baseline("Deals", 5, 100, function="Sales Operations", bu="Consumer")
        .load()
    )
    marketing = metrics.Filters(functions=("Marketing",))
    assert metrics.functions(conn, marketing) == ["Marketing"]
    assert set(metrics.usage(conn, marketing, SETTINGS)["function"]) == {"Marketing"}
    assert set(metrics.gates(conn, marketing, SETTINGS)["agent_id"]) == {"m1", "m2"}
    assert set(metrics.net_output_teams(conn, marketing, SETTINGS)["team"]) == {"Brand"}
    assert set(metrics.adoption(conn, marketing, SETTINGS)["function"]) == {"Marketing"}
    assert set(metrics.replication(conn, marketing, SETTINGS)["agent_id"]) == {"m1"}
    assert set(metrics.finance(conn, marketing, SETTINGS)["function"]) == {"Marketing"}
    assert set(metrics.agents(conn, marketing, SETTINGS)["agent_id"]) == {"m1", "m2"}
    pro = metrics.Filters(business_units=("Pro",))
    assert records(metrics.usage(conn, pro, SETTINGS, by=("business_unit",)), "business_unit", "tasks") == [
        ("Pro", 1)
    ]
    assert metrics.net_output_teams(conn, pro, SETTINGS).empty
    assert set(metrics.agents(conn, pro, SETTINGS)["agent_id"]) == {"m2"}


def test_data_quality_counts_every_load(data, tmp_path):
    conn = data.usage("2025-03-01", "a1").load()
    path = write_csv(
        tmp_path / "more.csv", [{**schema.UsageEvent.example, "status": "?"}, schema.UsageEvent.example]
    )
    ingest.load_file(conn, path)
    assert metrics.data_quality(conn) == {
        "rows_read": 3,
        "accepted": 2,
        "duplicate": 0,
        "conflict": 0,
        "rejected": 1,
    }


def test_a_value_exactly_on_a_threshold_counts_despite_floating_point(data):
    # 360 x (10.2 - 2.2) / 60 = 48 h over 1 x 160 h is 0.30 on paper and 0.29999999999999993 in doubles.
    # 1 x 8.1 / 60 = 0.135 h over 0.9 routine hours is 0.15 on paper and 0.14999999999999997 in doubles.
    conn = (
        data.baseline("Edge", headcount=1, routine=0.9)
        .saved("2025-03", "Edge", tasks=360, baseline=10.2, minutes=2.2, headcount=1, function="Other")
        .baseline("Thin", headcount=1, routine=0.9, function="Thin")
        .saved("2025-03", "Thin", tasks=1, baseline=8.1, minutes=0, function="Thin")
        .load()
    )
    teams = metrics.net_output_teams(conn, metrics.Filters(), SETTINGS)
    edge = teams[teams["team"] == "Edge"]
    assert records(edge, "has_validated_net_output") == [(True,)]
    assert edge["net_output_uplift"].iloc[0] < 0.3
    cascade = metrics.cascade(conn, metrics.Filters(), SETTINGS)
    thin = cascade[cascade["function"] == "Thin"]
    assert records(thin, "phase", "crossed_on") == [("acceleration", pd_ts("2025-03-01"))]


def test_an_agent_failing_the_gate_is_listed_whatever_the_range(data):
    # The range ends in March; as_of is June 30, and the agent only ran (badly) in June.
    data.gated("late", "2025-06-10", tasks=60, completed=60, correct=5, incorrect=20)
    data.usage("2025-03-01", "early")
    conn = data.load()
    march = metrics.Filters(as_of=D(2025, 6, 30), date_from=D(2025, 3, 1), date_to=D(2025, 3, 31))

    assert records(
        metrics.cull_list(metrics.agents(conn, march, SETTINGS)), "agent_id", "gate", "range_tasks"
    ) == [("late", "fail", 0)]
    assert set(metrics.agents(conn, march, SETTINGS)["agent_id"]) == {"early", "late"}


def test_an_agents_tasks_count_the_days_of_months_the_range_or_as_of_cuts(data):
    # a1 ran 2 tasks on Jan 15, 3 on Feb 10, 4 on Feb 20 and 5 on Mar 5; a2 (Sales) 1 on Feb 25.
    data.usage("2025-01-15", "a1", count=2).usage("2025-02-10", "a1", count=3)
    data.usage("2025-02-20", "a1", count=4).usage("2025-03-05", "a1", count=5)
    conn = data.usage("2025-02-25", "a2", function="Sales Operations").load()

    def range_tasks(filters: metrics.Filters) -> dict[str, int]:
        agents = metrics.agents(conn, filters, SETTINGS)
        return dict(zip(agents["agent_id"], agents["range_tasks"], strict=True))

    history = D(2025, 1, 1)
    # From the middle of February to its end, as_of in March: Feb 20 and Feb 25 only.
    late_february = metrics.Filters(
        as_of=D(2025, 3, 10), date_from=D(2025, 2, 15), date_to=D(2025, 2, 28), history_from=history
    )
    assert range_tasks(late_february) == {"a1": 4, "a2": 1}
    # January to as_of on Feb 15: Jan 15 and Feb 10; the later days are after as_of.
    to_mid_february = metrics.Filters(as_of=D(2025, 2, 15), date_from=D(2025, 1, 1), date_to=D(2025, 2, 15))
    assert range_tasks(to_mid_february) == {"a1": 5}
    # February whole, as_of on Mar 5: its three days; March is outside the range.
    february = metrics.Filters(as_of=D(2025, 3, 5), date_from=D(2025, 2, 1), date_to=D(2025, 2, 28))
    assert range_tasks(february) == {"a1": 7, "a2": 1}
    # Only Sales Operations: a1 is not in the selection.
    assert range_tasks(dataclasses.replace(february, functions=("Sales Operations",))) == {"a2": 1}


def test_team_labels_carry_the_business_unit_and_the_function_where_needed():
    import pandas as pd

    teams = pd.DataFrame(
        {"function": ["Support", "Support", "Sales", "Support"], "business_unit": ["Care", "Desk", "Care", "Care"],
         "team": ["Tier 1", "Tier 1", "Ops", "Ops"]}
    )  # fmt: skip
    assert metrics.team_labels(teams)["team_label"].tolist() == [
        "Tier 1 · Care", "Tier 1 · Desk", "Ops · Care · Sales", "Ops · Care · Support",
    ]  # fmt: skip


def test_presets_are_whole_months_ending_with_the_as_of_month():
    as_of, first = dt.date(2025, 5, 20), dt.date(2024, 1, 1)
    assert {preset: metrics.preset_range(preset, as_of, first) for preset in metrics.PRESETS} == {
        "All data": (first, as_of),
        "This quarter": (dt.date(2025, 4, 1), as_of),
        "Last quarter": (dt.date(2025, 1, 1), dt.date(2025, 3, 31)),
        "Last 3 months": (dt.date(2025, 3, 1), as_of),
        "Last 12 months": (dt.date(2024, 6, 1), as_of),
        "Year to date": (dt.date(2025, 1, 1), as_of),
    }
    assert metrics.preset_range("Last quarter", dt.date(2025, 2, 1), first) == (
        dt.date(2024, 10, 1), dt.date(2024, 12, 31),
    )  # fmt: skip


# --- figures with no test of their own before: each expected value worked out by hand -------------


def test_hours_by_agent_over_the_range(data):
    conn = (
        # a1 in Brand: delegated 60 x 30 / 60 = 30 h, saved 60 x (30 - 10) / 60 = 20 h.
        data.saved("2025-03", "Brand", tasks=60, baseline=30, minutes=10, agent="a1")
        # a1 in Web: delegated 30 x 60 / 60 = 30 h, saved 30 x (60 - 20) / 60 = 20 h.
        .saved("2025-03", "Web", tasks=30, baseline=60, minutes=20, agent="a1")
        # a2 in Brand: delegated and saved 12 x 50 / 60 = 10 h.
        .saved("2025-04", "Brand", tasks=12, baseline=50, minutes=0, agent="a2")
        # May is outside the range: not counted.
        .saved("2025-05", "Brand", tasks=600, baseline=60, minutes=0, agent="a1")
        .load()
    )
    spring = metrics.Filters(date_from=D(2025, 3, 1), date_to=D(2025, 4, 30))
    frame = metrics.hours_by_agent(conn, spring, SETTINGS)
    # a1: 30 + 30 delegated, 20 + 20 saved, 60 + 30 tasks, teams Brand and Web; a2 as above.
    assert records(frame, "agent_id", "delegated_hours", "hours_saved", "documented_tasks", "teams") == [
        ("a1", 60.0, 40.0, 90, 2),
        ("a2", 10.0, 10.0, 12, 1),
    ]


def test_replication_trend_per_validation_quarter(data):
    conn = (
        # Validated before the range: not counted.
        data.event("v0", "validated", "2024-12-31", "Consumer")
        .event("v0", "deployed", "2025-01-05", "Sales")
        # Q1: v1 copied after 30 days (10 Jan to 9 Feb), v2 after 28 + 31 + 30 + 31 = 120 days, v3 never.
        .event("v1", "validated", "2025-01-10", "Consumer")
        .event("v1", "deployed", "2025-02-09", "Sales")
        .event("v2", "validated", "2025-02-01", "Consumer")
        .event("v2", "deployed", "2025-06-01", "Sales")
        .event("v3", "validated", "2025-03-31", "Consumer")
        # Q2: v4's deployment in its own pilot unit does not count; Retail 10 days after validation does.
        .event("v4", "validated", "2025-04-01", "Consumer")
        .event("v4", "deployed", "2025-04-02", "Consumer")
        .event("v4", "deployed", "2025-04-11", "Retail")
        .load()
    )
    half = metrics.Filters(as_of=D(2025, 6, 30), date_from=D(2025, 1, 1), date_to=D(2025, 6, 30))
    frame = metrics.replication_trend(conn, half, SETTINGS)
    # Q1: 3 validated, 2 replicated, median of 30 and 120 = 75, one of three within 90 days.
    # Q2: 1 validated, 1 replicated after 10 days, within 90 days.
    # Kaplan-Meier: Q1 at 30 days 2 of 3 left (2/3), v3 still waiting at 91 days (as_of), v2 copied
    # at 120 days, the last at risk: the curve reaches a half at 120, where the plain median says 75.
    assert records(
        frame,
        "quarter",
        "validated_agents",
        "replicated_agents",
        "median_replication_days",
        "replicated_within_90_days",
        "km_median_replication_days",
    ) == [("2025-Q1", 3, 2, 75.0, pytest.approx(1 / 3), 120), ("2025-Q2", 1, 1, 10.0, 1.0, 10)]


def test_finance_trend_builds_the_pool_month_by_month(data):
    conn = (
        data.baseline("Brand", 10, 1000, rate="60")
        .baseline("Deals", 10, 1000, rate="50", function="Sales", bu="Sales")
        # March, Marketing: 60 h x $60 = $3600 against $100 of usage: net $3500, pool 0.25 x 3500 = $875.
        .saved("2025-03", "Brand", tasks=60, baseline=60, minutes=0)
        .usage("2025-03-10", "a1", cost="100")
        # March, Sales: 10 h x $50 = $500 against $800: net -$300, pool 0 (never negative).
        .saved("2025-03", "Deals", tasks=10, baseline=60, minutes=0, function="Sales", bu="Sales")
        .usage("2025-03-10", "s1", function="Sales", bu="Sales", team="Deals", cost="800")
        # April, Marketing: no savings, $20 of usage: net -$20, pool 0.
        .usage("2025-04-10", "a1", cost="20")
        # May, Marketing: 30 h x $60 = $1800 at no cost: net $1800, pool 0.25 x 1800 = $450.
        .saved("2025-05", "Brand", tasks=30, baseline=60, minutes=0)
        .load()
    )
    frame = metrics.finance_trend(conn, metrics.Filters(), SETTINGS, exact=True)
    # March sums both functions: labor 3600 + 500, cost 100 + 800, net 3500 - 300, but the pool is
    # the sum of the function-months' pools (875 + 0), not 0.25 x 3200. Cumulative: 875, 875, 875 + 450.
    assert [
        (month.strftime("%Y-%m"), labor, cost, net, pool, cumulative)
        for month, labor, cost, net, pool, cumulative in records(
            frame,
            "month",
            "labor_value_usd",
            "agent_cost_usd",
            "net_savings_usd",
            "reinvestment_pool_usd",
            "cumulative_pool_usd",
        )
    ] == [
        ("2025-03", Decimal(4100), Decimal(900), Decimal(3200), Decimal(875), Decimal(875)),
        ("2025-04", Decimal(0), Decimal(20), Decimal(-20), Decimal(0), Decimal(875)),
        ("2025-05", Decimal(1800), Decimal(0), Decimal(1800), Decimal(450), Decimal(1325)),
    ]


def test_adoption_org_names_the_leading_and_lagging_function_and_the_gap(data):
    conn = _cascade_data(data).load()
    frame = metrics.adoption_org(conn, metrics.Filters(as_of=D(2025, 6, 30)), SETTINGS)
    picked = {
        row[0].strftime("%Y-%m"): row[1:]
        for row in records(
            frame, "month", "leading_function", "leading_share", "lagging_function", "lagging_share", "gap"
        )
    }
    # Routine 1000 h each; D has no baseline and is never leading or lagging.
    # 2024-01 (the first validation's month): every share 0; ties go to the later name when leading
    # and the earlier name when lagging.
    assert picked["2024-01"] == ("C", 0.0, "A", 0.0, 0.0)
    # 2025-01: A 50 / 1000, B 80 / 1000, C nothing yet.
    assert picked["2025-01"] == ("B", 0.08, "C", 0.0, 0.08)
    # 2025-03: A 0.14, B 0.15, C 0.20: gap 0.06.
    assert picked["2025-03"] == ("C", 0.2, "A", 0.14, pytest.approx(0.06))
    # 2025-06: A 0.35, B 0.45, C 0.50: gap 0.15.
    assert picked["2025-06"] == ("C", 0.5, "A", 0.35, pytest.approx(0.15))


def test_in_plateau_lists_the_functions_below_the_pilot_bound(data):
    conn = _cascade_data(data).load()
    frame = metrics.cascade(conn, metrics.Filters(as_of=D(2025, 2, 28)), SETTINGS)
    # February: A 100 / 1000 = 0.10 and B 0.12 are at the crossing point; C 10 / 1000 = 0.01 is on the
    # plateau; D has no baseline, so no phase.
    assert records(metrics.in_plateau(frame), "function", "offloaded_share") == [("C", 0.01)]


def test_team_leaderboard_and_grown_teams(data):
    conn = (
        data.baseline("Validated", headcount=5, routine=500)
        .baseline("Better", headcount=5, routine=500)
        .baseline("Grew", headcount=5, routine=500)
        .baseline("Bigger", headcount=5, routine=500)
        .baseline("Steady", headcount=10, routine=1000)
        # 250 h over 5 x 160 = 800 h: 0.3125, validated.
        .saved("2025-03", "Validated", tasks=300, baseline=60, minutes=10)
        # 288 h over 800 h: 0.36, validated, and better than Validated.
        .saved("2025-03", "Better", tasks=288, baseline=60, minutes=0)
        # 330 h over 6 x 160 = 960 h: 0.34375, but 6 people against 5: grew, not validated.
        .saved("2025-03", "Grew", tasks=330, baseline=60, minutes=0, headcount=6)
        # 60 h over 7 x 160 = 1120 h, 7 people against 5: grew.
        .saved("2025-03", "Bigger", tasks=60, baseline=60, minutes=0, headcount=7)
        # 100 h over 1600 h: 0.0625, neither.
        .saved("2025-03", "Steady", tasks=100, baseline=60, minutes=0)
        .load()
    )
    teams = metrics.net_output(conn, metrics.Filters(), SETTINGS, by=metrics.TEAMS)
    assert records(metrics.team_leaderboard(teams), "team", "best_uplift", "validated_teams") == [
        ("Better", 0.36, 1),
        ("Validated", 0.3125, 1),
    ]
    assert records(metrics.grown_teams(teams), "team", "teams_grew_headcount") == [("Bigger", 1), ("Grew", 1)]


def test_catalog_and_the_validated_agents_to_replicate(data):
    conn = (
        data.agent("c1", "Marketing", name="Writer")
        .agent("c2", "Finance", name="Analyst")
        .agent("c3", "Sales", name="Router")
        # c1: validated in Consumer, copied to Sales; 16 of 20 reviewed correct, 45 of 50 completed: pass.
        .event("c1", "validated", "2025-02-01", "Consumer")
        .event("c1", "deployed", "2025-03-03", "Sales")
        .gated("c1", "2025-03-15", tasks=50, completed=45, correct=16, incorrect=4)
        # c1 saved 60 x (30 - 10) / 60 = 20 h in one team.
        .saved("2025-03", "Brand", tasks=60, baseline=30, minutes=10, agent="c1")
        # c3: validated in Sales under the Support function, never copied, no usage.
        .event("c3", "validated", "2025-03-10", "Sales", function="Support")
        # x9 is validated (in Marketing, the event's function) but has no catalog row: listed all the
        # same, so every page counts the same validated agents; no name, so after c1 within Marketing.
        .event("x9", "validated", "2025-03-11", "Sales")
        .load()
    )
    filters = metrics.Filters(as_of=D(2025, 3, 31), date_from=D(2025, 1, 1), date_to=D(2025, 3, 31))
    frame = metrics.catalog(conn, filters, SETTINGS)
    # Validated first, then by function (the validation's, else the owner's) and name.
    assert records(
        frame,
        "agent_id",
        "function",
        "validated_on",
        "first_replicated_on",
        "replications",
        "gate",
        "hours_saved",
        "teams",
        "is_validated",
    ) == [
        ("c1", "Marketing", pd_ts("2025-02-01"), pd_ts("2025-03-03"), 1, "pass", 20.0, 1, True),
        # No usage at all: too little data for the gate.
        ("x9", "Marketing", pd_ts("2025-03-11"), None, 0, "insufficient_data", 0.0, 0, True),
        ("c3", "Support", pd_ts("2025-03-10"), None, 0, "insufficient_data", 0.0, 0, True),
        ("c2", "Finance", None, None, None, None, 0.0, 0, False),
    ]
    assert list(metrics.validated_catalog(frame)["agent_id"]) == ["c1", "x9", "c3"]


def test_the_catalog_counts_units_that_run_or_save_with_an_agent_without_a_recorded_deployment(data):
    conn = (
        data.agent("u1", "Marketing", name="Writer")
        .agent("u3", "Marketing", name="Drafter")
        # u1: validated in Consumer, deployed in Sales; a Retail event before validation and an Ops
        # event after as_of are not deployments replication counts.
        .event("u1", "validated", "2025-02-01", "Consumer", team="Brand")
        .event("u1", "deployed", "2025-03-03", "Sales")
        .event("u1", "deployed", "2025-01-10", "Retail")
        .event("u1", "deployed", "2025-04-02", "Ops")
        # Savings with u1: the pilot unit (not elsewhere), Sales (deployed), Corporate (nothing
        # recorded), two Retail teams (one unit), Ops: three units without a deployment.
        .saved("2025-03", "Brand", tasks=10, baseline=30, minutes=10, agent="u1")
        .saved("2025-03", "Deals", tasks=10, baseline=30, minutes=10, bu="Sales", agent="u1")
        .saved("2025-03", "Ledger", tasks=10, baseline=30, minutes=10, bu="Corporate", agent="u1")
        .saved("2025-03", "Shops", tasks=10, baseline=30, minutes=10, bu="Retail", agent="u1")
        .saved("2025-02", "Online", tasks=10, baseline=30, minutes=10, bu="Retail", agent="u1")
        .saved("2025-03", "Plants", tasks=10, baseline=30, minutes=10, bu="Ops", agent="u1")
        # Corporate's December savings are outside the chosen months.
        .saved("2024-12", "Audit", tasks=10, baseline=30, minutes=10, bu="Corporate", agent="u1")
        # Runs count as use too: Labs ran u1 in March without documenting savings; Sales' runs are
        # its deployment's, Corporate's add nothing to its savings.
        .usage("2025-03-20", "u1", bu="Labs", team="Bench")
        .usage("2025-03-21", "u1", bu="Sales", team="Deals")
        .usage("2025-03-22", "u1", bu="Corporate", team="Ledger")
        # u2: validated, used only in its pilot unit; u3 is catalogued and never validated.
        .event("u2", "validated", "2025-02-05", "Consumer", team="Brand")
        .saved("2025-03", "Growth", tasks=10, baseline=30, minutes=10, agent="u2")
        .load()
    )
    filters = metrics.Filters(as_of=D(2025, 3, 31), date_from=D(2025, 1, 1), date_to=D(2025, 3, 31))
    frame = metrics.catalog(conn, filters, SETTINGS).sort_values("agent_id")
    assert records(frame, "agent_id", "replications", "units_without_deployment") == [
        ("u1", 1, 4),
        ("u2", 0, 0),
        ("u3", None, None),
    ]
    undeployed = metrics.replication_undeployed(conn, filters, SETTINGS)
    assert [
        (row.agent_id, list(row.business_units_without_deployment)) for row in undeployed.itertuples()
    ] == [("u1", ["Corporate", "Labs", "Ops", "Retail"])]
    # February alone: only Retail's Online team saved hours with u1 outside its pilot unit.
    february = metrics.Filters(as_of=D(2025, 3, 31), date_from=D(2025, 2, 1), date_to=D(2025, 2, 28))
    frame = metrics.catalog(conn, february, SETTINGS)
    assert records(frame[frame["agent_id"] == "u1"], "units_without_deployment") == [(1,)]


def test_the_catalog_proves_an_agent_by_its_pilot_teams_net_output(data):
    conn = (
        data.baseline("Brand", headcount=5, routine=500)  # 5 x 160 = 800 h a month
        .baseline("Even", headcount=5, routine=500)
        .baseline("Grew", headcount=5, routine=500)
        # p1: validated by Brand. February: 300 x (60 - 10) / 60 = 250 h of 800, uplift 0.3125.
        .event("p1", "validated", "2025-02-01", "Consumer", team="Brand")
        .saved("2025-02", "Brand", tasks=300, baseline=60, minutes=10, agent="p1")
        # March: p1 120 h and another agent 180 h in Brand, 300 h of 800 = 0.375, the best month;
        # p1's 20 h in Growth are not its pilot team's.
        .saved("2025-03", "Brand", tasks=120, baseline=60, minutes=0, agent="p1")
        .saved("2025-03", "Brand", tasks=180, baseline=60, minutes=0, agent="a2")
        .saved("2025-03", "Growth", tasks=60, baseline=30, minutes=10, agent="p1")
        # January: Brand's 0.375 came from a2 alone, so it proves nothing of p1 (it would win the tie).
        .saved("2025-01", "Brand", tasks=300, baseline=60, minutes=0, agent="a2")
        # p2's validation names no team; p3's team documented nothing.
        .event("p2", "validated", "2025-02-10", "Consumer")
        .event("p3", "validated", "2025-02-11", "Consumer", team="Quiet")
        # p4's team saved 160 h of 800 (0.2, under 0.30) in January and in March: the earlier month shows.
        .event("p4", "validated", "2025-01-05", "Consumer", team="Even")
        .saved("2025-01", "Even", tasks=160, baseline=60, minutes=0, agent="p4")
        .saved("2025-03", "Even", tasks=160, baseline=60, minutes=0, agent="p4")
        # p5: 330 h of 6 x 160 = 960 h, 0.34375, but 6 people against a baseline of 5.
        .event("p5", "validated", "2025-02-01", "Consumer", team="Grew")
        .saved("2025-02", "Grew", tasks=330, baseline=60, minutes=0, agent="p5", headcount=6)
        # p6: 200 h of 5 x 160 = 800 h, 0.25, in a team with no baseline row.
        .event("p6", "validated", "2025-02-01", "Consumer", team="Loose")
        .saved("2025-02", "Loose", tasks=200, baseline=60, minutes=0, agent="p6", headcount=5)
        .load()
    )
    filters = metrics.Filters(as_of=D(2025, 3, 31), date_from=D(2025, 1, 1), date_to=D(2025, 3, 31))
    frame = metrics.catalog(conn, filters, SETTINGS).sort_values("agent_id")
    columns = (
        "agent_id",
        "hours_saved",
        "pilot_team",
        "pilot_hours_saved",
        "pilot_months",
        "pilot_best_uplift",
        "pilot_best_month",
        "pilot_best_month_outcome",
        "pilot_validated_months",
    )
    assert records(frame, *columns) == [
        ("p1", 390.0, "Brand", 370.0, 2, 0.375, pd_ts("2025-03-01"), "validated", 2),
        ("p2", 0.0, None, None, None, None, None, None, None),
        ("p3", 0.0, "Quiet", 0.0, 0, None, None, None, 0),
        ("p4", 320.0, "Even", 320.0, 2, 0.2, pd_ts("2025-01-01"), "below_uplift", 0),
        ("p5", 330.0, "Grew", 330.0, 1, 0.34375, pd_ts("2025-02-01"), "grown_headcount", 0),
        ("p6", 200.0, "Loose", 200.0, 1, 0.25, pd_ts("2025-02-01"), "no_baseline", 0),
    ]
    # A range that leaves out the best month shows the best of the months it holds.
    february = metrics.Filters(as_of=D(2025, 3, 31), date_from=D(2025, 2, 1), date_to=D(2025, 2, 28))
    frame = metrics.catalog(conn, february, SETTINGS)
    assert records(frame[frame["agent_id"] == "p1"], *columns[3:]) == [
        (250.0, 1, 0.3125, pd_ts("2025-02-01"), "validated", 1)
    ]


def test_dates_come_from_resolved_filters_only(data):
    conn = data.usage("2025-03-10", "a1").usage("2025-05-20", "a1").load()
    with pytest.raises(metrics.FilterError, match="resolve them"):
        _ = metrics.Filters().dates
    # as_of is the last day of data; the range runs from the first day's month to as_of.
    assert metrics.Filters().resolve(conn).dates == metrics.Dates(
        as_of=D(2025, 5, 20), date_from=D(2025, 3, 1), date_to=D(2025, 5, 20), history_from=D(2025, 3, 1)
    )


def test_the_mentioned_dimensions_name_each_input_once_and_feed_both_filters(data):
    conn = (
        data.usage("2025-03-03", "a1", count=2)  # Marketing, Consumer: one row for two events
        .saved("2025-03", "Field", 10, 30, 10, function="Sales", bu="Retail")
        .event("a1", "validated", "2025-03-05", "Corporate", function="Finance")
        .baseline("Ops", 5, 100, function="Operations", bu="Shared")
        .agent("a2", "Legal")  # a catalog owner without a business unit
        .load()
    )
    rows = metrics.query(conn, "dimensions_mentioned", metrics.Filters(), SETTINGS)
    assert sorted(records(rows, "named_in", "function", "business_unit")) == [
        ("agents", "Legal", None),
        ("org_baseline", "Operations", "Shared"),
        ("replication_events", "Finance", "Corporate"),
        ("time_saved", "Sales", "Retail"),
        ("usage_daily", "Marketing", "Consumer"),
    ]
    # The catalog's owners are functions to choose from, not business units.
    assert metrics.functions(conn, metrics.Filters()) == [
        "Finance",
        "Legal",
        "Marketing",
        "Operations",
        "Sales",
    ]
    assert metrics.business_units(conn, metrics.Filters()) == ["Consumer", "Corporate", "Retail", "Shared"]
    assert metrics.functions(conn, metrics.Filters(business_units=("Retail",))) == ["Sales"]
    assert metrics.business_units(conn, metrics.Filters(functions=("Finance", "Legal"))) == ["Corporate"]


def test_time_saved_in_range_is_the_selection_s_rows_starting_in_the_range(data):
    conn = (
        data.saved("2025-02", "Brand", 10, 30, 10)
        .saved("2025-03", "Brand", 20, 30, 10)
        .saved("2025-03", "Brand", 5, 30, 10)
        .saved("2025-04", "Web", 30, 30, 10)
        .saved("2025-03", "Field", 40, 30, 10, function="Sales", bu="Retail")
        .saved("2025-05", "Brand", 50, 30, 10)
        .load()
    )
    march_april = metrics.Filters(
        as_of=D(2025, 5, 31), date_from=D(2025, 3, 1), date_to=D(2025, 4, 30), functions=("Marketing",)
    )
    rows = metrics.query(conn, "time_saved_in_range", march_april, SETTINGS)
    # February and May start outside the range; Sales is not chosen.
    assert sorted(records(rows, "team", "period_start", "tasks")) == [
        ("Brand", pd.Timestamp("2025-03-01"), 5),
        ("Brand", pd.Timestamp("2025-03-01"), 20),
        ("Web", pd.Timestamp("2025-04-01"), 30),
    ]
    months = metrics.query(conn, "documented_team_months", march_april, SETTINGS)
    assert sorted(records(months, "business_unit", "team", "month")) == [
        ("Consumer", "Brand", pd.Timestamp("2025-03-01")),
        ("Consumer", "Web", pd.Timestamp("2025-04-01")),
    ]
