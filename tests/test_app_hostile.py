"""The dashboard against hostile data: dates no page can compute with, content that must stay inert,
upload names too long for the file system, and readers during a load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from conftest import Data, example, write_csv
from offload_metrics import store

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGES = ("overview", "adoption", "net_output", "replication", "fleet", "catalog", "finance", "data")
# What an older version (or another tool writing the file) could have stored: the cases.
HOSTILE_DATES = {
    "bc": ("0044-03-15 (BC)", "0044-03-15 (BC)"),
    "year_9999": ("9999-12-31", "9999-12-31 23:59:59"),
    "year_1": ("0001-01-01", "0001-01-01 00:30"),
}


def page(name: str) -> str:
    return f"src/offload_metrics/app_pages/{name}.py"


def ordinary_data(conn, folder: Path) -> None:
    """A small organisation every page can show: usage, savings, replication, a baseline, an agent."""
    data = Data(conn, folder)
    data.gated("a1", "2025-03-10", tasks=60, completed=58, correct=25, incorrect=1)
    data.saved("2025-03", "Brand", tasks=400, baseline=45, minutes=8)
    data.event("a1", "validated", "2025-02-14", "Consumer").event(
        "a1", "deployed", "2025-04-01", "Enterprise"
    )
    data.baseline("Brand", headcount=12, routine=700)
    data.agent("a1", "Marketing")
    data.load()


def insert_hostile_rows(conn, day: str, moment: str) -> None:
    """Rows straight into every dated table, bypassing ingest's checks, under the first load's id."""
    conn.execute("begin transaction")
    conn.execute(
        "insert into usage_events (event_id, occurred_at, agent_id, function, business_unit, team, status, "
        "review, api_calls, cost_usd, load_id) values ('hostile', ?::timestamp, 'a1', 'Marketing', 'Consumer', "
        "'Brand', 'completed', 'correct', 1, 0.5, 1)",
        [moment],
    )
    conn.execute(
        "insert into usage_daily (day, function, business_unit, team, agent_id, tasks, completed, escalated, "
        "failed, correct, incorrect, api_calls, input_tokens, output_tokens, cost_usd, latency_ms_sum, "
        "latency_count) values (?::timestamp::date, 'Marketing', 'Consumer', 'Brand', 'a1', 1, 1, 0, 0, 1, 0, "
        "1, 0, 0, 0.5, 0, 0)",
        [moment],
    )
    conn.execute(
        "insert into time_saved (record_id, period_start, period_end, function, business_unit, team, agent_id, "
        "tasks, baseline_minutes_per_task, minutes_per_task, load_id) values ('hostile', ?::date, ?::date, "
        "'Marketing', 'Consumer', 'Brand', 'a1', 10, 45, 8, 1)",
        [day, day],
    )
    conn.execute(
        "insert into replication_events (event_id, agent_id, event_type, occurred_on, function, business_unit, "
        "load_id) values ('hostile', 'a1', 'deployed', ?::date, 'Marketing', 'Retail', 1)",
        [day],
    )
    conn.execute(
        "insert into agents (agent_id, name, owner_function, created_on, load_id) "
        "values ('hostile', 'Hostile', 'Marketing', ?::date, 1)",
        [day],
    )
    conn.execute("commit")


@pytest.fixture
def make_app(tmp_path, monkeypatch):
    def build() -> AppTest:
        monkeypatch.setenv("OFFLOAD_METRICS_DB", str(tmp_path / "app.duckdb"))
        monkeypatch.setenv("OFFLOAD_METRICS_CONFIG", str(tmp_path / "offload.toml"))
        monkeypatch.setenv("OFFLOAD_METRICS_SAMPLE", "off")
        st.cache_data.clear()
        st.cache_resource.clear()
        return AppTest.from_file(APP, default_timeout=120)

    yield build
    st.cache_data.clear()
    st.cache_resource.clear()


def open_on(case: str, folder: Path, make_app) -> AppTest:
    with store.connect(folder / "app.duckdb") as conn:
        ordinary_data(conn, folder)
        insert_hostile_rows(conn, *HOSTILE_DATES[case])
    app = make_app()
    app.run()
    return app


@pytest.fixture(params=list(HOSTILE_DATES))
def hostile_app(request, tmp_path, make_app):
    return open_on(request.param, tmp_path, make_app)


def test_every_page_renders_whatever_dates_the_database_holds(hostile_app):
    assert not hostile_app.exception, [error.value for error in hostile_app.exception]
    for name in PAGES:
        hostile_app.switch_page(page(name)).run()
        assert not hostile_app.exception, (name, [error.value for error in hostile_app.exception])
        assert hostile_app.title, name  # the page itself, not only an error


@pytest.mark.parametrize(
    ("case", "sidebar", "figures"),
    [
        (
            "bc",
            "The filters could not be shown: the data's dates run from 0044-03-15 (BC) to 2025-04-01, beyond "
            "the dates a calendar here holds. The pages show all the data; look for a bad load on the Data page.",
            "The program figures could not be computed: ",
        ),
        ("year_9999", None, "The program figures could not be computed: date value out of range."),
    ],
)
def test_a_figure_that_cannot_be_computed_is_named_with_the_reason(
    tmp_path, make_app, case, sidebar, figures
):
    app = open_on(case, tmp_path, make_app)
    assert [warning.value for warning in app.sidebar.warning] == ([sidebar] if sidebar else [])
    shown = [warning.value for warning in app.main.warning]
    assert len(shown) == 1 and shown[0].startswith(figures), shown
    assert shown[0].endswith("The Data page shows what was loaded and can remove it.")
    assert [title.value for title in app.title] == ["Overview"]


def test_the_data_page_clears_a_bad_load(hostile_app, tmp_path):
    hostile_app.switch_page(page("data")).run()
    assert not hostile_app.exception, [error.value for error in hostile_app.exception]
    assert [frame for frame in hostile_app.dataframe if "file_name" in frame.value.columns]
    hostile_app.checkbox(key="clear_confirm").check().run()
    hostile_app.button(key="clear_database").click().run()
    assert not hostile_app.exception, [error.value for error in hostile_app.exception]
    with store.connect(tmp_path / "app.duckdb", read_only=True) as conn:
        assert store.is_empty(conn)
        assert conn.execute("select count(*) from usage_events").fetchone() == (0,)
    hostile_app.switch_page(page("overview")).run()
    assert not hostile_app.exception


def test_the_dashboard_holds_the_database_read_only_so_other_processes_can_read_it(tmp_path, make_app):
    with store.connect(tmp_path / "app.duckdb") as conn:
        ordinary_data(conn, tmp_path)
    app = make_app()
    app.run()
    app.switch_page(page("data")).run()
    content = write_csv(tmp_path / "more.csv", [example("agents", agent_id="more")]).read_bytes()
    app.file_uploader(key="upload_files").upload("more.csv", content, "text/csv")
    app.button(key="FormSubmitter:upload_form-Load").click().run()
    assert not app.exception, [error.value for error in app.exception]
    # Another process (report, rejects) reads beside the running dashboard, which holds the file again.
    reader = subprocess.run(
        [sys.executable, "-c", READ_IN_ANOTHER_PROCESS, str(tmp_path / "app.duckdb")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert reader.returncode == 0, reader.stderr
    assert reader.stdout.split() == ["more.csv", "more"]
    app.switch_page(page("overview")).run()
    assert not app.exception


READ_IN_ANOTHER_PROCESS = """
import sys
from offload_metrics import store
with store.connect(sys.argv[1], read_only=True) as conn:
    print(*[row[0] for row in conn.execute("select file_name from loads where file_name = 'more.csv'").fetchall()])
    print(conn.execute("select agent_id from agents where agent_id = 'more'").fetchone()[0])
