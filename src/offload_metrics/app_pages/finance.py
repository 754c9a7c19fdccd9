"""Finance: what agents saved against what they cost, and the pool earmarked from the savings."""

import streamlit as st

from offload_metrics import auth, charts, display, export, metrics, tiles, ui

auth.require(auth.Capability.MONEY)
ui.page("Finance", "Finance needs documented time savings, usage costs and team rates.")

settings = ui.settings()
organisation = ui.get(metrics.finance_summary, by=("organisation",))
before = ui.get(metrics.finance_summary, by=("organisation",), previous=True)
by_function = ui.get(metrics.finance_summary)
usage = ui.get(metrics.usage, by=("organisation",))
trend = ui.get(metrics.finance_trend)
SAVINGS = ("time_saved",)
COST = ("usage_events",)
BOTH = (*SAVINGS, *COST)

AGENT_TASK_NOTE = (
    "The agent's own cost; the minutes people still spend on its tasks are netted out of the hours "
    "saved, not added here"
)
first, second, third, fourth = st.columns(4)
with first:
    ui.result_tile("Labor value of hours saved", display.money_short, organisation, before, "labor_value_usd",
                   "finance", needs=SAVINGS, trend=ui.series(trend, "labor_value_usd"))  # fmt: skip
with second:
    cost = ui.first(organisation, "agent_cost_usd")
    ui.tile("Agent cost", display.money_short(cost), "agent_cost_usd", "finance", needs=COST, lower_is_better=True,
            note=f"{metrics.cost_source_words(settings)}; "
                 f"{display.money_short(ui.first(usage, 'estimated_agent_cost_usd'))} of it estimated from prices",
            change=ui.changed(display.money_short, cost, before, "agent_cost_usd"),
            trend=ui.series(trend, "agent_cost_usd"))  # fmt: skip
with third:
    tiles.net_savings(organisation, before, trend)
with fourth:
    tiles.reinvestment_pool(organisation, before, trend, settings)
first, second, third = st.columns(3)
with first:
    ui.result_tile("ROI", display.ratio, organisation, before, "roi", "finance_summary", needs=BOTH,
                   note="Net savings per dollar of agent cost")  # fmt: skip
with second:
    # The two are not the whole cost of a task each: say what each holds, so no one reads the ratio
    # as the saving per task (people's minutes left on an agent's task are netted out of hours saved).
    ui.tile("Cost per task, by an agent", display.money(ui.first(organisation, "agent_cost_per_task")),
            "agent_cost_per_task", "finance_summary", needs=COST,
            note=AGENT_TASK_NOTE)  # fmt: skip
with third:
    ui.tile("Cost per task, by a person", display.money(ui.first(organisation, "human_cost_per_task")),
            "human_cost_per_task", "finance_summary", needs=SAVINGS,
            note="A documented task before the agent, at its team's hourly rate")  # fmt: skip

st.subheader("Savings against cost by month", help=ui.help_for("net_savings_usd", "finance"))
if ui.can_show(*BOTH):
    ui.chart(charts.savings_vs_cost(trend), key="finance_monthly")
left, right = st.columns(2)
with left:
    st.subheader(
        "The reinvestment pool as it builds up", help=ui.help_for("cumulative_pool_usd", "finance_trend")
    )
    if ui.can_show(*BOTH):
        ui.chart(charts.cumulative_pool(trend), key="finance_pool")
with right:
    st.subheader(
        "A task done by an agent and by a person", help=ui.help_for("human_cost_per_task", "finance")
    )
    if ui.can_show(*BOTH):
        ui.chart(charts.cost_per_task(by_function), key="finance_cost_per_task")
        st.caption(f"An agent's bar: {AGENT_TASK_NOTE[0].lower()}{AGENT_TASK_NOTE[1:]}.")

st.subheader("By function", help=ui.help_for("Definition", "finance_summary"))
ui.table(by_function, {
    "function": ("Function", ui.TEXT), "labor_value_usd": ("Labor value", ui.MONEY),
    "agent_cost_usd": ("Agent cost", ui.MONEY), "net_savings_usd": ("Net savings", ui.MONEY),
    "reinvestment_pool_usd": ("Pool", ui.MONEY), "roi": ("ROI", ui.RATIO),
    "agent_cost_per_task": ("Agent $/task", ui.MONEY), "human_cost_per_task": ("Person $/task", ui.MONEY),
}, family="finance_summary", key="finance_table", empty="No function has savings or cost in this range.")  # fmt: skip

downloads = ui.get(export.finance_tables)
about = ui.export_about()
first, second = st.columns(2)
with first:
    st.download_button(
        "Download CSV (by function and month)",
        export.csv_bytes(downloads["by function and month"], about, for_people=True),
        file_name="finance.csv", mime="text/csv", key="finance_csv", icon=":material/download:",
        help="Starts with # lines saying what it covers; money in cents; text cells are made safe to open in a "
        "spreadsheet.",
    )  # fmt: skip
with second:
    st.download_button(
        "Download Excel (cover sheet + 3 tables)",
        export.excel_bytes(downloads, about_lines=about, for_people=True),
        file_name="finance.xlsx", mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="finance_xlsx", icon=":material/download:",
        help="The first sheet says what it covers: as of, range, filters and settings that differ from the defaults.",
    )  # fmt: skip

# --- Vendor bills and estimated savings ---------------------------------------------------------------
# The reconciliation of the usage log's cost against the vendors' bills, and documented savings
# beside estimated ones, with how much of the usage the documented savings cover.

