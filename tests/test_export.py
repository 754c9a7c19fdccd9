"""Exports: text cells that a spreadsheet would run as a formula are made inert, numbers are not."""

from __future__ import annotations

import pytest

from offload_metrics import export

LIVE = [
    "=1+2",
    "+1",
    "-1+2",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    ' =HYPERLINK("http://x")',
    "\n=1+2",
    "  \n +cmd",
    "\u3000=1",  # ideographic space
    "＝1+2",  # full-width equals sign
    "＋1",
    "－1",
    "＠SUM(A1)",
]


@pytest.mark.parametrize("text", LIVE)
def test_formula_text_gets_a_leading_quote(text):
    assert export.safe_text(text) == "'" + text


@pytest.mark.parametrize("value", ["plain", "a=b", " spaced", "", 5, -5, 1.5, None])
def test_other_values_pass_unchanged(value):
    assert export.safe_text(value) == value
