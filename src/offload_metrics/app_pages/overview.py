"""Overview, for executives: where the organisation stands and what needs attention."""

import streamlit as st

from offload_metrics import charts, display, metrics, outlook, ui

ui.page("Overview", "Nothing is loaded yet.")

settings = ui.settings()
program = ui.get("program")
net_output = ui.get("net_output", by=("organisation",))
finance = ui.get("finance_summary", by=("organisation",))
replication = ui.get("replication_summary", by=("organisation",))
functions = ui.get("cascade")
low, high = settings.adoption.scale_months

first, second, third, fourth = st.columns(4)
with first:
    ui.tile("Offloaded share", display.share(program["offloaded_share"]), "offloaded_share", "adoption_org",
            delta=display.label(program["phase"]))  # fmt: skip
with second:
    ui.tile("Functions at scale", f"{program['functions_at_scale']} of {len(functions)}", "functions_at_scale",
            "adoption_org", delta="at scale" if program["at_scale"] else "not yet at scale")  # fmt: skip
with third:
    spans = display.scale_note(
        program["time_to_scale_months"], program["months_since_first_deployment"], low, high
    )
    ui.tile("Trajectory", display.label(program["trajectory"]), "trajectory", "adoption_program", delta=spans)
with fourth:
    ui.tile("KM replication median", display.days(ui.first(replication, "km_median_replication_days")),
            "km_median_replication_days", "replication_summary",
            delta=f"plain median {display.days(ui.first(replication, 'median_replication_days'))}")  # fmt: skip
first, second, third, fourth = st.columns(4)
with first:
    ui.tile(
        "Hours saved", display.hours(ui.first(net_output, "hours_saved")), "hours_saved", "net_output_summary"
    )
with second:
    ui.tile("Net Output uplift", display.share(ui.first(net_output, "net_output_uplift")), "net_output_uplift",
            "net_output_summary")  # fmt: skip
with third:
    ui.tile("Net savings", display.money_short(ui.first(finance, "net_savings_usd")), "net_savings_usd",
            "finance_summary")  # fmt: skip
with fourth:
    ui.tile("Reinvestment pool", display.money_short(ui.first(finance, "reinvestment_pool_usd")),
            "reinvestment_pool_usd", "finance_summary")  # fmt: skip
outlook.forecast_tiles()

left, right = st.columns(2)
with left:
    st.subheader("The organisation's S-curve", help=ui.help_for("offloaded_share", "adoption_org"))
    ui.chart(
        charts.s_curve(ui.get("adoption_org"), settings, program["first_deployment_month"],
                       outlook.organisation_projection()), key="s_curve"
    )  # fmt: skip
with right:
    st.subheader("The cascade across functions", help=ui.help_for("crossed_on", "adoption_cascade"))
    ui.chart(charts.cascade(ui.get("adoption"), settings, ui.get("forecast_projection")), key="cascade")

st.subheader("Alerts")
cull, plateau, backlog = st.columns(3)
with cull:
    failing = metrics.cull_list(ui.get("agents"))
    st.markdown(f"**Cull list** ({display.plural(len(failing), 'agent')} below the gate)",
                help=ui.help_for("gate", "gates"))  # fmt: skip
    ui.table(failing, {"agent_id": ("Agent", ui.TEXT), "function": ("Function", ui.TEXT),
                       "accuracy": ("Accuracy", ui.SHARE), "automation": ("Automation", ui.SHARE)},
             family="gates", key="overview_cull", empty="No agent fails the gate.")  # fmt: skip
with plateau:
    stuck = metrics.in_plateau(functions)
    st.markdown(f"**Stuck in the pilot plateau** ({display.plural(len(stuck), 'function')})",
                help=ui.help_for("phase", "adoption"))  # fmt: skip
    ui.table(stuck, {"function": ("Function", ui.TEXT), "offloaded_share": ("Share", ui.SHARE)},
             family="adoption_cascade", key="overview_plateau", empty="No function is in the pilot plateau.")  # fmt: skip
with backlog:
    waiting = metrics.replication_backlog(ui.get("replication"))
    st.markdown(f"**Waiting longest for replication** ({display.plural(len(waiting), 'agent')})",
                help=ui.help_for("days_waiting", "replication"))  # fmt: skip
    ui.table(waiting, {"agent_id": ("Agent", ui.TEXT), "function": ("Function", ui.TEXT),
                                "days_waiting": ("Days waiting", ui.COUNT)},
             family="replication", key="overview_backlog", empty="No validated agent is waiting.")  # fmt: skip

outlook.alerts_panel()
outlook.wins_feed()
