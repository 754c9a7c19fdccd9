"""Adoption forecasts: a known S-curve is recovered, its crossings projected, noise gets no forecast."""

from __future__ import annotations

import datetime as dt
import json
import math
from importlib import resources
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

from conftest import Data
from offload_metrics import charts, forecast, ingest, metrics, report, store
from offload_metrics.config import Settings

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
SCHEMA = json.loads(resources.files("offload_metrics").joinpath("report.schema.json").read_text())


def months(first: str, count: int) -> list[str]:
    year, month = (int(part) for part in first.split("-"))
    out = []
    for offset in range(count):
        index = year * 12 + month - 1 + offset
        out.append(f"{index // 12:04d}-{index % 12 + 1:02d}")
    return out


def s_curve(data: Data, function: str, team: str, ceiling: float, rate: float, midpoint: float, count: int):
    """A function on a logistic curve over 1,000 routine hours: one 60-minute task is one hour, so
    tasks = 1,000 x share (rounded to whole tasks)."""
    data.baseline(team, headcount=10, routine=1000, function=function, bu=team)
    for t, month in enumerate(months("2024-01", count)):
        tasks = round(1000 * ceiling / (1 + math.exp(-rate * (t - midpoint))))
        data.saved(month, team, tasks=tasks, baseline=60, minutes=0, function=function, bu=team)
    return data


def test_a_known_logistic_curve_is_recovered_and_its_crossings_projected(data):
    # Ceiling 0.9, rate 0.5 a month, midpoint 10 months after 2024-01 (2024-11); data through 2024-12.
    s_curve(data, "Marketing", "Brand", 0.9, 0.5, 10, 12).load()
    adoption = metrics.adoption(data.conn, metrics.Filters(), Settings())
    fit = forecast.fit_function(adoption, Settings(), forecast.month_index("2024-12"))
    assert fit.reason is None
    assert fit.ceiling == pytest.approx(0.9, abs=0.01)
    assert fit.rate == pytest.approx(0.5, abs=0.02)
    assert fit.midpoint == pytest.approx(10, abs=0.1)
    assert fit.midpoint_month == "2024-11"
    crossings = {crossing.milestone: crossing for crossing in fit.crossings}
    # Observed: 0.10 at t = 10 - ln(8)/0.5 = 5.84 -> 2024-07; 0.15 at 10 - ln(5)/0.5 = 6.78 -> 2024-08;
    # 0.40 at 10 - ln(1.25)/0.5 = 9.55 -> 2024-11.
    assert [(name, crossings[name].month, crossings[name].observed) for name in
            ("crossing_point", "acceleration", "scale")] == [
        ("crossing_point", "2024-07", True), ("acceleration", "2024-08", True), ("scale", "2024-11", True),
    ]  # fmt: skip
    # Projected: 0.60 at 10 - ln(0.5)/0.5 = 11.39 -> month 12 after 2024-01: 2025-01.
    saturation = crossings["saturation"]
    assert (saturation.month, saturation.observed) == ("2025-01", False)
    assert saturation.low <= saturation.month <= saturation.high


def test_the_organisation_is_projected_to_scale_when_its_second_function_gets_there(data):
    # Two functions must reach 0.40: Marketing did in 2024-11; Sales (midpoint 14) gets there at
    # 14 - ln(1.25)/0.5 = 13.55 -> month 14 after 2024-01: 2025-03. First validation 2024-01: 14 months.
    s_curve(data, "Marketing", "Brand", 0.9, 0.5, 10, 12)
    s_curve(data, "Sales", "Deals", 0.9, 0.5, 14, 12)
    data.event("a1", "validated", "2024-01-10", "Brand")
    built = report.build(data.load(), metrics.Filters(), Settings())
    jsonschema.validate(built, SCHEMA)
    org = built["forecast"]["org"]
    assert (org["status"], org["first_scale_month"], org["time_to_scale_months"], org["trajectory"]) == (
        "projected", "2025-03", 14, "fast",
    )  # fmt: skip
    assert org["first_scale_month_low"] <= "2025-03" <= org["first_scale_month_high"]
    assert (org["last_function"], org["last_function_month"]) == ("Sales", "2025-03")


