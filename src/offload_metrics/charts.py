"""Chart builders: pure functions from metric DataFrames to Altair charts (tested via to_dict())."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import altair as alt
import pandas as pd

from offload_metrics import display
from offload_metrics.config import Settings

PHASE_COLORS = {
    "pilot_plateau": "#f4e3d3",
    "crossing_point": "#f8efc9",
    "acceleration": "#dcefdc",
    "saturation": "#cfe3f5",
}
GATE_COLORS = {"pass": "#2e7d32", "fail": "#c62828", "insufficient_data": "#616161"}
MONEY_AXIS = "$,.0f"
SHARE_AXIS = ".0%"
MONTH_FORMAT = "%Y-%m"
# Monthly data gets monthly ticks (never weekly ones), thinned where they would overlap.
MONTH_AXIS = alt.Axis(format=MONTH_FORMAT, tickCount="month", labelOverlap="greedy", labelAngle=-45)
MONTH_TOOLTIP = alt.Tooltip("month:T", format=MONTH_FORMAT, title="Month")


def month_x() -> alt.X:
    return alt.X("month:T", title="Month", axis=MONTH_AXIS)


def bottom_legend() -> alt.Legend:
    """A legend below the chart in two columns, its labels and title never cut."""
    return alt.Legend(orient="bottom", labelLimit=0, titleLimit=0, columns=2)


# Vega's tableau10 scheme, the functions' colours.
TABLEAU10 = (
    "#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac",
)  # fmt: skip


def function_scale(shown: Iterable[object], every: Sequence[str] = ()) -> alt.Scale:
    """The functions a chart shows, each in the colour of its place among `every` function of the
    organisation (in order), so that a function keeps its colour whatever the filter leaves on the
    chart (with the scheme's own order, Legal took Customer Support's blue once filtered alone)."""
    present = sorted({str(function) for function in shown})
    order = [*every, *(function for function in present if function not in every)]
    return alt.Scale(
        domain=present, range=[TABLEAU10[order.index(name) % len(TABLEAU10)] for name in present]
    )


def function_color(scale: alt.Scale) -> alt.Color:
    """One colour per function (function_scale), with its legend below the chart."""
    return alt.Color("function:N", title="Function", scale=scale, legend=bottom_legend())


def labelled(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """The frame with `<column>_label` in words (display.label) for each code column."""
    return frame.assign(**{f"{column}_label": frame[column].map(display.label) for column in columns})


def phase_bands(settings: Settings) -> alt.Chart:
    """The four adoption phases as shaded horizontal bands, bounds from the settings."""
    low, crossing, high = settings.adoption.phase_bounds
    bands = pd.DataFrame(
        {
            "phase": list(PHASE_COLORS),
            "label": [display.label(phase) for phase in PHASE_COLORS],
            "from_share": [0.0, low, crossing, high],
            "to_share": [low, crossing, high, 1.0],
        }
    )
    scale = alt.Scale(domain=list(PHASE_COLORS), range=list(PHASE_COLORS.values()))
    return (
        alt.Chart(bands)
        .mark_rect(opacity=0.55)
        .encode(
            y=alt.Y("from_share:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format=SHARE_AXIS)),
            y2="to_share:Q",
            color=alt.Color(
                "phase:N", scale=scale, legend=alt.Legend(title="Phase", labelExpr=_phase_label_expr())
            ),
            tooltip=[
                alt.Tooltip("label:N", title="Phase"),
                alt.Tooltip("from_share:Q", format=".0%", title="From"),
                alt.Tooltip("to_share:Q", format=".0%", title="To"),
            ],
        )
    )


def _phase_label_expr() -> str:
    cases = " : ".join(f"datum.label == '{key}' ? '{display.label(key)}'" for key in PHASE_COLORS)
    return f"{cases} : datum.label"


def s_curve(
    organisation: pd.DataFrame,
    settings: Settings,
    first_deployment: dt.date | None,
    projection: pd.DataFrame | None = None,
) -> alt.LayerChart:
    """The organisation's offloaded share by month over the phase bands, with the 18-36-month
    window after the first validated agent marked: reaching scale inside it is on track. With a
    projection (forecast.organisation_projection), its dashed line and range follow the data."""
    line = (
        alt.Chart(labelled(organisation, "phase"))
        .mark_line(point=True, color="#1b1b1b", strokeWidth=2.5)
        .encode(
            x=month_x(),
            y=alt.Y(
                "offloaded_share:Q", title="Offloaded share of routine work", axis=alt.Axis(format=SHARE_AXIS)
            ),
            tooltip=[
                MONTH_TOOLTIP,
                alt.Tooltip("offloaded_share:Q", format=".1%", title="Share"),
                alt.Tooltip("phase_label:N", title="Phase"),
                alt.Tooltip("functions_at_scale:Q", title="Functions at scale"),
            ],
        )
    )
    layers: list[alt.Chart] = [phase_bands(settings), line]
    if first_deployment is not None and not organisation.empty:
        low, high = settings.adoption.scale_months
        window = pd.DataFrame(
            {
                "start": [pd.Timestamp(first_deployment) + pd.DateOffset(months=low)],
                "end": [pd.Timestamp(first_deployment) + pd.DateOffset(months=high)],
                "label": [f"Scale window ({low}-{high} months after the first validated agent)"],
            }
        )
        # As far as the chart reaches: the data, and the projection where there is one (cut at the
        # data's end, the window looked as if it were closing while the forecast ran on).
        last = pd.Timestamp(organisation["month"].max())
        if projection is not None and not projection.empty:
            last = max(last, pd.Timestamp(projection["month"].max()))
        window["end"] = window["end"].clip(upper=last + pd.DateOffset(months=1))
        window["short"] = f"{low}-{high}-month window"
        if window["start"].iloc[0] <= last:
            shaded = alt.Chart(window).encode(x="start:T", tooltip=[alt.Tooltip("label:N", title="Window")])
            layers[1:1] = [
                shaded.mark_rect(opacity=0.12, color="#283593").encode(x2="end:T"),
                # Written leftwards from the window's end, which is within the plot: from its start,
                # a window beginning near the plot's right edge ran its words into the legend.
                shaded.mark_text(align="right", baseline="top", dx=-4, color="#283593").encode(
                    x="end:T", y=alt.value(4), text="short:N"
                ),
            ]
    chart = alt.LayerChart(layer=layers).properties(height=320)
    if projection is None or projection.empty:
        return chart
    chart.layer += projection_layers(projection, alt.ColorValue("#1b1b1b"))
    return chart.properties(title=projection_note("projected from the functions' fitted S-curves"))


def projection_note(what: str) -> alt.TitleParams:
    """'Dashed: <what>; shaded: its range': what a dashed line and its shading are where no legend
    has an entry for them."""
    return chart_note(f"Dashed: {what}; shaded: its range")


def chart_note(words: str) -> alt.TitleParams:
    """Words in small grey type above the plot, where no line runs through them: what a legend
    cannot say."""
    return alt.TitleParams(
        text=" ", subtitle=words, anchor="start", subtitleColor="#444", subtitleFontSize=12, fontSize=1,
        subtitlePadding=0,
    )  # fmt: skip


def projection_layers(projection: pd.DataFrame, color: alt.Color | alt.ColorValue) -> list[alt.Chart]:
    """A forecast as a shaded range and a dashed line: columns month, share, share_low, share_high
    (and function, when color encodes it)."""
    tooltip = [
        alt.Tooltip("month:T", format=MONTH_FORMAT, title="Month"),
        alt.Tooltip("share:Q", format=".1%", title="Projected share"),
        alt.Tooltip("share_low:Q", format=".1%", title="Range from"),
        alt.Tooltip("share_high:Q", format=".1%", title="Range to"),
    ]
    if "function" in projection.columns:
        tooltip.insert(0, alt.Tooltip("function:N", title="Function"))
    base = alt.Chart(projection).encode(x=alt.X("month:T", title="Month"), color=color)
    band = base.mark_area(opacity=0.15).encode(y=alt.Y("share_low:Q"), y2="share_high:Q", tooltip=tooltip)
    line = base.mark_line(strokeDash=[6, 4], strokeWidth=2).encode(y=alt.Y("share:Q"), tooltip=tooltip)
    return [band, line]


def cascade(
    adoption: pd.DataFrame,
    settings: Settings,
    projection: pd.DataFrame | None = None,
    functions: Sequence[str] = (),
) -> alt.LayerChart:
    """Each function's offloaded share by month, over the phase bands: the functional cascade; with
    a projection (forecast.projection), each forecast as a dashed line with its range. `functions`:
    every function of the organisation, in order (function_scale)."""
    crossing = pd.DataFrame({"share": [settings.adoption.phase_bounds[1]]})
    # One colour per function in the lines and in their projections.
    colors = function_scale(adoption["function"], functions)
    lines = (
        alt.Chart(labelled(adoption.dropna(subset=["offloaded_share"]), "phase"))
        .mark_line(strokeWidth=2)
        .encode(
            x=month_x(),
            y=alt.Y("offloaded_share:Q", title="Offloaded share", axis=alt.Axis(format=SHARE_AXIS)),
            color=function_color(colors),
            tooltip=[
                alt.Tooltip("function:N", title="Function"),
                MONTH_TOOLTIP,
                alt.Tooltip("offloaded_share:Q", format=".1%", title="Share"),
                alt.Tooltip("phase_label:N", title="Phase"),
            ],
        )
    )
    crossing["label"] = f"crossing into acceleration ({display.setting_share(crossing['share'].iloc[0])})"
    rule = alt.Chart(crossing).mark_rule(strokeDash=[4, 4], color="#555").encode(y="share:Q")
    # The rule's name above its right end: a second dashed line needs words to be told apart.
    named = alt.Chart(crossing).mark_text(
        align="right", baseline="bottom", x="width", dx=-4, dy=-3, color="#555"
    )
    projected: list[alt.Chart] = []
    if projection is not None and not projection.empty:
        projected = projection_layers(projection, alt.Color("function:N", scale=colors, legend=None))
    chart = (
        alt.LayerChart(
            layer=[phase_bands(settings), lines, *projected, rule, named.encode(y="share:Q", text="label:N")]
        )
        .resolve_scale(color="independent")
        .properties(height=340)
    )
    if not projected:
        return chart
    return chart.properties(title=projection_note("each function projected from its fitted S-curve"))


# A month with nothing offloaded, in grey; shares above nothing start at a light green that is not
# the white end of the greens: on one green scale from zero, 0.4% and none were the same pale cell.
NONE_OFFLOADED = "#e0e0e0"
LOWEST_GREEN = 0.25


def heatmap(adoption: pd.DataFrame) -> alt.Chart:
    """Function x month, coloured by offloaded share: none offloaded in grey, any share above it in
    green; the hover gives the share as display.share writes it (<0.1% for a sliver, never 0.0%)."""
    cells = labelled(adoption, "phase").assign(
        share_label=lambda frame: frame["offloaded_share"].map(display.share)
    )
    return (
        alt.Chart(cells)
        .mark_rect()
        .encode(
            x=alt.X("yearmonth(month):O", title="Month", axis=alt.Axis(format=MONTH_FORMAT, labelAngle=-45)),
            y=alt.Y(
                "function:N",
                title=None,
                sort=alt.EncodingSortField("offloaded_share", op="max", order="descending"),
            ),
            color=alt.when(alt.datum.offloaded_share == 0)
            .then(alt.value(NONE_OFFLOADED))
            .otherwise(
                alt.Color(
                    "offloaded_share:Q",
                    title="Share",
                    scale=alt.Scale(
                        scheme=alt.SchemeParams("greens", extent=[LOWEST_GREEN, 1]), domain=[0, 1]
                    ),
                    legend=alt.Legend(format=SHARE_AXIS),
                )
            ),
            tooltip=[
                alt.Tooltip("function:N", title="Function"),
                MONTH_TOOLTIP,
                alt.Tooltip("share_label:N", title="Share"),
                alt.Tooltip("phase_label:N", title="Phase"),
            ],
        )
        .properties(height=alt.Step(26), title=chart_note("Grey: no routine work offloaded that month"))
    )


# Told apart by the line's dash, in one dark grey: in the functions' colours (tableau10, on the chart
# above), green and red would read as two particular functions.
GAP_SERIES = {
    "leading_share": ("Leading function that month", [1, 0]),
    "lagging_share": ("Lagging function that month", [6, 4]),
}
GAP_LINE = "#37474f"


def gap(organisation: pd.DataFrame) -> alt.LayerChart:
    """The leading and the lagging function's share by month (with a legend), and the gap between them
    shaded; the hover gives the gap in percentage points."""
    months = organisation.dropna(subset=["leading_share"]).assign(gap_points=lambda frame: frame["gap"] * 100)
    tooltip = [
        MONTH_TOOLTIP,
        alt.Tooltip("leading_function:N", title="Leading"),
        alt.Tooltip("leading_share:Q", format=".1%", title="Leading share"),
        alt.Tooltip("lagging_function:N", title="Lagging"),
        alt.Tooltip("lagging_share:Q", format=".1%", title="Lagging share"),
        alt.Tooltip("gap_points:Q", format=".1f", title="Gap (pp)"),
    ]
    base = alt.Chart(months).encode(x=month_x())
    band = base.mark_area(opacity=0.2, color="#6a1b9a").encode(
        y=alt.Y("lagging_share:Q", title="Offloaded share", axis=alt.Axis(format=SHARE_AXIS)),
        y2="leading_share:Q",
        tooltip=tooltip,
    )
    names = {column: title for column, (title, _) in GAP_SERIES.items()}
    lines = (
        base.transform_fold(list(GAP_SERIES), as_=["series_key", "share"])
        .transform_calculate(
            series=" : ".join(f"datum.series_key == '{key}' ? '{title}'" for key, title in names.items())
            + " : datum.series_key"
        )
        .mark_line(strokeWidth=2, color=GAP_LINE)
        .encode(
            y="share:Q",
            strokeDash=alt.StrokeDash(
                "series:N",
                title=None,
                legend=alt.Legend(
                    orient="bottom",
                    labelLimit=0,
                    symbolType="stroke",
                    symbolSize=900,
                    symbolStrokeWidth=2,
                    symbolStrokeColor=GAP_LINE,
                ),
                scale=alt.Scale(domain=list(names.values()), range=[dash for _, dash in GAP_SERIES.values()]),
            ),
            tooltip=tooltip,
        )
    )
    return alt.LayerChart(layer=[band, lines]).properties(height=260)


def bars(frame: pd.DataFrame, category: str, value: str, title: str, value_format: str = ",.0f") -> alt.Chart:
    """A sorted horizontal bar chart of one value per category."""
    return (
        alt.Chart(frame)
        .mark_bar(color="#1565c0")
        .encode(
            x=alt.X(f"{value}:Q", title=title, axis=alt.Axis(format=value_format)),
            y=alt.Y(f"{category}:N", title=None, sort="-x", axis=alt.Axis(labelLimit=0)),  # labels never cut
            tooltip=[
                alt.Tooltip(f"{category}:N"),
                alt.Tooltip(f"{value}:Q", format=value_format, title=title),
            ],
        )
        .properties(height=alt.Step(22))
    )


def survival(curve: pd.DataFrame, functions: Sequence[str] = ()) -> alt.LayerChart:
    """Kaplan-Meier step curves: the share of validated agents not yet replicated after d days, in
    each function's colour among `functions` (function_scale)."""
    start = curve.drop_duplicates(subset=["function"])[["function"]].assign(days=0, survival=1.0)
    points = pd.concat([start, curve[["function", "days", "survival"]]], ignore_index=True)
    steps = (
        alt.Chart(points)
        .mark_line(interpolate="step-after", strokeWidth=2)
        .encode(
            x=alt.X("days:Q", title="Days since validation"),
            y=alt.Y(
                "survival:Q",
                title="Not yet replicated",
                axis=alt.Axis(format=SHARE_AXIS),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=function_color(function_scale(points["function"], functions)),
            tooltip=[
                alt.Tooltip("function:N", title="Function"),
                alt.Tooltip("days:Q", title="Days since validation"),
                alt.Tooltip("survival:Q", format=".1%", title="Not yet replicated"),
            ],
        )
    )
    half = (
        alt.Chart(pd.DataFrame({"survival": [0.5]}))
        .mark_rule(strokeDash=[4, 4], color="#555")
        .encode(y="survival:Q")
    )
    return alt.LayerChart(layer=[steps, half]).properties(height=320)


MEDIAN_KINDS = ("Plain median (replicated agents only)", "Kaplan-Meier median (counts the waiting)")


def medians(summary: pd.DataFrame) -> alt.LayerChart:
    """Kaplan-Meier median next to the plain median of replication days, per function. A Kaplan-Meier
    median the curve never reached is not left blank: it reads "not reached · 3 of 4 waiting"."""
    rows = []
    for row in summary.to_dict("records"):
        plain, km = row["median_replication_days"], row["km_median_replication_days"]
        validated, replicated = row.get("validated_agents"), row.get("replicated_agents")
        rows.append({"function": row["function"], "kind": MEDIAN_KINDS[0],
                     "days": None if display.missing(plain) else float(plain),
                     "label": display.days(plain) if not display.missing(plain) else "none replicated yet"})  # fmt: skip
        rows.append({"function": row["function"], "kind": MEDIAN_KINDS[1],
                     "days": None if display.missing(km) else float(km),
                     "label": display.km_median(km, validated, replicated)})  # fmt: skip
    frame = pd.DataFrame(rows, columns=["function", "kind", "days", "label"])
    frame["label_at"] = frame["days"].fillna(0.0)
    y = alt.Y("function:N", title=None, axis=alt.Axis(labelLimit=0))
    color = alt.Color(
        "kind:N", title=None, scale=alt.Scale(domain=list(MEDIAN_KINDS), range=["#90a4ae", "#283593"]),
        legend=alt.Legend(orient="bottom", labelLimit=0, columns=1),
    )  # fmt: skip
    tooltip = [alt.Tooltip("function:N", title="Function"), alt.Tooltip("kind:N", title="Median"),
               alt.Tooltip("label:N", title="Days")]  # fmt: skip
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("days:Q", title="Days to first replication", axis=alt.Axis(format=",.0f", tickMinStep=1)),
            y=y,
            yOffset=alt.YOffset("kind:N", sort=list(MEDIAN_KINDS)),
            color=color,
            tooltip=tooltip,
        )
    )
    labels = (
        alt.Chart(frame)
        .mark_text(align="left", dx=4, fontSize=11)
        .encode(
            x="label_at:Q",
            y=y,
            yOffset=alt.YOffset("kind:N", sort=list(MEDIAN_KINDS)),
            text="label:N",
            color=alt.value("#1b1b1b"),
            tooltip=tooltip,
        )
    )
    return alt.LayerChart(layer=[bars, labels]).properties(height=alt.Step(18))


