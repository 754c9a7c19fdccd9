"""Chart builders are pure: tested through the Vega-Lite spec they produce."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from offload_metrics import charts
from offload_metrics.config import Settings

SETTINGS = Settings()


def datasets(spec: dict) -> list[list[dict]]:
    return list(spec.get("datasets", {}).values())


def layers(spec: dict) -> list[dict]:
    found = []
    for layer in spec.get("layer", []):
        found += layers(layer) if "layer" in layer else [layer]
    return found


def marks(spec: dict) -> list[str]:
    return [
        layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in layers(spec)
    ]


def months(count: int) -> pd.Series:
    return pd.Series(pd.date_range("2024-01-01", periods=count, freq="MS"))


def test_phase_bands_follow_the_settings():
    custom = Settings.model_validate({"adoption": {"phase_bounds": [0.05, 0.2, 0.7]}})
    spec = charts.phase_bands(custom).to_dict()
    [bands] = datasets(spec)
    assert [(band["phase"], band["from_share"], band["to_share"]) for band in bands] == [
        ("pilot_plateau", 0.0, 0.05),
        ("crossing_point", 0.05, 0.2),
        ("acceleration", 0.2, 0.7),
        ("saturation", 0.7, 1.0),
    ]
    assert spec["mark"]["type"] == "rect"


def test_the_s_curve_marks_the_scale_window_after_the_first_validated_agent():
    organisation = pd.DataFrame(
        {
            "month": months(30),
            "offloaded_share": [i / 40 for i in range(30)],
            "phase": "acceleration",
            "functions_at_scale": 0,
        }
    )
    spec = charts.s_curve(organisation, SETTINGS, dt.date(2024, 1, 1)).to_dict()
    # The phase bands, the window and its name on the chart, the line.
    assert marks(spec) == ["rect", "rect", "text", "line"]
    window = next(data for data in datasets(spec) if "start" in data[0])
    assert window[0]["start"].startswith("2025-07-01")  # 18 months after January 2024
    assert window[0]["end"].startswith("2026-07-01")  # cut at the month after the data ends
    assert window[0]["short"] == "18-36-month window"
    # Its name is written leftwards from the window's end (inside the plot), not from its start, from
    # which a window starting near the plot's right edge ran its name into the legend.
    [label] = [layer for layer in spec["layer"] if layer["mark"]["type"] == "text"]
    assert (label["mark"]["align"], label["encoding"]["x"]["field"]) == ("right", "end")
    # A projection to 2027-12 carries the chart on: the window ends where it ends, 36 months on.
    projection = pd.DataFrame(
        {"month": pd.date_range("2026-07-01", "2027-12-01", freq="MS"), "share": 0.5, "share_low": 0.4,
         "share_high": 0.6}
    )  # fmt: skip
    projected = charts.s_curve(organisation, SETTINGS, dt.date(2024, 1, 1), projection).to_dict()
    window = next(data for data in datasets(projected) if "start" in data[0])
    assert window[0]["end"].startswith("2027-01-01")
    # The dashed line has no legend entry: the words above the plot say what it and its shading are.
    assert marks(projected)[-2:] == ["area", "line"]
    assert layers(projected)[-1]["mark"]["strokeDash"] == [6, 4]
    assert projected["title"]["subtitle"] == (
        "Dashed: projected from the functions' fitted S-curves; shaded: its range"
    )
    assert "title" not in spec
    without = charts.s_curve(organisation, SETTINGS, None).to_dict()
    assert marks(without) == ["rect", "line"]


def test_the_cascade_draws_a_line_per_function_and_the_crossing_threshold():
    adoption = pd.DataFrame(
        {"function": ["A", "A", "B", "B"], "month": list(months(2)) * 2, "offloaded_share": [0.1, 0.2, None, 0.3],
         "phase": "acceleration"}
    )  # fmt: skip
    spec = charts.cascade(adoption, SETTINGS).to_dict()
    assert marks(spec) == ["rect", "line", "rule", "text"]
    line = layers(spec)[1]
    assert line["encoding"]["color"]["field"] == "function"
    # The threshold is a dashed rule named at its right end, as the projections are dashed too.
    rule_data = next(data for data in datasets(spec) if "share" in data[0])
    assert rule_data == [{"share": 0.15, "label": "crossing into acceleration (15%)"}]
    assert layers(spec)[3]["encoding"]["text"]["field"] == "label"
    assert "title" not in spec
    projection = pd.DataFrame(
        {"function": "A", "month": pd.date_range("2024-03-01", periods=3, freq="MS"), "share": 0.3,
         "share_low": 0.25, "share_high": 0.35}
    )  # fmt: skip
    projected = charts.cascade(adoption, SETTINGS, projection).to_dict()
    assert marks(projected) == ["rect", "line", "area", "line", "rule", "text"]
    assert projected["title"]["subtitle"] == (
        "Dashed: each function projected from its fitted S-curve; shaded: its range"
    )
    line_data = next(data for data in datasets(spec) if "function" in data[0])
    assert len(line_data) == 3  # the row without a share (no baseline) is left out


EVERY = ["Customer Support", "Finance", "HR", "Legal", "Marketing", "R&D", "Sales Operations"]


def test_a_function_keeps_its_colour_whatever_the_filter_leaves_on_a_chart():
    """Each function takes the colour of its place among every function of the organisation (Vega's
    tableau10: blue, orange, red, teal, green, yellow, purple), not of its place among the functions
    a chart happens to show: filtered to Legal and R&D, Legal took Customer Support's blue."""
    both = pd.DataFrame(
        {"function": ["R&D", "Legal", "Legal"], "days": [5, 10, 20], "survival": [0.5, 0.6, 0.3]}
    )
    for spec in (
        charts.survival(both, EVERY).to_dict(),
        charts.cascade(
            both.assign(month=months(3), offloaded_share=0.2, phase="pilot"), SETTINGS, None, EVERY
        ).to_dict(),
        charts.usage_over_time(both.assign(month=months(3), tasks=3), "tasks", EVERY).to_dict(),
    ):
        colors = next(
            layer
            for layer in layers(spec) or [spec]
            if layer.get("encoding", {}).get("color", {}).get("field") == "function"
        )
        scale = colors["encoding"]["color"]["scale"]
        assert dict(zip(scale["domain"], scale["range"], strict=True)) == {
            "Legal": "#72b7b2",
            "R&D": "#eeca3b",
        }
    # Unfiltered, the same colours as the scheme's own order gave every function before.
    scale = charts.function_scale(EVERY, EVERY).to_dict()
    assert scale["range"] == ["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2"]
    # A function the organisation's list lacks (none should) still gets a colour of its own, after the rest.
    assert charts.function_scale(["Zeta", "HR"], EVERY).to_dict() == {
        "domain": ["HR", "Zeta"],
        "range": ["#e45756", "#ff9da6"],
    }


