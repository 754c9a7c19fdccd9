"""Exports for spreadsheets: CSV that cannot run as a formula, and Excel with money as currency."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from decimal import Decimal

import duckdb
import pandas as pd

from offload_metrics import display, metrics
from offload_metrics.config import Settings

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
            # Kept as objects: mapping would turn an integer column with a gap into floats (1.0).
            safe[column] = pd.Series(
                [safe_text(value) for value in safe[column]], index=safe.index, dtype=object
            )
    return safe


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """Money columns rounded to cents (half up, from exact decimals): money as it is shown."""
    shown = frame.copy()
    for column in shown.columns:
        if display.is_money(column):
            shown[column] = shown[column].map(display.cents)
    return shown


# Column headers a person can read in a spreadsheet, with the unit.
HEADERS = {
    "function": "Function",
    "business_unit": "Business unit",
    "team": "Team",
    "agent_id": "Agent",
    "month": "Month (YYYY-MM)",
    "labor_value_usd": "Labor value of hours saved (USD)",
    "agent_cost_usd": "Agent cost (USD)",
    "usage_cost_usd": "Agent cost in the usage logs (USD)",
    "vendor_cost_usd": "Agent cost on vendor bills (USD)",
    "net_savings_usd": "Net savings (USD)",
    "reinvestment_pool_usd": "Reinvestment pool (USD)",
    "cumulative_pool_usd": "Pool so far (USD)",
    "roi": "ROI (x: net savings per USD of agent cost)",
    "agent_cost_per_task": "Agent cost per task (USD)",
    "human_cost_per_task": "Person cost per task (USD)",
    "human_cost_usd": "Cost of the documented tasks done by people (USD)",
    "tasks": "Tasks run by agents",
    "documented_tasks": "Documented tasks",
    "hours_saved": "Hours saved",
}
RATIOS = {"roi"}


def header(column: str) -> str:
    return HEADERS.get(column) or display.label(column)


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """A table for people: readable headers with units, months as YYYY-MM, ratios to 2 decimals."""
    shown = frame.copy()
    for column in shown.columns:
        if column == "month":
            shown[column] = shown[column].map(display.month)
        elif column in RATIOS:
            shown[column] = shown[column].map(
                lambda value: None if display.missing(value) else round(float(value), 2)
            )
    return shown.rename(columns={column: header(column) for column in shown.columns})


def about(lines: Iterable[tuple[str, str]]) -> pd.DataFrame:
    """What an export covers (as of, range, filters, settings that differ from defaults) as a sheet."""
    return pd.DataFrame(list(lines), columns=["", "Value"])


def _written(column: pd.Series) -> pd.Series:
    """A column as CSV writes it: booleans true/false, values otherwise as they are (kept as objects,
    so an integer column with a gap is not turned into floats)."""
    if column.dtype != object and not pd.api.types.is_bool_dtype(column):
        return column
    values = [("true" if value else "false") if isinstance(value, bool) else value for value in column]
    return pd.Series(values, index=column.index, dtype=object)


def csv_bytes(
    frame: pd.DataFrame, about_lines: Iterable[tuple[str, str]] = (), *, for_people: bool = False
) -> bytes:
    """CSV of a frame; with about_lines, first a "# name: value" line each (what the file covers); for
    people, readable headers and months. Booleans are written true/false."""
    table = readable(frame) if for_people else frame
    table = table.apply(_written)
    preamble = "".join(f"# {name}: {value}\n" for name, value in about_lines)
    return (preamble + safe_frame(table).to_csv(index=False)).encode("utf-8")


def excel_bytes(
    sheets: Mapping[str, pd.DataFrame],
    share_columns: Iterable[str] = (),
    *,
    about_lines: Iterable[tuple[str, str]] = (),
    for_people: bool = False,
) -> bytes:
    """One sheet per table; money (by its name) as currency, shares as percents, ratios as 12.3x, text
    safe from formulas. With about_lines, a first sheet "About" says what the workbook covers; for
    people, headers are readable and months YYYY-MM."""
    share_columns = set(share_columns)
    about_lines = list(about_lines)
    if about_lines:
        sheets = {"About": about(about_lines), **sheets}
    buffer = io.BytesIO()
    # Every text cell is written as text: xlsxwriter would otherwise make "{=...}" an array formula
    # and a URL, a mailto: or an external: path a live link (names come from input files).
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    with pd.ExcelWriter(buffer, engine="xlsxwriter", engine_kwargs={"options": options}) as writer:
        book = writer.book
        currency = book.add_format({"num_format": "$#,##0.00"})
        percent = book.add_format({"num_format": "0.0%"})
        multiple = book.add_format({"num_format": '0.0"x"'})
        for name, frame in sheets.items():
            sheet_name = name[:31]
            original = list(frame.columns)
            if for_people and name != "About":
                frame = readable(frame)
            table = safe_frame(frame)
            for column in table.columns:
                if table[column].map(lambda value: isinstance(value, Decimal)).any():
                    table[column] = table[column].map(
                        lambda value: float(value) if value is not None else None
                    )
            table.to_excel(writer, sheet_name=sheet_name, index=False)
            sheet = writer.sheets[sheet_name]
            for index, (column, source) in enumerate(zip(table.columns, original, strict=True)):
                longest = max([len(str(column)), *(len(str(value)) for value in table[column].head(200))])
                width = min(max(longest, 10) + 2, 60)
                style = (
                    currency if display.is_money(source)
                    else percent if source in share_columns
                    else multiple if source in RATIOS
                    else None
                )  # fmt: skip
                sheet.set_column(index, index, width, style)
            sheet.freeze_panes(1, 0)
    return buffer.getvalue()


def finance_tables(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> dict[str, pd.DataFrame]:
    """The Finance page's downloads: by function, by month, by function and month, money in cents."""
    return {
        "by function": rounded(metrics.finance_summary(conn, filters, settings, exact=True)),
        "by month": rounded(metrics.finance_trend(conn, filters, settings, exact=True)),
        "by function and month": rounded(metrics.finance(conn, filters, settings, exact=True)),
    }
