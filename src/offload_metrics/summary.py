"""The one-page executive summary and an agent's blueprint page, as Markdown and printable HTML.

The report command and the dashboard's Overview both render the summary from here, from the
report's JSON shape (report.build, which `executive_summary` gives the dashboard), so the two never
differ.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import duckdb
from markdown_it import MarkdownIt

from offload_metrics import display, metrics, network, wins
from offload_metrics import forecast as forecast_module
from offload_metrics.config import Settings
from offload_metrics.report import build as build_report


def executive_summary(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> dict[str, object]:
    """The figures of the executive summary: the report's JSON shape, which `markdown` writes as the
    page (the dashboard first takes out money for a viewer who may not see it)."""
    return build_report(conn, filters, settings)


# The report's JSON (report.build) and a catalog row: values of many shapes, checked by
# report.schema.json and the tests rather than by the type checker.
Record = Mapping[str, Any]


def _selection(report: Record) -> str:
    """The filters a report was made with, as a sentence (a filtered summary read as the whole
    organisation's), or nothing."""
    chosen = report.get("filters") or {}
    assert isinstance(chosen, dict)
    parts = [
        f"{label if len(names) == 1 else plural} {', '.join(_cell(name) for name in names)}"
        for key, label, plural in (
            ("functions", "function", "functions"),
            ("business_units", "business unit", "business units"),
        )
        if (names := list(chosen.get(key) or []))
    ]
    if not parts:
        return ""
    return f" Only {' and '.join(parts)}: every figure below is theirs, not the whole organisation's."


def markdown(report: Record) -> str:
    """A one-page executive summary."""
    org, functions = report["org"], report["functions"]
    settings = Settings.model_validate(report["settings"])
    assert isinstance(org, dict) and isinstance(functions, list)
    crossing = display.share(settings.adoption.phase_bounds[1], 0)
    uplift = display.share(settings.net_output.validation_uplift, 0)
    accuracy = display.share(settings.gates.min_accuracy, 0)
    automation = display.share(settings.gates.min_automation, 0)
    lines = [
        f"# Offloading report as of {report['as_of']}",
        "",
        f"Range {report['from']} to {report['to']}.{_selection(report)}",
        "",
        "## Where the organisation stands",
        "",
        f"- Offloaded share of routine work: **{display.share(org['offloaded_share'])}**, "
        f"phase **{display.label(org['phase'])}**.",
        f"- Functions at scale this month: **{org['functions_at_scale']}** "
        f"({'at scale' if org['at_scale'] else 'not yet at scale'}).",
        _trajectory_line(org),
        f"- Hours saved: **{display.hours(org['hours_saved'])}**; Net Output uplift "
        f"**{display.share(org['net_output_uplift'])}**.",
        *_previous_lines(org),
        "",
        "## Functions by phase",
        "",
    ]
    lines += _markdown_table(
        sorted(functions, key=lambda item: -(item["offloaded_share"] or 0)),
        {
            "function": lambda row: _cell(row["function"]),
            "phase": lambda row: display.label(row["phase"]),
            "share": lambda row: display.share(row["offloaded_share"]),
            f"crossed {crossing}": lambda row: row["crossed_on"] or "—",
            "cascade rank": lambda row: str(row["cascade_rank"] or "—"),
        },
        empty="No function has data yet.",
    )
    lines += ["", f"## Teams with validated Net Output (+{uplift} without more headcount)", ""]
    lines += _markdown_table(
        report["validated_teams"][:10],
        {
            "team": lambda team: _cell(team["team"]),
            "business unit": lambda team: _cell(team["business_unit"]),
            "validated months": lambda team: str(team["validated_months"]),
            "best month's uplift": lambda team: display.share(team["best_uplift"]),
        },
        empty="No team has validated Net Output yet.",
    )
    # An empty table means "all is well" only when the selection holds something to judge.
    agents: list[dict] = list(report.get("agents") or [])
    lines += ["", f"## Cull list: agents below {accuracy} accuracy or {automation} automation", ""]
    lines += _markdown_table(
        report["cull_list"],
        {
            "agent": lambda agent: _cell(agent["agent_id"]),
            "function": lambda agent: _cell(agent["function"]),
            "accuracy": lambda agent: display.share(agent["accuracy"]),
            "automation": lambda agent: display.share(agent["automation"]),
            "tasks": lambda agent: display.count(agent["tasks"]),
        },
        empty="No agent fails the gate." if agents else "No agent ran tasks in this selection.",
    )
    lines += ["", "## Replication backlog: validated agents not yet replicated", ""]
    lines += _markdown_table(
        report["replication_backlog"][:10],
        {
            "agent": lambda agent: _cell(agent["agent_id"]),
            "function": lambda agent: _cell(agent["function"]),
            "validated on": lambda agent: str(agent["validated_on"]),
            "days waiting": lambda agent: str(agent["days_waiting"]),
        },
        empty="Every validated agent has been replicated."
        if any(agent.get("validated_on") for agent in agents)
        else "No agent has been validated in this selection.",
    )
    lines += ["", "## Where to seed next", ""]
    # A filtered list ranks within the selection; its scores stay the whole organisation's.
    lines += [network.SELECTION_RANKS, ""] if _selection(report) else []
    lines += _markdown_table(
        report.get("where_to_seed", [])[:5],
        {
            "rank": lambda team: str(team["selection_rank"]),
            "team": lambda team: _cell(team["team"]),
            "business unit": lambda team: _cell(team["business_unit"]),
            "seed score": lambda team: display.number(team["seed_score"], 2),
            "why": lambda team: _cell(team["reason"]),
        },
        empty="No team is left to seed: every team has validated Net Output or a validated agent."
        if report.get("teams") or report.get("network_teams")
        else "No team is in this selection.",
    )
    spread: Any = report.get("replication_spread") or {}
    lines += ["", "## Did replication follow the network?", "", str(spread.get("verdict", "")).strip() or "—"]
    # Money only where the report carries it: a viewer who may not see finance figures gets none (DECISIONS 14).
    if "net_savings_usd" in org:
        lines += [
            "",
            "## Savings and the reinvestment pool",
            "",
            f"- Labor value of hours saved: **{display.money(org['labor_value_usd'])}**",
            f"- Agent cost: **{display.money(org['agent_cost_usd'])}**",
            f"- Net savings: **{display.money(org['net_savings_usd'])}**",
            f"- Reinvestment pool: **{display.money(org['reinvestment_pool_usd'])}**",
            *_markdown_bills_and_estimates(org),
        ]
    lines += [""]
    lines += outlook_markdown(report)
    return "\n".join(lines)


def outlook_markdown(report: Record) -> list[str]:
    """The summary's look ahead: the projected month at scale and the wins of the range."""
    forecast: Any = report.get("forecast") or {}
    projected: Any = forecast.get("org", {})
    lines = ["## Outlook", ""]
    if projected.get("status") == "observed":
        lines.append(f"- At scale since **{projected['first_scale_month']}**.")
    elif projected.get("status") == "projected":
        high = projected["first_scale_month_high"] or "beyond the forecast horizon"
        lines.append(
            f"- Projected at scale: **{projected['first_scale_month']}** (range {projected['first_scale_month_low']}"
            f" – {high}), {_months(projected['time_to_scale_months'])} after the first validated agent "
            f"({display.label(projected['trajectory'])})."
        )
    else:
        lines.append(f"- No projection of scale: {projected.get('reason') or 'no forecast'}.")
    unknown = forecast_module.without_forecast(forecast)
    if projected.get("last_function") and unknown:
        lines.append(
            f"- Which function reaches scale last cannot be told yet: {len(unknown)} of "
            f"{len(forecast.get('functions', []))} functions have no forecast."
        )
    elif len(never := list(projected.get("not_projected_functions") or [])) > 1:
        names = display.listed([f"**{_cell(name)}**" for name in never])
        lines.append(f"- Not projected to reach scale within the forecast horizon: {names}.")
    elif projected.get("last_function") and not projected.get("last_function_month"):
        lines.append(
            f"- Not projected to reach scale within the forecast horizon: **{_cell(projected['last_function'])}**."
        )
    elif projected.get("last_function"):
        when = projected["last_function_month"]
        # A month already seen is when it reached scale, not a projection.
        seen = projected.get("last_function_month") and forecast_module.scale_seen(
            forecast, projected["last_function"]
        )
        said = "Reached scale last" if seen else "Projected to reach scale last"
        lines.append(f"- {said}: **{_cell(projected['last_function'])}** ({when}).")
    lines += ["", "## Wins in this range", ""]
    found = report.get("wins") or []
    failing = {str(agent["agent_id"]) for agent in report.get("cull_list") or []}
    lines += [f"- {_cell(wins.said(win, failing)[0])}" for win in found[:15]] or [
        "No new wins in this range."
    ]
    lines.append("")
    return lines


def _markdown_bills_and_estimates(org: Record) -> list[str]:
    """The summary's lines on vendor bills and estimated savings (absent from older reports)."""
    if "cost_source" not in org or "usage_cost_usd" not in org:
        return []
    source = metrics.COST_SOURCE_WORDS[str(org["cost_source"])]
    return [
        f"- Agent cost is {source}: usage log {display.money(org['usage_cost_usd'])}; vendor bills "
        f"{display.money(org['vendor_cost_usd'])} assigned and {display.money(org['unassigned_vendor_cost_usd'])} "
        "unassigned (no mapping rule).",
        f"- Estimated labor value where no team documented savings: {display.money(org['estimated_labor_value_usd'])} "
        f"(estimated, not in net savings); documented savings cover "
        f"{display.share(org['documented_task_share'])} of usage tasks.",
    ]


# The headline figures compared with the previous period, and how each is shown.
COMPARED = (
    ("Hours saved", "hours_saved", display.hours),
    ("Net Output uplift", "net_output_uplift", display.share),
    ("Net savings", "net_savings_usd", display.money),
    ("Reinvestment pool", "reinvestment_pool_usd", display.money),
)
# Those at as_of rather than over the range: they change since the previous period's last month.
AT_AS_OF = (("Offloaded share", "offloaded_share", display.share),)


def _previous_lines(org: Record) -> list[str]:
    """One line comparing the headline figures with the previous period (org.previous)."""
    previous = org.get("previous")
    if not isinstance(previous, Mapping):
        return []
    span = display.period(previous["from"], previous["to"])
    if not previous["has_data"]:
        return [f"- Against the previous period ({span}): no data loaded for it, so no change is shown."]
    since = display.month(previous["to"])
    changes = [
        f"{name} {display.change(shown, org[key], previous[key]) or '—'} since {since}"
        for name, key, shown in AT_AS_OF
        if key in org and key in previous
    ] + [
        f"{name} {display.change(shown, org[key], previous[key]) or '—'}"
        for name, key, shown in COMPARED
        if key in org and key in previous  # a finance figure is absent for those who may not see money
    ]
    return [f"- Against the previous period ({span}): " + "; ".join(changes) + "."]


# Columns whose numbers read best aligned right in a Markdown table.
_RIGHT = {"validated months", "best month's uplift", "accuracy", "automation", "tasks", "days waiting", "share",
          "cascade rank", "rank", "seed score"}  # fmt: skip


def _markdown_table(rows: list[dict], columns: dict[str, Callable[[dict], str]], empty: str) -> list[str]:
    """A Markdown table of rows, one column per (title, how to show a row's value); `empty` if none."""
    if not rows:
        return [empty]
    lines = [
        "| " + " | ".join(columns) + " |",
        "|" + "|".join("---:" if t in _RIGHT else "---" for t in columns) + "|",
    ]
    lines += ["| " + " | ".join(show(row) for show in columns.values()) + " |" for row in rows]
    return lines


def _trajectory_line(org: dict) -> str:
    """Where the programme is against its clock; before any validated agent, that there is none."""
    if org["months_since_first_deployment"] is None:
        return "- Trajectory: none yet, as no agent has been validated."
    scaled = org["time_to_scale_months"]
    return (
        f"- Trajectory: **{display.label(org['trajectory'])}**; "
        f"{_months(org['months_since_first_deployment'])} since the first validated agent; "
        f"time to scale: {_months(scaled) if scaled is not None else 'not at scale yet'}."
    )


def _months(count: object) -> str:
    if count is None:
        return "—"
    return "1 month" if count == 1 else f"{count} months"


# The start of a line that would open a block: a heading, a quote, a list item.
_BLOCK_START = re.compile(r"^(#{1,6}(?=\s|$)|>|[-+*](?=\s|$)|\d{1,9}(?=[.)](?:\s|$)))")


def _cell(text: object) -> str:
    """Text from data for a Markdown table cell or list item: inert (no HTML, no images, no links),
    on one line (a carriage return ended a table row as a line feed does), pipes escaped, and
    nothing at its start that opens a heading, a quote or a list."""
    one_line = " ".join(display.inert_markdown(text).split())
    inert = one_line.replace("|", "\\|").replace("[", "\\[")
    return _BLOCK_START.sub(
        lambda found: found.group(0) + "\\" if found.group(0)[0].isdigit() else "\\" + found.group(0), inert
    )


def blueprint_page(agent: Record, as_of: object, validation_uplift: float) -> str:
    """A one-page replication blueprint of an agent: its facts, its proof, and its recipe."""
    facts = [
        ("Function", agent.get("function")),
        (
            "Owner",
            " / ".join(
                str(part) for part in (agent.get("owner_business_unit"), agent.get("owner_team")) if part
            ),
        ),
        ("Risk class", agent.get("risk_class")),
        ("Validated on", display.day(agent.get("validated_on"))),
        ("Pilot unit", agent.get("pilot_unit")),
        ("Replicated to", f"{agent.get('replications') or 0} business units"),
        ("Gate", display.label(agent.get("gate"))),
        ("Accuracy", display.share(agent.get("accuracy"))),
        ("Automation", display.share(agent.get("automation"))),
        ("Hours saved (Net Output proof)", display.hours(agent.get("hours_saved"))),
        ("Teams using it", display.count(agent.get("teams"))),
        ("Hours saved in the pilot team", pilot_hours(agent)),
        ("Pilot team's Net Output", pilot_proof(agent, validation_uplift)),
    ]
    title = display.inert_markdown(f"{agent.get('name') or agent.get('agent_id')} ({agent.get('agent_id')})")
    lines = [f"# {' '.join(title.split())}", ""]
    if agent.get("description"):
        lines += [display.inert_markdown(agent["description"]), ""]
    lines += ["| | |", "|---|---|"]
    lines += [
        f"| {name} | {_cell('—' if display.missing(value) or value == '' else value)} |"
        for name, value in facts
    ]
    lines += ["", f"As of {display.day(as_of)}.", "", "## Blueprint", ""]
    lines.append(display.inert_markdown(_without_own_heading(agent.get("blueprint"), agent.get("name"))))
    return "\n".join(lines) + "\n"


# Why the pilot team's best month with the agent is not validated Net Output (catalog.sql).
_SHORT_OF = {
    "grown_headcount": "that month the team had more people than its baseline headcount",
    "no_baseline": "the team has no baseline headcount to hold it against",
}


def pilot_hours(agent: Record) -> str | None:
    """The hours the agent saved the team that validated it; None when its validation names no team."""
    return None if display.missing(agent.get("pilot_team")) else display.hours(agent.get("pilot_hours_saved"))


def pilot_proof(agent: Record, validation_uplift: float) -> str:
    """The Net Output of the team that validated the agent, in the months it used the agent within
    the chosen ones (catalog.sql's pilot_*)."""
    team = agent.get("pilot_team")
    if display.missing(team):
        return "The validation names no pilot team."
    who = f"{team} ({agent.get('pilot_unit')})"
    if not agent.get("pilot_months"):
        return f"{who} documented no savings with this agent in the chosen months."
    if display.missing(agent.get("pilot_best_uplift")):
        return f"{who}: its capacity in the months with this agent is unknown (no headcount)."
    best = (
        f"{who}: its best month with this agent, {display.month(agent.get('pilot_best_month'))}, gave "
        f"{display.share(agent['pilot_best_uplift'])} more capacity (all its agents together)"
    )
    validated = int(agent.get("pilot_validated_months") or 0)
    if validated:
        return f"{best}; validated Net Output in {display.plural(validated, 'month')} with this agent."
    reason = _SHORT_OF.get(
        str(agent.get("pilot_best_month_outcome")),
        f"validation needs {display.setting_share(validation_uplift)} more capacity without adding people",
    )
    return f"{best}; not validated Net Output: {reason}."


def blueprint_text(agent: Record) -> str:
    """The agent's recipe as written in the catalog, or why there is none."""
    if agent.get("is_in_catalog") is False:
        return "This agent has no catalog entry, so no blueprint: load its row of the agent catalog."
    blueprint = agent.get("blueprint")
    if display.missing(blueprint) or not str(blueprint).strip():
        return "No blueprint has been recorded for this agent yet."
    return str(blueprint)


def _without_own_heading(blueprint: object, name: object) -> str:
    """The recipe without a first heading that only repeats the agent's name (the page has it)."""
    if display.missing(blueprint) or not str(blueprint).strip():
        return "No blueprint has been recorded for this agent yet."
    first, _, rest = str(blueprint).strip().partition("\n")
    if first.startswith("#") and first.lstrip("#").strip() == str(name).strip():
        return rest.strip() or "No blueprint has been recorded for this agent yet."
    return str(blueprint).strip()


_PARSER = MarkdownIt("commonmark", {"html": False}).enable("table")
_PRINT_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 60rem; margin: 2rem auto;
       color: #1b1b1b; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.6rem; text-align: left; }
td[style*="right"], th[style*="right"] { text-align: right; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 1.4rem; }
@media print { body { margin: 0; } h2 { break-after: avoid; } table { break-inside: avoid; } }
"""


def html(markdown_text: str, title: str) -> str:
    """A Markdown page as a self-contained printable HTML page (no script, no outside resource;
    raw HTML in the text is shown as text)."""
    body = _PARSER.render(markdown_text)
    safe_title = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{safe_title}</title><style>{_PRINT_STYLE}</style></head>\n<body>\n{body}</body></html>\n"
    )
