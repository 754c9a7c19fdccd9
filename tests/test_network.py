"""The collaboration network: the contract kind, centralities, seed ranking and the spread test,
on small hand-made organisations loaded through the real ingest."""

from __future__ import annotations

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
        "from stg_collaboration order by all"
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


def test_no_collaboration_data_lists_the_baseline_teams_as_isolated(data):
    conn = data.baseline("A", 10, 800).load()
    teams = network.network_teams(conn, metrics.Filters(), Settings())
    assert records(teams, "team", "weighted_degree", "network_position") == [("A", 0.0, "isolated")]
