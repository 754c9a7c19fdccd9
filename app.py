"""The dashboard frame: page config, the shared filters, and navigation over the pages."""

from __future__ import annotations

import streamlit as st

from offload_metrics import auth, ui

# A file of our own: a Material or emoji icon would make the browser fetch it from outside this machine.
st.set_page_config(page_title="Offload metrics", page_icon=str(ui.ICON), layout="wide")

auth.gate()
ui.start_on_sample()
st.session_state["filters"] = ui.sidebar_filters()
# Below the filters (all of them on screen at 1440x900), drawn before the page so it shows at once.
notice = st.sidebar.empty()
ui.sample_notice(notice, with_button=False)

PAGES = {
    "Leadership": [
        st.Page(ui.PAGES / "overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page(ui.PAGES / "adoption.py", title="Adoption cascade", icon=":material/stacked_line_chart:"),
    ],
    "Program": [
        st.Page(ui.PAGES / "net_output.py", title="Net Output", icon=":material/trending_up:"),
        st.Page(ui.PAGES / "replication.py", title="Replication Velocity", icon=":material/content_copy:"),
        st.Page(ui.PAGES / "fleet.py", title="Agent fleet", icon=":material/smart_toy:"),
        st.Page(ui.PAGES / "catalog.py", title="Agent catalog", icon=":material/menu_book:"),
        st.Page(ui.PAGES / "seed.py", title="Where to seed next", icon=":material/hub:"),
    ],
    "Finance": [st.Page(ui.PAGES / "finance.py", title="Finance", icon=":material/payments:")],
    "Data": [st.Page(ui.PAGES / "data.py", title="Data", icon=":material/database:")],
}
if not auth.can_see_money():
    del PAGES["Finance"]
# Pages in the top bar: the sidebar holds the filters, all of them on screen at 1440x900.
page = st.navigation(PAGES, position="top")
with ui.page_results(page.url_path):
    page.run()

# Again after the page, so that a file the page just loaded counts; with its button this time.
ui.sample_notice(notice)
