"""Adoption cascade: how each function moves along the S-curve, and how far apart they are."""

import streamlit as st

from offload_metrics import charts, display, forecast, metrics, outlook, ui

ui.page("Adoption cascade", "Adoption needs documented time savings and an organisation baseline.")

settings = ui.settings()
adoption = ui.get(metrics.adoption)
organisation = ui.get(metrics.adoption_org)
cascade = ui.get(metrics.cascade)
latest = organisation.tail(1)
ADOPTION = ("time_saved", "org_baseline")

# With one function in view, leading and lagging are the same function and the gap is nothing.
alone = len(cascade) == 1
ALONE = "Only one function is in view: there is nothing to compare it with"
first, second, third = st.columns(3)
with first:
    ui.tile("Selected function" if alone else "Leading function", display.text(ui.first(latest, "leading_function")),
            "leading_function", "adoption_org", needs=ADOPTION,
            note=f"{display.share(ui.first(latest, 'leading_share'))} of its routine work")  # fmt: skip
with second:
    ui.tile("Lagging function", "—" if alone else display.text(ui.first(latest, "lagging_function")),
            "lagging_function", "adoption_org", needs=ADOPTION,
            note=ALONE if alone else f"{display.share(ui.first(latest, 'lagging_share'))} of its routine work")  # fmt: skip
with third:
    ui.tile("Gap between them", "—" if alone else display.points(ui.first(latest, "gap")), "gap", "adoption_org",
            needs=ADOPTION, note=ALONE if alone else "Percentage points between the leading and the lagging function")  # fmt: skip

st.subheader("Offloaded share by function", help=ui.help_for("offloaded_share", "adoption"))
if ui.can_show(*ADOPTION):
    ui.chart(
        charts.cascade(adoption, settings, ui.get(forecast.forecast_projection), ui.every_function()),
        key="adoption_lines",
    )
outlook.forecast_table()
st.subheader("Function by month", help=ui.help_for("offloaded_share", "adoption"))
if ui.can_show(*ADOPTION):
    ui.chart(charts.heatmap(adoption), key="adoption_heatmap")

low, crossing, high = (display.setting_share(bound) for bound in settings.adoption.phase_bounds)
st.subheader("When each function entered each phase", help=ui.help_for("Definition", "adoption_cascade"))
ui.table(cascade, {
    "function": ("Function", ui.TEXT), "phase": ("Phase now", ui.LABEL), "offloaded_share": ("Share now", ui.SHARE),
    "entered_crossing_point_on": (f"Crossing point (reached {low})", ui.MONTH),
    "crossed_on": (f"Acceleration (crossed {crossing})", ui.MONTH),
    "entered_saturation_on": (f"Saturation (reached {high})", ui.MONTH), "cascade_rank": ("Cascade rank", ui.COUNT),
}, family="adoption_cascade", key="adoption_phases", empty="No function has adoption data yet.")  # fmt: skip
st.caption("— means the function has not reached that phase by as of.")

st.subheader("Leading against lagging", help=ui.help_for("gap", "adoption_org"))
if alone:
    st.caption(f"{ALONE}; choose more functions, or none for all.")
elif ui.can_show(*ADOPTION):
    ui.chart(charts.gap(organisation), key="adoption_gap")
    st.caption(
        "Each month's leading and lagging function, which can change from month to month: hover for their "
        "names. The shaded band is the gap between them."
    )
