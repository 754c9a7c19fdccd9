"""The collaboration network: the contract kind, centralities, seed ranking and the spread test,
on small hand-made organisations loaded through the real ingest."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from conftest import records, write_csv
from offload_metrics import ingest, metrics, network, schema
from offload_metrics.config import Settings

COLUMNS = [column.name for column in schema.columns(schema.Collaboration)]


def tie(a: str, b: str, hours: float, month: str = "2025-03", **extra: object) -> dict[str, object]:
    """A collaboration row between teams written 'unit/team' (function: the unit's first word)."""
    (a_unit, a_team), (b_unit, b_team) = a.split("/"), b.split("/")
    start = extra.pop("start", f"{month}-01")
    end = extra.pop("end", f"{month}-28")
    return {
        "period_start": start,
        "period_end": end,
        "source_function": extra.pop("source_function", f"F{a_unit}"),
        "source_business_unit": a_unit,
        "source_team": a_team,
        "target_function": extra.pop("target_function", f"F{b_unit}"),
        "target_business_unit": b_unit,
        "target_team": b_team,
        "collaboration_hours": hours,
        **extra,
    }


def load_ties(conn, folder, rows, name="collaboration.csv") -> ingest.LoadResult:
    return ingest.load_file(conn, write_csv(folder / name, rows, COLUMNS))


# --- the contract --------------------------------------------------------------------------------


def test_a_collaboration_file_is_detected_and_a_team_paired_with_itself_is_rejected(conn, tmp_path):
    rows = [
        tie("U/A", "U/B", 10),
        tie("U/A", "U/A", 3),  # line 3: a team with itself
        tie("U/A", "U/C", -1),  # line 4: negative hours
        tie("U/A", "U/B", 10),  # line 5: the same row again
        tie("U/A", "U/B", 12),  # line 6: the same key, other hours
    ]
    result = load_ties(conn, tmp_path, rows)
    assert (result.kind, result.rows_read, result.accepted, result.duplicate, result.conflict, result.rejected) == (
        "collaboration", 5, 1, 1, 1, 2,
    )  # fmt: skip
    reasons = conn.execute(
        "select line, column_name, outcome, reason from rejected_rows order by line"
    ).fetchall()
    assert reasons == [
        (3, "target_team", "rejected",
         "target_team: pairs a team with itself (time within a team is not a tie between teams)"),
        (4, "collaboration_hours", "rejected", 'collaboration_hours: must be ≥ 0 (got "-1")'),
        (6, "collaboration_hours", "conflict",
         'period_start "2025-03-01", source_business_unit "U", source_team "A", target_business_unit "U", '
         'target_team "B" repeats line 2 of this file with a different collaboration_hours'),
    ]  # fmt: skip
    again = load_ties(conn, tmp_path, rows)
    assert again.status == "already loaded"


def test_rows_on_a_pair_add_up_per_month_in_either_order_and_direction(conn, tmp_path):
    rows = [
        tie("U/B", "U/A", 2, start="2025-03-03", end="2025-03-09", direction="directed"),
        tie("U/A", "U/B", 3, start="2025-03-03", end="2025-03-09", direction="directed"),
        tie("U/A", "U/B", 4, start="2025-03-10", end="2025-03-16"),
        tie("U/A", "U/B", 5, start="2025-04-07", end="2025-04-13"),
        tie("V/D", "U/A", 1.5, start="2025-03-31", end="2025-04-06"),
    ]
    assert load_ties(conn, tmp_path, rows).accepted == 5
    monthly = conn.execute(
        "select month::varchar, a_business_unit, a_team, b_business_unit, b_team, collaboration_hours "
        "from stg_team_ties order by all"
    ).fetchall()
    assert monthly == [
        ("2025-03-01", "U", "A", "U", "B", 2 + 3 + 4),
        ("2025-03-01", "U", "A", "V", "D", 1.5),  # counted in the month of its period_start
        ("2025-04-01", "U", "A", "U", "B", 5),
    ]


# --- centralities ----------------------------------------------------------------------------------

# Five teams: A-B 10 h, B-C 10 h, A-C 1 h, C-D 5 h; E works alone. D sits in another business unit.
FIVE = [tie("U/A", "U/B", 10), tie("U/B", "U/C", 10), tie("U/A", "U/C", 1), tie("U/C", "V/D", 5)]


@pytest.fixture
def five(data, tmp_path):
    for unit, team in (("U", "A"), ("U", "B"), ("U", "C"), ("V", "D"), ("U", "E")):
        data.baseline(team, 10, 800, function=f"F{unit}", bu=unit)
    conn = data.load()
    load_ties(conn, tmp_path, FIVE)
    return conn


def test_centralities_of_a_five_team_graph_match_the_hand_computation(five):
    teams = network.network_teams(five, metrics.Filters(), Settings()).set_index("team")
    # Weighted degree: the hours of each team's ties.
    assert teams["weighted_degree"].to_dict() == {"A": 11, "B": 20, "C": 16, "D": 5, "E": 0}
    # Betweenness with distance = 1 / hours: A reaches C through B (0.1 + 0.1 < 1), and D through B
    # and C. B lies on A-C and A-D, C on A-D and B-D: 2 of the (5-1)(5-2)/2 = 6 pairs each.
    assert teams["betweenness"].to_dict() == pytest.approx({"A": 0, "B": 2 / 6, "C": 2 / 6, "D": 0, "E": 0})
    # Eigenvector: the principal eigenvector (unit length) of the hours matrix of A, B, C, D.
    hours = np.array([[0, 10, 1, 0], [10, 0, 10, 0], [1, 10, 0, 5], [0, 0, 5, 0]], dtype=float)
    values, vectors = np.linalg.eigh(hours)
    principal = np.abs(vectors[:, np.argmax(values)])
    # Checked: A x = 15.109 x for x = (0.4802, 0.6720, 0.5352, 0.1771).
    assert principal == pytest.approx([0.4802, 0.6720, 0.5352, 0.1771], abs=1e-4)
    assert [teams.loc[team, "eigenvector"] for team in "ABCDE"] == pytest.approx([*principal, 0.0])
    # The index: the mean of the three measures, each over its largest value.
    expected = {
        team: (degree / 20 + eigen / principal[1] + between / (2 / 6)) / 3
        for team, degree, eigen, between in zip(
            "ABCDE", (11, 20, 16, 5, 0), (*principal, 0.0), (0, 2 / 6, 2 / 6, 0, 0), strict=True
        )
    }
    assert teams["centrality_index"].to_dict() == pytest.approx(expected)
    assert teams["weighted_degree_rank"].to_dict() == {"B": 1, "C": 2, "A": 3, "D": 4, "E": 5}
    assert teams["betweenness_rank"].to_dict() == {"B": 1, "C": 1, "A": 3, "D": 3, "E": 3}
    assert list(teams.index) == ["B", "C", "A", "D", "E"]  # by centrality rank
    # Bridges: D's hours all go to another unit; C's 5 of 16 (31%) do, under the 40% setting.
    assert teams["cross_unit_share"].to_dict() == pytest.approx({"A": 0, "B": 0, "C": 5 / 16, "D": 1, "E": 0})
    assert teams["is_bridge"].to_dict() == {"A": False, "B": False, "C": False, "D": True, "E": False}
    assert teams.loc["D", "connects"] == ["U"]
    assert teams["network_position"].to_dict() == {
        "A": "main network", "B": "main network", "C": "main network", "D": "main network", "E": "isolated",
    }  # fmt: skip


def test_a_separate_group_is_named_and_ranked_below_the_main_network(five, tmp_path):
    load_ties(five, tmp_path, [tie("W/X", "W/Y", 2)], name="more.csv")
    teams = network.network_teams(five, metrics.Filters(), Settings()).set_index("team")
    assert teams.loc["X", "network_position"] == "separate group 2 (2 teams)"
    assert teams.loc["E", "network_position"] == "isolated"
    # A pair's eigenvalue is its tie's hours (2); the main network's is 15.109: the pair's unit vector
    # (0.7071 each) is scaled by 2 / 15.109.
    assert teams.loc["X", "eigenvector"] == pytest.approx(math.sqrt(0.5) * 2 / 15.109131, rel=1e-5)
    assert teams.loc["X", "eigenvector"] < teams.loc["D", "eigenvector"]


def test_the_filters_choose_the_teams_listed_not_their_centrality(five):
    whole = network.network_teams(five, metrics.Filters(), Settings()).set_index("team")
    chosen = network.network_teams(five, metrics.Filters(business_units=("V",)), Settings())
    assert records(chosen, "team", "weighted_degree", "centrality_index") == [
        ("D", 5.0, pytest.approx(whole.loc["D", "centrality_index"]))
    ]


def test_the_measures_without_the_picture_are_the_network_teams_without_x_and_y(five):
    measures = network.network_measures(five, metrics.Filters(business_units=("U",)), Settings())
    assert list(measures.columns) == [column for column in network.TEAM_COLUMNS if column not in ("x", "y")]
    assert records(measures, "team", "weighted_degree", "centrality_rank", "network_position") == [
        ("B", 20.0, 1, "main network"),
        ("C", 16.0, 2, "main network"),
        ("A", 11.0, 3, "main network"),
        ("E", 0.0, 5, "isolated"),
    ]
    teams = network.network_teams(five, metrics.Filters(business_units=("U",)), Settings())
    assert measures.equals(teams.drop(columns=["x", "y"]))


def test_no_collaboration_data_lists_the_baseline_teams_as_isolated(data):
    conn = data.baseline("A", 10, 800).load()
    teams = network.network_teams(conn, metrics.Filters(), Settings())
    assert records(teams, "team", "weighted_degree", "network_position") == [("A", 0.0, "isolated")]


# --- where to seed next -------------------------------------------------------------------------------

TRIANGLE = [tie("U/P", "U/Q", 10), tie("U/Q", "U/R", 10), tie("U/P", "U/R", 10)]
EVEN = {"F1": 0.5, "F2": 0.5, "F3": 0.5}


def seed_ranking(tmp_path, name, ties=TRIANGLE, appetite=EVEN, routine=None, build=None, filters=None):
    """The seed list of an organisation of teams P, Q, R (functions F1, F2, F3, 10 people, 800
    routine hours a month unless `routine` says otherwise) with the given ties and stated appetite."""
    from conftest import Data
    from offload_metrics import store

    folder = tmp_path / name
    folder.mkdir()
    conn = store.connect(folder / "db.duckdb")
    data = Data(conn, folder)
    for team, function in (("P", "F1"), ("Q", "F2"), ("R", "F3")):
        data.baseline(team, 10, (routine or {}).get(team, 800), function=function, bu="U")
    if build:
        build(data)
    data.load()
    load_ties(conn, folder, ties)
    settings = Settings.model_validate({"network": {"appetite": appetite}})
    frame = network.seed_candidates(conn, filters or metrics.Filters(), settings)
    conn.close()
    return {row.team: (row.seed_rank, pytest.approx(row.seed_score)) for row in frame.itertuples()}, frame


# Default weights: 0.4 centrality, 0.3 appetite, 0.3 pain. In the even triangle every team has the
# same degree (1 scaled) and eigenvector (1 scaled) and no betweenness: index 2/3. Pain is the mean of
# routine hours per head (80, scaled 1) and the slowest task's minutes (none: 0): 0.5.
BASE = 0.4 * 2 / 3 + 0.3 * 0.5 + 0.3 * 0.5


def test_the_seed_ranking_of_equal_teams_is_a_tie(tmp_path):
    ranking, frame = seed_ranking(tmp_path, "base")
    assert ranking == {"P": (1, BASE), "Q": (1, BASE), "R": (1, BASE)}
    assert frame.loc[frame["team"] == "P", "reason"].item() == (
        "among the most central teams (rank 1 of 3); 80 routine hours per head a month; F1 has a medium appetite "
        "for risk"
    )


def test_more_centrality_moves_a_team_up(tmp_path):
    # A star on Q: Q has degree 20 (P, R: 10), eigenvector 1/sqrt(2) (leaves 1/2) and lies on the one
    # P-R path (betweenness 1). Index Q = 1; P, R = (0.5 + (1/2)/(1/sqrt(2)) + 0) / 3.
    leaf = (0.5 + math.sqrt(0.5)) / 3
    ranking, _ = seed_ranking(tmp_path, "star", ties=[tie("U/P", "U/Q", 10), tie("U/Q", "U/R", 10)])
    assert ranking == {
        "Q": (1, 0.4 * 1 + 0.3 * 0.5 + 0.15),
        "P": (2, 0.4 * leaf + 0.3 * 0.5 + 0.15),
        "R": (2, 0.4 * leaf + 0.3 * 0.5 + 0.15),
    }


def test_a_bolder_function_moves_its_team_up(tmp_path):
    ranking, _ = seed_ranking(tmp_path, "appetite", appetite={**EVEN, "F3": 0.9})
    assert ranking == {"R": (1, 0.4 * 2 / 3 + 0.3 * 0.9 + 0.15), "P": (2, BASE), "Q": (2, BASE)}


def test_a_function_that_validated_fast_moves_its_teams_up(tmp_path):
    def pilot(data):
        # S (F2) is a pilot team: its agent ran first on 5 March and was validated on 15 March.
        data.baseline("S", 10, 800, function="F2", bu="U")
        data.usage("2025-03-05", "s-agent", function="F2", bu="U", team="S")
        data.rows["replication_events"].append(
            {"event_id": "v1", "agent_id": "s-agent", "event_type": "validated", "occurred_on": "2025-03-15",
             "function": "F2", "business_unit": "U", "team": "S"}
        )  # fmt: skip

    ranking, frame = seed_ranking(tmp_path, "measured", build=pilot)
    # F2 is the only function measured, so the fastest: measured 1, combined 0.5 x 0.5 + 0.5 x 1.
    assert ranking == {"Q": (1, 0.4 * 2 / 3 + 0.3 * 0.75 + 0.15), "P": (2, BASE), "R": (2, BASE)}
    assert "S" not in ranking  # a team with a validated agent is seeded already
    assert (
        frame.loc[frame["team"] == "Q", "reason"]
        .item()
        .endswith("F2 validates fastest (10 days from first use to validation)")
    )


def test_more_routine_hours_per_head_move_a_team_up(tmp_path):
    # R: 1,600 routine hours for 10 people = 160 per head, the most (scaled 1); P and Q have half.
    ranking, _ = seed_ranking(tmp_path, "routine", routine={"R": 1600})
    assert ranking == {
        "R": (1, 0.4 * 2 / 3 + 0.15 + 0.3 * 0.5),
        "P": (2, 0.4 * 2 / 3 + 0.15 + 0.3 * 0.25),
        "Q": (2, 0.4 * 2 / 3 + 0.15 + 0.3 * 0.25),
    }


def test_slower_tasks_in_a_function_move_its_team_up(tmp_path):
    # F1 documented a task type that takes 240 minutes by hand (team T, outside the network).
    def slow_task(data):
        data.saved("2025-03", "T", 10, 240, 60, function="F1", bu="U")

    ranking, frame = seed_ranking(tmp_path, "minutes", build=slow_task)
    assert ranking == {"P": (1, 0.4 * 2 / 3 + 0.15 + 0.3 * 1.0), "Q": (2, BASE), "R": (2, BASE)}
    assert "takes 240 minutes by hand" in frame.loc[frame["team"] == "P", "reason"].item()


def test_a_team_with_validated_net_output_is_not_a_seed_candidate(tmp_path):
    # P saved 600 x (60 - 12) / 60 = 480 hours of its 10 x 160 = 1,600: uplift 0.30, validated.
    def validated(data):
        data.saved("2025-03", "P", 600, 60, 12, function="F1", bu="U", headcount=10)

    ranking, _ = seed_ranking(tmp_path, "validated", build=validated)
    assert set(ranking) == {"Q", "R"}


def test_a_team_validated_after_the_range_but_by_as_of_is_not_a_seed_candidate(tmp_path):
    # P validates in May (uplift 0.30 as above); the range ends in March, as_of is the data's last
    # day in May. "Up to as_of" holds whatever the range: P is left out.
    def validated_in_may(data):
        data.saved("2025-05", "P", 600, 60, 12, function="F1", bu="U", headcount=10)

    filters = metrics.Filters(date_to=dt.date(2025, 3, 31))
    ranking, _ = seed_ranking(tmp_path, "validated-later", build=validated_in_may, filters=filters)
    assert set(ranking) == {"Q", "R"}


def test_a_filtered_seed_list_ranks_within_the_selection_on_the_organisations_scores(tmp_path):
    # Stated appetite F3 0.9, F1 0.7, F2 0.5 in the even triangle (index 2/3, pain 0.5 each):
    # R = 0.4 x 2/3 + 0.3 x 0.9 + 0.15, P = ... + 0.3 x 0.7 + 0.15, Q = BASE; ranks R 1, P 2, Q 3.
    appetite = {"F1": 0.7, "F2": 0.5, "F3": 0.9}
    r_score, p_score = 0.4 * 2 / 3 + 0.27 + 0.15, 0.4 * 2 / 3 + 0.21 + 0.15
    _, whole = seed_ranking(tmp_path, "whole", appetite=appetite)
    assert records(whole, "team", "seed_rank", "selection_rank", "seed_score") == [
        ("R", 1, 1, pytest.approx(r_score)), ("P", 2, 2, pytest.approx(p_score)), ("Q", 3, 3, pytest.approx(BASE)),
    ]  # fmt: skip
    # F1 and F2 chosen: P and Q keep their organisation's ranks (2, 3) and scores, and rank 1, 2 among
    # the teams listed (a filtered list read "2, 3", as if a better team were hidden in it).
    chosen_functions = metrics.Filters(functions=("F1", "F2"))
    _, chosen = seed_ranking(tmp_path, "chosen", appetite=appetite, filters=chosen_functions)
    assert records(chosen, "team", "seed_rank", "selection_rank", "seed_score") == [
        ("P", 2, 1, pytest.approx(p_score)), ("Q", 3, 2, pytest.approx(BASE)),
    ]  # fmt: skip
    # Equal scores share the better rank within the selection too: P and Q tie at BASE under EVEN.
    _, tied = seed_ranking(tmp_path, "tied", filters=chosen_functions)
    assert records(tied, "team", "seed_rank", "selection_rank") == [("P", 1, 1), ("Q", 1, 1)]


def test_self_selected_teams_are_those_running_uncatalogued_agents_or_agents_ahead_of_their_unit(data):
    data.agent("a", "Marketing")
    data.rows["replication_events"].append(
        {"event_id": "v1", "agent_id": "a", "event_type": "validated", "occurred_on": "2025-01-20",
         "function": "Marketing", "business_unit": "Home", "team": "Pilot"}
    )  # fmt: skip
    data.event("a", "deployed", "2025-02-01", "Away")
    data.usage("2025-01-02", "a", bu="Home", team="Pilot")  # the pilot itself: legitimate
    data.usage("2025-01-05", "a", bu="Away", team="Early", count=3)  # before "a" reached Away
    data.usage("2025-02-10", "a", bu="Away", team="Later")  # after: nothing to legitimise
    data.usage("2025-02-11", "homebrew", bu="Away", team="Later", count=2)  # not in the catalog
    conn = data.load()
    teams = network.grassroots_teams(conn, metrics.Filters(), Settings())
    assert records(teams, "business_unit", "team", "runs", "tasks", "reason") == [
        ("Away", "Early", ["a"], 3, "ran a before a validated agent reached Away on 2025-02-01"),
        ("Away", "Later", ["homebrew"], 2, "runs homebrew, not in the catalog"),
    ]


# --- did success spread along the network? ----------------------------------------------------------


def test_the_permutation_p_value_matches_the_exact_binomial_tail():
    # Five copies, each of which could have gone to two units, one of them tied: at random each lands
    # on a tie with probability 1/2, so all five do with probability 1/32.
    flags = [np.array([1, 0])] * 5
    assert network.permutation_p_value(flags, 5, 40_000, seed=7) == pytest.approx(1 / 32, abs=0.003)
    assert network.permutation_p_value(flags, 3, 40_000, seed=7) == pytest.approx(16 / 32, abs=0.01)
    assert network.permutation_p_value(flags, 0, 1_000, seed=7) == 1.0
    assert network.permutation_p_value(flags, 5, 1_000, seed=7) == network.permutation_p_value(
        flags, 5, 1_000, 7
    )


def spread_organisation(data, tmp_path, agents: int, tie_month: str = "2025-01"):
    """Units Home, Near and Far; Home and Near collaborate; every agent is validated in Home on
    1 March and copied to Near 10 + its number days later."""
    for unit in ("Home", "Near", "Far"):
        data.baseline("T", 10, 800, bu=unit)
    for number in range(agents):
        data.event(f"a{number}", "validated", "2025-03-01", "Home")
        data.event(f"a{number}", "deployed", f"2025-03-{11 + number}", "Near")
    conn = data.load()
    load_ties(conn, tmp_path, [tie("Home/T", "Near/T", 6, month=tie_month)])
    return conn


def test_replication_along_ties_against_chance(data, tmp_path):
    conn = spread_organisation(data, tmp_path, agents=5)
    settings = Settings.model_validate({"network": {"permutations": 40_000}})
    spread = network.replication_spread(conn, metrics.Filters(), settings)
    assert records(spread, "agent_id", "business_unit", "replication_days", "tie_hours", "is_tied", "candidates",
                   "tied_candidates") == [
        (f"a{number}", "Near", 10 + number, 6.0, True, 2, 1) for number in range(5)
    ]  # fmt: skip
    summary = network.replication_spread_summary(conn, metrics.Filters(), settings).iloc[0]
    assert (summary["replications"], summary["along_ties"], summary["share_along_ties"]) == (5, 5, 1.0)
    assert summary["expected_share"] == 0.5  # one of two candidate units tied, for each copy
    assert summary["p_value"] == pytest.approx(1 / 32, abs=0.003)
    assert summary["median_days_along_ties"] == 12  # 10, 11, 12, 13, 14
    assert summary["median_days_not_along_ties"] is None
    assert summary["followed_network"]
    assert summary["verdict"].startswith(
        "Replication followed the network: 100% of 5 copies went to units already tied to the pilot unit, "
        "against 50% expected if copies went to units at random (p = 0.03"
    )


def test_too_few_replications_say_so_and_a_tie_in_the_deployment_month_does_not_count(data, tmp_path):
    conn = spread_organisation(data, tmp_path, agents=2, tie_month="2025-03")
    summary = network.replication_spread_summary(conn, metrics.Filters(), Settings()).iloc[0]
    assert (summary["replications"], summary["along_ties"], summary["expected_share"]) == (2, 0, 0.0)
    assert summary["median_days_not_along_ties"] == 10.5
    assert summary["followed_network"] is None
    assert (
        summary["verdict"] == "Too few replications to tell: 2 in the range, and the test needs at least 5."
    )


def test_the_spread_findings_are_the_summary_and_the_rows_from_one_query(data, tmp_path):
    conn = spread_organisation(data, tmp_path, agents=5)
    summary, rows = network.spread_findings(conn, metrics.Filters(), Settings())
    assert summary.equals(network.replication_spread_summary(conn, metrics.Filters(), Settings()))
    assert rows.equals(network.replication_spread(conn, metrics.Filters(), Settings()))


def test_tie_flags_come_per_replication_in_key_order_each_by_candidate_unit(data, tmp_path):
    # Home and Near collaborate. b, validated in Home, is copied to Near: its candidates Far and Near
    # (by name), Near tied. a, validated in Far (tied to no unit), is copied to Near, then to Home.
    for unit in ("Home", "Near", "Far"):
        data.baseline("T", 10, 800, bu=unit)
    data.event("b", "validated", "2025-03-01", "Home")
    data.event("a", "validated", "2025-03-01", "Far")
    data.event("b", "deployed", "2025-03-05", "Near")
    data.event("a", "deployed", "2025-03-06", "Near")
    data.event("a", "deployed", "2025-03-07", "Home")
    conn = data.load()
    load_ties(conn, tmp_path, [tie("Home/T", "Near/T", 6, month="2025-01")])

    found = network._spread(conn, metrics.Filters(), Settings())

    # The rows by deployment day; the permutation test's draws by (agent, unit): (a, Home), (a, Near), (b, Near).
    assert list(zip(found["agent_id"], found["business_unit"], strict=True)) == [
        ("b", "Near"), ("a", "Near"), ("a", "Home")
    ]  # fmt: skip
    assert list(found["is_tied"]) == [True, False, False]
    assert list(found["tied_candidates"]) == [1, 0, 0]
    assert [list(flags) for flags in network._tie_flags(found)] == [[0, 0], [0, 0], [0, 1]]


def test_the_docs_carry_the_network_definitions_word_for_word():
    from pathlib import Path

    from offload_metrics import definitions

    docs = (Path(__file__).resolve().parents[1] / "docs" / "metrics.md").read_text(encoding="utf-8")
    for name, text in network.DEFINITIONS.items():
        assert f"- **`{name}`**: {text}" in docs
        assert definitions.lookup(name) == text


def test_a_network_without_ties_draws_no_lines_and_keeps_its_columns(data):
    conn = data.baseline("A", 10, 800).load()
    ties = network.network_ties(conn, metrics.Filters(), Settings())
    assert (len(ties), {"a_business_unit", "a_x", "b_y", "collaboration_hours"} <= set(ties.columns)) == (
        0,
        True,
    )
