"""The full report of a messy data set, pinned before round 2's rewrites.

The ingest package, the SQL layers and the Spark path must not move a single figure. These
reports were written by the code whose figures an independent check confirmed (round 1); any
change to them is a change of a figure and must be explained, never re-pinned in passing.
The data set is tests/pinned/messy (see make_messy.py): UUID ids in no order, offsets across
month ends, duplicates and conflicts within and across loads, and rejected values.
Set PIN_REPORTS=1 to write the pins (only when a figure is meant to change).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

HERE = Path(__file__).parent / "pinned"
MESSY = HERE / "messy"
CLI = shutil.which("offload-metrics") or str(Path(sys.executable).with_name("offload-metrics"))
LOAD_ORDER = (
    "org_baseline.csv",
    "agents.csv",
    "usage_events_1.csv.gz",
    "time_saved.csv",
    "replication_events.csv",
    "usage_events_2.csv.gz",
)
SETTINGS = """
[gates]
min_accuracy = 0.85
min_automation = 0.8
window_days = 60
min_tasks = 30

[net_output]
validation_uplift = 0.2

[adoption]
phase_bounds = [0.05, 0.12, 0.5]
scale_share = 0.3

[finance]
reinvestment_share = 0.3
default_hourly_cost_usd = 75
"""
VIEWS = {
    "default": [],
    "half_year": ["--as-of", "2025-06-30", "--from", "2025-01-01", "--to", "2025-06-30"],
    "inside_months": ["--from", "2024-05-10", "--to", "2024-11-20"],
    "functions": ["--function", "Marketing", "--function", "Customer Support"],
    "business_unit": ["--business-unit", "Field Sales Ops", "--business-unit", "Compliance"],
    "settings": ["--config", "{settings}"],
}


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def messy_db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pinned")
    db = folder / "messy.duckdb"
    for name in LOAD_ORDER:
        loaded = run("ingest", "--db", str(db), str(MESSY / name))
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    (folder / "settings.toml").write_text(SETTINGS, encoding="utf-8")
    return db


def _pinned(name: str, actual: object) -> object:
    path = HERE / f"{name}.json"
    if os.environ.get("PIN_REPORTS") == "1":
        path.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return json.loads(path.read_text(encoding="utf-8"))


def _without_new_keys(actual: object, pinned: object) -> object:
    """The actual report restricted to the pinned keys: keys may be added, never renamed or changed."""
    if isinstance(actual, dict) and isinstance(pinned, dict):
        return {key: _without_new_keys(actual[key], pinned[key]) for key in pinned if key in actual}
    if isinstance(actual, list) and isinstance(pinned, list) and len(actual) == len(pinned):
        return [_without_new_keys(a, p) for a, p in zip(actual, pinned, strict=True)]
    return actual


@pytest.mark.parametrize("view", list(VIEWS))
def test_the_report_of_the_messy_data_set_is_unchanged(messy_db, view):
    args = [arg.replace("{settings}", str(messy_db.parent / "settings.toml")) for arg in VIEWS[view]]
    result = run("report", "--db", str(messy_db), "--format", "json", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    actual = json.loads(result.stdout)
    pinned = _pinned(f"report_{view}", actual)
    assert _without_new_keys(actual, pinned) == pinned


def test_where_every_row_of_the_messy_data_set_went_is_unchanged(messy_db):
    with duckdb.connect(str(messy_db), read_only=True) as conn:
        loads = conn.execute(
            "select file_name, kind, rows_read, accepted, duplicate, conflict, rejected from loads "
            "where outcome = 'loaded' order by load_id"
        ).fetchall()
        rejected = conn.execute(
            "select l.file_name, r.line, r.column_name, r.outcome, r.reason from rejected_rows r "
            "join loads l using (load_id) order by l.file_name, r.line, r.column_name"
        ).fetchall()
    actual = {"loads": [list(row) for row in loads], "rejected": [list(row) for row in rejected]}
    assert _pinned("rows", actual) == actual