def test_a_function_at_scale_without_a_forecast_counts_with_the_month_it_got_there(data):
    # Finance has held 0.50 since 2024-01: flat, so it has no forecast, but it is at scale from
    # 2024-01. Sales reaches 0.40 in 2025-03 (as above). The second function at scale is Sales, in
    # 2025-03; before, the organisation had no projection, as only Sales had a forecast.
    data.baseline("Ledger", headcount=10, routine=1000, function="Finance", bu="Ledger")
    for month in months("2024-01", 12):
        data.saved(month, "Ledger", tasks=500, baseline=60, minutes=0, function="Finance", bu="Ledger")
    s_curve(data, "Sales", "Deals", 0.9, 0.5, 14, 12)
    data.event("a1", "validated", "2024-01-10", "Ledger", function="Finance")
    built = report.build(data.load(), metrics.Filters(), Settings())
    reasons = {row["function"]: row["reason"] for row in built["forecast"]["functions"]}
    assert reasons == {"Finance": "no_growth", "Sales": None}
    org = built["forecast"]["org"]
    assert (org["status"], org["first_scale_month"], org["time_to_scale_months"], org["trajectory"]) == (
        "projected", "2025-03", 14, "fast",
    )  # fmt: skip
    assert org["first_scale_month_low"] <= "2025-03" <= org["first_scale_month_high"]


def test_too_short_flat_or_baseless_histories_get_no_forecast_and_say_why(data):
    s_curve(data, "Marketing", "Brand", 0.9, 0.5, 3, 5)  # five months: one short of six
    data.baseline("Ledger", headcount=5, routine=1000, function="Finance", bu="Ledger")
    for month in months("2024-01", 8):  # eight months at 100 hours: a share of 0.10 that never grows
        data.saved(month, "Ledger", tasks=100, baseline=60, minutes=0, function="Finance", bu="Ledger")
    data.saved("2024-01", "Nowhere", tasks=5, baseline=60, minutes=0, function="Legal", bu="Law")
    built = report.build(data.load(), metrics.Filters(), Settings())
    reasons = [(row["function"], row["has_forecast"], row["reason"], row["months_used"])
               for row in built["forecast"]["functions"]]  # fmt: skip
    assert reasons == [
        ("Finance", False, "no_growth", 8),
        ("Legal", False, "no_baseline", 0),
        ("Marketing", False, "too_few_months", 5),
    ]
    assert built["forecast"]["org"]["status"] == "none"
    assert built["forecast"]["org"]["reason"] == "fewer than 2 functions have a forecast"
    assert forecast.reason_text("too_few_months", Settings()) == "fewer than 6 months with time-saved data"


def test_the_minimum_months_is_a_setting(data):
    s_curve(data, "Marketing", "Brand", 0.9, 0.5, 3, 5).load()
    settings = Settings.model_validate({"forecast": {"min_months": 5}})
    adoption = metrics.adoption(data.conn, metrics.Filters(), settings)
    assert forecast.fit_function(adoption, settings, forecast.month_index("2024-05")).reason is None


def test_the_range_is_the_same_for_the_same_data(data):
    s_curve(data, "Marketing", "Brand", 0.9, 0.5, 10, 12).load()
    adoption = metrics.adoption(data.conn, metrics.Filters(), Settings())
    first = forecast.projection(adoption, Settings())
    second = forecast.projection(adoption, Settings())
    assert first.equals(second)
    # The chart's projection starts at the as_of month and runs chart_months past it.
    assert (first["month"].min(), first["month"].max(), len(first)) == (
        dt.datetime(2024, 12, 1), dt.datetime(2026, 12, 1), 25,
    )  # fmt: skip
    assert (first["share_low"] <= first["share"] + 1e-9).all()
    assert (first["share"] <= first["share_high"] + 1e-9).all()


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    conn = store.connect(path)
    for file in sorted(path for path in SAMPLE.iterdir() if not path.name.startswith(".")):
        ingest.load_file(conn, file)
    yield conn
    conn.close()