def _paired_bars(
    frame: pd.DataFrame,
    measures: dict[str, str],
    as_: tuple[str, str],
    title: str,
    value_format: str,
    colors: list[str],
) -> alt.LayerChart:
    """Two measures (column -> label) as a pair of bars per function, told apart by colour, each
    bar's value written at its end: a bar a hundred times shorter than its pair is still read."""
    (first, first_label), (_, second_label) = measures.items()
    key, value = as_
    # From zero, with room at the right for the longest bar's value.
    largest = pd.to_numeric(frame[list(measures)].stack(), errors="coerce").max() if not frame.empty else None
    scale = alt.Scale(domain=[0, float(largest) * 1.25]) if largest and largest > 0 else alt.Undefined
    base = (
        alt.Chart(frame)
        .transform_fold(list(measures), as_=[key, value])
        .transform_calculate(kind=f"datum.{key} == '{first}' ? '{first_label}' : '{second_label}'")
        .encode(
            x=alt.X(f"{value}:Q", title=title, axis=alt.Axis(format=value_format), scale=scale),
            y=alt.Y("function:N", title=None),
            yOffset="kind:N",
            tooltip=[
                alt.Tooltip("function:N", title="Function"),
                alt.Tooltip("kind:N", title="Measure"),
                alt.Tooltip(f"{value}:Q", format=value_format, title=title),
            ],
        )
    )
    bars = base.mark_bar().encode(color=alt.Color("kind:N", title=None, scale=alt.Scale(range=colors)))
    values = base.mark_text(align="left", dx=3, fontSize=10, color="#424242").encode(
        text=alt.Text(f"{value}:Q", format=value_format)
    )
    return alt.LayerChart(layer=[bars, values])