st.header("Usage log against the vendors' bills", help=ui.help_for("Definition", "reconciliation"))
st.caption(
    f"Every cost figure on this page uses {metrics.cost_source_words(settings)} "
    "(the setting Agent cost from, under Finance in the Data page's settings)."
)
reconciled = ui.get(metrics.reconciliation_summary, by=("organisation",))
# Without any vendor bill loaded, "bills minus usage log" would read as the whole usage cost unbilled.
BILLS = ("vendor_costs",)
first, second, third, fourth = st.columns(4)
with first:
    ui.tile("Cost in the usage log", display.money(ui.first(reconciled, "usage_cost_usd")),
            "usage_cost_usd", "reconciliation_summary")  # fmt: skip
with second:
    ui.tile("Cost on the vendors' bills", display.money(ui.first(reconciled, "vendor_cost_usd")),
            "vendor_cost_usd", "reconciliation_summary", delta="assigned to functions", needs=BILLS)  # fmt: skip
with third:
    ui.tile("Bills minus usage log", display.money(ui.first(reconciled, "difference_usd")),
            "difference_usd", "reconciliation_summary", needs=BILLS,
            delta=f"{display.share(ui.first(reconciled, 'difference_share'))} of the bills")  # fmt: skip
with fourth:
    ui.tile("Unassigned vendor cost", display.money(ui.first(reconciled, "unassigned_vendor_cost_usd") or 0),
            "unassigned_vendor_cost_usd", "reconciliation_summary", needs=BILLS,
            delta="no mapping rule for the account")  # fmt: skip
# One above the other: side by side, half a page is too narrow for their six columns.
st.subheader("By function and month", help=ui.help_for("difference_usd", "reconciliation"))
if ui.can_show(*BILLS):
    ui.table(ui.get(metrics.reconciliation), {
        "function": ("Function", ui.TEXT), "month": ("Month", ui.MONTH),
        "usage_cost_usd": ("Usage log", ui.MONEY), "vendor_cost_usd": ("Vendor bills", ui.MONEY),
        "difference_usd": ("Difference", ui.MONEY), "difference_share": ("Share of bills", ui.SHARE),
    }, family="reconciliation", key="finance_reconciliation",
       empty="No vendor cost report is loaded: load OpenAI or Anthropic cost exports, or a vendor_costs CSV.")  # fmt: skip
st.subheader("By vendor account", help=ui.help_for("Definition", "reconciliation_accounts"))
if ui.can_show(*BILLS):
    ui.table(ui.get(metrics.reconciliation_accounts), {
        "vendor": ("Vendor", ui.TEXT), "account": ("Account", ui.TEXT), "assigned_to": ("Assigned to", ui.TEXT),
        "vendor_cost_usd": ("Billed", ui.MONEY), "unit_usage_cost_usd": ("Unit's usage log", ui.MONEY),
        "difference_usd": ("Unit's difference", ui.MONEY),
    }, family="reconciliation_accounts", key="finance_accounts",
       empty="No vendor account has cost in this range.")  # fmt: skip

st.header("Documented and estimated savings", help=ui.help_for("Definition", "estimates"))
estimates = ui.get(metrics.estimates)
estimated = ui.get(metrics.estimates_summary, by=("organisation",))
covered = ui.get(metrics.coverage, by=("organisation",))
basis = metrics.estimate_basis(estimates)
first, second, third, fourth = st.columns(4)
with first:
    ui.tile("Labor value, documented", display.money_short(ui.first(organisation, "labor_value_usd")),
            "labor_value_usd", "finance")  # fmt: skip
with second:
    unestimated = metrics.cannot_estimate(estimates)
    st.metric("Labor value, estimated", display.money_short(ui.first(estimated, "estimated_labor_value_usd")),
              delta="no baseline or preset" if unestimated else "estimated, not in net savings",
              delta_color="off", delta_arrow="off", border=True,
              help=f"{ui.help_for('estimated_labor_value_usd', 'estimates')}\n\n{basis}")  # fmt: skip
with third:
    # Short labels fit a quarter of the page; the note says what the share is of.
    ui.tile("Tasks documented", display.share(ui.first(covered, "documented_task_share")),
            "documented_task_share", "coverage", note="of usage tasks have documented time savings")  # fmt: skip
with fourth:
    ui.tile("Cost documented", display.share(ui.first(covered, "documented_cost_share")),
            "documented_cost_share", "coverage", note="of usage cost has documented time savings")  # fmt: skip
st.subheader("Estimated savings by team and month", help=basis)
if unestimated:
    # Rows of dashes told nothing: say what would fill them.
    st.info(
        f"{display.plural(len(estimates), 'team-month')} with usage {'has' if len(estimates) == 1 else 'have'} no "
        f"documented savings, and no task baseline or preset applies to estimate them. {metrics.ESTIMATE_NEEDS}.",
        icon=":material/info:",
    )
else:
    ui.table(estimates, {
        "team": ("Team", ui.TEXT), "business_unit": ("Business unit", ui.TEXT), "function": ("Function", ui.TEXT),
        "month": ("Month", ui.MONTH), "completed_tasks": ("Completed tasks", ui.COUNT),
        "estimated_hours_saved": ("Estimated hours", ui.NUMBER),
        "estimated_labor_value_usd": ("Estimated labor value", ui.MONEY), "basis": ("Basis (estimated)", ui.TEXT),
    }, family="estimates", key="finance_estimates",
       empty="Every team-month with usage has documented savings, so nothing is estimated.")  # fmt: skip
