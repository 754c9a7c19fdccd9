"""Viva Insights group-to-group exports, loaded as they come through the organisation mapping."""

from __future__ import annotations

import csv

import pytest

from offload_metrics import ingest, mapping, metrics, network
from offload_metrics.config import Settings

SPACED = [
    "PrimaryCollaborator_Organization", "PrimaryCollaborator_GroupSize", "SecondaryCollaborator_Organization",
    "SecondaryCollaborator_GroupSize", "MetricDate", "% Group collaboration time invested",
    "Group collaboration time invested", "Group email sent count", "Group email time invested",
    "Group meeting count", "Group meeting time invested",
]  # fmt: skip
# As the vivainsights R and Python packages rename them.
UNDERSCORED = [
    "PrimaryCollaborator_Organization", "PrimaryCollaborator_GroupSize", "SecondaryCollaborator_Organization",
    "SecondaryCollaborator_GroupSize", "MetricDate", "Percent_Group_collaboration_time_invested",
    "Group_collaboration_time_invested", "Group_email_sent_count", "Group_email_time_invested",
    "Group_meeting_count", "Group_meeting_time_invested",
]  # fmt: skip
SIZES = {"Brand Content": 12, "Deal Desk": 9, "Tier 1": 30, "Legal Ops": 4}
# Weekly rows (MetricDate: the week's Sunday), as a group-to-group query writes them.
ROWS = [
    ("Brand Content", "Deal Desk", "2025-03-02", 10),
    ("Deal Desk", "Brand Content", "2025-03-02", 6),  # the other direction of the same week
    ("Brand Content", "Deal Desk", "2025-03-09", 4),
    ("Brand Content", "Within Group", "2025-03-02", 20),
    ("Brand Content", "Unclassified Collaborators", "2025-03-02", 1.5),
    ("Brand Content", "Legal Ops", "2025-03-02", 3),  # line 7: no rule maps Legal Ops
    ("Legal Ops", "Brand Content", "2025-03-02", 2.5),  # line 8
    ("Deal Desk", "Deal Desk", "2025-03-02", 5),  # line 9: a group paired with itself
    ("Tier 1", "Brand Content", "2025-04-06", 2),
    ("Brand Content", "Deal Desk", "2025-03-30", 1),  # a week that starts in March counts in March
]
RULES = """
[[rule]]
source = "viva.Organization"
match = "Brand Content"
function = "Marketing"
business_unit = "Consumer"
team = "Brand Content"

[[rule]]
source = "viva.Organization"
match = "Deal*"
function = "Sales Operations"
business_unit = "Field Sales Ops"
team = "Deal Desk"

[[rule]]
source = "viva.Organization"
match = "Tier 1"
function = "Customer Support"
business_unit = "Consumer Care"
team = "Tier 1"
"""
LEGAL = """
[[rule]]
source = "viva.Organization"
match = "Legal Ops"
function = "Legal"
business_unit = "Commercial Legal"
team = "Contracts"
"""


def export(path, columns=SPACED, rows=ROWS):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(columns)
        for primary, secondary, day, hours in rows:
            size = SIZES.get(secondary, "")
            writer.writerow(
                [primary, SIZES[primary], secondary, size, day, "4.2", hours, "12", "1.5", "3", "2"]
            )
    return path