def documented_and_estimated(frame: pd.DataFrame) -> alt.LayerChart:
    """Documented and estimated hours saved per function, paired bars that are never stacked."""
    return _paired_bars(
        frame,
        {"hours_saved": "Documented", "estimated_hours_saved": "Estimated"},
        ("measure", "hours"),
        "Hours saved",
        ",.0f",
        ["#1565c0", "#b0bec5"],
    )


def replication_trend(trend: pd.DataFrame) -> alt.LayerChart:
    """Kaplan-Meier median days to a first copy by validation quarter, each bar saying how many of
    the quarter's agents were copied; a quarter whose curve stays above half says "not reached" with
    how many wait. (The plain median, over copied agents only, made late quarters look fast.)"""
    counts = zip(
        trend["km_median_replication_days"],
        trend["validated_agents"],
        trend["replicated_agents"],
        strict=True,
    )
    tiles = [
        (display.km_median_tile(km, validated, copied), validated, copied) for km, validated, copied in counts
    ]
    # "Not reached" on a line above how many wait: on one line, with many quarters, it ran into its
    # neighbours (Vega sets a two-line label's first line on the bar, so each line is a mark of its own).
    frame = trend.assign(
        label=[
            waiting or f"{int(copied)} of {int(validated)} copied"
            for (_, waiting), validated, copied in tiles
        ],
        note=[value if waiting else "" for (value, waiting), _, _ in tiles],
        at=trend["km_median_replication_days"].fillna(0),
    )
    tooltip = [
        alt.Tooltip("quarter:O", title="Validated in"),
        alt.Tooltip("validated_agents:Q", title="Validated"),
        alt.Tooltip("replicated_agents:Q", title="Copied"),
        alt.Tooltip("km_median_replication_days:Q", format=",.0f", title="Median days (Kaplan-Meier)"),
        alt.Tooltip("median_replication_days:Q", format=",.0f", title="Plain median, copied only"),
        alt.Tooltip("replicated_within_90_days:Q", format=".0%", title="Copied within 90 days"),
    ]
    base = alt.Chart(frame).encode(x=alt.X("quarter:O", title="Validated in", axis=alt.Axis(labelAngle=0)))
    bars = base.mark_bar(color="#00838f").encode(
        y=alt.Y("km_median_replication_days:Q", title="Median days to first copy (Kaplan-Meier)"),
        tooltip=tooltip,
    )
    labels = [
        base.mark_text(baseline="bottom", dy=dy, fontSize=11, color="#37474f").encode(
            y="at:Q", text=f"{field}:N", tooltip=tooltip
        )
        for field, dy in (("label", -3), ("note", -17))
    ]
    return alt.LayerChart(layer=[bars, *labels]).properties(height=260)


