"""What a running load is doing, shown by the command line and the dashboard while it runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from offload_metrics.ingest.base import LoadResult

PROGRESS_AFTER_SECONDS = 1.0


@dataclass
class LoadProgress:
    """What a running load is doing, for a progress display polled from another thread.

    on_phase is called as each phase starts (reading, checking, rollup, saving), inside the
    load's transaction: an exception from it aborts the load and leaves the database unchanged.
    """

    file: str = ""
    phase: str = "starting"
    fraction: float = 0.0
    started: float = field(default_factory=time.monotonic)
    on_phase: Callable[[str], None] | None = None
    connection: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def enter(self, phase: str, fraction: float | None = None) -> None:
        self.phase = phase
        if fraction is not None:
            self.fraction = fraction
        if self.on_phase is not None:
            self.on_phase(phase)

    def refresh(self) -> None:
        """Update fraction from the running query (DuckDB reports -1 when it cannot tell)."""
        if self.phase == "reading" and self.connection is not None:
            reported = self.connection.query_progress()
            if reported >= 0:
                self.fraction = min(reported / 100, 1.0)


def run_with_progress(
    task: Callable[[LoadProgress], LoadResult],
    tick: Callable[[LoadProgress], None],
    progress: LoadProgress,
    interval: float = 0.1,
) -> LoadResult:
    """Run a load in a worker thread while the calling thread shows its progress via tick."""
    results: list[LoadResult] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(task(progress))
        except BaseException as error:  # handed back to the caller's thread below
            errors.append(error)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(interval)
        progress.refresh()
        tick(progress)
    if errors:
        raise errors[0]
    return results[0]
