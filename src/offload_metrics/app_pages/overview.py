"""Overview, for executives: where the organisation stands, how it moved, and what needs attention."""

import streamlit as st

from offload_metrics import charts, display, forecast, metrics, outlook, summary, tiles, ui

ui.page("Overview", "Nothing is loaded yet.")

settings = ui.settings()
program = ui.get(metrics.program)
before = ui.get(metrics.program, previous=True)
net_output = ui.get(metrics.net_output, by=("organisation",))
net_output_before = ui.get(metrics.net_output, by=("organisation",), previous=True)
finance = ui.get(metrics.finance_summary, by=("organisation",))
finance_before = ui.get(metrics.finance_summary, by=("organisation",), previous=True)
replication = ui.get(metrics.replication_summary, by=("organisation",))
organisation = ui.get(metrics.adoption_org)
months = ui.get(metrics.finance_trend)
functions = ui.get(metrics.cascade)
low, high = settings.adoption.scale_months
ADOPTION = ("time_saved", "org_baseline")

first, second, third, fourth = st.columns(4)
with first:
    ui.tile("Offloaded share", display.share(program["offloaded_share"]), "offloaded_share", "adoption_org",
            note=f"Phase: {display.label(program['phase'])}", needs=ADOPTION, at_as_of=True,
            change=display.change(display.share, program["offloaded_share"], before and before["offloaded_share"]),
            trend=ui.series(metrics.from_range_start(organisation), "offloaded_share"))  # fmt: skip
with second:
    ui.tile("Functions at scale", f"{program['functions_at_scale']} of {len(functions)}", "functions_at_scale",
            "adoption_org", needs=ADOPTION, at_as_of=True,
            note="The organisation is at scale" if program["is_at_scale"]
            else f"Scale needs {settings.adoption.scale_min_functions} functions at scale; "
                 f"{display.plural(len(functions), 'function')} in view"
            if len(functions) < settings.adoption.scale_min_functions else "Not yet at scale",
            change=display.change(display.count, program["functions_at_scale"],
                                  before and before["functions_at_scale"]))  # fmt: skip
with third:
    spans = display.scale_note(
        program["time_to_scale_months"], program["months_since_first_deployment"], low, high
    )
    ui.tile("Trajectory", display.label(program["trajectory"]), "trajectory", "adoption_program", note=spans,
            needs=("replication_events",))  # fmt: skip
with fourth:
    tiles.km_replication_median(replication)
first, second, third, fourth = st.columns(4)
with first:
    tiles.hours_saved(net_output, net_output_before)
with second:
    tiles.net_output_uplift(net_output, net_output_before, ui.get(metrics.net_output, by=("month",)))
with third:
    tiles.net_savings(finance, finance_before, months)
with fourth:
    tiles.reinvestment_pool(finance, finance_before, months, settings)
outlook.forecast_tiles()

left, right = st.columns(2)
with left:
    st.subheader("The organisation's S-curve", help=ui.help_for("offloaded_share", "adoption_org"))
    if ui.can_show(*ADOPTION):
        ui.chart(charts.s_curve(organisation, settings, program["first_deployment_month"],
                                outlook.organisation_projection()), key="s_curve")  # fmt: skip
with right:
    st.subheader("The cascade across functions", help=ui.help_for("crossed_on", "adoption_cascade"))
    if ui.can_show(*ADOPTION):
        ui.chart(
            charts.cascade(
                ui.get(metrics.adoption), settings, ui.get(forecast.forecast_projection), ui.every_function()
            ),
            key="cascade",
        )

st.subheader("Alerts")
cull, plateau, backlog = st.columns([5, 3, 4])
with cull:
    failing = metrics.cull_list(ui.get(metrics.agents), settings)
    st.markdown(f"**Cull list** ({display.plural(len(failing), 'agent')} below the gate)",
                help=ui.help_for("gate", "gates"))  # fmt: skip
    ui.table(failing, {"agent_id": ("Agent", ui.TEXT), "accuracy": ("Accuracy", ui.SHARE),
                       "automation": ("Automation", ui.SHARE)},
             family="gates", key="overview_cull", empty="No agent fails the gate.", failing="fails_on")  # fmt: skip
with plateau:
    stuck = metrics.in_plateau(functions)
    st.markdown(f"**In the pilot plateau** ({display.plural(len(stuck), 'function')})",
                help=ui.help_for("phase", "adoption"))  # fmt: skip
    ui.table(stuck, {"function": ("Function", ui.TEXT), "offloaded_share": ("Share", ui.SHARE)},
             family="adoption_cascade", key="overview_plateau", empty="No function is in the pilot plateau.")  # fmt: skip
with backlog:
    undeployed = ui.get(metrics.replication_undeployed)
    waiting = metrics.replication_backlog(ui.get(metrics.replication), undeployed)
    # The range's validated agents only; the alerts below name every agent waiting past the rule.
    st.markdown(f"**Validated in this range, waiting longest for a copy** ({display.plural(len(waiting), 'agent')})",
                help=ui.help_for("waiting_days", "replication"))  # fmt: skip
    # "Days", not "Days waiting" (the heading says it): three columns fit a third of the page.
    ui.table(waiting, {"agent_id": ("Agent", ui.TEXT), "waiting_days": ("Days", ui.COUNT),
                       "units_without_deployment": ("Unrecorded copies", ui.COUNT)},
             family="replication", key="overview_backlog", empty="No validated agent is waiting.")  # fmt: skip

outlook.alerts_panel(
    dict(zip(undeployed["agent_id"], undeployed["business_units_without_deployment"].map(list), strict=True)),
    set(failing["agent_id"]),
)
outlook.wins_feed(set(failing["agent_id"]))

st.subheader("The one-page executive summary", help="The same page as `offload-metrics report --format md`.")
# The summary is the whole report: built when asked for (a download, or the expander opened), not
# with every visit to the page (10M realistic events: about half the page's time).
whole_report = ui.later(summary.executive_summary)
title = f"Offloading report as of {display.day(ui.current_filters().as_of)}"


def summary_markdown() -> str:
    try:
        return summary.markdown(whole_report())
    # A download cannot show a warning: its file (or the expander) says what went wrong.
    except Exception as error:
        return f"# {title}\n\nThe summary could not be computed: {ui.problem(error)}.\n"


first, second = st.columns(2)
with first:
    st.download_button("Download the summary (Markdown)", lambda: summary_markdown().encode("utf-8"),
                       file_name="offload-summary.md", mime="text/markdown", key="overview_summary_md",
                       icon=":material/download:")  # fmt: skip
with second:
    st.download_button("Download the summary (printable HTML)",
                       lambda: summary.html(summary_markdown(), title).encode("utf-8"),
                       file_name="offload-summary.html", mime="text/html", key="overview_summary_html",
                       icon=":material/print:", help="Open it in a browser and print it, or save it as PDF.")  # fmt: skip
shown = st.expander("Read the summary here", key="overview_summary", on_change="rerun")
if shown.open:
    with shown:
        st.markdown(summary_markdown())