USAGE_MEASURES = {
    "tasks": ("Tasks", ",.0f"),
    "api_calls": ("API calls", ",.0f"),
    "tokens": ("Tokens", ".3s"),
    "agent_cost_usd": ("Agent cost", MONEY_AXIS),
}


def usage_over_time(usage: pd.DataFrame, measure: str, functions: Sequence[str] = ()) -> alt.Chart:
    """One usage measure by month, stacked by function, each in its colour among `functions`
    (function_scale)."""
    title, value_format = USAGE_MEASURES[measure]
    return (
        alt.Chart(usage)
        .mark_area()
        .encode(
            x=month_x(),
            y=alt.Y(f"{measure}:Q", title=title, stack=True, axis=alt.Axis(format=value_format)),
            color=function_color(function_scale(usage["function"].dropna(), functions)),
            tooltip=[
                alt.Tooltip("function:N", title="Function"),
                MONTH_TOOLTIP,
                alt.Tooltip(f"{measure}:Q", format=value_format, title=title),
            ],
        )
        .properties(height=300)
    )


def gate_scatter(gates: pd.DataFrame, settings: Settings) -> alt.LayerChart:
    """Accuracy against automation per agent, with the gate's thresholds as lines. An agent with too
    little data to judge is a hollow ring: its corner of the chart is no verdict. The rings are a
    layer above the judged agents' dots, edged in white, so that a dot at the same point never hides
    one; the legend draws them hollow too. The scales keep room at their ends, so an agent at 100% is
    drawn whole."""
    labels = [display.label(gate) for gate in GATE_COLORS]
    legend = bottom_legend()
    stroke = alt.Stroke(
        "gate_label:N",
        title="Gate",
        scale=alt.Scale(domain=labels, range=list(GATE_COLORS.values())),
        legend=legend,
    )
    # Its fill and its stroke on one field, with one title: Vega-Lite draws them as one legend.
    fill = alt.Fill(
        "gate_label:N",
        title="Gate",
        scale=alt.Scale(domain=labels, range=[GATE_COLORS["pass"], GATE_COLORS["fail"], "transparent"]),
        legend=legend,
    )
    base = alt.Chart(labelled(gates.dropna(subset=["accuracy", "automation"]), "gate")).encode(
        x=alt.X(
            "automation:Q",
            title="Automation (completed / tasks)",
            axis=alt.Axis(format=SHARE_AXIS),
            scale=alt.Scale(zero=False, nice=False, padding=16),
        ),
        y=alt.Y(
            "accuracy:Q",
            title="Accuracy (correct / reviewed)",
            axis=alt.Axis(format=SHARE_AXIS),
            scale=alt.Scale(zero=False, nice=False, padding=16),
        ),
        size=alt.Size(
            "tasks:Q", title="Tasks in window", scale=alt.Scale(range=[40, 600]), legend=bottom_legend()
        ),
        tooltip=[
            alt.Tooltip("agent_id:N", title="Agent"),
            alt.Tooltip("accuracy:Q", format=".1%", title="Accuracy"),
            alt.Tooltip("automation:Q", format=".1%", title="Automation"),
            alt.Tooltip("tasks:Q", format=",", title="Tasks"),
            alt.Tooltip("reviewed:Q", format=",", title="Reviewed"),
            alt.Tooltip("gate_label:N", title="Gate"),
        ],
    )
    unjudged = alt.datum.gate == "insufficient_data"
    judged = (
        base.transform_filter(~unjudged)
        .mark_circle(opacity=0.8, strokeWidth=1.5)
        .encode(fill=fill, stroke=stroke)
    )
    hollow = base.transform_filter(unjudged)
    # A grey ring alone, as large as a judged dot under it, read as that dot's edge.
    halo = hollow.mark_circle(fill="transparent", stroke="white", strokeWidth=5)
    ring = hollow.mark_circle(opacity=1, strokeWidth=2).encode(fill=fill, stroke=stroke)
    accuracy = (
        alt.Chart(pd.DataFrame({"accuracy": [settings.gates.min_accuracy]}))
        .mark_rule(strokeDash=[4, 4], color="#c62828")
        .encode(y="accuracy:Q")
    )
    automation = (
        alt.Chart(pd.DataFrame({"automation": [settings.gates.min_automation]}))
        .mark_rule(strokeDash=[4, 4], color="#c62828")
        .encode(x="automation:Q")
    )
    return alt.LayerChart(layer=[judged, accuracy, automation, halo, ring]).properties(height=360)


