"""The look-ahead blocks of the dashboard: the forecast tiles, the alerts panel and the wins feed.

Each block is one call from a page, so that the pages stay a description of the screen.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

import pandas as pd
import streamlit as st

from offload_metrics import alerts, display, forecast, metrics, ui, wins

SEVERITY_ICONS = {"critical": ":material/error:", "warning": ":material/warning:", "info": ":material/info:"}
PAGE_TITLES = {
    "/fleet": "Agent fleet",
    "/finance": "Finance",
    "/adoption": "Adoption cascade",
    "/replication": "Replication Velocity",
    "/net_output": "Net Output",
}


def forecast_help() -> str:
    settings = ui.settings()
    band = settings.forecast.interval
    return (
        "A logistic S-curve fitted to each function's monthly offloaded share (ceiling at most 100%, each "
        "month weighted by its uncertainty), projected to the month in which enough functions "
        f"({settings.adoption.scale_min_functions}) each reach {display.share(settings.adoption.scale_share, 0)}. "
        f"The range holds the middle {display.share(band, 0)} of {settings.forecast.draws} bootstrap refits. "
        f"A function needs {settings.forecast.min_months} months with time-saved data and a growing share to "
        "get a forecast."
    )


def scale_help() -> str:
    """What "at scale" means, for a month already observed."""
    adoption = ui.settings().adoption
    return (
        f"The first month in which {display.plural(adoption.scale_min_functions, 'function')} each had "
        f"{display.share(adoption.scale_share, 0)} or more of their routine work offloaded: seen in the "
        "data, so no projection is needed."
    )


def forecast_tiles() -> None:
    """Two tiles: when the organisation is projected to reach scale, and the function that holds it back."""
    settings = ui.settings()
    summary = ui.get(forecast.forecast_summary)
    org, unknown = summary["org"], forecast.without_forecast(summary)
    low, high = settings.adoption.scale_months
    needed, shown = settings.adoption.scale_min_functions, len(summary.get("functions", []))
    first, second = st.columns(2)
    with first:
        label, help_text = "Projected at scale", forecast_help()
        if shown < needed:
            # A view of fewer functions than scale takes can never be at scale: say so, not "no forecast".
            label, value = "Organisation at scale", "—"
            note = (
                f"scale takes {display.plural(needed, 'function')}; this view holds {shown}: "
                "choose more functions to see it"
            )
        elif org["status"] == "observed":
            label, value, note = "At scale since", org["first_scale_month"], "reached; no projection needed"
            help_text = scale_help()
        elif org["status"] == "projected":
            value = org["first_scale_month"]
            note = f"range {org['first_scale_month_low']} – {org['first_scale_month_high'] or 'beyond the horizon'}"
            if org["time_to_scale_months"] is not None:
                note += f"; {display.plural(org['time_to_scale_months'], 'month')} (on track is {low}-{high})"
        else:
            value, note = "—", org["reason"] or "no forecast yet"
        st.metric(label, value, delta=note, delta_color="off", delta_arrow="off",
                  help=help_text, border=True)  # fmt: skip
    with second:
        last = org["last_function"] or "—"
        seen = bool(org["last_function"]) and forecast.scale_seen(summary, org["last_function"])
        note = (
            f"{'at scale since' if seen else 'projected at scale'} {org['last_function_month']}"
            if org["last_function_month"]
            else "no function has a forecast"
        )
        # A function not projected to reach scale does not "reach scale last": the tile says it does not.
        label = "Reaches scale last"
        if org["last_function"] and not org["last_function_month"]:
            label, note = "Not projected to reach scale", "within the forecast horizon"
        never = list(org.get("not_projected_functions") or [])
        if len(never) > 1:
            # No one of them is last: the name broke the tie.
            last = display.plural(len(never), "function")
            note = f"{display.listed(never)}, within the forecast horizon"
        if org["last_function"] and unknown:
            label, last = "Reaches scale last", "—"
            note = f"{len(unknown)} of {len(summary['functions'])} functions have no forecast yet; " + (
                f"of the others, {display.listed(never)} are not projected to reach scale"
                if len(never) > 1
                else f"of the others, {org['last_function']} last"
            )
        st.metric(label, last, delta=note, delta_color="off", delta_arrow="off",
                  help=forecast_help(), border=True)  # fmt: skip


def organisation_projection() -> pd.DataFrame:
    """The organisation's projected share for the S-curve; none while a function has too few months
    for a forecast yet: it would be held at its share, and early on one function's fit drew the whole
    organisation flat near 0% for years."""
    if forecast.without_forecast(ui.get(forecast.forecast_summary)):
        return pd.DataFrame(columns=["month", "share", "share_low", "share_high"])
    return forecast.organisation_projection(ui.get(forecast.forecast_projection), ui.get(metrics.adoption))


def forecast_table() -> None:
    """Each function's forecast, or why it has none."""
    settings = ui.settings()
    st.subheader("Projected crossings", help=forecast_help())
    frame = forecast.table(ui.get(forecast.forecast_summary), settings)
    names = {
        name: f"{display.label(name)} ({display.share(share, 0)})"
        for name, share in forecast.milestones(settings)
    }
    # The curve's midpoint is a fitting detail (the JSON report has it): without it the table fits.
    # Why a function has no forecast, under the table: in a cell, "no: fewer than 6 months ..." was cut
    # at "no: fewer t", and a column wide enough for it pushed the table past the page.
    reasons = {
        str(row.function): str(row.forecast).removeprefix("no: ")
        for row in frame.itertuples()
        if str(row.forecast).startswith("no: ")
    }
    frame = frame.assign(
        forecast=frame["forecast"].map(lambda cell: "no" if str(cell).startswith("no: ") else cell)
    )
    ui.table(frame, {"function": ("Function", ui.TEXT), "forecast": ("Forecast", ui.TEXT),
                     "ceiling": ("Ceiling", ui.SHARE),
                     **{name: (title, ui.TEXT) for name, title in names.items()}},
             key="forecast_table")  # fmt: skip
    if reasons:
        st.caption(
            "No forecast: "
            + "; ".join(
                f"{display.plain(function)}, {display.plain(reason)}" for function, reason in reasons.items()
            )
            + "."
        )
    if frame.astype(str).apply(lambda column: column.str.startswith(forecast.NOT_IN_SIGHT)).any().any():
        st.caption(
            "Not in sight: the fitted curve does not reach that share within the forecast horizon (its ceiling may "
            'be below it); "its range reaches it from" a month: the earliest month in which the faster of the '
            "refits reach it."
        )


