"""One formatter per kind of value: money, shares, hours, counts, months; and words for codes.

Tiles, tables, charts' hover text, exports and the Markdown summary all format through these, so a
value looks the same wherever it is shown. An undefined value is an em dash, with its reason where
the caller knows one (`undefined`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, SupportsFloat, SupportsInt, TypeGuard, TypeVar

from markdown_it import MarkdownIt

if TYPE_CHECKING:
    from offload_metrics.ingest.base import LoadResult

CENT = Decimal("0.01")
MONEY_SUFFIXES = ("_usd", "_per_task")


# The columns that hold a share or a rate (0.153 for 15.3%), wherever a table or a tile shows them.
SHARE_COLUMNS = frozenset({
    "offloaded_share", "escalation_rate", "failure_rate", "automation_rate", "net_output_uplift", "accuracy",
    "automation", "difference_share", "documented_task_share", "documented_cost_share", "estimated_task_share",
})  # fmt: skip


def is_money(column: str) -> bool:
    """Whether a column holds money: every metric names money with one of MONEY_SUFFIXES."""
    return column.endswith(MONEY_SUFFIXES)


def as_record(item: Any) -> dict[str, Any]:
    """A dataclass's fields as a plain dict, its dict fields copied: the shape dataclasses.asdict
    gives for flat records, without deep-copying every value (a tenth of a second of a report's
    wins and alerts)."""
    return {
        name: dict(value) if isinstance(value := getattr(item, name), dict) else value
        for name in _field_names(type(item))
    }


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    """A dataclass's field names, once per class (dataclasses.fields rebuilds them on every call)."""
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(field.name for field in dataclasses.fields(kind))
    return names


def missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value) in ("NaT", "<NA>")


T = TypeVar("T")


def present(value: T | None) -> TypeGuard[T]:
    """Not missing: a formatter's value past this check is a number (int, float, Decimal, NumPy)."""
    return not missing(value)


def cents(value: object) -> Decimal | None:
    """Money rounded to cents, half up, from an exact Decimal (or a float, via its shortest text)."""
    if missing(value):
        return None
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    rounded = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    # -$0.004 rounds to zero, not to a "-0.00" that JSON, CSV and tables would show.
    return rounded if rounded else rounded.copy_abs()


def money(value: object) -> str:
    """$1,234.56; -$12.00; an em dash when undefined."""
    amount = cents(value)
    if amount is None:
        return "—"
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def money_short(value: object) -> str:
    """$1.23M, $340k, $55.6k, $950, $1.48: three significant digits from a thousand up, cents below
    (those a whole amount has none of are not written), for tiles and axes (with one decimal,
    labor value $5,542,626 and net savings $5,487,051 both read $5.5M, and the cost between them was
    gone)."""
    amount = cents(value)
    if amount is None:
        return "—"
    number = float(amount)
    sign = "-" if number < 0 else ""
    number = abs(number)
    rounded = float(f"{number:.3g}")  # 999,499 is $999k and 999,999 $1.00M
    for bound, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if rounded >= bound:
            scaled = rounded / bound
            places = 2 if scaled < 10 else 1 if scaled < 100 else 0
            return f"{sign}${scaled:,.{places}f}{suffix}"
    # Below a thousand, cents that are there are shown: a $1.48 cost read "$1" beside "$1.48".
    return f"{sign}${number:,.0f}" if number == int(number) else f"{sign}${number:,.2f}"


def _quantity(value: SupportsFloat | None, spec: str, unit: str = "", scale: float = 1) -> str:
    """A number in a format spec times scale, then its unit; an em dash when undefined."""
    if not present(value):
        return "—"
    return f"{float(value) * scale:{spec}}{unit}"


# The decimals a share is shown to, in percent: 12.3%.
SHARE_PLACES = 1


def share(value: SupportsFloat | None, places: int = SHARE_PLACES) -> str:
    """A share or rate as a percent: 12.3%; one that is not zero but rounds to it, <0.1%."""
    return _percent(value, places, "%")


def points(value: SupportsFloat | None) -> str:
    """A difference between two shares, in percentage points: 12.3 pp; <0.1 pp when it is not
    zero but rounds to it."""
    return _percent(value, 1, " pp")


def _percent(value: SupportsFloat | None, places: int, unit: str) -> str:
    """A fraction in percent to `places` decimals. A value that is not zero but rounds to zero reads
    <0.1 (-<0.1 below zero), so that a ranking or a gap the data holds is never shown as 0.0, and
    zero never reads -0.0."""
    if not present(value):
        return "—"
    percent = float(value) * 100
    step = 10.0**-places
    if 0 < abs(percent) < step / 2:
        return f"{'-' if percent < 0 else ''}<{step:.{places}f}{unit}"
    return f"{percent + 0.0:.{places}f}{unit}"


