"""Agent fleet: what the agents do and cost, and which pass the 80% accuracy / 90% automation bar."""

import streamlit as st

from offload_metrics import auth, charts, display, metrics, ui

ui.page("Agent fleet", "The fleet needs agent usage logs.")

settings = ui.settings()
usage = ui.get(metrics.usage, by=("organisation",))
before = ui.get(metrics.usage, by=("organisation",), previous=True)
monthly = ui.get(metrics.usage, by=("month",))
gates = ui.get(metrics.gates)
agents = ui.get(metrics.agents)
cull = metrics.cull_list(agents, settings)
USAGE = ("usage_events",)

first, second, third, fourth = st.columns(4)
with first:
    tasks = ui.first(usage, "tasks") or 0
    ui.tile("Tasks", display.count(tasks), "tasks", "usage", needs=USAGE,
            change=ui.changed(display.count, tasks, before, "tasks"), trend=ui.series(monthly, "tasks"))  # fmt: skip
with second:
    active = ui.first(usage, "active_agents") or 0
    ui.tile("Active agents", display.count(active), "active_agents", "usage", needs=USAGE,
            change=ui.changed(display.count, active, before, "active_agents"))  # fmt: skip
with third:
    # No task, no cost: $0.00 beside "Tasks 0", not an undefined dash.
    cost = ui.first(usage, "agent_cost_usd") if tasks else 0
    ui.tile("Agent cost", display.money(cost), "agent_cost_usd", "usage", needs=USAGE, lower_is_better=True,
            change=ui.changed(display.money, cost, before, "agent_cost_usd"),
            trend=ui.series(monthly, "agent_cost_usd"))  # fmt: skip
with fourth:
    escalation = ui.first(usage, "escalation_rate")
    ui.tile("Escalation rate", display.share(escalation), "escalation_rate", "usage", needs=USAGE,
            lower_is_better=True, note=f"Failure rate {display.share(ui.first(usage, 'failure_rate'))}",
            change=ui.changed(display.share, escalation, before, "escalation_rate"))  # fmt: skip

if not tasks and agents.empty and not ui.missing_kinds(*USAGE):
    # Usage is loaded, but none is selected: one line says so, rather than empty charts and grids.
    st.info(
        "No agent ran a task in this selection: choose other functions, business units or dates in the sidebar.",
        icon=":material/filter_alt_off:",
    )
    st.stop()

MEASURES = {"Tasks": "tasks", "API calls": "api_calls", "Tokens": "tokens"}
if auth.can_see_money():
    MEASURES["Cost"] = "agent_cost_usd"
measure = st.segmented_control("Show", list(MEASURES), default="Tasks", key="fleet_measure")
st.subheader(
    f"{measure or 'Tasks'} by month and function", help=ui.help_for(MEASURES[measure or "Tasks"], "usage")
)
if ui.can_show(*USAGE):
    ui.chart(
        charts.usage_over_time(
            ui.get(metrics.usage, by=("month", "function")), MEASURES[measure or "Tasks"], ui.every_function()
        ),
        key="fleet_usage",
    )

left, right = st.columns([3, 2])
with left:
    st.subheader(
        f"Accuracy and automation over the last {settings.gates.window_days} days",
        help=ui.help_for("gate", "gates"),
    )
    if ui.can_show(*USAGE):
        ui.chart(charts.gate_scatter(gates, settings), key="fleet_gates")
        # Hollow circles can sit on one another (two agents at 100% and 100%): name them.
        unjudged = gates[
            (gates["gate"] == "insufficient_data") & gates["accuracy"].notna() & gates["automation"].notna()
        ]
        if not unjudged.empty:
            st.caption(
                f"Hollow circles, too little data to judge ({len(unjudged)}): "
                f"{display.listed(sorted(unjudged['agent_id'].astype(str)))}."
            )
with right:
    st.subheader(f"Cull list ({len(cull)})", help=ui.help_for("gate", "gates"))
    ui.table(cull, {
        "agent_id": ("Agent", ui.TEXT), "accuracy": ("Accuracy", ui.SHARE), "automation": ("Automation", ui.SHARE),
        "tasks": ("Tasks", ui.COUNT),
    }, family="gates", key="fleet_cull", empty="No agent fails the gate.", failing="fails_on")  # fmt: skip

st.subheader("Every agent's gate", help=ui.help_for("Definition", "gates"))
ui.table(agents, {
    "agent_id": ("Agent", ui.TEXT), "function": ("Function", ui.TEXT), "tasks": ("Tasks in window", ui.COUNT), "reviewed": ("Reviewed", ui.COUNT), "accuracy": ("Accuracy", ui.SHARE),
    "automation": ("Automation", ui.SHARE), "gate": ("Gate", ui.LABEL), "range_tasks": ("Tasks in range", ui.COUNT),
}, family="gates", key="fleet_agents", height=420, highlight="gate",
   empty="No agent ran a task in the gate window or the range.")  # fmt: skip

st.subheader("Usage by function", help=ui.help_for("Definition", "usage"))
ui.table(ui.get(metrics.usage), {
    "function": ("Function", ui.TEXT), "tasks": ("Tasks", ui.COUNT), "api_calls": ("API calls", ui.COUNT),
    "tokens": ("Tokens", ui.COUNT), "agent_cost_usd": ("Cost", ui.MONEY), "active_agents": ("Agents", ui.COUNT),
    "escalation_rate": ("Escalated", ui.SHARE), "failure_rate": ("Failed", ui.SHARE),
}, family="usage", key="fleet_functions", empty="No usage in this range.")  # fmt: skip
