"""The dashboard frame. Until the pages land, it shows what is loaded, per input kind."""

from __future__ import annotations

import streamlit as st

from offload_metrics import schema, store

st.set_page_config(page_title="Offload metrics", layout="wide")


@st.cache_resource
def connection():
    return store.connect()


conn = connection().cursor()
st.title("Offload metrics")
st.caption(f"Database: {store.db_path().name}")
rows = []
for kind, model in schema.KINDS.items():
    count = conn.execute(f"select count(*) from {kind}").fetchone()[0]
    last = conn.execute(
        "select max(finished_at), sum(rejected) + sum(conflict) from loads where kind = ?", [kind]
    ).fetchone()
    rows.append(
        {"kind": kind, "what": model.title, "rows": count, "last load": last[0], "rejections": last[1] or 0}
    )
st.dataframe(rows, hide_index=True)
if store.is_empty(conn):
    st.info("Nothing loaded yet. Load files with: offload-metrics ingest FILE...")
