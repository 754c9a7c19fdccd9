"""The sample story: deterministic by seed, and it holds when loaded and reported."""

from __future__ import annotations

import csv
import glob
import gzip
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from offload_metrics import ingest, metrics, report, sample, store
from offload_metrics.config import Settings

CLI = shutil.which("offload-metrics") or str(Path(sys.executable).with_name("offload-metrics"))
LEADERS = ("Marketing", "Sales Operations", "Customer Support")
FOLLOWERS = ("Finance", "HR")
LAST = ("Legal", "R&D")


def contents(folder: Path) -> dict[str, list[list[str]]]:
    """Every file's rows as text fields: the content, whatever bytes a compressor or writer picks."""
    rows = {}
    for path in sorted(folder.iterdir()):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8", newline="") as handle:
            rows[path.name] = list(csv.reader(handle)) if ".csv" in path.suffixes else [[handle.read()]]
    return rows


def load_folder(folder: Path, db: Path) -> dict[str, ingest.LoadResult]:
    with store.connect(db) as conn:
        return {
            result.kind: result
            for path in sorted(folder.iterdir())
            if not path.name.startswith(".")
            for result in [ingest.load_file(conn, path)]
        }


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """The default sample (50k events, 24 months, seed 7), loaded and reported."""
    folder = tmp_path_factory.mktemp("story")
    result = sample.generate(folder / "data")
    loads = load_folder(folder / "data", folder / "db.duckdb")
    with store.connect(folder / "db.duckdb") as conn:
        built = report.build(conn, metrics.Filters(), Settings())
    return result, loads, built


def test_the_same_seed_writes_the_same_files(tmp_path):
    sample.generate(tmp_path / "a", events=3000, seed=3)
    sample.generate(tmp_path / "b", events=3000, seed=3)
    sample.generate(tmp_path / "c", events=3000, seed=4)
    assert contents(tmp_path / "a") == contents(tmp_path / "b")
    assert contents(tmp_path / "a")["usage_events.csv"] != contents(tmp_path / "c")["usage_events.csv"]


def test_usage_scales_with_events_and_the_rest_stays_proportionate(tmp_path):
    small = sample.generate(tmp_path / "small", events=10_000, clean=True)
    large = sample.generate(tmp_path / "large", events=40_000, clean=True)
    assert (small.rows["usage_events"], large.rows["usage_events"]) == (10_000, 40_000)
    documented = {}
    for name, folder in (("small", tmp_path / "small"), ("large", tmp_path / "large")):
        lines = (folder / "time_saved.csv").read_text().splitlines()[1:]
        documented[name] = sum(int(line.split(",")[8]) for line in lines)
    # Documented tasks track usage events: about four times as many at four times the events.
    assert documented["large"] / documented["small"] == pytest.approx(4, rel=0.05)
    assert documented["small"] == pytest.approx(10_000, rel=0.1)


def test_functions_cross_in_the_cascade_the_domain_describes(story):
    _, _, built = story
    crossed = {row["function"]: row["crossed_on"] for row in built["functions"]}
    rank = {row["function"]: row["cascade_rank"] for row in built["functions"]}
    assert all(crossed[f] is not None for f in LEADERS + FOLLOWERS)
    assert max(crossed[f] for f in LEADERS) < min(crossed[f] for f in FOLLOWERS)
    assert max(rank[f] for f in LEADERS) < min(rank[f] for f in FOLLOWERS)
    assert all(crossed[f] is None or crossed[f] > max(crossed[g] for g in FOLLOWERS) for f in LAST)
    phases = {row["function"]: row["phase"] for row in built["functions"]}
    assert "pilot_plateau" in {phases[f] for f in LAST}


def test_the_organisation_reaches_scale_within_the_band(story):
    _, _, built = story
    org = built["org"]
    assert org["at_scale"] is True
    assert 18 <= org["time_to_scale_months"] <= 36
    assert org["trajectory"] == "on_track"


def test_agents_differ_in_quality(story):
    _, _, built = story
    gates = Counter(agent["gate"] for agent in built["agents"])
    assert gates["pass"] > gates["fail"] > 0
    assert gates["insufficient_data"] > 0
    failing = [agent for agent in built["agents"] if agent["gate"] == "fail"]
    assert any(agent["accuracy"] < 0.8 for agent in failing)
    assert any(agent["automation"] < 0.9 for agent in failing)


