"""What drives spread: the catalog's seeding strategy and source, and replication compared by them."""

from __future__ import annotations

import datetime as dt

import duckdb

from conftest import records, write_csv
from offload_metrics import ingest, metrics, store
from offload_metrics.config import Settings

AS_OF = metrics.Filters(as_of=dt.date(2025, 3, 31))


def catalog(data, agent: str, strategy: str, source: str):
    data.rows["agents"].append(
        {"agent_id": agent, "name": agent, "owner_function": "Marketing", "seeding_strategy": strategy,
         "source": source}
    )  # fmt: skip


def spread(data):
    """Validated on 2025-01-01 in Consumer; as of 2025-03-31 an agent not copied has waited 89 days.
    v1 copied after 10 days, v2 after 20 (to two units), b1 after 60; b2 and i1 never."""
    for agent, strategy, source in (("v1", "champion", "vendor"), ("v2", "champion", "vendor"),
                                    ("b1", "self_selected", "built"), ("b2", "self_selected", "built"),
                                    ("i1", "influencer", "built")):  # fmt: skip
        catalog(data, agent, strategy, source)
        data.event(agent, "validated", "2025-01-01", "Consumer")
    data.event("v1", "deployed", "2025-01-11", "Sales")
    data.event("v2", "deployed", "2025-01-21", "Sales")
    data.event("v2", "deployed", "2025-02-01", "Retail")
    data.event("b1", "deployed", "2025-03-02", "Sales")
    data.event("old", "validated", "2025-01-01", "Consumer")  # not in the catalog
    data.usage("2025-03-31", "v1")
    return data.load()


def test_replication_by_source_and_seeding_strategy(data):
    conn = spread(data)
    columns = ("validated_agents", "replicated_agents", "total_replications", "median_replication_days",
               "km_median_replication_days")  # fmt: skip
    by_source = metrics.replication_summary(conn, AS_OF, Settings(), by=("source",))
    # vendor: events at 10 and 20 days: survival 1/2 at 10, the KM median; the plain median is 15.
    # built: b1 at 60 (2 of 3 at risk... i1 and b2 censored at 89): survival 2/3 at 60, never 0.5.
    # not recorded: "old", censored at 89.
    assert records(by_source, "source", *columns) == [
        ("built", 3, 1, 1, 60.0, None),
        ("not_recorded", 1, 0, 0, None, None),
        ("vendor", 2, 2, 3, 15.0, 10),
    ]
    by_strategy = metrics.replication_summary(conn, AS_OF, Settings(), by=("seeding_strategy",))
    # self_selected: b1 at 60 of 2 at risk (b2 censored at 89): survival 1/2 at 60.
    assert records(by_strategy, "seeding_strategy", *columns) == [
        ("champion", 2, 2, 3, 15.0, 10),
        ("influencer", 1, 0, 0, None, None),
        ("not_recorded", 1, 0, 0, None, None),
        ("self_selected", 2, 1, 1, 60.0, 60),
    ]
    shown = metrics.drivers_table(by_strategy, "seeding_strategy")
    assert list(zip(shown["seeding_strategy"], shown["km_median"], strict=True)) == [
        ("champion", "10 days"), ("self_selected", "60 days"), ("influencer", "not reached"),
        ("not_recorded", "not reached"),
    ]  # fmt: skip
    # built never reaches its median here, so there is no ratio; by strategy, 60 / 10 = 6x.
    assert metrics.km_ratio(by_source, "source", "built", "vendor") is None
    assert metrics.km_ratio(by_strategy, "seeding_strategy", "self_selected", "champion") == 6.0


def test_a_catalog_without_the_new_columns_still_loads(conn, tmp_path):
    path = write_csv(
        tmp_path / "agents.csv", [{"agent_id": "a1", "name": "A", "owner_function": "Marketing"}]
    )
    result = ingest.load_file(conn, path)
    assert (result.kind, result.accepted, result.rejected) == ("agents", 1, 0)
    assert conn.execute("select seeding_strategy, source from agents").fetchall() == [(None, None)]


def test_an_unknown_strategy_or_source_is_rejected_with_its_reason(conn, tmp_path):
    rows = [
        {"agent_id": "a1", "name": "A", "owner_function": "Marketing", "seeding_strategy": "viral", "source": "built"},
        {"agent_id": "a2", "name": "B", "owner_function": "Marketing", "seeding_strategy": "champion", "source": "bought"},
    ]  # fmt: skip
    result = ingest.load_file(conn, write_csv(tmp_path / "agents.csv", rows))
    assert (result.accepted, result.rejected) == (0, 2)
    reasons = conn.execute("select line, column_name from rejected_rows order by line").fetchall()
    assert reasons == [(2, "seeding_strategy"), (3, "source")]


def test_the_migration_adds_the_columns_to_an_older_database(db_path):
    conn = store.connect(db_path)
    conn.execute("alter table agents drop column seeding_strategy")
    conn.execute("alter table agents drop column source")
    conn.execute("update meta set value = '1' where key = 'schema_version'")
    conn.close()
    with duckdb.connect(str(db_path)) as raw:
        names = [row[0] for row in raw.execute("select column_name from information_schema.columns where table_name = 'agents'").fetchall()]  # fmt: skip
    assert "source" not in names
    conn = store.connect(db_path)
    assert store.schema_version(conn) == store.SCHEMA_VERSION
    assert conn.execute("select seeding_strategy, source from agents").fetchall() == []
    conn.close()


def test_the_sample_shows_vendor_agents_spreading_faster(conn):
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "sample_data"
    for path in sorted(path for path in folder.iterdir() if not path.name.startswith(".")):
        ingest.load_file(conn, path)
    values = conn.execute("select distinct seeding_strategy, source from agents").fetchall()
    assert {strategy for strategy, _ in values} == {
        "influencer",
        "pilot_program",
        "champion",
        "self_selected",
    }
    assert {source for _, source in values} == {"vendor", "built"}
    by_source = metrics.replication_summary(conn, metrics.Filters(), Settings(), by=("source",))
    medians = dict(zip(by_source["source"], by_source["km_median_replication_days"], strict=True))
    assert medians["vendor"] < medians["built"]
    by_strategy = metrics.replication_summary(conn, metrics.Filters(), Settings(), by=("seeding_strategy",))
    shown = metrics.drivers_table(by_strategy, "seeding_strategy")
    # Self-selected agents mostly stay where they started: fewer than half copied, so no median.
    assert shown.set_index("seeding_strategy").loc["self_selected", "km_median"] == "not reached"