def alerts_panel(
    undeployed: Mapping[str, Sequence[str]] | None = None, failing: Collection[str] = ()
) -> None:
    """The alerts at as_of, most severe first, each with the page that explains it; `undeployed`
    (agent -> business units that use it without a recorded deployment) and `failing` (the cull
    list) qualify a wait for a copy (alerts.said)."""
    found = ui.get(alerts.alert_list)
    st.subheader(
        f"What needs attention ({display.plural(len(found), 'alert')})",
        help="Rules over the state at As of, with thresholds in the alerts settings; the same list as "
        "`offload-metrics alerts`.",
    )
    if not found:
        st.caption("No alert fires as of this date.")
        return

    def say(alert: dict) -> None:
        page = PAGE_TITLES.get(alert["page"], alert["page"])
        st.markdown(
            f"{SEVERITY_ICONS[alert['severity']]} **{display.label(alert['severity'])}** · {display.plain(alerts.said(alert, undeployed or {}, failing))} "
            f"· [{page}]({alert['page']})"
        )

    _listed(found, 20, say, "alert")


def wins_feed(failing: Collection[str] = ()) -> None:
    """What first happened in the applied range; a copy of an agent in `failing` (the cull list) is
    said to fail its gate, so a page does not celebrate what it also lists for removal."""
    found = ui.get(wins.win_list)
    st.subheader(f"Wins in this range ({len(found)})", help="Teams that validated Net Output for the first "
                 "time, agents copied to a new business unit, functions entering a new phase and agents newly "
                 "passing the gate, between From and To.")  # fmt: skip
    if not found:
        st.caption("No new wins in this range.")
        return

    def say(win: dict) -> None:
        text, warns = wins.said(win, failing)
        st.markdown(f"{':material/warning:' if warns else ':material/celebration:'} {display.plain(text)}")

    _listed(found, 15, say, "win")


def _listed(found: list[dict], first: int, say: Callable[[dict], object], word: str) -> None:
    """The first items said on the page, the rest in an expander below them: every one a click away."""
    for item in found[:first]:
        say(item)
    if len(found) > first:
        with st.expander(f"{display.plural(len(found) - first, 'more ' + word)}"):
            for item in found[first:]:
                say(item)


DRIVER_GROUPS = {"seeding_strategy": "Seeding strategy", "source": "Vendor or built"}


def drivers_section() -> None:
    """Replication Velocity compared by seeding strategy and by vendor against built agents."""
    st.subheader(
        "What drives spread",
        help="Kaplan-Meier median days to a first copy, and replication counts, for the agents validated in "
        "this range, grouped by the catalog's seeding_strategy and source columns (agents without them: "
        '"not recorded"). "Not reached": fewer than half of the group\'s agents have been copied yet.',
    )
    # One above the other: side by side, half a page is too narrow for their six columns.
    for by, title in DRIVER_GROUPS.items():
        with st.container():
            summary = ui.get(metrics.replication_summary, by=(by,))
            st.markdown(f"**{title}**")
            ui.table(
                metrics.drivers_table(summary, by).assign(**{by: lambda frame, by=by: frame[by].map(display.label)}),
                {by: (title, ui.TEXT), "validated_agents": ("Agents", ui.COUNT),
                 "replicated_agents": ("Replicated", ui.COUNT), "total_replications": ("Copies", ui.COUNT),
                 "km_median": ("Median days (Kaplan-Meier)", ui.FIGURE),
                 "median_replication_days": ("Plain median", ui.DAYS)},
                family="replication_summary", key=f"drivers_{by}", empty="No validated agent in this range.",
            )  # fmt: skip
    ratio = metrics.km_ratio(ui.get(metrics.replication_summary, by=("source",)), "source", "built", "vendor")
    if ratio is not None:
        st.caption(
            f"Vendor agents reach a first copy {ratio:.1f}x as fast as built ones here (Kaplan-Meier medians); "
            "the domain's claim is 3-5x."
        )
