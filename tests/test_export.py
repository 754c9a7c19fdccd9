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


def test_a_workbook_keeps_input_text_as_text_never_a_formula_or_a_link(tmp_path):
    """xlsxwriter reads "{=...}" as an array formula and URLs as hyperlinks unless told not to."""
    import io

    import openpyxl
    import pandas as pd

    texts = [
        '{=HYPERLINK("http://evil.example","click")}',
        "{=1+1}",
        "http://evil.example/login",
        "mailto:ceo@example.com",
        "external:C:\\Windows\\System32\\calc.exe",
        "00123",
    ]
    book = openpyxl.load_workbook(io.BytesIO(export.excel_bytes({"names": pd.DataFrame({"name": texts})})))
    cells = [row[0] for row in book["names"].iter_rows(min_row=2)]
    assert [(cell.data_type, cell.value, cell.hyperlink) for cell in cells] == [
        ("s", text, None) for text in texts
    ]
