"""The collaboration network: each team's place in it, where to seed the next agent, and whether
replication followed it.

The inputs come from SQL files (collaboration_ties, network_nodes, pilot_teams, task_pain,
appetite_measured, grassroots, replication_spread); networkx does the graph work, which SQL cannot.
Each function takes a connection, one Filters value and the settings and returns a DataFrame, like
the functions of metrics.py. The network is always the whole organisation's over the range: the
function and business unit filters choose which teams are listed, not whose ties count, so a
team's centrality does not change with the filter.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import duckdb
import networkx as nx
import numpy as np
import pandas as pd

from offload_metrics import display, metrics
from offload_metrics.config import Settings

Team = tuple[str, str]  # (business_unit, team)
MEASURES = ("weighted_degree", "eigenvector", "betweenness")
TEAM_COLUMNS = (
    "function", "business_unit", "team", "weighted_degree", "weighted_degree_rank", "eigenvector",
    "eigenvector_rank", "betweenness", "betweenness_rank", "centrality_index", "centrality_rank",
    "cross_unit_share", "is_bridge", "connects", "component", "component_size", "network_position",
    "phase", "x", "y",
)  # fmt: skip
# network_teams' columns without the picture's place (network_measures).
MEASURE_COLUMNS = tuple(column for column in TEAM_COLUMNS if column not in ("x", "y"))


# What each number of this module means: the one place these definitions are written (docs/metrics.md
# carries the same words, a test keeps them equal, and the dashboard shows them on hover).
DEFINITIONS = {
    "weighted_degree": "hours of all the team's ties over the range (the sum of collaboration_hours of the "
    "pairs it is part of).",
    "eigenvector": "eigenvector centrality: the team's entry in the principal eigenvector (unit length) of the "
    "hours matrix of its connected component, times that component's leading eigenvalue over the largest "
    "component's; 0 for an isolated team. High for a team that works with teams that are central themselves.",
    "betweenness": "betweenness centrality: the share of pairs of other teams whose shortest path passes "
    "through the team, a tie's length being 1 / its hours, normalised by (n-1)(n-2)/2 for n teams.",
    "centrality_index": "network centrality index = (weighted_degree / largest weighted_degree + eigenvector / "
    "largest eigenvector + betweenness / largest betweenness) / 3 over every team of the organisation (a "
    "measure whose largest value is 0 counts 0), in [0, 1].",
    "centrality_rank": "1 for the highest centrality index; equal values share the better rank (likewise "
    "weighted_degree_rank, eigenvector_rank and betweenness_rank).",
    "cross_unit_share": "share of the team's tie hours spent with teams of other business units.",
    "is_bridge": "cross_unit_share above the setting network.bridge_share.",
    "connects": "the other business units the team's ties reach, most hours first.",
    "network_position": "main network (the largest connected component), separate group k (a smaller "
    "component, numbered by size), or isolated (no tie in the range).",
    "seed_score": "(centrality_weight x centrality_index + appetite_weight x appetite + pain_weight x pain) / "
    "(the sum of the three weights), for each team without validated Net Output in any month up to as_of and "
    "without a validated agent; seed_rank 1 is the best place for the next agent.",
    "selection_rank": "seed_rank among the teams the function and business unit filters list (1 for the "
    "highest seed score of the selection; equal scores share the better rank); without filters, seed_rank.",
    "appetite": "the function's appetite for risk: (1 - measured_appetite_weight) x stated + "
    "measured_appetite_weight x measured, where measured = the fastest function's time_to_validation_days / this "
    "function's (each at least 1 day); the stated appetite (network.appetite, else network.default_appetite) "
    "alone where nothing is measured.",
    "pain": "(routine_hours_per_head / its largest over all teams + top_task_minutes / its largest) / 2, a "
    "missing part counting 0.",
    "routine_hours_per_head": "routine_hours_per_month / headcount, from the organisation baseline.",
    "top_task_minutes": "baseline minutes per task of the function's most time-consuming documented task type "
    "(task_pain.sql).",
    "share_along_ties": "replications whose new business unit was tied to the pilot unit before the "
    "deployment, over all replications in the range.",
    "expected_share": "the mean over replications of the share of their candidate units (every business unit "
    "but the pilot unit) tied to the pilot unit before the deployment: the share expected if copies went to "
    "units at random.",
    "p_value": "one-sided permutation test: each copy reassigned to one of its candidate units at random, "
    "network.permutations times with the seed network.random_seed; (1 + reassignments with at least as many "
    "copies along ties) / (1 + permutations).",
    "median_days_along_ties": "median replication_days of the replications along ties "
    "(median_days_not_along_ties: of the others).",
    "followed_network": "p_value below network.significance when there are at least network.min_replications "
    "replications; null (too few to tell) otherwise.",
}
# What a person sees on hover for the numbers the pages show: plain words (definitions.in_words),
# the settings in braces filled in as the page shows them.
IN_WORDS = {
    "centrality_index": "How central the team is in the collaboration network, from 0 to 1: how many hours "
    "its ties carry, how central the teams it works with are, and how often it lies between other teams.",
    "is_bridge": "A team that spends more than {bridge_share} of its collaboration hours with other business "
    "units: a copy there can cross units.",
    "seed_score": "How good a place the team is for the next agent, from 0 to 1: its centrality, its "
    "function's appetite for risk and its pain (routine hours per head, slow tasks), weighted by the "
    "settings. Teams with validated Net Output or a validated agent are left out.",
    "network_teams": "How many teams the network lists within the filters: every team of the "
    "organisation baseline or of the collaboration data, with ties in the range or without (isolated).",
    "seed_candidates": "How many of those teams are left to seed: neither validated Net Output nor a "
    "validated agent up to as of. The table below ranks them by seed score.",
    "selection_rank": "Where the team stands by seed score among the teams listed: 1 is the best place in "
    "this selection for the next agent. Without a filter, the whole organisation's rank.",
    "seed_rank": "Where the team stands by seed score among every team of the organisation left to seed, "
    "whatever the filters: 1 is the organisation's best place for the next agent.",
    "share_along_ties": "Of the copies of agents to other business units, the share that went to units "
    "already working with the pilot unit.",
    "expected_share": "The share of copies that would go to units working with the pilot unit if copies "
    "went to units at random.",
    "p_value": "How likely a share along ties this high would be if copies went to units at random (from "
    "{permutations} random reassignments); below {significance}, replication followed the network.",
    "median_days_along_ties": "Median days from validation to a copy, for copies to units working with "
    "the pilot unit (and, below it, for the others).",
}


# What a filtered seed list says of its numbers (the page and the executive summary).
SELECTION_RANKS = (
    "Ranked among the teams of this selection: rank 1 is its best place for the next agent. The scores are "
    "the whole organisation's: centrality comes from the whole organisation's collaboration network, and "
    "appetite and pain are measured against every function and team, so a filter changes no team's score."
)


def _whole_organisation(filters: metrics.Filters, conn: duckdb.DuckDBPyConnection) -> metrics.Filters:
    """The filters' dates, without the function and business unit choices."""
    return dataclasses.replace(filters.resolve(conn), functions=(), business_units=())


