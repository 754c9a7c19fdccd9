"""Replication Velocity: how fast validated agents are copied by other business units."""

import streamlit as st

from offload_metrics import charts, display, metrics, network, outlook, tiles, ui

ui.page("Replication Velocity", "Replication needs replication events (validated and deployed agents).")

organisation = ui.get(metrics.replication_summary, by=("organisation",))
summary = ui.get(metrics.replication_summary)
agents = ui.get(metrics.replication)
backlog = metrics.replication_backlog(agents, ui.get(metrics.replication_undeployed))
EVENTS = ("replication_events",)

first, second, third, fourth = st.columns(4)
with first:
    ui.tile("Validated agents", display.count(ui.first(organisation, "validated_agents") or 0), "validated_agents",
            "replication_summary", needs=EVENTS, note="Validated in the chosen months")  # fmt: skip
with second:
    ui.tile("Replicated", display.count(ui.first(organisation, "replicated_agents") or 0), "replicated_agents",
            "replication_summary", needs=EVENTS, note="Copied by another business unit")  # fmt: skip
with third:
    tiles.km_replication_median(organisation, "Median days (Kaplan-Meier)")
with fourth:
    ui.tile("Waiting for a first copy", display.count(ui.first(organisation, "waiting_agents") or 0),
            "waiting_agents", "replication_summary", needs=EVENTS,
            note="Not yet copied by another business unit")  # fmt: skip

left, right = st.columns([3, 2])
with left:
    st.subheader(
        "Time to first replication (Kaplan-Meier)", help=ui.help_for("survival", "replication_curve")
    )
    if ui.can_show(*EVENTS):
        ui.chart(
            charts.survival(ui.get(metrics.replication_curve), ui.every_function()),
            key="replication_survival",
        )
with right:
    st.subheader("Kaplan-Meier against the plain median", help=ui.help_for("km_median_replication_days"))
    if ui.can_show(*EVENTS):
        ui.chart(charts.medians(summary), key="replication_medians")
    st.caption(
        "The plain median counts only agents already copied; the Kaplan-Meier median also counts the ones still "
        "waiting, so a program that leaves agents unreplicated cannot look fast. Where more than half are still "
        "waiting, the Kaplan-Meier median is not reached. With no agent waiting and an even count, the two can "
        "differ the other way: the plain median averages the two middle agents' days, the Kaplan-Meier median "
        "is the first day by which half were copied."
    )

st.subheader("Backlog: validated agents not yet replicated", help=ui.help_for("waiting_days", "replication"))
# As words ("Enterprise Care and Service Desk"): a list column's width cut the function's name.
in_use = backlog.assign(
    business_units_without_deployment=[
        display.listed(units) for units in backlog["business_units_without_deployment"]
    ]
)
ui.table(in_use, {
    "agent_id": ("Agent", ui.TEXT), "function": ("Function", ui.TEXT), "pilot_unit": ("Pilot unit", ui.TEXT),
    "validated_on": ("Validated on", ui.DAY), "waiting_days": ("Days waiting", ui.COUNT),
    "business_units_without_deployment": ("In use, no deployment recorded", ui.TEXT),
}, family="replication", key="replication_backlog",
   empty="Every agent validated in this range has been replicated.")  # fmt: skip
if backlog["units_without_deployment"].gt(0).any():
    st.caption(
        "An agent in use in other business units without a recorded deployment waits only on paper: load a "
        "replication event of type deployed for each copy, and Replication Velocity counts it."
    )

outlook.drivers_section()

st.subheader("By validation quarter", help=ui.help_for("Definition", "replication_trend"))
if ui.can_show(*EVENTS):
    ui.chart(charts.replication_trend(ui.get(metrics.replication_trend)), key="replication_trend")

st.subheader("Every validated agent", help=ui.help_for("Definition", "replication"))
ui.table(agents, {
    "agent_id": ("Agent", ui.TEXT), "function": ("Function", ui.TEXT), "pilot_unit": ("Pilot unit", ui.TEXT),
    "validated_on": ("Validated on", ui.DAY), "first_replicated_on": ("First copy", ui.DAY),
    "replication_days": ("Days to first copy", ui.COUNT), "replications": ("Units with a recorded copy", ui.COUNT),
}, family="replication", key="replication_agents", height=360,
   empty="No agent has been validated up to as of.")  # fmt: skip
st.caption(
    "— under First copy: no copy in another business unit is recorded yet (the backlog above names the units "
    "that already run a waiting agent without a recorded deployment)."
)

# Did success spread along the collaboration network?
st.subheader("Did success spread along the network?", help=ui.help_for("share_along_ties"))
spread = ui.get(network.replication_spread_summary)
st.info(ui.first(spread, "verdict"), icon=":material/hub:")
first, second, third, fourth = st.columns(4)
with first:
    ui.tile("Copies along ties", display.share(ui.first(spread, "share_along_ties"), 0), "share_along_ties",
            delta=f"{display.count(ui.first(spread, 'along_ties') or 0)} of "
                  f"{display.count(ui.first(spread, 'replications') or 0)}")  # fmt: skip
with second:
    ui.tile("Expected at random", display.share(ui.first(spread, "expected_share"), 0), "expected_share")
with third:
    p_value = ui.first(spread, "p_value")
    # A p-value rounds to 0.000 only below 0.001: say so rather than show an impossible zero. With
    # too few replications to tell (no verdict), a p-value would read as a finding: none is shown.
    too_few = display.missing(ui.first(spread, "followed_network"))
    shown_p = (
        "—" if too_few
        else "< 0.001" if not display.missing(p_value) and float(p_value) < 0.0005
        else display.number(p_value, 3)
    )  # fmt: skip
    ui.tile("p-value", shown_p, "p_value", delta="too few to tell" if too_few else None)
with fourth:
    ui.tile("Median days along ties", display.days(ui.first(spread, "median_days_along_ties")),
            "median_days_along_ties",
            delta=f"not along ties {display.days(ui.first(spread, 'median_days_not_along_ties'))}")  # fmt: skip
# The chart above its table: beside it, the table's seven columns would not fit.
ui.chart(charts.spread(spread), key="replication_spread")
ui.table(ui.get(network.replication_spread), {
    "agent_id": ("Agent", ui.TEXT), "pilot_unit": ("Pilot unit", ui.TEXT), "business_unit": ("Copied to", ui.TEXT),
    "deployed_on": ("Deployed on", ui.DAY), "replication_days": ("Days", ui.COUNT),
    "is_tied": ("Tied before", ui.FLAG), "tie_hours": ("Hours together before", ui.HOURS),
}, key="replication_spread_rows", height=260, empty="No replication in this range.")  # fmt: skip