SAVINGS_MEASURES = {
    "labor_value_usd": ("Labor value of hours saved", "#2e7d32"),
    "agent_cost_usd": ("Agent cost", "#c62828"),
    "net_savings_usd": ("Net savings", "#1b1b1b"),
}


def savings_vs_cost(trend: pd.DataFrame) -> alt.LayerChart:
    """Labor value, agent cost and net savings by month on one honest axis, with a legend; the hover
    shows the month's labor value, cost, net savings and what it added to the pool."""
    names = {column: title for column, (title, _) in SAVINGS_MEASURES.items()}
    colors = alt.Scale(domain=list(names.values()), range=[color for _, color in SAVINGS_MEASURES.values()])
    tooltip = [
        MONTH_TOOLTIP,
        alt.Tooltip("labor_value_usd:Q", format="$,.2f", title="Labor value"),
        alt.Tooltip("agent_cost_usd:Q", format="$,.2f", title="Agent cost"),
        alt.Tooltip("net_savings_usd:Q", format="$,.2f", title="Net savings"),
        alt.Tooltip("reinvestment_pool_usd:Q", format="$,.2f", title="Added to the pool"),
    ]
    color = alt.Color("series:N", title=None, scale=colors, legend=alt.Legend(orient="bottom", labelLimit=0))
    y = alt.Y("usd:Q", title="USD per month", axis=alt.Axis(format=MONEY_AXIS))
    labor, *lines = SAVINGS_MEASURES
    # Labor value as bars, cost and net savings as lines over them: net savings is often almost the
    # labor value, and a bar under a line keeps both visible.
    bars = (
        alt.Chart(trend)
        .transform_calculate(usd=f"datum.{labor}", series=f"'{names[labor]}'")
        .mark_bar(opacity=0.45)
        .encode(x=month_x(), y=y, color=color, tooltip=tooltip)
    )
    curves = (
        alt.Chart(trend)
        .transform_fold(list(lines), as_=["measure", "usd"])
        .transform_calculate(
            series=" : ".join(f"datum.measure == '{column}' ? '{names[column]}'" for column in lines)
            + " : datum.measure"
        )
        .mark_line(strokeWidth=2, point=True)
        .encode(x=month_x(), y=y, color=color, tooltip=tooltip)
    )
    return alt.LayerChart(layer=[bars, curves]).properties(height=320)