def setting_share(value: float) -> str:
    """A threshold from the settings as a percent, without needless decimals: 80%, 12.5%."""
    return f"{float(value) * 100:g}%"


def agent(agent_id: object, names: Mapping[str, str]) -> str:
    """An agent as a person knows it: its catalog name, then its id (Campaign brief writer
    (mkt-brief-writer)); the id alone when the catalog gives it no other name."""
    key = str(agent_id)
    name = names.get(key)
    return f"{name} ({key})" if name and name != key else key


def undefined(reason: str) -> str:
    """An undefined value with its reason: — (no cost yet)."""
    return f"— ({reason})"


def _not_reached_parts(waiting: SupportsInt | None, validated: SupportsInt | None) -> tuple[str, str | None]:
    if not present(waiting) or not present(validated):
        return "not reached", None
    return "not reached", f"{int(waiting)} of {int(validated)} waiting"


def km_median(
    median: SupportsFloat | None, validated: SupportsInt | None, replicated: SupportsInt | None
) -> str:
    """A Kaplan-Meier median in days; "not reached · 3 of 4 waiting" when the curve stays above half."""
    value, waiting = km_median_tile(median, validated, replicated)
    return f"{value} · {waiting}" if waiting else value


def km_median_tile(
    median: SupportsFloat | None, validated: SupportsInt | None, replicated: SupportsInt | None
) -> tuple[str, str | None]:
    """km_median in two parts for a tile, whose value must stay short: ("not reached", "3 of 4
    waiting") when the curve stays above half, else (the value, None)."""
    if present(median):
        return days(median), None
    if not present(validated) or int(validated) == 0:
        return undefined("no validated agent"), None
    waiting = int(validated) - (int(replicated) if present(replicated) else 0)
    return _not_reached_parts(waiting, validated)


def hours(value: SupportsFloat | None) -> str:
    return _quantity(value, ",.0f", " h")


def count(value: SupportsInt | None) -> str:
    if not present(value):
        return "—"
    return f"{int(value):,}"


def plural(count: int, word: str) -> str:
    """1 function, 3 functions."""
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def scale_note(
    time_to_scale: SupportsInt | None, months_since: SupportsInt | None, low: int, high: int
) -> str:
    """Where the program is against the months-to-scale band, in a few words."""
    if present(time_to_scale):
        return f"scaled in {plural(int(time_to_scale), 'month')} (on track: {low}-{high})"
    if present(months_since):
        return f"{plural(int(months_since), 'month')} since the first validated agent"
    return "no validated agent yet"


def ratio(value: SupportsFloat | None) -> str:
    """A multiple: 12.3x."""
    return _quantity(value, ",.1f", "x")


def number(value: SupportsFloat | None, places: int = 1) -> str:
    """A plain quantity with one decimal (1,234.5), or as many places as asked (a p-value: 0.031)."""
    return _quantity(value, f",.{places}f")


def days(value: SupportsFloat | None) -> str:
    return _quantity(value, ",.0f", " days")


def month(value: object) -> str | None:
    """YYYY-MM of a date; None when undefined."""
    if missing(value):
        return None
    if isinstance(value, dt.date):
        return f"{value.year:04d}-{value.month:02d}"
    return str(value)[:7]


def day(value: object) -> str | None:
    """YYYY-MM-DD of a date; None when undefined."""
    if missing(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)[:10]


PHASE_LABELS = {
    "pilot_plateau": "Pilot plateau",
    "crossing_point": "Crossing point",
    "acceleration": "Acceleration",
    "saturation": "Saturation",
}
TRAJECTORY_LABELS = {
    "fast": "Fast",
    "on_track": "On track",
    "slow": "Slow",
    "pilot_purgatory": "Pilot purgatory",
    "stalled": "Stalled",
    "in_progress": "In progress",
}


GATE_LABELS = {"pass": "Pass", "fail": "Fail", "insufficient_data": "Insufficient data"}
KIND_LABELS = {
    "usage_events": "agent usage logs",
    "time_saved": "documented time savings",
    "replication_events": "replication events",
    "agents": "the agent catalog",
    "org_baseline": "the organisation baseline",
    "vendor_costs": "vendor cost reports",
    "vendor_usage": "vendor usage reports",
    "task_baselines": "task baselines",
    "collaboration": "collaboration data",
    "viva_collaboration": "a Viva Insights collaboration export",
    "otlp_traces": "OpenTelemetry spans",
    "langfuse_observations": "Langfuse observations",
    "langfuse_scores": "Langfuse scores",
}


def text(value: object) -> str:
    """A value as it is, or "—" when undefined."""
    return "—" if missing(value) else str(value)