def test_backtest_on_the_sample_six_months_out(sample_db):
    """Fit on all but the last six months of the sample and compare the projected crossings with
    what happened (the figures docs/metrics.md quotes)."""
    errors = forecast.backtest(sample_db, Settings(), holdout_months=6)
    assert errors, "the sample has crossings in its last six months to test against"
    for row in errors:
        assert set(row) == {"function", "milestone", "projected", "low", "high", "actual", "error_months",
                            "in_range"}  # fmt: skip
    assert [
        (row["function"], row["milestone"], row["projected"], row["actual"], row["error_months"])
        for row in errors
    ] == BACKTEST
    assert sum(row["in_range"] for row in errors) == len(errors)
    # The actual months agree with the cascade's own milestones.
    cascade = metrics.cascade(sample_db, metrics.Filters(), Settings()).set_index("function")
    column = {"crossing_point": "entered_crossing_point_on", "acceleration": "crossed_on"}
    for row in errors:
        if row["milestone"] in column:
            assert f"{cascade.loc[row['function'], column[row['milestone']]]:%Y-%m}" == row["actual"]


# (function, milestone, projected six months ahead, actual, error in months); the actual months are
# the sample's: e.g. Legal's share first reaches 0.10 in 2025-10 and 0.15 in 2025-11.
BACKTEST = [
    ("Customer Support", "scale", "2025-09", "2025-08", 1),
    ("Finance", "crossing_point", "2025-07", "2025-07", 0),
    ("Finance", "acceleration", "2025-08", "2025-08", 0),
    ("HR", "crossing_point", "2025-08", "2025-08", 0),
    ("HR", "acceleration", "2025-09", "2025-09", 0),
    ("Legal", "crossing_point", "2025-09", "2025-10", -1),
    ("Legal", "acceleration", "2025-10", "2025-11", -1),
    ("Marketing", "scale", "2025-07", "2025-07", 0),
    ("Sales Operations", "scale", "2025-09", "2025-08", 1),
]


# --- the charts' projections ---------------------------------------------------------------------------


def _marks(spec: dict) -> list[tuple[str, object]]:
    found = []
    for layer in spec.get("layer", []):
        if "layer" in layer:
            found += _marks(layer)
        else:
            mark = layer["mark"] if isinstance(layer["mark"], dict) else {"type": layer["mark"]}
            found.append((mark["type"], mark.get("strokeDash")))
    return found


