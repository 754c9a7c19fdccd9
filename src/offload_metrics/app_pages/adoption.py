"""Adoption cascade: how each function moves along the S-curve, and how far apart they are."""

import streamlit as st

from offload_metrics import charts, display, outlook, ui

ui.page("Adoption cascade", "Adoption needs documented time savings and an organisation baseline.")

settings = ui.settings()
adoption = ui.get("adoption")
organisation = ui.get("adoption_org")
cascade = ui.get("cascade")
latest = organisation.tail(1)

first, second, third = st.columns(3)
with first:
    ui.tile("Leading function", str(ui.first(latest, "leading_function") or "—"), "leading_function", "adoption_org",
            delta=display.share(ui.first(latest, "leading_share")))  # fmt: skip
with second:
    ui.tile("Lagging function", str(ui.first(latest, "lagging_function") or "—"), "lagging_function", "adoption_org",
            delta=display.share(ui.first(latest, "lagging_share")))  # fmt: skip
with third:
    ui.tile("Gap between them", display.share(ui.first(latest, "gap")), "gap", "adoption_org")

st.subheader("Offloaded share by function", help=ui.help_for("offloaded_share", "adoption"))
ui.chart(charts.cascade(adoption, settings, ui.get("forecast_projection")), key="adoption_lines")
outlook.forecast_table()
st.subheader("Function by month", help=ui.help_for("offloaded_share", "adoption"))
ui.chart(charts.heatmap(adoption), key="adoption_heatmap")

left, right = st.columns([3, 2])
with left:
    st.subheader("When each function entered each phase", help=ui.help_for("Definition", "adoption_cascade"))
    ui.table(cascade, {
        "function": ("Function", ui.TEXT), "phase": ("Phase now", ui.TEXT),
        "offloaded_share": ("Share now", ui.SHARE), "entered_crossing_point_on": ("Crossing point", ui.MONTH),
        "crossed_on": ("Acceleration (crossed 15%)", ui.MONTH), "entered_saturation_on": ("Saturation", ui.MONTH),
        "cascade_rank": ("Cascade rank", ui.COUNT),
    }, family="adoption_cascade", key="adoption_phases")  # fmt: skip
with right:
    st.subheader("Leading against lagging", help=ui.help_for("gap", "adoption_org"))
    ui.chart(charts.gap(organisation), key="adoption_gap")