def test_survival_curves_start_at_one_and_step():
    curve = pd.DataFrame({"function": ["A", "A"], "days": [10, 20], "survival": [0.6, 0.3]})
    spec = charts.survival(curve).to_dict()
    steps = layers(spec)[0]
    assert steps["mark"]["interpolate"] == "step-after"
    points = next(data for data in datasets(spec) if "function" in data[0])
    assert [(p["days"], p["survival"]) for p in points] == [(0, 1.0), (10, 0.6), (20, 0.3)]


def test_the_heatmap_tells_no_share_from_a_small_one_and_hovers_shares_as_the_tables_write_them():
    # Legal offloaded nothing in January and 0.04% in February; Marketing 25% in January. On one
    # greens scale from 0 the first two were the same pale cell, and the hover read 0.0% for both.
    adoption = pd.DataFrame(
        {"function": ["Legal", "Legal", "Marketing"], "month": months(2).tolist() + months(1).tolist(),
         "offloaded_share": [0.0, 0.0004, 0.25], "phase": ["pilot_plateau"] * 3}
    )  # fmt: skip
    spec = charts.heatmap(adoption).to_dict()
    color = spec["encoding"]["color"]
    # Exactly nothing is grey; any share above it is green from a quarter of the way up the scheme,
    # not from its white end.
    assert color.get("condition") == {"test": "(datum.offloaded_share === 0)", "value": "#e0e0e0"}
    assert color["field"] == "offloaded_share"
    assert color["scale"] == {"scheme": {"name": "greens", "extent": [0.25, 1]}, "domain": [0, 1]}
    assert spec["title"]["subtitle"] == "Grey: no routine work offloaded that month"
    # The hover: display.share's words, "<0.1%" for 0.04% (not 0.0%), beside each cell's share.
    share = next(tip for tip in spec["encoding"]["tooltip"] if tip.get("title") == "Share")
    assert share == {"field": "share_label", "type": "nominal", "title": "Share"}
    cells = datasets(spec)[0]
    assert [(cell["function"], cell["offloaded_share"], cell["share_label"]) for cell in cells] == [
        ("Legal", 0.0, "0.0%"), ("Legal", 0.0004, "<0.1%"), ("Marketing", 0.25, "25.0%"),
    ]  # fmt: skip


