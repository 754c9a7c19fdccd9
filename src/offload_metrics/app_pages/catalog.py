"""Agent catalog: the validated agents worth copying, with their proof and their recipe."""

import streamlit as st

from offload_metrics import display, metrics, report, ui

ui.page("Agent catalog", "The catalog needs the agent registry and replication events.")

validated = metrics.validated_catalog(ui.get("catalog"))
st.caption(f"{len(validated)} validated agents in the catalog. Pick one to read and download its blueprint.")
ui.table(validated, {
    "name": ("Agent", ui.TEXT), "function": ("Function", ui.TEXT), "risk_class": ("Risk", ui.TEXT),
    "validated_on": ("Validated on", ui.DAY), "replications": ("Replications", ui.COUNT),
    "seeding_strategy": ("Seeding", ui.TEXT), "source": ("Source", ui.TEXT),
    "hours_saved": ("Hours saved", ui.NUMBER), "teams": ("Teams", ui.COUNT), "gate": ("Gate", ui.TEXT),
}, family="catalog", key="catalog_table", height=320,
   empty="No agent in the catalog has been validated yet: load replication events with validated agents.")  # fmt: skip

records = validated.to_dict("records")
chosen = st.selectbox(
    "Agent", range(len(records)), format_func=lambda index: f"{records[index]['name']} ({records[index]['agent_id']})",
    key="catalog_agent", placeholder="Choose an agent",
)  # fmt: skip
if chosen is not None and records:
    agent = records[chosen]
    first, second, third, fourth = st.columns(4)
    with first:
        ui.tile("Risk class", display.label(agent["risk_class"]), "risk_class", "catalog")
    with second:
        ui.tile("Hours saved", display.hours(agent["hours_saved"]), "hours_saved", "catalog",
                delta=f"{display.count(agent['teams'])} teams")  # fmt: skip
    with third:
        ui.tile("Replications", display.count(agent["replications"]), "replications", "replication")
    with fourth:
        ui.tile("Gate", display.label(agent["gate"]), "gate", "gates",
                delta=f"accuracy {display.share(agent['accuracy'])}, automation {display.share(agent['automation'])}")  # fmt: skip
    page = report.blueprint_page(agent, ui.current_filters().as_of)
    st.download_button(
        "Download the one-page blueprint", page.encode("utf-8"), file_name=f"{agent['agent_id']}-blueprint.md",
        mime="text/markdown", key="catalog_download", icon=":material/download:",
    )  # fmt: skip
    with st.container(border=True):
        ui.markdown_from_data(agent["blueprint"] or "No blueprint has been recorded for this agent yet.")
