"""The names of the input kinds, light enough for the command line's help (no pydantic, no DuckDB).

The contract's kinds are schema.KINDS, the vendor exports read as they come schema.IMPORTED_KINDS,
and the telemetry kinds telemetry.KINDS: each of those modules checks at import that its kinds are
these names, in this order, so the list cannot drift from the models."""

from __future__ import annotations

CONTRACT = (
    "usage_events",
    "time_saved",
    "replication_events",
    "agents",
    "org_baseline",
    "vendor_costs",
    "vendor_usage",
    "task_baselines",
    "collaboration",
)
IMPORTED = ("viva_collaboration",)
TELEMETRY = ("otlp_traces", "langfuse_observations", "langfuse_scores")
ALL = (*CONTRACT, *IMPORTED, *TELEMETRY)


def check(defined: tuple[str, ...], named: tuple[str, ...], where: str) -> None:
    """Raise when a module's kinds are not the names listed here (a kind added in one place only)."""
    if defined != named:
        raise RuntimeError(f"{where} defines the kinds {defined}, but offload_metrics.kinds names {named}")
