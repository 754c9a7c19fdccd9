"""Shared fixtures: a real DuckDB file per test, and writers for real input files."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import duckdb
import pytest

from offload_metrics import schema, store


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "offload.duckdb"


@pytest.fixture
def conn(db_path: Path):
    connection = store.connect(db_path)
    yield connection
    connection.close()


def write_csv(
    path: Path,
    rows: Iterable[Mapping[str, object]],
    columns: list[str] | None = None,
    *,
    newline: str = "\n",
    bom: bool = False,
    delimiter: str = ",",
) -> Path:
    rows = list(rows)
    columns = columns or list(rows[0])
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator=newline, delimiter=delimiter)
        writer.writeheader()
        for row in rows:
            writer.writerow({key: row.get(key, "") for key in columns})
    return path


def write_jsonl(path: Path, rows: Iterable[Mapping[str, object]]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(
                json.dumps({key: (None if value == "" else value) for key, value in row.items()}) + "\n"
            )
    return path


def write_parquet(path: Path, rows: Iterable[Mapping[str, object]]) -> Path:
    """A Parquet file with every column as text, as a generic export tool would write it."""
    csv_path = write_csv(path.with_suffix(".source.csv"), rows)
    with duckdb.connect() as connection:
        connection.execute(
            "copy (select * from read_csv(?, all_varchar = true)) to ? (format parquet)",
            [str(csv_path), str(path)],
        )
    csv_path.unlink()
    return path


def example(kind: str, **changes: object) -> dict[str, object]:
    """The contract's example row of a kind, with some values changed."""
    return {**schema.KINDS[kind].example, **changes}


def table_rows(conn: duckdb.DuckDBPyConnection, kind: str) -> list[tuple]:
    names = ", ".join(f'"{column.name}"' for column in schema.columns(schema.KINDS[kind]))
    key = ", ".join(f'"{name}"' for name in schema.KINDS[kind].key)
    return conn.execute(f"select {names} from {kind} order by {key}").fetchall()


def snapshot(conn: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every row of every table, to compare a database before and after."""
    return {
        table: conn.execute(f"select * from {table} order by all").fetchall() for table in store.DATA_TABLES
    } | {"meta": conn.execute("select * from meta order by all").fetchall()}
