"""Metric definitions, read from the header of each SQL file: the one place they are written.

docs/metrics.md carries the same words (a test keeps them equal) and the dashboard shows them on
hover. A header is the file's leading comment: `-- Definition: ...` for the family, then one
`-- name: ...` line per metric, continued on lines that do not start a new name; its
`-- Parameters: ...` line declares the values the file runs with (metrics.declared_parameters).
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass

from offload_metrics import display, schema, store
from offload_metrics.config import Settings

_ENTRY = re.compile(r"^(Definition|Grain|[a-z][a-z0-9_]*)(, in words)?: (.*)$")
_SETTING = re.compile(r"\{(\w+)\}")
DOCS_START = "<!-- definitions:start (python -m offload_metrics.definitions --write docs/metrics.md) -->"
DOCS_END = "<!-- definitions:end -->"

# The order the documentation presents the families in.
FAMILIES = (
    "usage", "gates", "net_output", "net_output_summary", "hours_by_agent", "adoption", "adoption_org",
    "adoption_cascade", "adoption_program", "replication", "replication_drivers", "replication_curve",
    "replication_summary", "replication_trend", "replication_ties", "replication_spread", "replication_candidates", "replication_validations", "replication_undeployed",
    "replication_deployments", "collaboration_ties", "network_nodes",
    "pilot_teams", "task_pain", "appetite_measured", "grassroots", "finance", "finance_summary", "finance_trend",
    "agents", "catalog", "functions",
    "business_units", "data_range", "dimensions_mentioned", "usage_selected", "usage_months_in_range", "usage_first_days", "time_saved_selected",
    "time_saved_in_range", "documented_team_months", "macro_adoption_phase", "macro_chosen", "macro_from_minutes",
    "stg_usage_daily", "stg_usage_monthly", "stg_time_saved", "stg_agents", "stg_org_baseline", "stg_replication_events", "stg_team_ties", "stg_collaboration_viva", "stg_team_collaboration",
    "rollup_usage_daily", "rollup_reviews",
    # Finance on vendor bills, and estimated time saved.
    "reconciliation", "reconciliation_summary", "reconciliation_accounts", "vendor_unassigned", "estimates",
    "estimates_summary", "coverage", "vendor_costs_selected", "usage_function_months", "vendor_function_months", "stg_vendor_costs", "stg_vendor_unassigned",
    "stg_task_baselines", "savings_side_by_side", "stg_vendor_usage",
)  # fmt: skip


@dataclass(frozen=True)
class Definition:
    file: str
    name: str
    text: str
    # A plain-language line ("-- name, in words: ...") for the person on the page, with {setting}
    # placeholders; the technical line of the same name stays the definition.
    plain: bool = False


def parse(text: str, file: str) -> list[Definition]:
    """The entries of a SQL file's leading comment."""
    entries: list[list] = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        if line.startswith("-- Parameters:"):
            # What the file runs with (metrics.declared_parameters), not a definition.
            continue
        body = line[2:].strip()
        # An entry starts at "-- name: "; an indented line ("--   ...") always continues the last one.
        match = _ENTRY.match(body) if line.startswith("-- ") and not line.startswith("--  ") else None
        if match:
            entries.append([match.group(1), match.group(3), bool(match.group(2))])
        elif entries and body:
            entries[-1][1] += " " + body
    return [Definition(file, name, " ".join(words.split()), plain) for name, words, plain in entries]


@functools.cache
def all_definitions() -> tuple[Definition, ...]:
    found = []
    for name in FAMILIES:
        found += parse(store.sql_text(f"{name}.sql"), f"{name}.sql")
    return tuple(found)


def lookup(metric: str, family: str | None = None) -> str:
    """A metric's definition, from the given family's file first, else the data contract's
    description of an input column of that name; empty when unknown."""
    candidates = [d for d in all_definitions() if d.name == metric and not d.plain]
    if family:
        candidates.sort(key=lambda d: d.file != f"{family}.sql")
    if candidates:
        return candidates[0].text
    from offload_metrics import network  # the network's numbers are computed in Python, not SQL

    if metric in network.DEFINITIONS:
        return network.DEFINITIONS[metric]
    described = [
        c.description for model in schema.KINDS.values() for c in schema.columns(model) if c.name == metric
    ]
    return described[0] if described else ""