def rules(tmp_path, text=RULES, name="mapping.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return mapping.load_mapping(path)


def load(conn, path, organisation):
    return ingest.load_file(conn, path, mapping=organisation)


def counts(result):
    return (
        result.kind,
        result.rows_read,
        result.accepted,
        result.duplicate,
        result.conflict,
        result.rejected,
    )


def test_a_viva_export_loads_as_it_comes(conn, tmp_path):
    result = load(conn, export(tmp_path / "g2g.csv"), rules(tmp_path))

    assert counts(result) == ("viva_collaboration", 10, 7, 0, 0, 3)
    assert conn.execute("select line, column_name, reason from rejected_rows order by line").fetchall() == [
        (7, "secondary_collaborator",
         'secondary_collaborator: no rule of the organisation mapping matches this group; add one for it '
         '(got "Legal Ops")'),
        (8, "primary_collaborator",
         'primary_collaborator: no rule of the organisation mapping matches this group; add one for it '
         '(got "Legal Ops")'),
        (9, "secondary_collaborator",
         "secondary_collaborator: pairs a group with itself (the export reports a group's own time as "
         "Within Group)"),
    ]  # fmt: skip
    # Directed weekly rows add up per pair of teams and calendar month: 10 + 6 + 4 + 1 in March.
    assert conn.execute(
        "select month::varchar, a_function, a_business_unit, a_team, b_business_unit, b_team, collaboration_hours "
        "from stg_team_ties order by all"
    ).fetchall() == [
        ("2025-03-01", "Marketing", "Consumer", "Brand Content", "Field Sales Ops", "Deal Desk", 21.0),
        ("2025-04-01", "Marketing", "Consumer", "Brand Content", "Consumer Care", "Tier 1", 2.0),
    ]
    # Within Group is the team's own time; Unclassified Collaborators is counted, not made a team.
    assert conn.execute(
        "select month::varchar, business_unit, team, within_team_hours, unclassified_hours "
        "from stg_team_collaboration"
    ).fetchall() == [("2025-03-01", "Consumer", "Brand Content", 20.0, 1.5)]
    teams = network.network_teams(conn, metrics.Filters(), Settings())
    assert sorted(teams["team"]) == ["Brand Content", "Deal Desk", "Tier 1"]


def test_the_export_with_underscored_names_reads_the_same(conn, tmp_path):
    organisation = rules(tmp_path)
    load(conn, export(tmp_path / "g2g.csv"), organisation)
    again = load(conn, export(tmp_path / "g2g_renamed.csv", columns=UNDERSCORED), organisation)

    assert counts(again) == ("viva_collaboration", 10, 0, 7, 0, 3)


def test_the_same_file_under_the_same_mapping_is_already_loaded_and_a_new_rule_loads_only_what_now_maps(
    conn, tmp_path
):
    path = export(tmp_path / "g2g.csv")
    load(conn, path, rules(tmp_path))
    assert load(conn, path, rules(tmp_path)).status == "already loaded"

    wider = load(conn, path, rules(tmp_path, RULES + LEGAL, name="wider.toml"))

    assert counts(wider) == ("viva_collaboration", 10, 2, 7, 0, 1)
    assert conn.execute(
        "select a_business_unit, a_team, b_team, collaboration_hours from stg_team_ties "
        "where a_team = 'Contracts'"
    ).fetchall() == [("Commercial Legal", "Contracts", "Brand Content", 3 + 2.5)]


def test_without_a_mapping_every_row_is_rejected_naming_its_group(conn, tmp_path):
    result = load(conn, export(tmp_path / "g2g.csv", rows=ROWS[:2]), None)

    assert counts(result) == ("viva_collaboration", 2, 0, 0, 0, 2)
    assert [
        reason for (reason,) in conn.execute("select reason from rejected_rows order by line").fetchall()
    ] == [
        "primary_collaborator: no rule of the organisation mapping matches this group; add one for it "
        '(got "Brand Content"); secondary_collaborator: no rule of the organisation mapping matches this group; '
        'add one for it (got "Deal Desk")',
        "primary_collaborator: no rule of the organisation mapping matches this group; add one for it "
        '(got "Deal Desk"); secondary_collaborator: no rule of the organisation mapping matches this group; '
        'add one for it (got "Brand Content")',
    ]


def test_a_viva_export_that_is_not_csv_or_groups_by_two_attributes_gets_one_message(conn, tmp_path):
    path = tmp_path / "g2g.csv"
    export(path, columns=[*SPACED[:1], "PrimaryCollaborator_FunctionType", *SPACED[1:]][:11])
    with pytest.raises(ingest.IngestError, match="groups by more than one attribute"):
        load(conn, path, rules(tmp_path))
    assert conn.execute("select count(*) from loads").fetchone() == (0,)


def test_a_repeated_viva_row_with_other_hours_is_a_conflict_and_bad_hours_a_rejection(conn, tmp_path):
    rows = [
        ("Brand Content", "Deal Desk", "2025-03-02", 10),
        ("Brand Content", "Deal Desk", "2025-03-02", 10),  # the same row again
        ("Brand Content", "Deal Desk", "2025-03-02", 12),  # line 4: same groups and week, other hours
        ("Deal Desk", "Brand Content", "2025-03-02", "lots"),  # line 5
    ]
    result = load(conn, export(tmp_path / "g2g.csv", rows=rows), rules(tmp_path))

    assert counts(result) == ("viva_collaboration", 4, 1, 1, 1, 1)
    assert conn.execute("select line, outcome, column_name from rejected_rows order by line").fetchall() == [
        (4, "conflict", "collaboration_hours"),
        (5, "rejected", "collaboration_hours"),
    ]


def test_a_viva_export_as_parquet_is_refused_with_one_message(conn, tmp_path):
    import duckdb

    source = export(tmp_path / "g2g.csv", rows=ROWS[:1])
    path = tmp_path / "g2g.parquet"
    with duckdb.connect() as scratch:
        scratch.execute("copy (select * from read_csv(?, all_varchar = true)) to ? (format parquet)",
                        [str(source), str(path)])  # fmt: skip
    with pytest.raises(ingest.IngestError, match="read as CSV"):
        load(conn, path, rules(tmp_path))


def test_the_cli_loads_a_viva_export_with_a_mapping_and_exits_0_with_rejects(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    cli = Path(sys.executable).with_name("offload-metrics")
    (tmp_path / "mapping.toml").write_text(RULES, encoding="utf-8")
    done = subprocess.run(
        [str(cli), "ingest", "--db", str(tmp_path / "db.duckdb"), "--mapping", str(tmp_path / "mapping.toml"),
         str(export(tmp_path / "g2g.csv"))],
        capture_output=True, text=True, timeout=120, env={"COLUMNS": "200", "PATH": ""},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    rejects = subprocess.run(
        [str(cli), "rejects", "--db", str(tmp_path / "db.duckdb")], capture_output=True, text=True, timeout=120,
        env={"COLUMNS": "300", "PATH": ""},
    )  # fmt: skip
    assert "Legal Ops" in rejects.stdout


def test_the_samples_viva_export_gives_the_network_of_its_collaboration_file(tmp_path):
    from offload_metrics import sample, store

    result = sample.generate(tmp_path / "data", events=2000, months=3, clean=True, viva_out=tmp_path / "viva")
    networks = {}
    for name, files, organisation in (
        ("contract", [result.paths["org_baseline"], result.paths["collaboration"]], None),
        ("viva", [result.paths["org_baseline"], result.viva["viva_collaboration"]],
         mapping.load_mapping(result.viva["mapping"])),
    ):  # fmt: skip
        with store.connect(tmp_path / f"{name}.duckdb") as connection:
            for path in files:
                loaded = ingest.load_file(connection, path, mapping=organisation)
                assert loaded.rejected == 0, name
            teams = network.network_teams(connection, metrics.Filters(), Settings())
            networks[name] = {
                (row.business_unit, row.team): (round(row.weighted_degree), row.centrality_rank)
                for row in teams.itertuples()
            }
    # Weekly, directed rows rounded to 0.01 hour add up to the monthly pair hours within rounding.
    assert networks["viva"].keys() == networks["contract"].keys()
    for team, (hours, _) in networks["contract"].items():
        assert abs(networks["viva"][team][0] - hours) <= 1, team