def _chosen(frame: pd.DataFrame, filters: metrics.Filters, function: str = "function") -> pd.DataFrame:
    """The rows of teams whose function and business unit pass the filters."""
    keep = pd.Series(True, index=frame.index)
    if filters.functions:
        keep &= frame[function].isin(filters.functions)
    if filters.business_units:
        keep &= frame["business_unit"].isin(filters.business_units)
    return frame[keep].reset_index(drop=True)


def build_graph(nodes: pd.DataFrame, ties: pd.DataFrame) -> nx.Graph:
    """Teams as nodes (business_unit, team), ties weighted by hours, with distance = 1 / hours for
    shortest paths (betweenness treats a weight as a length: many hours make teams close)."""
    graph = nx.Graph()
    for row in nodes.itertuples(index=False):
        graph.add_node((row.business_unit, row.team), function=row.function)
    for row in ties.itertuples(index=False):
        hours = float(row.collaboration_hours)
        for side, function in (((row.a_business_unit, row.a_team), row.a_function),
                               ((row.b_business_unit, row.b_team), row.b_function)):  # fmt: skip
            if side not in graph:
                graph.add_node(side, function=function)
        graph.add_edge(
            (row.a_business_unit, row.a_team),
            (row.b_business_unit, row.b_team),
            hours=hours,
            distance=1 / hours,
        )
    return graph


