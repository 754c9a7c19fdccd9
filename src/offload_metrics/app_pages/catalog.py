"""Agent catalog: the validated agents worth copying, with their proof and their recipe."""

import streamlit as st

from offload_metrics import display, metrics, summary, ui

ui.page("Agent catalog", "The catalog needs the agent registry and replication events.")

validated = metrics.validated_catalog(ui.get(metrics.catalog))
in_range = int(validated["is_validated_in_range"].fillna(False).sum())
unlisted = validated[~validated["is_in_catalog"]]
st.caption(
    f"{display.plural(len(validated), 'validated agent')} up to {display.day(ui.current_filters().as_of)} "
    f"({in_range} validated in the chosen months, as Replication Velocity counts them). Pick one to read and "
    "download its blueprint."
)
ui.table(validated, {
    "name": ("Agent", ui.TEXT), "agent_id": ("Id", ui.TEXT), "function": ("Function", ui.TEXT),
    "risk_class": ("Risk", ui.LABEL), "validated_on": ("Validated on", ui.DAY), "replications": ("Replications", ui.COUNT),
    "hours_saved": ("Hours saved", ui.HOURS), "gate": ("Gate", ui.LABEL),
}, family="catalog", key="catalog_table", height=320, highlight="gate",
   empty="No agent has been validated yet: load replication events with validated agents.")  # fmt: skip

if not unlisted.empty:
    reasons = ui.catalog_rejections(tuple(unlisted["agent_id"]))
    with st.container(border=True):
        st.markdown(
            f"**{display.plural(len(unlisted), 'validated agent')} with no catalog entry**: validated, "
            "but no accepted row of the agent catalog names it."
        )
        for agent_id in unlisted["agent_id"]:
            rows = reasons[reasons["agent_id"] == agent_id]
            why = "; ".join(
                f"{row.file_name} line {row.line}: {row.reason}" for row in rows.itertuples(index=False)
            )
            st.markdown(f"- `{agent_id}`: " + (f"its catalog row was rejected ({why})." if why else
                                               "the catalog has no row for it."))  # fmt: skip
            if why:
                st.page_link(str(ui.PAGES / "data.py"), label=f"See the rejected row of {agent_id} on the Data page",
                             icon=":material/database:", query_params={"agent": agent_id})  # fmt: skip

records = validated.to_dict("records")
chosen = st.selectbox(
    "Agent", range(len(records)), format_func=lambda index: f"{records[index]['name']} ({records[index]['agent_id']})",
    key="catalog_agent", placeholder="Choose an agent",
)  # fmt: skip
if chosen is not None and records:
    agent = records[chosen]
    settings = ui.settings()
    if agent["gate"] == "fail":
        gates = settings.gates
        st.warning(
            f"This agent fails the performance gate over the last {gates.window_days} days (accuracy "
            f"{display.share(agent['accuracy'])} against {display.setting_share(gates.min_accuracy)}, automation "
            f"{display.share(agent['automation'])} against {display.setting_share(gates.min_automation)}): it is on "
            "the cull list. Fix it before another unit copies it.",
            icon=":material/warning:",
        )
    first, second, third, fourth, fifth = st.columns(5)
    with first:
        ui.tile("Risk class", display.label(agent["risk_class"]), "risk_class", "catalog")
    with second:
        ui.tile("Hours saved", display.hours(agent["hours_saved"]), "hours_saved", "catalog",
                note=f"{display.plural(int(agent['teams']), 'team')}")  # fmt: skip
    with third:
        # Seeding and source under the chosen agent: as table columns they pushed the gate off the page.
        ui.tile("Replications", display.count(agent["replications"]), "replications", "replication",
                note="; ".join(f"{name}: {'Not recorded' if display.missing(agent.get(column)) else display.label(agent[column])}"
                               for name, column in (("Seeding", "seeding_strategy"), ("Source", "source"))))  # fmt: skip
    with fourth:
        ui.tile("Gate", display.label(agent["gate"]), "gate", "gates",
                note=f"Accuracy {display.share(agent['accuracy'])}, automation {display.share(agent['automation'])}")  # fmt: skip
    uplift = settings.net_output.validation_uplift
    with fifth:
        # The hours it saved the team that validated it; that team's Net Output beside them.
        ui.tile("Pilot team saved", summary.pilot_hours(agent) or "Not named", "pilot_hours_saved", "catalog",
                note=summary.pilot_proof(agent, uplift))  # fmt: skip
    elsewhere = agent.get("units_without_deployment")
    if not display.missing(elsewhere) and elsewhere > 0:
        st.info(
            f"{display.plural(int(elsewhere), 'other business unit').capitalize()} ran this agent or saved hours "
            "with it in the chosen months, but no deployment of it there is recorded: the Replications figure and "
            "Replication Velocity do not count them. Load a replication event of type deployed for each copy.",
            icon=":material/info:",
        )
    page = summary.blueprint_page(agent, ui.current_filters().as_of, uplift)
    st.download_button(
        "Download the one-page blueprint", page.encode("utf-8"), file_name=f"{agent['agent_id']}-blueprint.md",
        mime="text/markdown", key="catalog_download", icon=":material/download:",
    )  # fmt: skip
    with st.container(border=True):
        # Markdown from the registry: formatted, but inert (no raw HTML, no images, only web and mail links).
        ui.markdown_from_data(summary.blueprint_text(agent))