def test_the_gate_scatter_draws_the_thresholds_from_the_settings():
    gates = pd.DataFrame(
        {"agent_id": ["a", "b"], "accuracy": [0.9, None], "automation": [0.95, 0.5], "tasks": [80, 10],
         "reviewed": [30, 0], "gate": ["pass", "insufficient_data"]}
    )  # fmt: skip
    strict = Settings.model_validate({"gates": {"min_accuracy": 0.85, "min_automation": 0.92}})
    spec = charts.gate_scatter(gates, strict).to_dict()
    assert marks(spec) == ["circle", "rule", "rule", "circle", "circle"]
    values = [data for data in datasets(spec)]
    assert {"accuracy": 0.85} in [row for data in values for row in data]
    assert {"automation": 0.92} in [row for data in values for row in data]
    points = next(data for data in values if "agent_id" in data[0])
    assert [point["agent_id"] for point in points] == ["a"]
    # An agent at 100% is drawn whole.
    encoding = layers(spec)[0]["encoding"]
    assert encoding["x"]["scale"]["padding"] == encoding["y"]["scale"]["padding"] == 16


def test_agents_without_a_verdict_are_hollow_rings_drawn_above_every_judged_dot():
    # The sample's fin-invoice-match-v2 (45 tasks, too few) sits where hr-onboarding-plan (90, a pass)
    # does: its pale ring, in the same layer and almost the dot's size, read as the dot's edge.
    gates = pd.DataFrame(
        {"agent_id": ["passes", "unjudged"], "accuracy": [1.0, 1.0], "automation": [0.978, 0.978],
         "tasks": [90, 45], "reviewed": [24, 10], "gate": ["pass", "insufficient_data"]}
    )  # fmt: skip
    drawn = layers(charts.gate_scatter(gates, Settings()).to_dict())
    unjudged = "(datum.gate === 'insufficient_data')"
    # Judged dots first, then the thresholds, then the unjudged agents: a white halo and the ring on it.
    assert [[step.get("filter") for step in layer.get("transform", [])] for layer in drawn] == [
        [f"(!{unjudged})"], [], [], [unjudged], [unjudged],
    ]  # fmt: skip
    halo, ring = drawn[3], drawn[4]
    assert halo["mark"] == {"type": "circle", "fill": "transparent", "stroke": "white", "strokeWidth": 5}
    assert ring["mark"] == {"type": "circle", "opacity": 1, "strokeWidth": 2}
    # One legend, "Gate", in which an unjudged agent is hollow as on the chart (fill and stroke on one
    # field with one title merge), with the colours of the dots and the ring.
    for layer in (drawn[0], ring):
        fill, stroke = layer["encoding"]["fill"], layer["encoding"]["stroke"]
        assert "color" not in layer["encoding"]
        assert fill["field"] == stroke["field"] == "gate_label" and fill["title"] == stroke["title"] == "Gate"
        assert dict(zip(fill["scale"]["domain"], fill["scale"]["range"], strict=True)) == {
            "Pass": "#2e7d32", "Fail": "#c62828", "Insufficient data": "transparent",
        }  # fmt: skip
        assert dict(zip(stroke["scale"]["domain"], stroke["scale"]["range"], strict=True)) == {
            "Pass": "#2e7d32", "Fail": "#c62828", "Insufficient data": "#616161",
        }  # fmt: skip


