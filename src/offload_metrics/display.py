"""One formatter per kind of value: money, shares, hours, counts, months."""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from decimal import ROUND_HALF_UP, Decimal

from markdown_it import MarkdownIt

CENT = Decimal("0.01")
MONEY_SUFFIXES = ("_usd", "_per_task")


def is_money(column: str) -> bool:
    """Whether a column holds money: every metric names money with one of MONEY_SUFFIXES."""
    return column.endswith(MONEY_SUFFIXES)


def missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value) in ("NaT", "<NA>")


def cents(value: object) -> Decimal | None:
    """Money rounded to cents, half up, from an exact Decimal (or a float, via its shortest text)."""
    if missing(value):
        return None
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def money(value: object) -> str:
    """$1,234.56; -$12.00; an em dash when undefined."""
    amount = cents(value)
    if amount is None:
        return "—"
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def money_short(value: object) -> str:
    """$1.2M, $340k, $950: for tiles and axes."""
    amount = cents(value)
    if amount is None:
        return "—"
    number = float(amount)
    sign = "-" if number < 0 else ""
    number = abs(number)
    for bound, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if number >= bound:
            return f"{sign}${number / bound:,.1f}{suffix}"
    return f"{sign}${number:,.0f}"


def share(value: object, places: int = 1) -> str:
    """A share or rate as a percent: 12.3%."""
    if missing(value):
        return "—"
    return f"{float(value) * 100:.{places}f}%"  # type: ignore[arg-type]


def hours(value: object) -> str:
    if missing(value):
        return "—"
    return f"{float(value):,.0f} h"  # type: ignore[arg-type]


def count(value: object) -> str:
    if missing(value):
        return "—"
    return f"{int(value):,}"  # type: ignore[call-overload]


def plural(count: int, word: str) -> str:
    """1 function, 3 functions."""
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def scale_note(time_to_scale: object, months_since: object, low: int, high: int) -> str:
    """Where the program is against the months-to-scale band, in a few words."""
    if not missing(time_to_scale):
        return f"scaled in {plural(int(time_to_scale), 'month')}; on track is {low}-{high}"  # type: ignore[call-overload]
    if not missing(months_since):
        return f"{plural(int(months_since), 'month')} since the first validated agent"  # type: ignore[call-overload]
    return "no validated agent yet"


def ratio(value: object) -> str:
    """A multiple: 12.3x."""
    if missing(value):
        return "—"
    return f"{float(value):,.1f}x"  # type: ignore[arg-type]


def number(value: object, places: int = 2) -> str:
    """A plain number, such as a p-value or an index: 0.031."""
    if missing(value):
        return "—"
    return f"{float(value):,.{places}f}"  # type: ignore[arg-type]


def days(value: object) -> str:
    if missing(value):
        return "—"
    return f"{float(value):,.0f} days"  # type: ignore[arg-type]


def month(value: object) -> str | None:
    """YYYY-MM of a date; None when undefined."""
    if missing(value):
        return None
    if isinstance(value, str):
        return value[:7]
    return f"{value.year:04d}-{value.month:02d}"  # type: ignore[union-attr]


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


def label(value: object) -> str:
    """A phase, trajectory or gate as words."""
    if missing(value):
        return "—"
    text = str(value)
    return PHASE_LABELS.get(text) or TRAJECTORY_LABELS.get(text) or text.replace("_", " ").capitalize()


# --- text from data -----------------------------------------------------------------------------------
# File names, column headers, agent names and blueprints come from whoever wrote the files: shown,
# they must never fetch anything, run anything or look like the dashboard's own words.

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def plain(text: object) -> str:
    """Text for a Markdown element, shown exactly as typed: every ASCII punctuation mark escaped."""
    return _PUNCTUATION.sub(r"\\\1", " ".join(str(text).split()))


_LINK_SCHEMES = ("http://", "https://", "mailto:")


def _safe_renderer() -> MarkdownIt:
    renderer = MarkdownIt("commonmark", {"html": False}).disable("image")
    renderer.validateLink = lambda url: url.strip().lower().startswith(_LINK_SCHEMES)  # type: ignore[method-assign]
    return renderer


_SAFE_MARKDOWN = _safe_renderer()


def markdown_html(text: str) -> str:
    """Markdown from data as HTML without images, raw HTML or links other than http(s) and mail."""
    return _SAFE_MARKDOWN.render(text)


def inert_markdown(text: object) -> str:
    """Markdown from data for an export: its HTML escaped and its images turned into plain links."""
    escaped = html.escape(str(text), quote=False)
    return escaped.replace("![", "!\\[")


def load_outcome(result) -> str:
    """Where one file's rows went (an ingest.LoadResult), as the Data page, the CLI and the audit say it."""
    if result.status != "loaded":
        return result.message
    text = (
        f"{result.kind}, {result.rows_read:,} rows read: {result.accepted:,} accepted, {result.duplicate:,} "
        f"duplicate, {result.conflict:,} conflicting, {result.rejected:,} rejected"
    )
    return f"{text} ({result.message})" if result.message else text
