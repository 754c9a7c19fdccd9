"""Finance: what agents saved against what they cost, and the pool earmarked from the savings."""

import streamlit as st

from offload_metrics import auth, charts, display, export, ui

auth.require(auth.Capability.MONEY)
ui.page("Finance", "Finance needs documented time savings, usage costs and team rates.")

settings = ui.settings()
organisation = ui.get("finance_summary", by=("organisation",))
by_function = ui.get("finance_summary")
trend = ui.get("finance_trend")

first, second, third, fourth = st.columns(4)
with first:
    ui.tile("Labor value of hours saved", display.money_short(ui.first(organisation, "labor_value_usd")),
            "labor_value_usd", "finance")  # fmt: skip
with second:
    ui.tile(
        "Agent cost",
        display.money_short(ui.first(organisation, "agent_cost_usd")),
        "agent_cost_usd",
        "finance",
    )
with third:
    ui.tile("Net savings", display.money_short(ui.first(organisation, "net_savings_usd")), "net_savings_usd",
            "finance_summary", delta=f"ROI {display.ratio(ui.first(organisation, 'roi'))}")  # fmt: skip
with fourth:
    ui.tile("Reinvestment pool", display.money_short(ui.first(organisation, "reinvestment_pool_usd")),
            "reinvestment_pool_usd", "finance_summary",
            delta=f"{display.share(settings.finance.reinvestment_share, 0)} of positive net savings")  # fmt: skip
first, second = st.columns(2)
with first:
    ui.tile("Cost per task, by an agent", display.money(ui.first(organisation, "agent_cost_per_task")),
            "agent_cost_per_task", "finance_summary")  # fmt: skip
with second:
    ui.tile("Cost per task, by a person", display.money(ui.first(organisation, "human_cost_per_task")),
            "human_cost_per_task", "finance_summary")  # fmt: skip

st.subheader("Savings against cost by month", help=ui.help_for("net_savings_usd", "finance"))
ui.chart(charts.savings_vs_cost(trend), key="finance_monthly")
left, right = st.columns(2)
with left:
    st.subheader(
        "The reinvestment pool as it builds up", help=ui.help_for("cumulative_pool_usd", "finance_trend")
    )
    ui.chart(charts.cumulative_pool(trend), key="finance_pool")
with right:
    st.subheader(
        "A task done by an agent and by a person", help=ui.help_for("human_cost_per_task", "finance")
    )
    ui.chart(charts.cost_per_task(by_function), key="finance_cost_per_task")

st.subheader("By function", help=ui.help_for("Definition", "finance_summary"))
ui.table(by_function, {
    "function": ("Function", ui.TEXT), "labor_value_usd": ("Labor value", ui.MONEY),
    "agent_cost_usd": ("Agent cost", ui.MONEY), "net_savings_usd": ("Net savings", ui.MONEY),
    "reinvestment_pool_usd": ("Pool", ui.MONEY), "roi": ("ROI", ui.NUMBER),
    "agent_cost_per_task": ("Agent $/task", ui.MONEY), "human_cost_per_task": ("Person $/task", ui.MONEY),
}, family="finance_summary", key="finance_table")  # fmt: skip

downloads = ui.get("finance_tables")
first, second = st.columns(2)
with first:
    st.download_button(
        "Download CSV (by function and month)", export.csv_bytes(downloads["by function and month"]),
        file_name="finance.csv", mime="text/csv", key="finance_csv", icon=":material/download:",
        help="Money in cents; text cells are made safe to open in a spreadsheet.",
    )  # fmt: skip
with second:
    st.download_button(
        "Download Excel (three sheets)", export.excel_bytes(downloads),
        file_name="finance.xlsx", mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="finance_xlsx", icon=":material/download:",
    )  # fmt: skip