def test_savings_and_cost_share_one_axis_with_a_legend_and_a_full_hover():
    trend = pd.DataFrame(
        {"month": months(2), "labor_value_usd": [1000.0, 2000.0], "agent_cost_usd": [10.0, 20.0],
         "net_savings_usd": [990.0, 1980.0], "reinvestment_pool_usd": [198.0, 396.0]}
    )  # fmt: skip
    spec = charts.savings_vs_cost(trend).to_dict()
    assert "resolve" not in spec, "cost is not drawn on a scale of its own"
    assert marks(spec) == ["bar", "line"]
    encoding = layers(spec)[0]["encoding"]
    assert encoding["y"]["field"] == "usd" and "orient" not in encoding["y"].get("axis", {})
    assert encoding["color"]["legend"]["orient"] == "bottom"
    assert encoding["color"]["scale"]["domain"] == ["Labor value of hours saved", "Agent cost", "Net savings"]
    assert [tip.get("field") for tip in encoding["tooltip"]] == [
        "month", "labor_value_usd", "agent_cost_usd", "net_savings_usd", "reinvestment_pool_usd",
    ]  # fmt: skip
    assert encoding["x"]["axis"]["tickCount"] == "month" and encoding["x"]["axis"]["format"] == "%Y-%m"


@pytest.mark.parametrize("measure", list(charts.USAGE_MEASURES))
def test_usage_over_time_stacks_functions_for_each_measure(measure):
    usage = pd.DataFrame({"month": months(2), "function": ["A", "B"], measure: [1, 2]})
    spec = charts.usage_over_time(usage, measure).to_dict()
    assert (spec["mark"]["type"], spec["encoding"]["y"]["field"], spec["encoding"]["y"]["stack"]) == (
        "area",
        measure,
        True,
    )


def test_bars_sort_by_value_and_medians_fold_both_medians():
    frame = pd.DataFrame({"team": ["x", "y"], "hours_saved": [1.0, 2.0]})
    spec = charts.bars(frame, "team", "hours_saved", "Hours saved").to_dict()
    assert spec["encoding"]["y"]["sort"] == "-x"
    summary = pd.DataFrame(
        {"function": ["A", "HR"], "median_replication_days": [10.0, 15.0], "km_median_replication_days": [20.0, None],
         "validated_agents": [5, 4], "replicated_agents": [4, 1]}
    )  # fmt: skip
    spec = charts.medians(summary).to_dict()
    [rows] = datasets(spec)
    assert [(row["function"], row["days"], row["label"]) for row in rows] == [
        ("A", 10.0, "10 days"), ("A", 20.0, "20 days"),
        ("HR", 15.0, "15 days"), ("HR", None, "not reached · 3 of 4 waiting"),
    ]  # fmt: skip
    assert marks(spec) == ["bar", "text"]
    legend = layers(spec)[0]["encoding"]["color"]["legend"]
    assert (legend["orient"], legend["labelLimit"]) == ("bottom", 0)
    assert layers(spec)[0]["encoding"]["y"]["axis"]["labelLimit"] == 0


