"""Physical line numbers: the file's digest and line count read beside the load, and the line on
which each record starts (a quoted CSV field may hold line breaks)."""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from offload_metrics.ingest.base import IngestError
from offload_metrics.ingest.sniff import MAX_LINE_BYTES, Header, is_gzip, open_content


class FileScan(threading.Thread):
    """Reads the file once beside the load: its sha256, its physical line count, and the lines
    longer than MAX_LINE_BYTES (which DuckDB's reader may skip without a trace)."""

    # At most MAX_LINE_BYTES, so a line inside one chunk is never too long: only lines that cross
    # a chunk boundary are measured.
    CHUNK = 1 << 20

    def __init__(self, path: Path, lines: bool = True) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.lines = lines
        self.sha256 = ""
        self.newlines = 0
        self.ends_with_newline = False
        self.long_lines: list[tuple[int, int]] = []  # (line, bytes)
        self._position = 0  # bytes counted so far
        self._line_start = 0  # where the current line starts
        self.error: OSError | EOFError | None = None

    def run(self) -> None:
        # Yield the CPU to DuckDB's threads: the digest is needed only once the file is staged.
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        digest = hashlib.sha256()
        compressed = is_gzip(self.path)
        try:
            with self.path.open("rb") as handle:
                while chunk := handle.read(self.CHUNK):
                    digest.update(chunk)
                    if self.lines and not compressed:
                        self._count(chunk)
            if self.lines and compressed:
                with gzip.open(self.path, "rb") as handle:
                    while chunk := handle.read(self.CHUNK):
                        self._count(chunk)
            self._count(b"", end=True)
        except (OSError, EOFError) as error:
            self.error = error
            return
        self.sha256 = digest.hexdigest()

    def _count(self, chunk: bytes, end: bool = False) -> None:
        first = chunk.find(b"\n")
        if end or first >= 0:
            line_end = self._position + (first if first >= 0 else 0)
            if line_end - self._line_start > MAX_LINE_BYTES:
                self.long_lines.append((self.newlines + 1, line_end - self._line_start))
        if first >= 0:
            self.newlines += chunk.count(b"\n")
            self._line_start = self._position + chunk.rfind(b"\n") + 1
        if chunk:
            self.ends_with_newline = chunk.endswith(b"\n")
        self._position += len(chunk)

    def result(self) -> FileScan:
        self.join()
        if self.error is not None:
            raise IngestError(self.path.name, f"could not be read: {self.error}")
        return self


def lines_of_offsets(path: Path, offsets: Sequence[int]) -> dict[int, int]:
    """Physical line (1-based) of each byte offset where a line starts."""
    result: dict[int, int] = {}
    newlines = 0
    position = 0
    with open_content(path, "rb") as handle:
        for offset in sorted(set(offsets)):
            if offset > position:
                remaining = offset - position
                while remaining:
                    chunk = handle.read(min(remaining, 1 << 22))
                    if not chunk:
                        break
                    newlines += chunk.count(b"\n")
                    remaining -= len(chunk)
                position = offset
            result[offset] = newlines + 1
    return result


def record_start_lines(path: Path, header: Header, skip: set[int], count: int) -> np.ndarray:
    """Start line of each of the first `count` records staged, by reading the file."""
    starts: list[int] = []
    if header.file_format == "csv":
        with (
            open_content(path, "r", encoding="utf-8-sig", errors="replace", newline="") as handle,
            _csv_fields_of_any_size(),
        ):
            reader = csv.reader(handle, delimiter=header.delimiter)
            next(reader, None)
            previous = reader.line_num
            for row in reader:
                start, previous = previous + 1, reader.line_num
                if row and start not in skip:
                    starts.append(start)
                    if len(starts) >= count:
                        break
    else:
        with open_content(path, "r", encoding="utf-8-sig", errors="replace", newline="") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip(" \t\r\n") and number not in skip:
                    starts.append(number)
                    if len(starts) >= count:
                        break
    return np.asarray(starts, dtype=np.int64)


@contextlib.contextmanager
def _csv_fields_of_any_size() -> Iterator[None]:
    """Python's csv module refuses fields over 131,072 characters; a field may be as long as the
    longest line, rejected or not, and its lines still count."""
    previous = csv.field_size_limit(sys.maxsize)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def record_lines(
    path: Path, header: Header, scan: FileScan, ordinals: np.ndarray, reader_lines: Sequence[int], stored: int
) -> np.ndarray:
    """Physical line of each staged record, given its ordinal among the records staged (`stored` of them)."""
    if header.file_format == "parquet" or not len(ordinals):
        return ordinals + 1
    first = 2 if header.file_format == "csv" else 1
    records = stored + len(reader_lines)
    expected = records + (first - 1) - (0 if scan.ends_with_newline else 1)
    if scan.newlines == expected:
        # One line per record: stored records fill the lines that rejected ones leave free.
        rejected = np.sort(np.asarray(reader_lines, dtype=np.int64))
        thresholds = rejected - first - np.arange(len(rejected))
        return ordinals + first + np.searchsorted(thresholds, ordinals, side="right")
    starts = record_start_lines(path, header, set(reader_lines), int(ordinals.max()) + 1)
    return starts[ordinals]