def test_replication_lags_are_skewed_and_some_agents_wait(story):
    _, _, built = story
    differing = [
        row["function"] for row in built["functions"]
        if row["median_replication_days"] != row["km_median_replication_days"]
    ]  # fmt: skip
    assert differing
    waiting = [
        agent for agent in built["agents"] if agent["validated_on"] and not agent["first_replicated_on"]
    ]
    assert waiting


def test_some_teams_validate_net_output_and_one_grows_headcount_instead(story):
    _, _, built = story
    validated = {
        (team["business_unit"], team["team"]) for team in built["teams"] if team["validated_net_output"]
    }
    grew = {(team["business_unit"], team["team"]) for team in built["teams"] if team["grew_headcount"]}
    assert len(validated) >= 3
    assert len(grew) == 1
    assert not grew & {
        (team["business_unit"], team["team"])
        for team in built["teams"]
        if team["validated_net_output"] and team["grew_headcount"]
    }


def test_replication_follows_the_collaboration_network_and_central_teams_led(story):
    _, _, built = story
    spread = built["replication_spread"]
    assert spread["followed_network"] is True
    assert spread["share_along_ties"] > 0.5 > spread["expected_share"]
    assert spread["median_days_along_ties"] < spread["median_days_not_along_ties"]
    # The most central team of each leading function is one of its function's pilot teams.
    pilots = {(row["business_unit"], row["team"]) for row in built["network_teams"]} - {
        (row["business_unit"], row["team"]) for row in built["where_to_seed"]
    }
    for function in LEADERS:
        central = next(row for row in built["network_teams"] if row["function"] == function)
        assert (central["business_unit"], central["team"]) in pilots, function


def test_the_data_counts_account_for_every_defect(story):
    result, loads, built = story
    for kind, outcome in loads.items():
        assert outcome.rows_read == result.rows[kind], kind
        expected = result.defects[kind]
        assert (outcome.duplicate, outcome.conflict, outcome.rejected) == (
            expected["duplicate"], expected["conflict"], expected["rejected"],
        ), kind  # fmt: skip
        assert outcome.balanced
    assert built["data_quality"]["rows_read"] == sum(result.rows.values())


def test_clean_output_loads_without_a_single_rejection(tmp_path):
    sample.generate(tmp_path / "clean", events=8000, clean=True)
    loads = load_folder(tmp_path / "clean", tmp_path / "db.duckdb")
    assert {kind: (r.duplicate, r.conflict, r.rejected) for kind, r in loads.items()} == {
        kind: (0, 0, 0) for kind in loads
    }


def test_the_sample_command_writes_the_files_and_a_manifest(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        [CLI, "sample", "--out", str(out), "--events", "2000", "--seed", "5", "--compress"],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in out.iterdir()) == [
        ".manifest.json", "agents.csv", "collaboration.csv", "org_baseline.csv", "replication_events.csv",
        "time_saved.csv", "usage_events.csv.gz",
    ]  # fmt: skip
    manifest = json.loads((out / ".manifest.json").read_text())
    assert (manifest["seed"], manifest["events"], manifest["files"]["usage_events"]) == (
        5,
        2000,
        "usage_events.csv.gz",
    )
    assert "usage_events.csv.gz" in done.stderr
    # What a user types next: the folder's files by a shell glob (which skips the hidden manifest).
    db = tmp_path / "db.duckdb"
    loaded = subprocess.run([CLI, "ingest", "--db", str(db), *sorted(glob.glob(str(out / "*")))],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    reported = subprocess.run(
        [CLI, "report", "--db", str(db), "--format", "json"], capture_output=True, text=True, timeout=120
    )
    assert json.loads(reported.stdout)["data_quality"]["rows_read"] == sum(manifest["rows"].values())


def test_the_shipped_sample_data_is_the_default_output(tmp_path):
    shipped = Path(__file__).resolve().parents[1] / "sample_data"
    sample.generate(tmp_path / "fresh", compress=True)
    # Rows, not bytes: another gzip or CSV writer may encode the same rows differently.
    assert contents(shipped) == contents(tmp_path / "fresh"), "regenerate with: make sample"