def test_documented_and_estimated_hours_are_paired_never_stacked():
    frame = pd.DataFrame({"function": ["A"], "hours_saved": [10.0], "estimated_hours_saved": [4.0]})
    bars, values = charts.documented_and_estimated(frame).to_dict()["layer"]
    assert bars["mark"]["type"] == "bar" and values["mark"]["type"] == "text"
    assert bars["transform"][0] == {
        "fold": ["hours_saved", "estimated_hours_saved"],
        "as": ["measure", "hours"],
    }
    assert bars["transform"][1]["calculate"] == "datum.measure == 'hours_saved' ? 'Documented' : 'Estimated'"
    assert bars["encoding"]["yOffset"] == {"field": "kind", "type": "nominal"}
    # Each bar's value is written at its end, offset as its bar is: a sliver of a bar is still read.
    assert values["encoding"]["text"] == {"field": "hours", "format": ",.0f", "type": "quantitative"}
    assert values["encoding"]["yOffset"] == {"field": "kind", "type": "nominal"}


def test_the_quarter_chart_shows_kaplan_meier_medians_and_says_not_reached():
    trend = pd.DataFrame(
        {
            "quarter": ["2025-Q1", "2025-Q2", "2025-Q3"],
            "validated_agents": [3, 4, 2],
            "replicated_agents": [2, 1, 0],
            "median_replication_days": [75.0, 15.0, None],
            "replicated_within_90_days": [1 / 3, 0.25, 0.0],
            "km_median_replication_days": [120.0, None, None],
        }
    )
    spec = charts.replication_trend(trend).to_dict()
    assert layers(spec)[0]["encoding"]["y"]["field"] == "km_median_replication_days"
    [rows] = datasets(spec)
    # Every quarter stays on the chart, the one with no copy too, each saying how many were copied.
    assert [(row["quarter"], row["note"], row["label"]) for row in rows] == [
        ("2025-Q1", "", "2 of 3 copied"),
        ("2025-Q2", "not reached", "3 of 4 waiting"),
        ("2025-Q3", "not reached", "2 of 2 waiting"),
    ]
    # "Not reached" on a line of its own above how many wait, so that the label stays within its quarter.
    assert marks(spec) == ["bar", "text", "text"]
    assert [(layer["encoding"]["text"]["field"], layer["mark"]["dy"]) for layer in layers(spec)[1:]] == [
        ("label", -3),
        ("note", -17),
    ]


def _tooltips(node: object) -> list[dict]:
    """Every tooltip field of a chart's spec, wherever it is encoded."""
    found: list[dict] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "tooltip":
                found += (
                    [value] if isinstance(value, dict) else [item for item in value if isinstance(item, dict)]
                )
            else:
                found += _tooltips(value)
    elif isinstance(node, list):
        for item in node:
            found += _tooltips(item)
    return found


def test_every_hover_names_its_values_in_words_not_field_names():
    """An empty or missing title showed the field's name: "kind By a person", "label Scale window",
    "function R&D" and a month as "Dec 2026" beside "2025-09" elsewhere."""
    adoption = pd.DataFrame(
        {"function": ["A", "A", "B", "B"], "month": list(months(2)) * 2, "offloaded_share": [0.1, 0.2, None, 0.3],
         "phase": "acceleration"}
    )  # fmt: skip
    projection = pd.DataFrame(
        {"function": "A", "month": pd.date_range("2024-03-01", periods=3, freq="MS"), "share": 0.3,
         "share_low": 0.25, "share_high": 0.35}
    )  # fmt: skip
    organisation = pd.DataFrame(
        {"month": months(30), "offloaded_share": [i / 40 for i in range(30)], "phase": "acceleration",
         "functions_at_scale": 0}
    )  # fmt: skip
    specs = [
        charts.cascade(adoption, SETTINGS, projection).to_dict(),
        charts.s_curve(organisation, SETTINGS, dt.date(2024, 1, 1)).to_dict(),
        charts.documented_and_estimated(
            pd.DataFrame({"function": ["A"], "hours_saved": [10.0], "estimated_hours_saved": [4.0]})
        ).to_dict(),
    ]
    tooltips = [tooltip for spec in specs for tooltip in _tooltips(spec)]
    assert len(tooltips) >= 8
    untitled = [tooltip["field"] for tooltip in tooltips if not tooltip.get("title")]
    assert untitled == []
    assert {tooltip.get("format") for tooltip in tooltips if tooltip.get("type") == "temporal"} <= {"%Y-%m"}
