"""Load input files: read, validate in bulk in DuckDB, classify every row, store the accepted ones.

One concern per module:

- sniff: a file's format, header and kind;
- rules: the contract's rules compiled to DuckDB SQL (values, checks, rejection reasons);
- sources: a file as SQL, and the one pass that stages its rows with their problems;
- lines: the physical line of each record, and the file's digest;
- outcomes: accepted, duplicate, conflict or rejected, decided before anything is stored;
- importers: vendor reports and telemetry files, staged into the same pipeline;
- load: one file in one transaction;
- progress: what a running load is doing.

The names callers use are importable from here; each loads its module on first use, so a command
that needs only the counts (report) does not pay for the whole stack.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "COUNT_FIELDS": "base",
    "IngestError": "base",
    "LoadResult": "base",
    "already_loaded": "base",
    "column_named": "base",
    "earlier_load": "base",
    "quote_identifier": "base",
    "short_error": "base",
    "sql_literal": "base",
    "utc_now": "base",
    "LoadProgress": "progress",
    "PROGRESS_AFTER_SECONDS": "progress",
    "run_with_progress": "progress",
    "Header": "sniff",
    "is_gzip": "sniff",
    "read_header": "sniff",
    "resolve_kind": "sniff",
    "Source": "sources",
    "stage_sql": "sources",
    "load_file": "load",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
