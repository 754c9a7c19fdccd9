"""What every part of ingest speaks: the error for a file that cannot be loaded, the counts of
where each row went, and SQL quoting of this program's own constants."""

from __future__ import annotations

import datetime as dt
import errno
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from offload_metrics.store import COUNT_FIELDS as COUNT_FIELDS  # the counts a LoadResult carries

if TYPE_CHECKING:
    import duckdb


class IngestError(Exception):
    """A file that could not be loaded at all; nothing in the database changed."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = file
        self.message = message


@dataclass
class LoadResult:
    """Where every row of one file went."""

    file: str
    kind: str
    file_format: str
    status: str  # loaded | already loaded
    rows_read: int = 0
    accepted: int = 0
    duplicate: int = 0
    conflict: int = 0
    rejected: int = 0
    load_id: int | None = None
    ignored_columns: tuple[str, ...] = ()
    seconds: float = 0.0
    message: str = ""
    # Telemetry files: records (spans, observations, scores) read, the usage events they made,
    # records in no agent run, and the rejection reasons with their counts, most frequent first.
    records_read: int | None = None
    record_word: str = ""
    events_made: int | None = None
    outside: int = 0
    reasons: tuple[tuple[str, int], ...] = ()

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.accepted + self.duplicate + self.conflict + self.rejected


def earlier_load(
    cur: duckdb.DuckDBPyConnection, sha256: str, fingerprint: str | None = None
) -> tuple[int, str] | None:
    """The first load of the same content (and, given a fingerprint, the same ingest settings):
    its id and file name; None when there is none."""
    row = cur.execute(
        "select load_id, file_name from loads where sha256 = $sha256 "
        "and ($fingerprint is null or ingest_settings = $fingerprint) "
        "and outcome = 'loaded' order by load_id limit 1",
        {"sha256": sha256, "fingerprint": fingerprint},
    ).fetchone()
    return (int(row[0]), str(row[1])) if row else None


def already_loaded(
    file: str, kind: str, file_format: str, earlier: tuple[int, str], started: float
) -> LoadResult:
    """The outcome of a file identical to an earlier load: nothing added."""
    load_id, file_name = earlier
    return LoadResult(
        file=file,
        kind=kind,
        file_format=file_format,
        status="already loaded",
        load_id=load_id,
        seconds=time.monotonic() - started,
        message=f"identical to load {load_id} ({file_name}); nothing added",
    )


def sql_literal(text: str) -> str:
    """A constant of this program as a SQL string literal (never used for values from files)."""
    return "'" + text.replace("'", "''") + "'"


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def disk_full(error: Exception) -> bool:
    return getattr(error, "errno", None) == errno.ENOSPC or os.strerror(errno.ENOSPC) in str(error)


def short_error(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:300]


def column_named(name: str) -> str:
    """A column's name for a message; one without a name (a header's trailing comma) said so."""
    return name if name.strip() else '"" (a column without a name)'


def repeated(names: Sequence[str]) -> list[str]:
    """The names given more than once, in order: a header's columns or a JSON object's keys."""
    if len(set(names)) == len(names):
        return []
    return sorted({name for name in names if names.count(name) > 1})
