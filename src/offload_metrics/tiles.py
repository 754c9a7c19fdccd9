"""Headline tiles that more than one page shows, drawn by one function each."""

from __future__ import annotations

import pandas as pd

from offload_metrics import display, ui
from offload_metrics.config import Settings

SAVINGS = ("time_saved",)
FINANCE = ("time_saved", "usage_events")


def hours_saved(now: pd.DataFrame, before: pd.DataFrame | None, trend: list[float] | None = None) -> None:
    ui.result_tile("Hours saved", display.hours, now, before, "hours_saved", "net_output_summary",
                   needs=SAVINGS, trend=trend)  # fmt: skip


def net_output_uplift(now: pd.DataFrame, before: pd.DataFrame | None, monthly: pd.DataFrame) -> None:
    """Hours saved over capacity across the range, with its monthly trend; over more than one month
    the note says so and gives the range's last month alone, as the figure averages months of
    ramp-up (8.0% over the sample's 24 months, 21.8% in its last) and reads against a monthly bar."""
    months = (
        monthly.dropna(subset=["net_output_uplift"]) if "net_output_uplift" in monthly else monthly.iloc[:0]
    )
    note = None
    if len(months) > 1:
        last = months.iloc[-1]
        note = (
            f"Over {display.plural(len(months), 'month')}; "
            f"{display.month(last['month'])} alone {display.share(last['net_output_uplift'])}"
        )
    ui.result_tile("Net Output uplift", display.share, now, before, "net_output_uplift", "net_output_summary",
                   needs=SAVINGS, trend=ui.series(monthly, "net_output_uplift"), note=note)  # fmt: skip


def net_savings(now: pd.DataFrame, before: pd.DataFrame | None, months: pd.DataFrame) -> None:
    ui.result_tile("Net savings", display.money_short, now, before, "net_savings_usd", "finance_summary",
                   needs=FINANCE, note=f"ROI {display.ratio(ui.first(now, 'roi'))}",
                   trend=ui.series(months, "net_savings_usd"))  # fmt: skip


def reinvestment_pool(
    now: pd.DataFrame, before: pd.DataFrame | None, months: pd.DataFrame, settings: Settings
) -> None:
    ui.result_tile("Reinvestment pool", display.money_short, now, before, "reinvestment_pool_usd",
                   "finance_summary", needs=FINANCE,
                   note=f"{display.setting_share(settings.finance.reinvestment_share)} of positive net savings; "
                   "the line is its running total",
                   trend=ui.series(months, "cumulative_pool_usd"))  # fmt: skip


def km_replication_median(summary: pd.DataFrame, label: str = "KM replication median") -> None:
    """The Kaplan-Meier median days to a first copy; where more than half still wait, "not reached"
    with how many wait in the note (the value must stay short enough not to be cut)."""
    km, waiting = display.km_median_tile(
        ui.first(summary, "km_median_replication_days"),
        ui.first(summary, "validated_agents"),
        ui.first(summary, "replicated_agents"),
    )
    plain = (
        f"Plain median {display.days(ui.first(summary, 'median_replication_days'))}, replicated agents only"
    )
    ui.tile(label, km, "km_median_replication_days", "replication_summary", needs=("replication_events",),
            note=f"{waiting}. {plain}" if waiting else plain)  # fmt: skip