def components(graph: nx.Graph) -> list[list[Team]]:
    """Connected components, largest first (ties by their first team), each sorted."""
    return sorted(
        (sorted(part) for part in nx.connected_components(graph)), key=lambda part: (-len(part), part)
    )


def eigenvector(graph: nx.Graph) -> dict[Team, float]:
    """Eigenvector centrality by component: each component's principal eigenvector of its hours
    matrix (unit length and positive, as networkx's eigenvector_centrality_numpy gives it; numpy's
    symmetric solver here, as power iteration fails on some graphs), scaled by the component's
    leading eigenvalue over the largest one, so a small separate group does not outrank the main
    network. An isolated team has 0."""
    vectors: list[tuple[dict[Team, float], float]] = []
    for part in components(graph):
        if len(part) < 2:
            vectors.append(({part[0]: 0.0}, 0.0))
            continue
        matrix = nx.to_numpy_array(graph, nodelist=part, weight="hours")
        values, columns = np.linalg.eigh(matrix)
        principal = columns[:, int(np.argmax(values))]
        principal = np.abs(principal)  # the Perron vector of a connected component has one sign
        vectors.append((dict(zip(part, principal.tolist(), strict=True)), float(values.max())))
    largest = max((value for _, value in vectors), default=0.0)
    result: dict[Team, float] = {}
    for vector, value in vectors:
        scale = value / largest if largest > 0 else 0.0
        result.update({team: float(score) * scale for team, score in vector.items()})
    return result


def _scaled(values: pd.Series) -> pd.Series:
    """Values over their largest (0 everywhere when the largest is 0)."""
    top = values.max()
    return values / top if top and top > 0 else values * 0.0


def _rank(values: pd.Series) -> pd.Series:
    """1 for the largest value; equal values share the better rank."""
    return values.rank(method="min", ascending=False).astype(int)


def centrality(graph: nx.Graph, bridge_share: float) -> pd.DataFrame:
    """Per team: weighted degree, eigenvector and betweenness centrality with ranks, the network
    centrality index (the mean of the three, each over its largest value), the bridge flag and the
    team's component."""
    degree = dict(graph.degree(weight="hours"))
    eigen = eigenvector(graph)
    between = nx.betweenness_centrality(graph, weight="distance", normalized=True)
    rows = []
    parts = components(graph)
    for number, part in enumerate(parts, start=1):
        for team in part:
            cross: dict[str, float] = {}
            for other, data in graph[team].items():
                if other[0] != team[0]:
                    cross[other[0]] = cross.get(other[0], 0.0) + data["hours"]
            total = degree[team]
            share = sum(cross.values()) / total if total else 0.0
            if len(part) == 1:
                position = "isolated"
            elif number == 1:
                position = "main network"
            else:
                position = f"separate group {number} ({len(part)} teams)"
            rows.append(
                {
                    "function": graph.nodes[team].get("function"),
                    "business_unit": team[0],
                    "team": team[1],
                    "weighted_degree": float(total),
                    "eigenvector": eigen[team],
                    "betweenness": float(between[team]),
                    "cross_unit_share": share,
                    "is_bridge": share > bridge_share + metrics.TOLERANCE,
                    "connects": [
                        unit for unit, _ in sorted(cross.items(), key=lambda item: (-item[1], item[0]))
                    ],
                    "component": number,
                    "component_size": len(part),
                    "network_position": position,
                }
            )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["centrality_index"] = sum(_scaled(frame[measure]) for measure in MEASURES) / len(MEASURES)
    for measure in (*MEASURES, "centrality_index"):
        name = "centrality_rank" if measure == "centrality_index" else f"{measure}_rank"
        frame[name] = _rank(frame[measure].round(12))
    return frame


