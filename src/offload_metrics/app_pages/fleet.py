"""Agent fleet: what the agents do and cost, and which pass the 80% accuracy / 90% automation bar."""

import streamlit as st

from offload_metrics import auth, charts, display, metrics, ui

ui.page("Agent fleet", "The fleet needs agent usage logs.")

settings = ui.settings()
usage = ui.get("usage", by=("organisation",))
gates = ui.get("gates")
agents = ui.get("agents")
cull = metrics.cull_list(agents)

first, second, third, fourth = st.columns(4)
with first:
    ui.tile("Tasks", display.count(ui.first(usage, "tasks") or 0), "tasks", "usage")
with second:
    ui.tile("Active agents", display.count(ui.first(usage, "active_agents") or 0), "active_agents", "usage")
with third:
    ui.tile("Agent cost", display.money(ui.first(usage, "agent_cost_usd")), "agent_cost_usd", "usage")
with fourth:
    ui.tile("Escalation rate", display.share(ui.first(usage, "escalation_rate")), "escalation_rate", "usage",
            delta=f"failure rate {display.share(ui.first(usage, 'failure_rate'))}")  # fmt: skip

MEASURES = {"Tasks": "tasks", "API calls": "api_calls", "Tokens": "tokens"}
if auth.can_see_money():
    MEASURES["Cost"] = "agent_cost_usd"
measure = st.segmented_control("Show", list(MEASURES), default="Tasks", key="fleet_measure")
st.subheader(
    f"{measure or 'Tasks'} by month and function", help=ui.help_for(MEASURES[measure or "Tasks"], "usage")
)
ui.chart(
    charts.usage_over_time(ui.get("usage", by=("month", "function")), MEASURES[measure or "Tasks"]),
    key="fleet_usage",
)

left, right = st.columns([3, 2])
with left:
    st.subheader(
        f"Accuracy and automation over the last {settings.gates.window_days} days",
        help=ui.help_for("gate", "gates"),
    )
    ui.chart(charts.gate_scatter(gates, settings), key="fleet_gates")
with right:
    st.subheader(f"Cull list ({len(cull)})", help=ui.help_for("gate", "gates"))
    ui.table(cull, {
        "agent_id": ("Agent", ui.TEXT), "function": ("Function", ui.TEXT), "accuracy": ("Accuracy", ui.SHARE),
        "automation": ("Automation", ui.SHARE), "tasks": ("Tasks", ui.COUNT),
    }, family="gates", key="fleet_cull", empty="No agent fails the gate.")  # fmt: skip

st.subheader("Every agent's gate", help=ui.help_for("Definition", "gates"))
ui.table(agents, {
    "agent_id": ("Agent", ui.TEXT), "name": ("Name", ui.TEXT), "function": ("Function", ui.TEXT),
    "tasks": ("Tasks in window", ui.COUNT), "reviewed": ("Reviewed", ui.COUNT), "accuracy": ("Accuracy", ui.SHARE),
    "automation": ("Automation", ui.SHARE), "gate": ("Gate", ui.TEXT), "range_tasks": ("Tasks in range", ui.COUNT),
}, family="gates", key="fleet_agents", height=420)  # fmt: skip

st.subheader("Usage by function", help=ui.help_for("Definition", "usage"))
ui.table(ui.get("usage"), {
    "function": ("Function", ui.TEXT), "tasks": ("Tasks", ui.COUNT), "api_calls": ("API calls", ui.COUNT),
    "tokens": ("Tokens", ui.COUNT), "agent_cost_usd": ("Cost", ui.MONEY), "active_agents": ("Agents", ui.COUNT),
    "escalation_rate": ("Escalated", ui.SHARE), "failure_rate": ("Failed", ui.SHARE),
}, family="usage", key="fleet_functions")  # fmt: skip
