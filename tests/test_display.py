"""One formatter per kind of value."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from offload_metrics import display


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("1234.565"), "$1,234.57"),
        (Decimal("-12"), "-$12.00"),
        (0.125, "$0.13"),
        (None, "—"),
        (float("nan"), "—"),
    ],
)
def test_money_shows_currency_thousands_and_cents_half_up(value, shown):
    assert display.money(value) == shown


def test_short_money_shares_and_labels():
    # Below a thousand the cents: an agent cost of $1.48 read "$1" beside a table's "$1.48".
    assert [display.money_short(v) for v in (Decimal("1.48"), 16.51, Decimal("-0.5"), 950.254)] == [
        "$1.48", "$16.51", "-$0.50", "$950.25",
    ]  # fmt: skip
    assert [display.money_short(v) for v in (950, 34_000, 5_500_000, -2_100_000_000)] == [
        "$950",
        "$34.0k",
        "$5.50M",
        "-$2.10B",
    ]
    # Three significant digits: labor value and net savings a cost apart stay apart, and a value
    # just under a unit rounds within it or up into the next, never to "$1,000k".
    assert [
        display.money_short(v) for v in (5_542_625.81, 5_487_051, 55_574.75, 999_499, 999_999, 9_996)
    ] == ["$5.54M", "$5.49M", "$55.6k", "$999k", "$1.00M", "$10.0k"]
    assert (display.share(0.4587), display.share(None), display.share(1)) == ("45.9%", "—", "100.0%")
    assert (display.label("pilot_plateau"), display.label("on_track"), display.label("insufficient_data")) == (
        "Pilot plateau", "On track", "Insufficient data",
    )  # fmt: skip


def test_months_days_and_the_scale_note():
    assert (display.month(dt.date(2025, 3, 9)), display.day(dt.datetime(2025, 3, 9, 10)), display.month(None)) == (
        "2025-03", "2025-03-09", None,
    )  # fmt: skip
    assert display.scale_note(19, 23, 18, 36) == "scaled in 19 months (on track: 18-36)"
    assert display.scale_note(None, 1, 18, 36) == "1 month since the first validated agent"
    assert display.scale_note(None, None, 18, 36) == "no validated agent yet"


def test_money_is_recognised_by_its_name():
    assert [display.is_money(c) for c in ("labor_value_usd", "agent_cost_per_task", "roi", "tasks")] == [
        True, True, False, False,
    ]  # fmt: skip


def test_changes_are_signed_in_the_kinds_format_and_shares_change_in_points():
    assert display.change(display.hours, 120.0, 96.0) == "+24 h"
    assert display.change(display.money_short, Decimal("1000"), Decimal("1500.5")) == "-$500.50"
    assert display.change(display.share, 0.459, 0.412) == "+4.7 pp"
    assert display.change(display.count, 3, 3) == "+0"
    assert display.change(display.hours, 1.0, None) is None
    assert display.points(0.517) == "51.7 pp"


def test_a_share_that_rounds_to_zero_but_is_not_zero_reads_below_the_last_place():
    # A leading function at 0.02% against a lagging one at 0%: the gap is real and reads so.
    assert display.share(0.0002) == "<0.1%"
    assert display.points(0.0002) == "<0.1 pp"
    assert display.share(0.004, 0) == "<1%"
    assert display.share(-0.0002) == "-<0.1%"
    assert display.change(display.share, 0.4121, 0.4120) == "+<0.1 pp"
    assert display.change(display.share, 0.4120, 0.4121) == "-<0.1 pp"
    # Zero stays zero, never -0.0; half the last place rounds up as before.
    assert [display.share(0.0), display.share(-0.0), display.points(-0.0)] == ["0.0%", "0.0%", "0.0 pp"]
    assert display.change(display.share, 0.412, 0.412) == "+0.0 pp"
    assert display.share(0.0006) == "0.1%"
    assert display.share(-0.0006) == "-0.1%"


def test_a_median_not_reached_says_so_with_the_count_waiting():
    assert display.km_median(None, 4, 1) == "not reached · 3 of 4 waiting"
    assert display.km_median(32.0, 6, 5) == "32 days"
    assert display.km_median(None, 0, 0) == "— (no validated agent)"


def test_codes_read_as_words_and_settings_as_percents():
    assert [display.label(code) for code in ("insufficient_data", "fail", "usage_events", "pilot_purgatory")] == [
        "Insufficient data", "Fail", "Usage events", "Pilot purgatory",
    ]  # fmt: skip
    assert (display.setting_share(0.8), display.setting_share(0.125)) == ("80%", "12.5%")
    assert (
        display.kinds(["time_saved", "org_baseline"])
        == "documented time savings and the organisation baseline"
    )
    assert [display.listed(words) for words in ([], ["a"], ["a", "b"], ["a", "b", "c"])] == [
        "", "a", "a and b", "a, b and c",
    ]  # fmt: skip
    assert display.period("2025-01-01", "2025-03-31") == "2025-01 to 2025-03"
    assert display.period(dt.date(2025, 2, 1), "2025-02-28") == "2025-02"
    # An open end reads as a dash, never as "None".
    assert (display.period(None, None), display.period("2025-01-01", None)) == ("—", "2025-01 to —")


def test_numbers_of_every_kind_format_alike_and_undefined_ones_are_a_dash():
    # A NumPy or Decimal value shows as the float would; None, NaN, pandas' NA and NaT as an em dash.
    assert [display.hours(value) for value in (np.int64(1234), Decimal("1234.4"), 1234.5)] == [
        "1,234 h", "1,234 h", "1,234 h",
    ]  # fmt: skip
    assert [display.share(value) for value in (None, float("nan"), pd.NA, pd.NaT)] == ["—"] * 4
    assert (display.count(np.int64(12_345)), display.ratio(Decimal("2.25")), display.days(np.float64(3.5))) == (
        "12,345", "2.2x", "4 days",
    )  # fmt: skip
    assert display.number(0.0314, 3) == "0.031"
    assert display.month(np.datetime64("2025-03-09")) == "2025-03"


def test_text_from_data_shows_as_typed_in_markdown():
    assert display.plain("![x](http://h/x.png) *a*\nb") == r"\!\[x\]\(http\:\/\/h\/x\.png\) \*a\* b"


def test_markdown_from_data_renders_without_images_html_or_odd_links():
    text = (
        "## Steps\n\n1. Connect ![x](http://127.0.0.1:9/x.png) and [docs](https://example.org/docs)\n\n"
        "![ref][r] [data](data:text/html,hi) [js](javascript:alert(1)) [file](file:///etc/passwd)\n\n"
        '<img src="http://127.0.0.1:9/y.png" onerror="alert(1)"><script>alert(1)</script>\n\n'
        "[r]: http://127.0.0.1:9/r.png"
    )
    assert display.markdown_html(text) == (
        '<h2>Steps</h2>\n<ol>\n<li>Connect !<a href="http://127.0.0.1:9/x.png">x</a> and '
        '<a href="https://example.org/docs">docs</a></li>\n</ol>\n'
        '<p>!<a href="http://127.0.0.1:9/r.png">ref</a> [data](data:text/html,hi) [js](javascript:alert(1)) '
        "[file](file:///etc/passwd)</p>\n"
        "<p>&lt;img src=&quot;http://127.0.0.1:9/y.png&quot; onerror=&quot;alert(1)&quot;&gt;"
        "&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
    )


def test_markdown_for_an_export_keeps_its_formatting_but_not_its_html_or_images():
    assert display.inert_markdown("**Do** <b>this</b> & ![x](http://h/x.png)") == (
        "**Do** &lt;b&gt;this&lt;/b&gt; &amp; !\\[x](http://h/x.png)"
    )


@pytest.mark.parametrize(
    ("first", "last", "shown"),
    [
        (dt.date(2025, 4, 1), dt.date(2025, 6, 30), "Q2 2025"),
        (dt.date(2024, 10, 1), dt.date(2024, 12, 31), "Q4 2024"),
        (dt.date(2024, 1, 1), dt.date(2024, 12, 31), "2024"),
        (dt.date(2025, 6, 1), dt.date(2025, 6, 30), "2025-06"),
        (dt.date(2025, 5, 1), dt.date(2025, 7, 31), "previous 3 months"),
        (dt.date(2024, 11, 1), dt.date(2025, 3, 31), "previous 5 months"),
        (dt.date(2024, 7, 1), dt.date(2025, 6, 30), "previous 12 months"),
    ],
)
def test_a_tiles_change_names_the_previous_period_briefly(first, last, shown):
    assert display.period_short(first, last) == shown