def setting_values(settings: Settings) -> dict[str, str]:
    """Every setting a plain-language line may name, as the page shows it: shares as percents."""
    gates, adoption, finance = settings.gates, settings.adoption, settings.finance
    share = display.setting_share
    return {
        "window_days": f"{gates.window_days:,}",
        "min_tasks": f"{gates.min_tasks:,}",
        "min_reviewed": f"{gates.min_reviewed:,}",
        "min_accuracy": share(gates.min_accuracy),
        "min_automation": share(gates.min_automation),
        "hours_per_fte_month": f"{settings.net_output.hours_per_fte_month:g}",
        "validation_uplift": share(settings.net_output.validation_uplift),
        "phase_pilot": share(adoption.phase_bounds[0]),
        "phase_crossing": share(adoption.phase_bounds[1]),
        "phase_saturation": share(adoption.phase_bounds[2]),
        "scale_share": share(adoption.scale_share),
        "scale_min_functions": f"{adoption.scale_min_functions}",
        "scale_months_low": f"{adoption.scale_months[0]}",
        "scale_months_high": f"{adoption.scale_months[1]}",
        "default_hourly_cost_usd": display.money(finance.default_hourly_cost_usd),
        "reinvestment_share": share(finance.reinvestment_share),
        "cost_source": f"{finance.cost_source}",
        "bridge_share": share(settings.network.bridge_share),
        "permutations": f"{settings.network.permutations:,}",
        "significance": f"{settings.network.significance:g}",
    }


def in_words(metric: str, family: str | None, settings: Settings) -> str:
    """What a person sees on hover: the plain-language line with the current settings filled in,
    then where the formula is. Without a plain line, the technical definition."""
    technical = lookup(metric, family)
    candidates = [d for d in all_definitions() if d.name == metric and d.plain]
    if family:
        own = [d for d in candidates if d.file == f"{family}.sql"]
        # A column means the same in every file (tasks), but a Definition is its own file's: another
        # file's plain line described the usage log on the reconciliation's and coverage's tables.
        candidates = own or ([] if metric == "Definition" else candidates)
    values = setting_values(settings)
    if not candidates:
        from offload_metrics import network  # the network's numbers are computed in Python, not SQL

        if metric in network.IN_WORDS:
            plain = _SETTING.sub(lambda match: values[match.group(1)], network.IN_WORDS[metric])
            return f"{plain}\n\nFormula: docs/metrics.md, the collaboration network."
        return technical
    entry = candidates[0]
    plain = _SETTING.sub(lambda match: values[match.group(1)], entry.text)
    return f"{plain}\n\nFormula: docs/metrics.md, {entry.file}."


def markdown() -> str:
    """The generated part of docs/metrics.md: every definition, grouped by SQL file."""
    lines = [DOCS_START, ""]
    for name in FAMILIES:
        entries = [d for d in all_definitions() if d.file == f"{name}.sql"]
        lines.append(f"### `{name}.sql`")
        lines.append("")
        for entry in entries:
            if entry.name == "Definition":
                lines.append(f"*In words:* {entry.text}" if entry.plain else entry.text)
                lines.append("")
        for entry in entries:
            if entry.name == "Grain":
                lines.append(f"*Grain:* {entry.text}")
                lines.append("")
        metrics_here = [entry for entry in entries if entry.name not in ("Definition", "Grain")]
        if metrics_here:
            lines += [
                f"  - *In words:* {entry.text}" if entry.plain else f"- **`{entry.name}`**: {entry.text}"
                for entry in metrics_here
            ]
            lines.append("")
    lines.append(DOCS_END)
    return "\n".join(lines)


def write(path: str) -> None:
    """Replace the generated part of a Markdown file with the current definitions."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    start, end = text.index(DOCS_START), text.index(DOCS_END) + len(DOCS_END)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text[:start] + markdown() + text[end:])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"]:
        write(sys.argv[2])
    else:
        sys.stdout.write(markdown() + "\n")
