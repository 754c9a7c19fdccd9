"""Where rows go (ingest/outcomes.py): decided in staging tables before anything is stored, with
the "already stored" check probing the stored table by key only."""

from __future__ import annotations

import json

from conftest import example, write_csv
from offload_metrics import config, ingest, schema
from offload_metrics.ingest import outcomes


def _plan(conn, sql: str, params: dict, tmp_path) -> dict:
    """DuckDB's profile of one query (operators with their extra info and row counts)."""
    profile = tmp_path / "profile.json"
    conn.execute("pragma enable_profiling = 'json'")
    conn.execute(f"set profiling_output = '{profile}'")
    conn.execute(sql, params).fetchall()
    conn.execute("pragma disable_profiling")
    return json.loads(profile.read_text(encoding="utf-8"))


def _scans_of(node: dict, table: str) -> list[dict]:
    """The scans of a table in a profile (its operators are under "operator" or "children")."""
    found = []
    info = node.get("extra_info") or {}
    kind = str(node.get("type", node.get("operator_type", "")))
    if "SCAN" in kind and str(info.get("Table", "")).endswith(table):
        found.append(node)
    for child in [*node.get("operator", []), *node.get("children", [])]:
        found += _scans_of(child, table)
    return found


def _rows(node: dict) -> int:
    return int(node.get("operator_cardinality", node.get("intermediate_rows", -1)))


def test_the_already_stored_probe_reads_the_stored_key_hashes_only_and_the_matching_rows_only(conn, tmp_path):
    stored = [example("usage_events", event_id=f"e{number:03d}") for number in range(300)]
    first = ingest.load_file(conn, write_csv(tmp_path / "first.csv", stored))
    assert first.accepted == 300
    incoming = [
        example("usage_events", event_id="e010"),  # the same as stored: a duplicate
        example("usage_events", event_id="e020", api_calls=99),  # a different value: a conflict
        *(example("usage_events", event_id=f"n{number}") for number in range(3)),
    ]
    path = write_csv(tmp_path / "second.csv", incoming)
    header = ingest.read_header(conn, path)
    statement = ingest.stage_sql(schema.UsageEvent, header, "probe_rejects", config.Ingest())
    conn.execute(statement, {"path": str(path), "compression": "none", "delimiter": ","})
    base = conn.execute("select min(rowid) from _staged").fetchone()[0]
    probe, rows = outcomes.probe_sql(schema.UsageEvent)

    probed = _plan(conn, probe, {"base": base}, tmp_path)
    (key_scan,) = _scans_of(probed, "usage_events")
    # The stored table is read for its key hash and nothing else.
    assert key_scan["extra_info"]["Projections"] in ("_key_hash", ["_key_hash"])

    conn.execute(f"create temp table _stored_matches as {probe}", {"base": base})
    fetched = _plan(conn, rows, {}, tmp_path)
    (row_scan,) = _scans_of(fetched, "usage_events")
    # Of the 300 stored rows, only the two whose keys came again are read whole.
    assert _rows(row_scan) == 2


def test_a_later_load_stores_only_its_accepted_rows_and_counts_the_rest(conn, tmp_path):
    stored = [example("usage_events", event_id=f"e{number:03d}") for number in range(5)]
    ingest.load_file(conn, write_csv(tmp_path / "first.csv", stored))
    incoming = [
        example("usage_events", event_id="e001"),
        example("usage_events", event_id="e002", api_calls=99),
        example("usage_events", event_id="n1"),
        example("usage_events", event_id="n1"),
        example("usage_events", event_id="n2", status="done"),
    ]
    result = ingest.load_file(conn, write_csv(tmp_path / "second.csv", incoming))
    assert (result.rows_read, result.accepted, result.duplicate, result.conflict, result.rejected) == (
        5,
        1,
        2,
        1,
        1,
    )
    rows = conn.execute(
        "select event_id from usage_events where load_id = ? order by 1", [result.load_id]
    ).fetchall()
    assert rows == [("n1",)]
    assert conn.execute("select count(*) from usage_events").fetchone() == (6,)
    # The staging tables are gone once the load is done.
    assert conn.execute(
        "select count(*) from duckdb_tables() where temporary and table_name in ('_staged', '_outcome')"
    ).fetchone() == (0,)


def test_stored_key_hashes_are_made_again_when_duckdbs_hash_differs(db_path, tmp_path):
    """A DuckDB whose hash() differs from the one that stored the key hashes (an upgrade) must not
    miss stored keys: opening the database for writing computes them again."""
    from offload_metrics import store

    conn = store.connect(db_path)
    rows = [example("usage_events", event_id=f"e{number}") for number in range(3)]
    ingest.load_file(conn, write_csv(tmp_path / "first.csv", rows))
    # As an older DuckDB would have left them: other hashes, under another check value.
    conn.execute("update usage_events set _key_hash = 12345")
    store.set_meta(conn, store.KEY_HASH_CHECK, "another hash function")
    conn.close()

    conn = store.connect(db_path)
    assert conn.execute("select count(*) from usage_events where _key_hash = 12345").fetchone() == (0,)
    again = ingest.load_file(
        conn, write_csv(tmp_path / "again.csv", [rows[1], example("usage_events", event_id="n")])
    )
    assert (again.accepted, again.duplicate) == (1, 1)
    conn.close()


def test_a_resent_event_whose_time_changed_is_found_as_a_conflict(conn, tmp_path):
    """DECISIONS 7: the probe goes by key (hash), never by the event's month."""
    first = example("usage_events", event_id="e1", occurred_at="2025-01-01T10:00:00Z")
    ingest.load_file(conn, write_csv(tmp_path / "january.csv", [first]))
    moved = example("usage_events", event_id="e1", occurred_at="2025-03-05T10:00:00Z")
    result = ingest.load_file(conn, write_csv(tmp_path / "march.csv", [moved]))
    assert (result.accepted, result.conflict) == (0, 1)
    assert conn.execute(
        "select line, column_name, outcome, reason from rejected_rows where load_id = ?", [result.load_id]
    ).fetchall() == [
        (
            2,
            "occurred_at",
            "conflict",
            'event_id "e1" was already loaded (load 1) with a different occurred_at',
        )
    ]