"""


IMAGE = "![x](http://127.0.0.1:9/x.png)"


def test_an_upload_name_too_long_for_the_file_system_loads_under_its_own_name(tmp_path, make_app):
    app = make_app()
    app.run()
    app.switch_page(page("data")).run()
    name = "ü" * 200 + ".csv"  # 402 bytes: more than any common file system takes (255)
    content = write_csv(tmp_path / "agents.csv", [example("agents", agent_id="long")]).read_bytes()
    app.file_uploader(key="upload_files").upload(name, content, "text/csv")
    app.button(key="FormSubmitter:upload_form-Load").click().run()
    assert not app.exception, [error.value for error in app.exception]
    with store.connect(tmp_path / "app.duckdb", read_only=True) as conn:
        assert conn.execute("select file_name, kind, accepted from loads").fetchall() == [(name, "agents", 1)]


def test_file_names_and_headers_from_an_upload_are_shown_as_text(tmp_path, make_app):
    app = make_app()
    app.run()
    app.switch_page(page("data")).run()
    good = write_csv(tmp_path / "a.csv", [example("agents", agent_id="named")]).read_bytes()
    headers = f"{IMAGE},b\n1,2\n".encode()
    app.file_uploader(key="upload_files").set_value(
        [(f"{IMAGE}.csv", good, "text/csv"), ("h.csv", headers, "text/csv")]
    )
    app.button(key="FormSubmitter:upload_form-Load").click().run()
    assert not app.exception, [error.value for error in app.exception]
    # A load is said in Markdown, a failed one as an error (issue 9: failures look like failures).
    said = [
        element.value
        for element in [*app.markdown, *app.error]
        if " read\\:" in element.value or "not loaded" in element.value
    ]
    escaped = r"\!\[x\]\(http\:\/\/127\.0\.0\.1\:9\/x\.png\)"
    assert said[0] == (
        f"**{escaped}\\.csv**: the agent catalog\\, 1 row read\\: 1 accepted\\, 0 duplicate\\, 0 conflicting\\, 0 rejected"
    )
    assert said[1].startswith(f"**h\\.csv** was not loaded: the columns \\({escaped}\\, b\\) do not match")
    assert all("![" not in text for text in said)
    # The audit (a static table, whose cells are Markdown) shows the name as typed, the outcome whole.
    [audit] = [table.value for table in app.table]
    assert list(audit.columns) == ["When (UTC)", "Who", "Action", "What"]
    assert list(audit["What"]) == [
        f"{escaped}\\.csv\\: the agent catalog\\, 1 row read\\: 1 accepted\\, 0 duplicate\\, 0 conflicting\\, "
        "0 rejected"
    ]
