"""Alert rules: what needs a program leader this week, from the state at as_of.

Each rule reads metrics the dashboard already shows and compares them with a threshold in the
`alerts` settings. An alert carries its severity, the figures that triggered it, and the page
that explains it. Money (cost per task) goes in `finance_figures` only and such an alert is
marked `is_finance`, so that a role without finance access can be shown everything else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.client
import json
import statistics
import urllib.error
import urllib.request
from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd

from offload_metrics import display, metrics
from offload_metrics.config import Settings

SEVERITIES = ("info", "warning", "critical")
# The pages (URL paths of the dashboard) that explain each rule.
PAGES = {
    "fleet": "/fleet",
    "finance": "/finance",
    "adoption": "/adoption",
    "replication": "/replication",
    "net_output": "/net_output",
}


@dataclasses.dataclass(frozen=True)
class Alert:
    rule: str
    severity: str
    subject: str
    message: str
    page: str
    figures: dict[str, object]
    finance_figures: dict[str, object] = dataclasses.field(default_factory=dict)

    @property
    def is_finance(self) -> bool:
        return bool(self.finance_figures)

    def as_dict(self) -> dict[str, object]:
        return {**display.as_record(self), "is_finance": self.is_finance}


def severity_rank(level: str) -> int:
    return SEVERITIES.index(level)


def evaluate(conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings) -> list[Alert]:
    """Every alert at as_of, most severe first, then by rule and subject."""
    filters = filters.resolve(conn)
    found = [
        *gate_newly_failing(conn, filters, settings),
        *cost_spikes(conn, filters, settings),
        *plateau_too_long(conn, filters, settings),
        *waiting_for_copy(conn, filters, settings),
        *grew_without_uplift(conn, filters, settings),
        *usage_fell(conn, filters, settings),
    ]
    return sorted(found, key=lambda alert: (-severity_rank(alert.severity), alert.rule, alert.subject))


def alert_list(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> list[dict[str, Any]]:
    """The alerts at as_of, as plain dicts (the report's and the dashboard's)."""
    return [alert.as_dict() for alert in evaluate(conn, filters, settings)]


def at_or_above(alerts: list[Alert], level: str) -> list[Alert]:
    return [alert for alert in alerts if severity_rank(alert.severity) >= severity_rank(level)]


def _month_start(day: dt.date, back: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def gate_newly_failing(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> list[Alert]:
    """Agents that fail their gate at as_of and did not gate_lookback_days earlier."""
    now = metrics.gates(conn, filters, settings)
    earlier_day = filters.dates.as_of - dt.timedelta(days=settings.alerts.gate_lookback_days)
    earlier = metrics.gates(conn, dataclasses.replace(filters, as_of=earlier_day), settings)
    failed_before = set(earlier.loc[earlier["gate"] == "fail", "agent_id"])
    names = metrics.agent_names(conn)
    alerts = []
    for row in now[now["gate"] == "fail"].itertuples(index=False):
        if row.agent_id in failed_before:
            continue
        before = earlier.loc[earlier["agent_id"] == row.agent_id, "gate"]
        alerts.append(
            Alert(
                "gate_newly_failing",
                "critical",
                row.agent_id,
                f"{display.agent(row.agent_id, names)} now fails its gate: accuracy {display.share(row.accuracy)}, automation "
                f"{display.share(row.automation)} (needs {display.share(settings.gates.min_accuracy, 0)} and "
                f"{display.share(settings.gates.min_automation, 0)})",
                PAGES["fleet"],
                {
                    "agent_id": row.agent_id,
                    "accuracy": float(row.accuracy),
                    "automation": float(row.automation),
                    "tasks": int(row.tasks),
                    "reviewed": int(row.reviewed),
                    "gate_before": before.iloc[0] if len(before) else None,
                    "compared_with": earlier_day.isoformat(),
                },
            )
        )
    return alerts


def _monthly_usage(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings, by: str, months: int
) -> pd.DataFrame:
    window = dataclasses.replace(
        filters, date_from=_month_start(filters.dates.as_of, months), date_to=filters.dates.as_of
    )
    return metrics.usage(
        conn, window, settings, by=(by, "month"), exact=True, columns=(by, "month", "tasks", "agent_cost_usd")
    )


def cost_spikes(conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings) -> list[Alert]:
    """Agents and functions whose cost per task in the as_of month is more than cost_multiple times
    the median of their monthly cost per task over the cost_trailing_months months before."""
    rules = settings.alerts
    this_month = pd.Timestamp(_month_start(filters.dates.as_of))
    multiple = Decimal(str(rules.cost_multiple))
    alerts = []
    names = metrics.agent_names(conn)
    for by, page in (("agent_id", PAGES["fleet"]), ("function", PAGES["finance"])):
        usage = _monthly_usage(conn, filters, settings, by, rules.cost_trailing_months)
        for subject, per_task in _cost_per_task(usage, by).items():
            current = per_task.pop(this_month, None)
            if current is None or not per_task:
                continue
            median = statistics.median(per_task.values())
            # "More than" the multiple, allowing for rounding as every threshold does: 2/3 of a
            # dollar against a median of 1/3 is exactly 2x, though Decimal's 28 digits differ last.
            if median <= 0 or current / median <= multiple + Decimal(str(metrics.TOLERANCE)):
                continue
            alerts.append(
                Alert(
                    f"{'agent' if by == 'agent_id' else 'function'}_cost_per_task",
                    "warning",
                    str(subject),
                    f"{display.agent(subject, names) if by == 'agent_id' else subject}: cost per task this month is above {rules.cost_multiple:g}x its median over "
                    f"the {display.plural(len(per_task), 'month')} before",
                    page,
                    {by: str(subject), "month": f"{this_month:%Y-%m}", "trailing_months": len(per_task)},
                    {
                        "cost_per_task_usd": float(current),
                        "trailing_median_cost_per_task_usd": float(median),
                        "multiple": float(current / median),
                    },
                )
            )
    return alerts


def _cost_per_task(usage: pd.DataFrame, by: str) -> dict[object, dict[pd.Timestamp, Decimal]]:
    """Per subject of a usage result by (by, month), in order, its exact cost per task by month
    (months without tasks left out): one pass over the rows, as a selection per subject costs about
    a millisecond, which at thousands of agents is seconds."""
    found: dict[object, dict[pd.Timestamp, Decimal]] = {}
    months = usage["month"].tolist()
    stamps = {month: pd.Timestamp(month) for month in set(months)}  # a few months, thousands of rows
    for subject, month, cost, tasks in zip(
        usage[by].tolist(), months, usage["agent_cost_usd"].tolist(), usage["tasks"].tolist(), strict=True
    ):
        if subject is None or subject is pd.NA or subject != subject:
            continue  # as grouping leaves out a null key (an agent named "NaT" is an agent)
        per_task = found.setdefault(subject, {})
        if tasks:
            per_task[stamps[month]] = Decimal(cost or 0) / tasks
    return dict(sorted(found.items()))


def plateau_too_long(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> list[Alert]:
    """Functions in the pilot plateau at as_of more than plateau_months after their first validation."""
    cascade = metrics.cascade(conn, filters, settings)
    replication = metrics.replication(conn, filters, settings)
    first = replication.groupby("function")["validated_on"].min()
    as_of_index = filters.dates.as_of.year * 12 + filters.dates.as_of.month
    alerts = []
    for row in metrics.in_plateau(cascade).itertuples(index=False):
        if row.function not in first.index:
            continue
        started = pd.Timestamp(first[row.function])
        months = as_of_index - (started.year * 12 + started.month)
        if months <= settings.alerts.plateau_months:
            continue
        alerts.append(
            Alert(
                "plateau_too_long",
                "warning",
                row.function,
                f"{row.function} is still in the pilot plateau ({display.share(row.offloaded_share)}) "
                f"{display.plural(months, 'month')} after its first validated agent",
                PAGES["adoption"],
                {
                    "function": row.function,
                    "offloaded_share": None if pd.isna(row.offloaded_share) else float(row.offloaded_share),
                    "months_since_first_deployment": months,
                    "first_deployment_month": f"{started:%Y-%m}",
                },
            )
        )
    return alerts


def waiting_for_copy(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> list[Alert]:
    """Validated agents that no other business unit has copied after more than waiting_days days."""
    replication = metrics.replication(conn, filters, settings)
    waiting = replication[replication["waiting_days"] > settings.alerts.waiting_days]
    names = metrics.agent_names(conn)
    return [
        Alert(
            "waiting_for_copy",
            "info",
            row.agent_id,
            f"{display.agent(row.agent_id, names)} has waited {display.plural(int(row.waiting_days), 'day')} for a first copy "
            f"since its validation in {row.pilot_unit}",
            PAGES["replication"],
            {
                "agent_id": row.agent_id,
                "function": row.function,
                "pilot_unit": row.pilot_unit,
                "validated_on": f"{pd.Timestamp(row.validated_on):%Y-%m-%d}",
                "days_waiting": int(row.waiting_days),
            },
        )
        for row in waiting.sort_values("waiting_days", ascending=False).itertuples(index=False)
    ]


def said(
    alert: dict[str, Any], undeployed: Mapping[str, Sequence[str]], failing: Collection[str] = ()
) -> str:
    """An alert's sentence as the dashboard says it. An agent waiting for a first copy that other
    business units already use (`undeployed`: agent -> those units) waits only on paper; one on the
    cull list (`failing`) should be fixed before anyone copies it."""
    text = str(alert["message"])
    if alert["rule"] != "waiting_for_copy":
        return text
    units = list(undeployed.get(str(alert["subject"])) or [])
    if units:
        verb = "uses" if len(units) == 1 else "use"
        text += f", though {display.listed(units)} already {verb} it without a recorded deployment"
    if alert["subject"] in failing:
        text += "; it fails its gate, so fix it before it is copied"
    return text


def grew_without_uplift(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> list[Alert]:
    """Teams whose headcount in the as_of month is above their baseline while their uplift stays
    below the validation bar."""
    month = dataclasses.replace(
        filters, date_from=_month_start(filters.dates.as_of), date_to=filters.dates.as_of
    )
    teams = metrics.net_output_teams(conn, month, settings)
    bar = settings.net_output.validation_uplift
    grown = teams[
        teams["has_grown_headcount"] & ~(teams["net_output_uplift"].fillna(0) >= bar - metrics.TOLERANCE)
    ]
    return [
        Alert(
            "grew_without_uplift",
            "warning",
            f"{row.business_unit} / {row.team}",
            f"{row.team} ({row.business_unit}) grew to {int(row.headcount)} people from a baseline of "
            f"{int(row.baseline_headcount)} while its uplift is {display.share(row.net_output_uplift)} "
            f"(the bar is {display.share(bar, 0)})",
            PAGES["net_output"],
            {
                "function": row.function,
                "business_unit": row.business_unit,
                "team": row.team,
                "month": f"{pd.Timestamp(row.month):%Y-%m}",
                "headcount": int(row.headcount),
                "baseline_headcount": int(row.baseline_headcount),
                "net_output_uplift": None if pd.isna(row.net_output_uplift) else float(row.net_output_uplift),
            },
        )
        for row in grown.itertuples(index=False)
    ]


def usage_fell(conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings) -> list[Alert]:
    """Agents whose tasks fell by more than usage_drop from one whole month to the next: the last
    whole month up to as_of against the month before it."""
    rules = settings.alerts
    last_whole = 0 if filters.dates.as_of == metrics.month_end(filters.dates.as_of) else 1
    latest, previous = (
        pd.Timestamp(_month_start(filters.dates.as_of, back)) for back in (last_whole, last_whole + 1)
    )
    # The agents' months of cost_spikes (the same result, shared in a report), when they reach back far enough.
    usage = _monthly_usage(
        conn, filters, settings, "agent_id", max(last_whole + 1, rules.cost_trailing_months)
    )
    months = pd.to_datetime(usage["month"])
    compared = months.isin([latest, previous]).to_numpy()
    tasks = {
        (agent, month): int(count)
        for agent, month, count in zip(
            usage["agent_id"][compared], months[compared], usage["tasks"][compared], strict=True
        )
    }
    alerts = []
    names = metrics.agent_names(conn)
    for agent in sorted({agent for agent, _ in tasks}):
        before, after = tasks.get((agent, previous), 0), tasks.get((agent, latest), 0)
        if before < rules.min_usage_tasks:
            continue
        fall = 1 - after / before
        if fall <= rules.usage_drop + metrics.TOLERANCE:
            continue
        alerts.append(
            Alert(
                "usage_fell",
                "warning",
                agent,
                f"{display.agent(agent, names)} ran {display.count(after)} tasks in {latest:%Y-%m} against {display.count(before)} in "
                f"{previous:%Y-%m}: down {display.share(fall)} (abandoned?)",
                PAGES["fleet"],
                {
                    "agent_id": agent,
                    "month": f"{latest:%Y-%m}",
                    "tasks": after,
                    "previous_month": f"{previous:%Y-%m}",
                    "previous_tasks": before,
                    "fall": fall,
                },
            )
        )
    return alerts


def to_json(alerts: list[Alert], as_of: dt.date) -> str:
    return json.dumps({"as_of": as_of.isoformat(), "alerts": [alert.as_dict() for alert in alerts]}, indent=2)


class WebhookError(RuntimeError):
    """The webhook could not be reached or did not accept the alerts; the message says why."""


def send(url: str, body: str, timeout: float) -> int:
    """POST the alerts' JSON to url; its HTTP status, or WebhookError with a plain reason."""
    if not url.lower().startswith(("http://", "https://")):
        raise WebhookError(f"webhook {url!r}: only http:// and https:// URLs are supported")
    try:
        request = urllib.request.Request(
            url, data=body.encode("utf-8"), headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        raise WebhookError(f"webhook {url} answered HTTP {error.code} {error.reason}") from None
    except TimeoutError:
        raise WebhookError(f"webhook {url} did not answer within {timeout:g} seconds") from None
    except (ValueError, http.client.HTTPException) as error:  # a URL that is none (http://[::1, spaces)
        raise WebhookError(f"webhook {url!r} is not a valid URL: {error}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, TimeoutError):
            raise WebhookError(f"webhook {url} did not answer within {timeout:g} seconds") from None
        raise WebhookError(f"webhook {url} could not be reached: {reason}") from None
