"""Agent telemetry as input kinds: OpenTelemetry GenAI spans and Langfuse exports."""

from __future__ import annotations

# Input kinds read from telemetry rather than from the five-file contract: each makes usage events
# (or reviews of them) through the organisation mapping.
KINDS = {
    "otlp_traces": "OpenTelemetry traces (OTLP JSON, as the Collector's file exporter writes them)",
    "langfuse_observations": "Langfuse observations export",
    "langfuse_scores": "Langfuse scores export",
}