def cumulative_pool(trend: pd.DataFrame) -> alt.Chart:
    """The reinvestment pool as it builds up month by month."""
    return (
        alt.Chart(trend)
        .mark_area(color="#ffb300", opacity=0.7, line=True)
        .encode(
            x=month_x(),
            y=alt.Y("cumulative_pool_usd:Q", title="Reinvestment pool", axis=alt.Axis(format=MONEY_AXIS)),
            tooltip=[
                MONTH_TOOLTIP,
                alt.Tooltip("reinvestment_pool_usd:Q", format="$,.2f", title="Added this month"),
                alt.Tooltip("cumulative_pool_usd:Q", format="$,.2f", title="Pool so far"),
            ],
        )
        .properties(height=260)
    )


def cost_per_task(summary: pd.DataFrame) -> alt.LayerChart:
    """What a task costs done by an agent and by a person, per function."""
    return _paired_bars(
        summary,
        {"agent_cost_per_task": "By an agent", "human_cost_per_task": "By a person"},
        ("measure", "usd"),
        "USD per task",
        "$,.2f",
        ["#1565c0", "#ef6c00"],
    )


# Stronger than the phase bands' tints: the network picture colours points, not areas.
PHASE_POINT_COLORS = {
    "pilot_plateau": "#d9822b",
    "crossing_point": "#e3b505",
    "acceleration": "#3c9d4e",
    "saturation": "#2f6fb3",
}


