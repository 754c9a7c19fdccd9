"""Where to seed next: which team should get the next agent, and why; and who started on its own."""

import streamlit as st

from offload_metrics import charts, display, network, ui

ui.page(
    "Where to seed next",
    "The network needs collaboration data (a collaboration file or a Viva Insights group-to-group export) and "
    "the organisation baseline.",
)


def reasons(frame, title: str, lead: str | None = None, shown: int = 3) -> None:
    """A table's reasons in full, under it (as a column they ran off the page): the first few in
    view, every one in an expander."""
    if frame.empty or "reason" not in frame.columns:
        return
    lines = [
        f"- {'' if lead is None else f'Rank {int(row[lead])}: '}**{display.plain(row['team'])}** "
        f"({display.plain(row['business_unit'])}): {display.plain(row['reason'])}"
        for _, row in frame.iterrows()
    ]
    st.markdown("\n".join(lines[:shown]))
    if len(lines) > shown:
        with st.expander(f"{title} (all {len(lines)})"):
            st.markdown("\n".join(lines))


summary = ui.get(network.network_summary)
teams = ui.get(network.network_teams)
seeds = ui.get(network.seed_candidates)

first, second, third, fourth = st.columns(4)
with first:
    ui.tile("Teams in the network", display.count(ui.first(summary, "teams") or 0), "network_teams")
with second:
    ui.tile("Bridge teams", display.count(ui.first(summary, "bridges") or 0), "is_bridge")
with third:
    ui.tile("Teams to seed", display.count(ui.first(summary, "seed_candidates") or 0), "seed_candidates")
with fourth:
    ui.tile("Self-selected teams", display.count(ui.first(summary, "grassroots_teams") or 0), "Definition",
            "grassroots")  # fmt: skip

chosen = ui.current_filters()
filtered = bool(chosen.functions or chosen.business_units)
st.subheader("Ranked: where the next agent should go", help=ui.help_for("seed_score"))
if filtered and not seeds.empty:
    st.caption(network.SELECTION_RANKS)
# Ranked within the selection (the organisation when nothing is filtered); under a filter, the
# organisation's rank beside it.
ui.table(seeds, {
    "selection_rank": ("Rank", ui.COUNT), "team": ("Team", ui.TEXT), "business_unit": ("Business unit", ui.TEXT),
    "function": ("Function", ui.TEXT), "seed_score": ("Seed score", ui.NUMBER2),
    "centrality_index": ("Centrality index", ui.NUMBER2), "appetite": ("Appetite", ui.NUMBER2),
    "pain": ("Pain", ui.NUMBER2), **({"seed_rank": ("Rank in the organisation", ui.COUNT)} if filtered else {}),
}, key="seed_ranking", height=420,
    empty="Every team listed has validated Net Output or a validated agent: nothing is left to seed.")  # fmt: skip
reasons(seeds, "Why each team is ranked where it is", lead="selection_rank")

st.subheader("The collaboration network", help=ui.help_for("centrality_index"))
if not ui.first(summary, "ties"):
    st.caption(
        "No collaboration between teams in this range: load a collaboration file or a Viva Insights export."
    )
ui.chart(charts.network_picture(teams, ui.get(network.network_ties)), key="network_picture")
st.caption(
    "A point is a team, as large as its network centrality index and coloured by its function's adoption phase; "
    "a line is a tie, as wide as the hours the two teams spent together. Hover for the numbers."
)

st.subheader("Self-selected teams to legitimise", help=ui.help_for("Definition", "grassroots"))
ui.table(ui.get(network.grassroots_teams), {
    "team": ("Team", ui.TEXT), "business_unit": ("Business unit", ui.TEXT), "function": ("Function", ui.TEXT),
    "first_used_on": ("Since", ui.DAY), "tasks": ("Tasks", ui.COUNT),
    # Last, so a team running many agents widens only this cell; the reasons below name every one.
    "runs": ("Runs", ui.LIST),
}, key="grassroots_teams", empty="No team runs agents on its own: every agent in use is catalogued and reached its "
   "unit through a validated agent.")  # fmt: skip
reasons(ui.get(network.grassroots_teams), "Why each team counts as self-selected")

with st.expander("Every team's centrality"):
    ui.table(teams, {
        # The organisation's ranks: under a filter the column says so.
        "centrality_rank": ("Rank in the organisation" if filtered else "Rank", ui.COUNT),
        "team": ("Team", ui.TEXT), "business_unit": ("Business unit", ui.TEXT), "function": ("Function", ui.TEXT),
        "centrality_index": ("Index", ui.NUMBER2),
        "weighted_degree": ("Hours of ties", ui.NUMBER), "eigenvector": ("Eigenvector", ui.NUMBER2),
        "betweenness": ("Betweenness", ui.NUMBER2), "is_bridge": ("Bridge", ui.FLAG),
        "connects": ("Connects", ui.LIST), "network_position": ("Position", ui.TEXT),
    }, key="network_teams", height=360)  # fmt: skip