def label(value: object) -> str:
    """A phase, trajectory, gate or any other code as words: pilot_plateau -> Pilot plateau."""
    if missing(value):
        return "—"
    text = str(value)
    return (
        PHASE_LABELS.get(text)
        or TRAJECTORY_LABELS.get(text)
        or GATE_LABELS.get(text)
        or text.replace("_", " ").capitalize()
    )


def kinds(names: Iterable[object]) -> str:
    """Input kinds in words: "documented time savings and the organisation baseline"."""
    return listed([KIND_LABELS.get(str(name), str(name)) for name in names])


def listed(words: Sequence[str]) -> str:
    """Words as a list in a sentence: a; a and b; a, b and c."""
    return " and ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " and " + words[-1]


def boolean(value: object) -> str:
    """Yes or No for people; exports write true/false."""
    if missing(value):
        return "—"
    return "Yes" if value else "No"


def signed(formatter: Callable[[T], str], value: T | None) -> str:
    """A change with its sign: +96 h, -$1.2k, +2.1 pp (the sign carries the direction)."""
    if not present(value):
        return "—"
    shown = formatter(value)
    return shown if shown.startswith("-") else "+" + shown


def change(formatter: Callable[[Decimal], str], current: object, previous: object) -> str | None:
    """current - previous, signed, in the kind's formatter; None when either is undefined. A
    change of a share is shown in percentage points."""
    if missing(current) or missing(previous):
        return None
    # Through Decimal so that money and rounded shares subtract without floating-point residue.
    difference = Decimal(str(current)) - Decimal(str(previous))
    return signed(points if formatter is share else formatter, difference)


def period(first: object, last: object) -> str:
    """A range of whole months in words: 2025-01 to 2025-03, or 2025-03 for one month."""
    start, end = month(first) or "—", month(last) or "—"
    return start if start == end else f"{start} to {end}"


def period_short(first: object, last: object) -> str:
    """A range of whole months short enough for a tile's change line: Q2 2025 for a calendar quarter,
    2024 for a calendar year, 2025-06 for one month, else "previous N months"."""
    start, end = month(first), month(last)
    if start is None or end is None:
        return period(first, last)
    (start_year, start_month), (end_year, end_month) = (map(int, start.split("-")), map(int, end.split("-")))
    months = (end_year - start_year) * 12 + end_month - start_month + 1
    if months == 1:
        return start
    if months == 3 and start_month % 3 == 1:
        return f"Q{(start_month + 2) // 3} {start_year}"
    if months == 12 and start_month == 1:
        return str(start_year)
    return f"previous {months} months"


# How each kind of value is shown, by name: the dashboard's tables and the exports look columns up here.
FORMATTERS: dict[str, Callable[[Any], str | None]] = {
    "money": money,
    "money_short": money_short,
    "share": share,
    "points": points,
    "hours": hours,
    "count": count,
    "number": number,
    "ratio": ratio,
    "days": days,
    "month": month,
    "day": day,
    "label": label,
    "boolean": boolean,
    "text": text,
}


# --- text from data -----------------------------------------------------------------------------------
# File names, column headers, agent names and blueprints come from whoever wrote the files: shown,
# they must never fetch anything, run anything or look like the dashboard's own words.

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def plain(text: object) -> str:
    """Text for a Markdown element, shown exactly as typed: every ASCII punctuation mark escaped."""
    return _PUNCTUATION.sub(r"\\\1", " ".join(str(text).split()))


_LINK_SCHEMES = ("http://", "https://", "mailto:")


class _SafeMarkdown(MarkdownIt):
    """CommonMark without raw HTML or images, whose links may only go to the web or to mail."""

    def __init__(self) -> None:
        super().__init__("commonmark", {"html": False})
        self.disable("image")

    def validateLink(self, url: str) -> bool:
        return url.strip().lower().startswith(_LINK_SCHEMES)


_SAFE_MARKDOWN = _SafeMarkdown()


def markdown_html(text: str) -> str:
    """Markdown from data as HTML without images, raw HTML or links other than http(s) and mail."""
    return _SAFE_MARKDOWN.render(text)


def inert_markdown(text: object) -> str:
    """Markdown from data for an export: its HTML escaped and its images turned into plain links."""
    escaped = html.escape(str(text), quote=False)
    return escaped.replace("![", "!\\[")


def load_outcome(result: LoadResult) -> str:
    """Where one file's rows went (an ingest.LoadResult), as the Data page, the CLI and the audit say it."""
    if result.status != "loaded":
        return result.message
    text = (
        f"{KIND_LABELS.get(result.kind, result.kind)}, {plural(result.rows_read, 'row')} read: {result.accepted:,} "
        f"accepted, {result.duplicate:,} duplicate, {result.conflict:,} conflicting, {result.rejected:,} rejected"
    )
    return f"{text} ({result.message})" if result.message else text