def network_picture(teams: pd.DataFrame, ties: pd.DataFrame) -> alt.LayerChart:
    """Teams at their layout positions: ties as lines as wide as their hours, teams as points as large
    as their centrality index and coloured by their function's adoption phase."""
    teams = teams.assign(
        phase_label=[
            display.label(phase) if isinstance(phase, str) else "No adoption data" for phase in teams["phase"]
        ]
    )
    hidden = alt.Axis(labels=False, ticks=False, grid=False, domain=False, title=None)
    edges = (
        alt.Chart(ties)
        .mark_rule(color="#9e9e9e", opacity=0.55)
        .encode(
            x=alt.X("a_x:Q", axis=hidden),
            y=alt.Y("a_y:Q", axis=hidden),
            x2="b_x:Q",
            y2="b_y:Q",
            strokeWidth=alt.StrokeWidth(
                "collaboration_hours:Q", scale=alt.Scale(range=[0.5, 6]), legend=None
            ),
            tooltip=[
                alt.Tooltip("a_team:N", title="Team"),
                alt.Tooltip("b_team:N", title="With"),
                alt.Tooltip("collaboration_hours:Q", format=",.0f", title="Hours"),
            ],
        )
    )
    domain = [display.label(phase) for phase in PHASE_POINT_COLORS] + ["No adoption data"]
    nodes = (
        alt.Chart(teams)
        .mark_circle(opacity=0.9, stroke="#1b1b1b", strokeWidth=0.5)
        .encode(
            x=alt.X("x:Q", axis=hidden),
            y=alt.Y("y:Q", axis=hidden),
            size=alt.Size("centrality_index:Q", scale=alt.Scale(range=[30, 900]), title="Centrality index"),
            color=alt.Color(
                "phase_label:N",
                scale=alt.Scale(domain=domain, range=[*PHASE_POINT_COLORS.values(), "#bdbdbd"]),
                title="Function's phase",
            ),
            tooltip=[
                alt.Tooltip("team:N", title="Team"),
                alt.Tooltip("business_unit:N", title="Business unit"),
                alt.Tooltip("function:N", title="Function"),
                alt.Tooltip("phase_label:N", title="Phase"),
                alt.Tooltip("centrality_index:Q", format=".2f", title="Centrality index"),
                alt.Tooltip("centrality_rank:Q", title="Rank"),
                alt.Tooltip("network_position:N", title="Position"),
            ],
        )
    )
    return alt.LayerChart(layer=[edges, nodes]).properties(height=520)


def spread(summary: pd.DataFrame) -> alt.Chart:
    """The share of replications that went along collaboration ties against the share chance gives."""
    row = summary.iloc[0] if len(summary) else None
    frame = pd.DataFrame(
        {
            "what": ["Copies along ties", "Expected at random"],
            "share": [
                None if row is None else row["share_along_ties"],
                None if row is None else row["expected_share"],
            ],
        }
    )
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("what:N", title=None, sort=None, axis=alt.Axis(labelLimit=0)),  # labels never cut
            x=alt.X(
                "share:Q",
                title="Share of replications",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format=SHARE_AXIS),
            ),
            color=alt.Color("what:N", scale=alt.Scale(range=["#2f6fb3", "#bdbdbd"]), legend=None),
            tooltip=[alt.Tooltip("what:N", title=" "), alt.Tooltip("share:Q", format=".0%", title="Share")],
        )
        .properties(height=110)
    )
