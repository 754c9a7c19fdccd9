"""Exports for spreadsheets: CSV that cannot run as a formula, and Excel with money as currency."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from decimal import Decimal

import pandas as pd

from offload_metrics import display

# A text cell starting with one of these can run as a formula in Excel or Sheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Spreadsheets skip leading spaces and line feeds before a formula, and read the full-width signs
# (＝ ＋ － ＠) as the ASCII ones.
FORMULA_SIGNS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_text(value: object) -> object:
    """A text cell that cannot run as a formula: a = + - @ (ASCII or full-width) after any leading
    white space, or a leading tab or CR, gets a quote. Numbers pass."""
    if isinstance(value, str) and (
        value.startswith(FORMULA_PREFIXES) or value.lstrip().startswith(FORMULA_SIGNS)
    ):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell made safe; numeric columns untouched."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(safe_text)
    return safe


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """Money columns rounded to cents (half up, from exact decimals): money as it is shown."""
    shown = frame.copy()
    for column in shown.columns:
        if display.is_money(column):
            shown[column] = shown[column].map(display.cents)
    return shown


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return safe_frame(frame).to_csv(index=False).encode("utf-8")


def excel_bytes(sheets: Mapping[str, pd.DataFrame], share_columns: Iterable[str] = ()) -> bytes:
    """One sheet per table; money (by its name) as currency, shares as percents, text safe from
    formulas."""
    share_columns = set(share_columns)
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="xlsxwriter") as writer:
        book = writer.book
        currency = book.add_format({"num_format": "$#,##0.00"})
        percent = book.add_format({"num_format": "0.0%"})
        for name, frame in sheets.items():
            sheet_name = name[:31]
            table = safe_frame(frame)
            for column in table.columns:
                if table[column].map(lambda value: isinstance(value, Decimal)).any():
                    table[column] = table[column].map(
                        lambda value: float(value) if value is not None else None
                    )
            table.to_excel(writer, sheet_name=sheet_name, index=False)
            sheet = writer.sheets[sheet_name]
            for index, column in enumerate(table.columns):
                width = min(max(len(str(column)), 12) + 2, 48)
                style = currency if display.is_money(column) else percent if column in share_columns else None
                sheet.set_column(index, index, width, style)
            sheet.freeze_panes(1, 0)
    return buffer.getvalue()
