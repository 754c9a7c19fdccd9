"""The staging pass (ingest/sources.py): every record typed, with its problems and, for the rows
that have some, the reasons worked out in the same pass from the same compiled rules."""

from __future__ import annotations

import json

import duckdb

from conftest import example, write_csv
from offload_metrics import config, ingest, schema


def test_the_staging_pass_gives_reasons_and_raw_values_for_rows_with_problems_only(tmp_path):
    rows = [example("usage_events", event_id="e1"), example("usage_events", event_id="e2", status="done")]
    path = write_csv(tmp_path / "usage.csv", rows)
    with duckdb.connect() as conn:
        header = ingest.read_header(conn, path)
        conn.execute(
            ingest.stage_sql(schema.UsageEvent, header, "stage_rejects", config.Ingest()),
            {"path": str(path), "compression": "none", "delimiter": ","},
        )
        staged = conn.execute(
            "select event_id, status, _problems is null, _column, _reason, _raw from _staged order by rowid"
        ).fetchall()
    assert staged[0] == ("e1", "completed", True, None, None, None)
    event_id, status, fine, column, reason, raw = staged[1]
    assert (event_id, status, fine, column) == ("e2", None, False, "status")
    assert reason == 'status: must be one of completed, escalated, failed (got "done")'
    assert json.loads(raw)["status"] == "done"
    assert json.loads(raw)["event_id"] == "e2"