def _layout(graph: nx.Graph, seed: int) -> dict[Team, tuple[float, float]]:
    """Positions for the picture: a spring layout with a fixed seed, stronger ties pulling closer.
    The same graph is laid out once: a page asks for it from the teams, the ties and the summary."""
    if not graph:
        return {}
    edges = tuple((a, b, float(data["hours"])) for a, b, data in graph.edges(data=True))
    return dict(_spring_layout(tuple(graph.nodes), edges, seed))


@functools.lru_cache(maxsize=8)
def _spring_layout(
    nodes: tuple[Team, ...], edges: tuple[tuple[Team, Team, float], ...], seed: int
) -> tuple[tuple[Team, tuple[float, float]], ...]:
    # The nodes in the graph's order: the layout's starting positions follow it.
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    top = max((hours for _, _, hours in edges), default=1.0)
    graph.add_weighted_edges_from(((a, b, hours / top) for a, b, hours in edges), weight="strength")
    positions = nx.spring_layout(graph, weight="strength", seed=seed)
    return tuple((team, (float(x), float(y))) for team, (x, y) in positions.items())


def _inputs(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> tuple[metrics.Filters, nx.Graph, pd.DataFrame]:
    whole = _whole_organisation(filters, conn)
    nodes = metrics.query(conn, "network_nodes", whole, settings)
    ties = metrics.query(conn, "collaboration_ties", whole, settings)
    return whole, build_graph(nodes, ties), nodes


def network_teams(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> pd.DataFrame:
    """Every team of the network (network_nodes.sql, collaboration_ties.sql) with its centralities,
    ranks, index, bridge flag, component, its function's adoption phase and its place in the picture."""
    graph, measured = _measured(conn, filters, settings)
    if measured.empty:
        return pd.DataFrame(columns=list(TEAM_COLUMNS))
    frame = measured.copy()
    positions = _layout(graph, settings.network.random_seed)
    frame["x"] = [
        positions[(unit, team)][0] for unit, team in zip(frame["business_unit"], frame["team"], strict=True)
    ]
    frame["y"] = [
        positions[(unit, team)][1] for unit, team in zip(frame["business_unit"], frame["team"], strict=True)
    ]
    return _chosen(frame[list(TEAM_COLUMNS)], filters)


def network_measures(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> pd.DataFrame:
    """network_teams without the place in the picture (MEASURE_COLUMNS): the layout is most of its
    cost and only the picture needs it."""
    _, frame = _measured(conn, filters, settings)
    if frame.empty:
        return pd.DataFrame(columns=list(MEASURE_COLUMNS))
    return _chosen(frame[list(MEASURE_COLUMNS)], filters)


def _measured(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> tuple[nx.Graph, pd.DataFrame]:
    """The whole organisation's graph and its measured teams, computed once in a shared_results()
    block (the report asks for them for its teams and for where to seed). Not to be changed."""
    whole = _whole_organisation(filters, conn)

    def compute() -> tuple[nx.Graph, pd.DataFrame]:
        _, graph, _ = _inputs(conn, whole, settings)
        return graph, _measured_teams(conn, whole, graph, settings)

    # Keyed by the settings' values: a page's block spans several calls, each with settings of its own.
    key = ("network_measured_teams", whole, settings.model_dump_json())
    return metrics.shared_value(conn, key, compute)


def _measured_teams(
    conn: duckdb.DuckDBPyConnection, whole: metrics.Filters, graph: nx.Graph, settings: Settings
) -> pd.DataFrame:
    """Every team of the graph with its measures and its function's phase, most central first."""
    frame = centrality(graph, settings.network.bridge_share)
    if frame.empty:
        return frame
    phases = metrics.cascade(conn, whole, settings).set_index("function")["phase"]
    frame["phase"] = [phases.get(function) for function in frame["function"]]
    return frame.sort_values(["centrality_rank", "business_unit", "team"]).reset_index(drop=True)


def network_ties(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> pd.DataFrame:
    """The ties among the listed teams, with both ends' places in the picture."""
    whole = _whole_organisation(filters, conn)
    ties = metrics.query(conn, "collaboration_ties", whole, settings)
    teams = network_teams(conn, filters, settings)
    places = {(row.business_unit, row.team): (row.x, row.y) for row in teams.itertuples(index=False)}
    keep = [
        (a_unit, a_team) in places and (b_unit, b_team) in places
        for a_unit, a_team, b_unit, b_team in zip(
            ties["a_business_unit"], ties["a_team"], ties["b_business_unit"], ties["b_team"], strict=True
        )
    ]
    # A boolean array, not a list: an empty list would select no columns rather than no rows.
    ties = ties[np.asarray(keep, dtype=bool)].reset_index(drop=True)
    ties["a_x"] = [places[(u, t)][0] for u, t in zip(ties["a_business_unit"], ties["a_team"], strict=True)]
    ties["a_y"] = [places[(u, t)][1] for u, t in zip(ties["a_business_unit"], ties["a_team"], strict=True)]
    ties["b_x"] = [places[(u, t)][0] for u, t in zip(ties["b_business_unit"], ties["b_team"], strict=True)]
    ties["b_y"] = [places[(u, t)][1] for u, t in zip(ties["b_business_unit"], ties["b_team"], strict=True)]
    return ties


# Where to seed next ------------------------------------------------------------------------------


def function_appetite(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> pd.DataFrame:
    """Per function: the stated appetite for risk (a setting), the measured one (the fastest
    function's days from first use to validation over this function's, appetite_measured.sql) and
    the two combined by measured_appetite_weight (the stated one alone where nothing is measured)."""
    whole = _whole_organisation(filters, conn)
    measured = metrics.query(conn, "appetite_measured", whole, settings)
    names = sorted(set(metrics.functions(conn, whole)) | set(measured["function"]))
    days = measured.set_index("function")["time_to_validation_days"]
    # Without any measured function no took is known, so fastest is never compared.
    fastest = max(float(days.min()), 1.0) if len(days) else math.inf
    weight = settings.network.measured_appetite_weight
    rows = []
    for function in names:
        stated = settings.network.appetite_of(function)
        took = float(days[function]) if function in days.index else None
        share = fastest / max(took, 1.0) if took is not None and fastest is not None else None
        rows.append(
            {
                "function": function,
                "stated_appetite": stated,
                "time_to_validation_days": took,
                "measured_appetite": share,
                "appetite": stated if share is None else (1 - weight) * stated + weight * share,
                "is_fastest": took is not None and max(took, 1.0) <= fastest,
            }
        )
    return pd.DataFrame(rows, columns=["function", "stated_appetite", "time_to_validation_days", "measured_appetite",
                                       "appetite", "is_fastest"])  # fmt: skip


def _appetite_words(row) -> str:
    if not display.missing(row.time_to_validation_days):
        days = f"{row.time_to_validation_days:.0f} days from first use to validation"
        if row.is_fastest:
            return f"{row.function} validates fastest ({days})"
        return f"{row.function} validates in {days}"
    level = "high" if row.stated_appetite >= 0.7 else "medium" if row.stated_appetite >= 0.4 else "low"
    return f"{row.function} has a {level} appetite for risk"


SEED_COLUMNS = (
    "seed_rank", "function", "business_unit", "team", "seed_score", "centrality_index", "centrality_rank",
    "appetite", "pain", "routine_hours_per_head", "top_task_type", "top_task_minutes", "is_bridge", "connects",
    "network_position", "phase", "reason", "selection_rank",
)  # fmt: skip


def seed_candidates(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> pd.DataFrame:
    """Every team that has neither validated Net Output (in any month up to as_of) nor a validated
    agent, ranked by its seed score: the weighted mean of its centrality index, its function's
    appetite for risk and its pain, each in [0, 1], with the reason in plain words. Scores and
    seed_rank are the whole organisation's; selection_rank ranks the teams the filters list."""
    whole = _whole_organisation(filters, conn)
    nodes = metrics.query(conn, "network_nodes", whole, settings)
    teams = network_measures(conn, whole, settings)
    if teams.empty:
        return pd.DataFrame(columns=list(SEED_COLUMNS))
    # Every month up to as_of, whatever the range's end: a team validated after it is no candidate.
    history = dataclasses.replace(whole, date_from=whole.history_from, date_to=whole.dates.as_of)
    months = metrics.net_output_teams(conn, history, settings)
    validated = {
        (row.business_unit, row.team)
        for row in months[months["has_validated_net_output"].fillna(False)].itertuples()
    }
    pilots = metrics.query(conn, "pilot_teams", whole, settings)
    validated |= set(zip(pilots["business_unit"], pilots["team"], strict=True))
    pain = metrics.query(conn, "task_pain", whole, settings).groupby("function").head(1).set_index("function")
    appetite = function_appetite(conn, whole, settings).set_index("function", drop=False)
    frame = teams.merge(nodes[["business_unit", "team", "headcount", "routine_hours_per_month"]],
                        on=["business_unit", "team"], how="left")  # fmt: skip
    frame["routine_hours_per_head"] = frame["routine_hours_per_month"] / frame["headcount"]
    # Per function as plain dicts: a pandas lookup per team costs tens of microseconds, at 300 teams milliseconds.
    top_task, top_minutes = (
        dict(zip(pain.index, pain[column], strict=True)) for column in ("task_type", "baseline_minutes")
    )
    frame["top_task_type"] = [top_task.get(function) for function in frame["function"]]
    frame["top_task_minutes"] = [top_minutes.get(function) for function in frame["function"]]
    # Pain is scaled over every team of the organisation, so one team's change moves no other's score.
    frame["pain"] = (
        _scaled(frame["routine_hours_per_head"].fillna(0))
        + _scaled(frame["top_task_minutes"].astype(float).fillna(0))
    ) / 2
    measured = dict(zip(appetite.index, appetite["appetite"], strict=True))
    frame["appetite"] = [
        measured.get(function, settings.network.appetite_of(function)) for function in frame["function"]
    ]
    weights = settings.network.seed_weights
    frame["seed_score"] = (
        weights[0] * frame["centrality_index"] + weights[1] * frame["appetite"] + weights[2] * frame["pain"]
    ) / sum(weights)
    size = len(frame)
    words = {function: _appetite_words(row) for function, row in appetite.iterrows()}
    frame["reason"] = ["; ".join(_seed_reasons(row, size, words)) for row in frame.itertuples(index=False)]
    open_teams = [(unit, team) not in validated for unit, team in zip(frame["business_unit"], frame["team"],
                                                                       strict=True)]  # fmt: skip
    frame = frame[open_teams].sort_values(
        ["seed_score", "business_unit", "team"], ascending=[False, True, True]
    )
    frame["seed_rank"] = _rank(frame["seed_score"].round(12))
    chosen = _chosen(frame.reset_index(drop=True), filters)
    chosen["selection_rank"] = _rank(chosen["seed_score"].round(12))
    return chosen[list(SEED_COLUMNS)]


def _seed_reasons(row, size: int, appetite_words: dict[str, str]) -> list[str]:
    reasons = []
    if row.network_position == "isolated":
        reasons.append("no collaboration ties recorded")
    elif row.is_bridge:
        reasons.append(f"connects {row.business_unit} with {display.listed(row.connects[:2])}")
    elif row.centrality_rank <= 3:
        reasons.append(f"among the most central teams (rank {row.centrality_rank} of {size})")
    else:
        reasons.append(f"centrality rank {row.centrality_rank} of {size}")
    if not display.missing(row.routine_hours_per_head):
        reasons.append(f"{row.routine_hours_per_head:.0f} routine hours per head a month")
    else:
        reasons.append("no baseline of routine hours")
    if not display.missing(row.top_task_minutes):
        reasons.append(
            f"{str(row.top_task_type).replace('_', ' ')} takes {row.top_task_minutes:.0f} minutes by hand"
        )
    if row.function in appetite_words:
        reasons.append(appetite_words[row.function])
    return reasons


GRASSROOTS_COLUMNS = ("function", "business_unit", "team", "runs", "first_used_on", "tasks", "reason")


def grassroots_teams(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> pd.DataFrame:
    """Self-selected teams (grassroots.sql), one row per team: what they run and why they count."""
    rows = metrics.query(conn, "grassroots", filters, settings)
    # Plain records grouped once: a pandas selection per team costs about a millisecond, which at
    # thousands of teams is seconds.
    teams: dict[tuple, list[dict]] = {}
    for row in rows.to_dict("records"):
        teams.setdefault((row["function"], row["business_unit"], row["team"]), []).append(row)
    result = []
    for (function, unit, team), group in sorted(teams.items()):
        reasons = []
        outside = sorted(row["agent_id"] for row in group if not row["is_in_catalog"])
        if outside:
            reasons.append(f"runs {display.listed(outside)}, not in the catalog")
        early = [row for row in group if row["is_in_catalog"]]
        if early:
            reached = early[0]["unit_reached_on"]
            when = (
                "before any validated agent reached " + unit
                if display.missing(reached)
                else f"before a validated agent reached {unit} on {pd.Timestamp(reached).date()}"
            )
            reasons.append(f"ran {display.listed(sorted(row['agent_id'] for row in early))} {when}")
        result.append(
            {
                "function": function,
                "business_unit": unit,
                "team": team,
                "runs": sorted(row["agent_id"] for row in group),
                "first_used_on": min(row["first_used_on"] for row in group),
                "tasks": int(sum(row["tasks"] for row in group)),
                "reason": "; ".join(reasons),
            }
        )
    return pd.DataFrame(result, columns=list(GRASSROOTS_COLUMNS))


# Did success spread along the network? ---------------------------------------------------------------


SPREAD_COLUMNS = (
    "agent_id", "function", "pilot_unit", "business_unit", "validated_on", "deployed_on", "replication_days",
    "tie_hours", "is_tied", "candidates", "tied_candidates",
)  # fmt: skip


def replication_spread(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> pd.DataFrame:
    """Per replication (replication_spread.sql): whether the new unit was tied to the pilot unit before
    the deployment, and how many of the units it could have gone to were."""
    return _spread(conn, filters, settings)[list(SPREAD_COLUMNS)]


def _spread(conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings) -> pd.DataFrame:
    spread = metrics.query(conn, "replication_spread", filters, settings)
    if spread.empty:
        return pd.DataFrame(columns=[*SPREAD_COLUMNS, "tie_flags"])
    return spread


def permutation_p_value(tied: list[np.ndarray], observed: int, permutations: int, seed: int) -> float:
    """One-sided p-value of `observed` replications along ties when each copy instead went to one of
    its candidate units at random: (1 + permutations with at least as many) / (1 + permutations)."""
    random = np.random.default_rng(seed)
    totals = np.zeros(permutations, dtype=np.int64)
    for flags in tied:
        totals += flags[random.integers(0, len(flags), size=permutations)]
    return float((1 + np.count_nonzero(totals >= observed)) / (1 + permutations))


def _mean_share(flags: list[np.ndarray]) -> float:
    """The mean over replications of the share of their candidate units that were tied: each share
    is its flags' sum over their count, as flag.mean() gives it, without a NumPy call per replication."""
    counts = np.fromiter(map(len, flags), dtype=np.int64, count=len(flags))
    if not counts.all():  # a replication without candidates has no share (NaN, as its mean() gives)
        return float(np.mean([flag.mean() for flag in flags]))
    sums = np.add.reduceat(np.concatenate(flags), np.concatenate(([0], np.cumsum(counts)[:-1])))
    return float(np.mean(sums / counts))


def _tie_flags(spread: pd.DataFrame) -> list[np.ndarray]:
    """Per replication in key order (agent, then business unit), its candidate units' is_tied flags
    by unit name: the permutation test's draws follow this order."""
    keys = list(zip(spread["agent_id"], spread["business_unit"], strict=True))
    flags = spread["tie_flags"].tolist()
    # Sorted as keys, not as a frame: sorting the frame moves its Arrow columns, 70 ms at 3,000 rows.
    return [np.asarray(flags[row], dtype=np.int64) for row in sorted(range(len(keys)), key=keys.__getitem__)]


def replication_spread_summary(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> pd.DataFrame:
    """One row: replications, the share along ties against the share expected at random, the
    permutation test's p-value, median replication days along ties and not, and the verdict."""
    return spread_findings(conn, filters, settings)[0]


def spread_findings(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(replication_spread_summary, replication_spread) from one replication_spread query."""
    found = _spread(conn, filters, settings)
    spread = found[list(SPREAD_COLUMNS)]
    count = len(spread)
    along = int(spread["is_tied"].sum()) if count else 0
    net = settings.network
    flags = _tie_flags(found)
    expected = _mean_share(flags) if flags else None
    p_value = permutation_p_value(flags, along, net.permutations, net.random_seed) if count else None
    days = spread["replication_days"].astype(float) if count else pd.Series(dtype=float)
    tied = spread["is_tied"].astype(bool) if count else pd.Series(dtype=bool)
    summary = {
        "replications": count,
        "along_ties": along,
        "share_along_ties": along / count if count else None,
        "expected_share": expected,
        "p_value": p_value,
        "median_days_along_ties": _median(days[tied]),
        "median_days_not_along_ties": _median(days[~tied]),
        "enough_replications": count >= net.min_replications,
        "followed_network": None,
        "verdict": "",
    }
    if count >= net.min_replications:
        summary["followed_network"] = bool(p_value is not None and p_value < net.significance)
    summary["verdict"] = spread_verdict(summary, net.min_replications, net.significance)
    return pd.DataFrame([summary]), spread


def _median(values: pd.Series) -> float | None:
    return float(values.median()) if len(values) else None


def spread_verdict(summary: dict, minimum: int, significance: float) -> str:
    """The finding in one plain sentence."""
    count = summary["replications"]
    if count < minimum:
        return f"Too few replications to tell: {count} in the range, and the test needs at least {minimum}."
    share, expected = summary["share_along_ties"], summary["expected_share"]
    p_value = summary["p_value"]
    facts = (
        f"{share:.0%} of {count} copies went to units already tied to the pilot unit, against {expected:.0%} "
        f"expected if copies went to units at random ({'p < 0.001' if p_value < 0.001 else f'p = {p_value:.3f}'})"
    )
    if summary["followed_network"]:
        return f"Replication followed the network: {facts}."
    return f"No clear sign that replication followed the network: {facts}, not below {significance:g}."


def network_summary(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> pd.DataFrame:
    """One row: teams listed, ties among them, bridges, isolated teams, separate groups, seed
    candidates and self-selected teams."""
    teams = network_measures(conn, filters, settings)
    separate = teams.loc[(teams["component"] > 1) & (teams["component_size"] > 1), "component"]
    return pd.DataFrame(
        [
            {
                "teams": len(teams),
                "ties": len(network_ties(conn, filters, settings)),
                "bridges": int(teams["is_bridge"].sum()),
                "isolated_teams": int((teams["network_position"] == "isolated").sum()),
                "separate_groups": int(separate.nunique()),
                "seed_candidates": len(seed_candidates(conn, filters, settings)),
                "grassroots_teams": len(grassroots_teams(conn, filters, settings)),
            }
        ]
    )
