"""Net Output: hours saved and uplift without more headcount, and the teams that proved it."""

import streamlit as st

from offload_metrics import charts, display, metrics, tiles, ui

ui.page("Net Output", "Net Output needs documented time savings.")

settings = ui.settings()
organisation = ui.get(metrics.net_output, by=("organisation",))
before = ui.get(metrics.net_output, by=("organisation",), previous=True)
monthly = ui.get(metrics.net_output, by=("month",))
teams = ui.get(metrics.net_output, by=metrics.TEAMS)
leaderboard = metrics.team_leaderboard(teams)
grown = metrics.grown_teams(teams)
SAVINGS = ("time_saved",)

first, second, third, fourth = st.columns(4)
with first:
    tiles.hours_saved(organisation, before, ui.series(monthly, "hours_saved"))
with second:
    tiles.net_output_uplift(organisation, before, monthly)
with third:
    ui.tile("Validated teams", display.count(len(leaderboard)), "validated_teams",
            "net_output_summary", needs=SAVINGS,
            note=f"Net Output +{display.setting_share(settings.net_output.validation_uplift)} without more headcount")  # fmt: skip
with fourth:
    ui.tile("Teams that grew", display.count(len(grown)), "teams_grew_headcount", "net_output_summary",
            needs=SAVINGS, note="Headcount above their baseline")  # fmt: skip

# A team is (function, business unit, team): teams are labelled with their business unit. Per group:
# the metric, its grain, the chart's label column and the table's name columns.
GROUPS = {
    "Function": (metrics.net_output, ("function",), "function", ("function",)),
    "Business unit": (
        metrics.net_output,
        ("function", "business_unit"),
        "business_unit",
        ("business_unit", "function"),
    ),
    "Team": (metrics.net_output, metrics.TEAMS, "team_label", ("team", "business_unit")),
    "Agent": (metrics.hours_by_agent, (), "agent_id", ("agent_id",)),
}
group = st.segmented_control("Group by", list(GROUPS), default="Function", key="net_output_group")
metric, by, category, names = GROUPS[group or "Function"]
grouped = ui.get(metric, by=by)
if category == "team_label":
    grouped = metrics.team_labels(grouped)
COLUMNS = {
    "function": ("Function", ui.TEXT),
    "business_unit": ("Business unit", ui.TEXT),
    "team": ("Team", ui.TEXT),
    "agent_id": ("Agent", ui.TEXT),
    "hours_saved": ("Hours saved", ui.HOURS),
    "delegated_hours": ("Delegated", ui.HOURS),
    "net_output_uplift": ("Uplift", ui.SHARE),
}
shown = {
    column: COLUMNS[column] for column in (*names, "hours_saved", "delegated_hours", "net_output_uplift")
}
if ui.can_show(*SAVINGS):
    # By function the table fits beside the chart; by business unit, team or agent (two name
    # columns, or an agent's id) it goes below it at the page's width, so that no column is cut off.
    beside = group in (None, "Function")
    left, right = st.columns([3, 2]) if beside else (st.container(), st.container())
    with left:
        ui.chart(charts.bars(grouped, category, "hours_saved", "Hours saved"), key="net_output_bars")
    with right:
        ui.table(grouped, shown, family="net_output_summary" if metric is metrics.net_output else "hours_by_agent",
                 key="net_output_table", empty="No documented time savings in this selection.")  # fmt: skip

st.subheader(
    "Validated Net Output: the teams to celebrate", help=ui.help_for("has_validated_net_output", "net_output")
)
ui.table(leaderboard, {
    "team": ("Team", ui.TEXT), "business_unit": ("Business unit", ui.TEXT), "function": ("Function", ui.TEXT),
    "best_uplift": ("Best month's uplift", ui.SHARE), "validated_months": ("Validated months", ui.COUNT),
    "hours_saved": ("Hours saved", ui.HOURS),
}, family="net_output_summary", key="net_output_leaderboard",
   empty="No team has reached the validation uplift without adding headcount in this range yet.")  # fmt: skip

st.subheader("Teams that grew headcount instead", help=ui.help_for("has_grown_headcount", "net_output"))
ui.table(grown, {
    "team": ("Team", ui.TEXT), "business_unit": ("Business unit", ui.TEXT), "function": ("Function", ui.TEXT),
    "hours_saved": ("Hours saved", ui.HOURS), "net_output_uplift": ("Uplift", ui.SHARE),
}, family="net_output_summary", key="net_output_grown",
   empty="No team's headcount rose above its baseline in this range.")  # fmt: skip

# --- Documented and estimated hours saved -------------------------------------------------------------
# Estimates (from task baselines, for team-months without time_saved rows) beside documented hours,
# never added to them and never part of uplift or validated Net Output.

st.header("Documented and estimated hours saved", help=ui.help_for("Definition", "savings_side_by_side"))
side_by_side = ui.get(metrics.savings_side_by_side, by=("organisation",))
covered = ui.get(metrics.coverage, by=("organisation",))
estimates = ui.get(metrics.estimates)
basis = metrics.estimate_basis(estimates)
unestimated = metrics.cannot_estimate(estimates)
first, second, third = st.columns(3)
with first:
    ui.tile("Hours saved, documented", display.hours(ui.first(side_by_side, "hours_saved")), "hours_saved",
            "savings_side_by_side")  # fmt: skip
with second:
    st.metric("Hours saved, estimated", display.hours(ui.first(side_by_side, "estimated_hours_saved")),
              delta="no baseline or preset" if unestimated else "estimated, not in Net Output",
              delta_color="off", delta_arrow="off", border=True,
              help=f"{ui.help_for('estimated_hours_saved', 'savings_side_by_side')}\n\n{basis}")  # fmt: skip
with third:
    ui.tile("Usage tasks with documented savings", display.share(ui.first(covered, "documented_task_share")),
            "documented_task_share", "coverage")  # fmt: skip
ui.chart(charts.documented_and_estimated(ui.get(metrics.savings_side_by_side)), key="net_output_estimated")