def test_the_cascade_and_s_curve_draw_projections_dashed_with_a_band():
    adoption = pd.DataFrame(
        {"function": ["A", "B"], "month": [pd.Timestamp("2025-01-01")] * 2, "offloaded_share": [0.2, 0.1],
         "phase": "acceleration", "routine_hours": [300.0, 100.0]}
    )  # fmt: skip
    projection = pd.DataFrame(
        {"function": ["A", "A"], "month": [pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01")],
         "share": [0.2, 0.3], "share_low": [0.2, 0.25], "share_high": [0.2, 0.4]}
    )  # fmt: skip
    spec = charts.cascade(adoption, Settings(), projection).to_dict()
    assert _marks(spec) == [
        ("rect", None),
        ("line", None),
        ("area", None),
        ("line", [6, 4]),
        ("rule", [4, 4]),
        ("text", None),  # the threshold's name, as two kinds of dashed line need words
    ]
    band = next(layer for layer in spec["layer"] if layer.get("mark", {}).get("type") == "area")
    assert (band["encoding"]["y"]["field"], band["encoding"]["y2"]["field"]) == ("share_low", "share_high")
    # The projection keeps its function's colour: one scale over every function of the data.
    assert band["encoding"]["color"]["scale"]["domain"] == ["A", "B"]
    assert _marks(charts.cascade(adoption, Settings()).to_dict()) == [
        ("rect", None),
        ("line", None),
        ("rule", [4, 4]),
        ("text", None),
    ]
    # The organisation: A (300 routine hours) projected, B (100 h) held at its 0.10.
    # February: (0.3 x 300 + 0.1 x 100) / 400 = 0.25; range (0.25 x 300 + 10) / 400 = 0.2125 to (0.4 x 300 + 10) / 400 = 0.325.
    organisation = forecast.organisation_projection(projection, adoption)
    assert organisation.to_dict("records")[1] == {
        "month": pd.Timestamp("2025-02-01"), "share": pytest.approx(0.25), "share_low": pytest.approx(0.2125),
        "share_high": pytest.approx(0.325),
    }  # fmt: skip
    org_spec = charts.s_curve(adoption.assign(functions_at_scale=0), Settings(), None, organisation).to_dict()
    assert _marks(org_spec)[-2:] == [("area", None), ("line", [6, 4])]


def test_the_forecast_table_says_observed_projected_or_why_not():
    summary = {
        "functions": [
            {"function": "A", "has_forecast": True, "reason": None, "ceiling": 0.7, "midpoint_month": "2025-06",
             "crossings": [
                 {"milestone": "crossing_point", "month": "2025-01", "low": "2025-01", "high": "2025-01", "observed": True},
                 {"milestone": "acceleration", "month": "2025-03", "low": "2025-02", "high": "2025-05", "observed": False},
                 {"milestone": "scale", "month": "2025-09", "low": "2025-07", "high": None, "observed": False},
                 {"milestone": "saturation", "month": None, "low": None, "high": None, "observed": False},
             ]},
            {"function": "B", "has_forecast": False, "reason": "no_growth", "ceiling": None, "midpoint_month": None,
             "crossings": []},
        ]
    }  # fmt: skip
    rows = forecast.table(summary, Settings()).astype(object).where(lambda frame: frame.notna(), None)
    assert rows.to_dict("records") == [
        {"function": "A", "forecast": "yes", "ceiling": 0.7, "midpoint_month": "2025-06",
         "crossing_point": "2025-01 (observed)", "acceleration": "2025-03 (2025-02 – 2025-05)",
         "scale": "2025-09 (2025-07 – later)", "saturation": "not in sight"},
        {"function": "B", "forecast": "no: its share is not growing", "ceiling": None, "midpoint_month": None,
         "crossing_point": None, "acceleration": None, "scale": None, "saturation": None},
    ]  # fmt: skip
    # The fit never reaches the bound in sight, but the range's earliest draws reach it in 2026-06.
    beyond = {"milestone": "saturation", "month": None, "low": "2026-06", "high": None, "observed": False}
    # Not "not in sight (≥ 2026-06)", which said no month and gave one at once.
    assert forecast.describe_crossing(beyond) == "not in sight; its range reaches it from 2026-06"


def test_hostile_histories_get_no_forecast_rather_than_a_wild_one(data):
    # Saturated from the start (capped at 100% every month): nothing to grow.
    data.baseline("Full", headcount=4, routine=100, function="Support", bu="Care")
    for month in months("2024-01", 8):
        data.saved(month, "Full", tasks=500, baseline=60, minutes=0, function="Support", bu="Care")
    # One spike among zeros: six months with data but falling after the spike.
    data.baseline("Spike", headcount=4, routine=1000, function="Legal", bu="Law")
    for month, tasks in zip(months("2024-01", 8), (1, 1, 900, 1, 1, 1, 1, 1), strict=True):
        data.saved(month, "Spike", tasks=tasks, baseline=60, minutes=0, function="Legal", bu="Law")
    built = report.build(data.load(), metrics.Filters(), Settings())
    reasons = {row["function"]: row["reason"] for row in built["forecast"]["functions"]}
    assert reasons == {"Legal": "no_growth", "Support": "no_growth"}


def test_a_fit_that_cannot_be_made_is_refused():
    t = np.arange(6, dtype=float)
    assert forecast._fit(t, np.full(6, np.nan), np.ones(6), p0=(0.5, 0.3, 3.0)) is None
