"""The dashboard, driven through Streamlit's AppTest: every page, on the sample and on nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from conftest import example, records, write_csv
from offload_metrics import store, ui
from offload_metrics.config import Settings

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGES = ("overview", "adoption", "net_output", "replication", "fleet", "catalog", "seed", "finance", "data")


def page(name: str) -> str:
    return f"src/offload_metrics/app_pages/{name}.py"


@pytest.fixture
def make_app(tmp_path, monkeypatch):
    """An AppTest on a fresh database file; the sample loads on start unless sample=False."""

    def build(sample: bool = True) -> AppTest:
        monkeypatch.setenv("OFFLOAD_METRICS_DB", str(tmp_path / "app.duckdb"))
        monkeypatch.setenv("OFFLOAD_METRICS_SAMPLE_DIR", str(ROOT / "sample_data"))
        monkeypatch.setenv("OFFLOAD_METRICS_SAMPLE", "on" if sample else "off")
        monkeypatch.setenv("OFFLOAD_METRICS_CONFIG", str(tmp_path / "offload.toml"))
        st.cache_data.clear()
        st.cache_resource.clear()
        return AppTest.from_file(APP, default_timeout=180)

    yield build
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def sample_app(make_app):
    app = make_app()
    app.run()
    assert not app.exception, [error.value for error in app.exception]
    return app


def app_on(make_app, tmp_path, name: str, build) -> AppTest:
    """The app on a database without the sample, holding what `build` writes to a conftest.Data, at a page."""
    from conftest import Data

    app = make_app(sample=False)
    app.run()
    st.cache_resource.clear()  # the app holds the file read-only; the data is written directly
    with store.connect(tmp_path / "app.duckdb") as conn:
        build(Data(conn, tmp_path)).load()
    st.cache_data.clear()
    app.switch_page(page(name)).run()
    assert not app.exception, [error.value for error in app.exception]
    return app


def tiles(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def test_the_fleet_says_when_the_selection_holds_no_usage_instead_of_empty_charts(make_app, tmp_path):
    # Procurement has a baseline and nothing else: selected, the fleet showed a blank chart, empty
    # grids and "Agent cost —" beside "Tasks 0".
    def build(data):
        data.baseline("Buyers", 5, 400, function="Procurement", bu="Sourcing")
        data.baseline("Brand", 5, 400, function="Marketing")
        return data.usage("2025-03-04", "writer", function="Marketing", team="Brand", cost="1.25")

    app = app_on(make_app, tmp_path, "fleet", build)
    assert tiles(app)["Agent cost"] == "$1.25"
    app.multiselect(key="function").set_value(["Procurement"]).run()
    assert not app.exception
    assert (tiles(app)["Tasks"], tiles(app)["Agent cost"]) == ("0", "$0.00")
    [said] = [element.value for element in app.info]
    assert said.startswith("No agent ran a task in this selection")
    assert not app.dataframe and not app.get("arrow_vega_lite_chart")


# --- every headline tile against figures worked out by hand -------------------------------------------


@pytest.fixture
def small_app(make_app, tmp_path):
    """A small organisation whose every headline figure is worked out by hand in the tests below.

    Marketing / Consumer / Brand: baseline 10 people, 400 routine hours a month, $60 an hour. In March
    2025 it documented 300 tasks at 40 -> 10 minutes with agent a1, with 12 people (it grew). a1 ran
    10 tasks at $2.00 in March, 8 completed and 2 escalated; validated in Consumer on 2025-01-10, it
    was deployed in Enterprise on 2025-02-09 (30 days later).
    Finance / Corporate / Payables: baseline 1 person, 300 routine hours, $80 an hour. In March it
    documented 180 tasks at 30 -> 10 minutes with agent f1 (headcount not given: the baseline's 1).
    f1 ran 5 tasks at $1.00 in March, 4 completed and 1 failed; validated by Payables in Corporate on
    2025-02-01, it has not been copied. The catalog lists both agents.
    """
    from conftest import Data

    app = make_app(sample=False)
    app.run()
    st.cache_resource.clear()  # the app holds the file read-only; this fixture writes to it directly
    with store.connect(tmp_path / "app.duckdb") as conn:
        data = Data(conn, tmp_path)
        data.baseline("Brand", headcount=10, routine=400, rate="60")
        data.baseline("Payables", headcount=1, routine=300, rate="80", function="Finance", bu="Corporate")
        data.saved("2025-03", "Brand", tasks=300, baseline=40, minutes=10, agent="a1", headcount=12)
        data.saved("2025-03", "Payables", tasks=180, baseline=30, minutes=10, function="Finance", bu="Corporate",
                   agent="f1")  # fmt: skip
        data.usage("2025-03-10", "a1", cost="2.00", count=8)
        data.usage("2025-03-10", "a1", cost="2.00", count=2, status="escalated")
        finance = {"function": "Finance", "bu": "Corporate", "team": "Payables", "cost": "1.00"}
        data.usage("2025-03-12", "f1", count=4, **finance)
        data.usage("2025-03-12", "f1", status="failed", **finance)
        data.event("a1", "validated", "2025-01-10", "Consumer")
        data.event("a1", "deployed", "2025-02-09", "Enterprise")
        data.event("f1", "validated", "2025-02-01", "Corporate", function="Finance", team="Payables")
        data.agent("a1", "Marketing", name="Brief writer").agent("f1", "Finance", name="Invoice matcher")
        data.load()
    st.cache_data.clear()
    app.run()
    assert not app.exception, [error.value for error in app.exception]
    return app


def test_the_overview_tiles_show_hand_computed_figures(small_app):
    shown = tiles(small_app)
    # Delegated hours in March: Brand 300 x 40 / 60 = 200, Payables 180 x 30 / 60 = 90; routine hours
    # 400 + 300 = 700: 290 / 700 = 41.4%.
    assert shown["Offloaded share"] == "41.4%"
    # Marketing 200 / 400 = 50% is at least 40%; Finance 90 / 300 = 30% is not.
    assert shown["Functions at scale"] == "1 of 2"
    # Two months since the first validation (2025-01 to 2025-03), never at scale (1 function, 2 needed).
    assert shown["Trajectory"] == "In progress"
    # a1 copied after 30 days, f1 still waiting (censored later): the survival curve is 1/2 at 30 days.
    assert shown["KM replication median"] == "30 days"
    # Brand 300 x (40 - 10) / 60 = 150 h, Payables 180 x (30 - 10) / 60 = 60 h.
    assert shown["Hours saved"] == "210 h"
    # Capacity: Brand 12 x 160 = 1,920 h, Payables 1 x 160 = 160 h: 210 / 2,080 = 10.1%.
    assert shown["Net Output uplift"] == "10.1%"
    # One month has an uplift (March): no note that the figure spans several.
    assert not [caption.value for caption in small_app.caption if caption.value.startswith("Over ")]
    # Labor value 150 x $60 + 60 x $80 = $13,800, agent cost 10 x $2 + 5 x $1 = $25: $13,775.
    assert shown["Net savings"] == "$13.8k"
    # 25% of each function-month's net savings: (9,000 - 20) x 0.25 + (4,800 - 5) x 0.25 = $3,443.75.
    assert shown["Reinvestment pool"] == "$3.44k"


def test_the_net_output_tiles_show_hand_computed_figures(small_app):
    small_app.switch_page(page("net_output")).run()
    shown = tiles(small_app)
    assert shown["Hours saved"] == "210 h"  # 150 + 60, as on the Overview
    assert shown["Net Output uplift"] == "10.1%"  # 210 / 2,080
    # Payables: 60 / 160 = 37.5%, at least 30%, with 1 person, not above its baseline of 1.
    assert shown["Validated teams"] == "1"
    # Brand: 12 people against a baseline of 10.
    assert shown["Teams that grew"] == "1"


def test_the_finance_tiles_show_hand_computed_figures(small_app):
    small_app.switch_page(page("finance")).run()
    shown = tiles(small_app)
    assert shown["Labor value of hours saved"] == "$13.8k"  # 150 x $60 + 60 x $80 = $13,800
    assert shown["Agent cost"] == "$25"  # 10 x $2.00 + 5 x $1.00
    assert shown["Net savings"] == "$13.8k"  # $13,800 - $25 = $13,775
    assert shown["Reinvestment pool"] == "$3.44k"  # $2,245 + $1,198.75 = $3,443.75
    assert shown["ROI"] == "551.0x"  # $13,775 / $25
    assert shown["Cost per task, by an agent"] == "$1.67"  # $25 / 15 tasks
    # What the documented tasks cost done by people: 300 x 40 / 60 x $60 = $12,000 and
    # 180 x 30 / 60 x $80 = $7,200, over 480 tasks: $40.00.
    assert shown["Cost per task, by a person"] == "$40.00"


def test_the_fleet_tiles_show_hand_computed_figures(small_app):
    small_app.switch_page(page("fleet")).run()
    shown = tiles(small_app)
    assert shown["Tasks"] == "15"  # 10 by a1, 5 by f1
    assert shown["Active agents"] == "2"
    assert shown["Agent cost"] == "$25.00"
    assert shown["Escalation rate"] == "13.3%"  # 2 of 15
    assert "Failure rate 6.7%" in [caption.value for caption in small_app.caption]  # 1 of 15


def test_the_adoption_tiles_show_hand_computed_figures(small_app):
    small_app.switch_page(page("adoption")).run()
    shown = tiles(small_app)
    # In the as_of month, March: Marketing 200 / 400 = 50%, Finance 90 / 300 = 30%.
    assert shown["Leading function"] == "Marketing"
    assert shown["Lagging function"] == "Finance"
    assert shown["Gap between them"] == "20.0 pp"
    notes = [caption.value for caption in small_app.caption]
    assert "50.0% of its routine work" in notes and "30.0% of its routine work" in notes


def test_the_replication_tiles_show_hand_computed_figures(small_app):
    small_app.switch_page(page("replication")).run()
    shown = tiles(small_app)
    assert shown["Validated agents"] == "2"  # a1 and f1
    assert shown["Replicated"] == "1"  # a1, in Enterprise
    assert shown["Median days (Kaplan-Meier)"] == "30 days"  # 2025-01-10 to 2025-02-09
    assert shown["Waiting for a first copy"] == "1"  # f1
    # Its hover says what it counts; it showed the definition of the backlog's days-waiting column.
    [waiting] = [metric for metric in small_app.metric if metric.label == "Waiting for a first copy"]
    assert waiting.proto.help.startswith("Agents validated in the chosen months that no other business unit")


def test_the_catalog_tiles_show_hand_computed_figures(small_app):
    small_app.switch_page(page("catalog")).run()
    picker = small_app.selectbox(key="catalog_agent")
    picker.set_value(picker.options.index("Brief writer (a1)")).run()
    shown = tiles(small_app)
    assert shown["Risk class"] == "—"  # the catalog row gives none
    assert shown["Hours saved"] == "150 h"  # Brand's 300 x (40 - 10) / 60
    assert shown["Replications"] == "1"  # Enterprise
    # 10 tasks in the 90-day window, fewer than the 50 the gate needs.
    assert shown["Gate"] == "Insufficient data"
    assert "1 team" in [caption.value for caption in small_app.caption]
    assert shown["Pilot team saved"] == "Not named"  # a1's validation names no team
    picker.set_value(picker.options.index("Invoice matcher (f1)")).run()
    shown = tiles(small_app)
    # Payables saved 180 x (30 - 10) / 60 = 60 h with f1, of 1 x 160 h: 37.5%, with no one added.
    assert shown["Pilot team saved"] == "60 h"
    pilot = next(metric for metric in small_app.metric if metric.label == "Pilot team saved")
    assert pilot.proto.help.startswith("The hours the agent saved the team that validated it")
    assert (
        "Payables (Corporate): its best month with this agent, 2025-03, gave 37.5% more capacity (all its "
        "agents together); validated Net Output in 1 month with this agent."
        in [caption.value for caption in small_app.caption]
    )


def test_the_catalog_warns_before_a_failing_agent_is_copied(make_app, tmp_path):
    # n1: 50 tasks, 40 completed (80%), 14 of 20 reviewed correct (70%): fails both bars.
    # g1: 50 tasks, 46 completed (92%), 17 of 20 correct (85%): passes.
    app = app_on(make_app, tmp_path, "catalog", lambda data: (
        data.gated("n1", "2025-03-15", tasks=50, completed=40, correct=14, incorrect=6)
        .gated("g1", "2025-03-15", tasks=50, completed=46, correct=17, incorrect=3)
        .event("n1", "validated", "2025-01-10", "Consumer").event("g1", "validated", "2025-01-11", "Consumer")
        .agent("n1", "Marketing", name="Failing").agent("g1", "Marketing", name="Good")
    ))  # fmt: skip
    picker = app.selectbox(key="catalog_agent")
    picker.set_value(picker.options.index("Failing (n1)")).run()
    assert [warning.value for warning in app.warning] == [
        "This agent fails the performance gate over the last 90 days (accuracy 70.0% against 80%, automation "
        "80.0% against 90%): it is on the cull list. Fix it before another unit copies it."
    ]
    picker.set_value(picker.options.index("Good (g1)")).run()
    assert not app.warning


def test_the_catalog_says_when_other_units_use_an_agent_without_a_recorded_deployment(make_app, tmp_path):
    # w1, validated in Consumer, saves hours in Sales and Retail; only Sales has its deployment.
    app = app_on(make_app, tmp_path, "catalog", lambda data: (
        data.event("w1", "validated", "2025-01-10", "Consumer").event("w1", "deployed", "2025-02-03", "Sales")
        .saved("2025-03", "Deals", tasks=10, baseline=30, minutes=10, bu="Sales", agent="w1")
        .saved("2025-03", "Shops", tasks=10, baseline=30, minutes=10, bu="Retail", agent="w1")
        .event("k1", "validated", "2025-01-11", "Consumer")
        .agent("w1", "Marketing", name="Widely used").agent("k1", "Marketing", name="Kept home")
    ))  # fmt: skip
    picker = app.selectbox(key="catalog_agent")
    picker.set_value(picker.options.index("Widely used (w1)")).run()
    assert tiles(app)["Replications"] == "1"
    assert [box.value for box in app.info] == [
        "1 other business unit ran this agent or saved hours with it in the chosen months, but no deployment of it "
        "there is recorded: the Replications figure and Replication Velocity do not count them. Load a replication "
        "event of type deployed for each copy."
    ]
    picker.set_value(picker.options.index("Kept home (k1)")).run()
    assert not app.info


def test_the_function_filter_changes_the_numbers(small_app):
    small_app.switch_page(page("fleet")).run()
    small_app.multiselect(key="function").set_value(["Finance"]).run()
    assert tiles(small_app)["Tasks"] == "5"  # f1's
    small_app.switch_page(page("net_output")).run()
    assert tiles(small_app)["Hours saved"] == "60 h"  # Payables' 180 x 20 / 60
    assert tiles(small_app)["Net Output uplift"] == "37.5%"  # 60 / 160


def test_the_date_range_changes_the_numbers(small_app, tmp_path):
    import datetime as dt

    from offload_metrics import ingest

    st.cache_resource.clear()  # the app holds the file read-only; this test adds a file to it
    february = example("usage_events", event_id="feb", occurred_at="2025-02-15T12:00:00Z", agent_id="a1",
                       cost_usd="3.00")  # fmt: skip
    with store.connect(tmp_path / "app.duckdb") as conn:
        ingest.load_file(conn, write_csv(tmp_path / "february.csv", [february]))
    st.cache_data.clear()
    small_app.switch_page(page("finance")).run()
    assert tiles(small_app)["Agent cost"] == "$28"  # March's $25 and February's $3
    small_app.date_input(key="range").set_value((dt.date(2025, 2, 1), dt.date(2025, 2, 28))).run()
    assert tiles(small_app)["Agent cost"] == "$3"
    small_app.switch_page(page("net_output")).run()
    assert tiles(small_app)["Hours saved"] == "—"  # nothing documented in February


def sample_rows(name: str) -> list[dict[str, str]]:
    """The rows of a bundled sample file, read with the csv module (not with the code under test)."""
    import csv
    import gzip

    path = ROOT / "sample_data" / name
    with (gzip.open if name.endswith(".gz") else open)(path, "rt", newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_the_app_starts_on_the_sample_and_says_so(sample_app, tmp_path):
    # 34 agents + 49 baseline rows + 94 replication events + 979 time-saved rows + 50,207 usage
    # events + 1,848 collaboration rows, as the files hold them.
    assert sum(len(sample_rows(name)) for name in ui.SAMPLE_FILES) == 53_211
    with store.connect(tmp_path / "app.duckdb", read_only=True) as conn:
        assert conn.execute("select sum(rows_read) from loads").fetchone() == (53_211,)
    assert any("bundled sample" in info.value for info in sample_app.sidebar.info)
    import gc

    from offload_metrics import startup

    st.cache_resource.clear()  # the app lets go of the file, as when `make run` starts again
    gc.collect()
    assert startup.describe() == f"Database: {tmp_path / 'app.duckdb'} (only the bundled sample; 6 loads)"


def test_the_sample_clears_in_one_click(sample_app, tmp_path):
    sample_app.button(key="clear_sample").click().run()
    assert not sample_app.exception
    with store.connect(tmp_path / "app.duckdb", read_only=True) as conn:
        assert store.is_empty(conn)
    assert not any("bundled sample" in info.value for info in sample_app.sidebar.info)


def test_the_one_click_clear_is_gone_once_the_user_loads_a_file(sample_app, tmp_path):
    sample_app.switch_page(page("data")).run()
    submit(sample_app, "mine.csv", my_agents(tmp_path))
    assert not [button for button in sample_app.sidebar.button if button.key == "clear_sample"]


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_the_sample_without_error(sample_app, name):
    sample_app.switch_page(page(name)).run()
    assert not sample_app.exception, [error.value for error in sample_app.exception]
    assert not sample_app.error, [error.value for error in sample_app.error]
    if name not in ("catalog", "data"):
        assert sample_app.get("vega_lite_chart"), f"{name} shows no chart"


def test_every_tile_carries_its_definition_on_hover(sample_app):
    for name in PAGES:
        sample_app.switch_page(page(name)).run()
        for metric in sample_app.metric:
            assert metric.proto.help, f"{name}: {metric.label} has no definition"
    sample_app.switch_page(page("overview")).run()
    hover = {metric.label: metric.proto.help for metric in sample_app.metric}
    assert hover["Offloaded share"] == (
        "The share of the organisation's routine hours that agents now do.\n\n"
        "Formula: docs/metrics.md, adoption_org.sql."
    )
    assert "against the usual 18 to 36 months" in hover["Trajectory"]
    assert "_" not in hover["Trajectory"].split("Formula:")[0], "no code names in the plain words"


def test_hover_text_follows_the_settings_the_user_changed(sample_app):
    sample_app.switch_page(page("data")).run()
    sample_app.text_input(key="s_adoption.phase_bounds").set_value("5%, 20, 0.7")
    sample_app.text_input(key="s_adoption.scale_months").set_value("12, 24")
    sample_app.button(key="FormSubmitter:settings_form-Apply for this session").click().run()
    assert not sample_app.error, [error.value for error in sample_app.error]
    sample_app.switch_page(page("overview")).run()
    hover = {metric.label: metric.proto.help for metric in sample_app.metric}
    assert "against the usual 12 to 24 months" in hover["Trajectory"]
    assert "still below 5%" in hover["Trajectory"]
    sample_app.switch_page(page("adoption")).run()
    phase_help = [
        header.proto.help for header in sample_app.subheader if header.value == "Offloaded share by function"
    ]
    assert phase_help and "15%" not in phase_help[0]


@pytest.mark.parametrize("name", PAGES)
def test_every_page_on_an_empty_database_says_what_to_load(make_app, name):
    app = make_app(sample=False)
    app.run()
    app.switch_page(page(name)).run()
    assert not app.exception, [error.value for error in app.exception]
    messages = " ".join(info.value for info in app.info)
    assert "Load" in messages or "load" in messages


def test_uploading_a_file_loads_its_rows(make_app, tmp_path):
    app = make_app(sample=False)
    app.run()
    app.switch_page(page("data")).run()
    content = write_csv(
        tmp_path / "usage.csv", [example("usage_events"), example("usage_events", event_id="x", status="??")]
    ).read_bytes()
    app.file_uploader(key="upload_files").upload("usage.csv", content, "text/csv")
    app.button(key="FormSubmitter:upload_form-Load").click().run()
    assert not app.exception, [error.value for error in app.exception]
    with store.connect(tmp_path / "app.duckdb", read_only=True) as conn:
        assert conn.execute("select count(*) from usage_events").fetchone() == (1,)
        assert conn.execute("select file_name, accepted, rejected from loads").fetchall() == [
            ("usage.csv", 1, 1)
        ]


def test_an_upload_that_is_not_what_it_says_is_refused(make_app, tmp_path):
    app = make_app(sample=False)
    app.run()
    app.switch_page(page("data")).run()
    app.file_uploader(key="upload_files").upload("usage.csv", b"\x00\x01binary\xff", "text/csv")
    app.button(key="FormSubmitter:upload_form-Load").click().run()
    assert not app.exception
    assert any("not a text file" in element.value for element in app.error)
    with store.connect(tmp_path / "app.duckdb", read_only=True) as conn:
        assert store.is_empty(conn)


APPLY = "FormSubmitter:settings_form-Apply for this session"
SAVE = "FormSubmitter:settings_form-Apply and save to offload.toml"


def beside(app: AppTest, key: str) -> list[str]:
    """The error in the slot right below the widget with this key, if any."""

    def walk(node) -> list[str] | None:
        children = list(getattr(node, "children", {}).values())
        for index, child in enumerate(children):
            if getattr(child, "key", None) == key:
                after = children[index + 1 : index + 2]
                return [element.value for element in after if type(element).__name__ == "Error"]
            found = walk(child)
            if found is not None:
                return found
        return None

    return walk(app._tree) or []


def test_the_settings_form_rejects_bad_values_beside_the_field_and_applies_good_ones(sample_app):
    sample_app.switch_page(page("data")).run()
    sample_app.text_input(key="s_adoption.phase_bounds").set_value("0.5, 0.1, 0.6")
    sample_app.button(key=APPLY).click().run()
    assert beside(sample_app, "s_adoption.phase_bounds") == [
        "Phase bounds: must be three increasing shares, e.g. [0.10, 0.15, 0.60]"
    ]
    assert sample_app.session_state["settings"] == Settings()
    sample_app.text_input(key="s_adoption.phase_bounds").set_value("0.1, 0.15, 0.6")
    sample_app.text_input(key="s_gates.min_accuracy").set_value("0.5")
    sample_app.button(key=APPLY).click().run()
    assert any("applied" in success.value for success in sample_app.success)
    assert sample_app.session_state["settings"].gates.min_accuracy == 0.5
    assert beside(sample_app, "s_adoption.phase_bounds") == []


@pytest.mark.parametrize(("typed", "read"), [("75", "as a percent: 75%"), ("75%", "as a percent: 75%"),
                                             ("0.75", "as a fraction: 75%")])  # fmt: skip
def test_a_share_setting_accepts_75_75_percent_or_0_75_and_says_which_it_got(sample_app, typed, read):
    sample_app.switch_page(page("data")).run()
    sample_app.text_input(key="s_gates.min_accuracy").set_value(typed)
    sample_app.button(key=APPLY).click().run()
    assert sample_app.session_state["settings"].gates.min_accuracy == pytest.approx(0.75)
    [message] = [success.value for success in sample_app.success]
    assert f"Minimum accuracy: read '{typed}' {read} (0.75)" in message


def setting_widgets(app: AppTest) -> dict[str, object]:
    kinds = ("text_input", "text_area", "number_input", "selectbox", "date_input")
    return {
        widget.key: widget
        for kind in kinds
        for widget in app.get(kind)
        if widget.key and widget.key.startswith("s_")
    }


def test_the_settings_form_has_a_widget_for_every_setting_labelled_from_the_model(sample_app):
    from offload_metrics import config

    sample_app.switch_page(page("data")).run()
    widgets = setting_widgets(sample_app)
    every = {
        f"s_{group}.{name}": field
        for group, group_field in Settings.model_fields.items()
        for name, field in group_field.default_factory.model_fields.items()
    }
    assert set(widgets) == set(every)
    for key, field in every.items():
        assert widgets[key].label == field.title, key
        assert field.description in widgets[key].help, key
    # The labels of the form before it was generated, kept as they were.
    assert widgets["s_finance.default_hourly_cost_usd"].label == "Default hourly cost (USD)"
    assert widgets["s_adoption.scale_months"].label == "Months to scale (on track)"
    # Bounds and step from the model: window_days has ge=1, le=3660; min_tasks ge=1 and no upper bound.
    window = widgets["s_gates.window_days"].proto
    assert (window.min, window.max, window.step) == (1, 3660, 1)
    assert widgets["s_gates.min_tasks"].proto.has_max is False
    assert widgets["s_forecast.interval"].proto.step == 0.05
    assert config.Gates.model_fields["min_accuracy"].title == "Minimum accuracy"


def test_a_setting_changed_and_saved_on_the_form_is_in_the_settings_file(sample_app, tmp_path):
    import datetime as dt
    import tomllib

    sample_app.switch_page(page("data")).run()
    sample_app.number_input(key="s_forecast.draws").set_value(250)
    sample_app.text_input(key="s_alerts.usage_drop").set_value("40%")
    sample_app.date_input(key="s_ingest.min_date").set_value(dt.date(2020, 1, 1))
    sample_app.text_area(key="s_network.appetite").set_value('"Legal" = 0.5\n')
    sample_app.button(key=SAVE).click().run()
    assert not sample_app.exception, [error.value for error in sample_app.exception]
    saved = tomllib.loads((tmp_path / "offload.toml").read_text(encoding="utf-8"))
    assert saved["forecast"]["draws"] == 250
    assert saved["alerts"]["usage_drop"] == 0.4
    assert saved["ingest"]["min_date"] == "2020-01-01"
    # A table names the functions it changes; the others keep their defaults.
    assert saved["network"]["appetite"]["Legal"] == 0.5
    assert saved["network"]["appetite"]["Marketing"] == 0.9
    assert saved["gates"] == {"min_accuracy": 0.8, "min_automation": 0.9, "min_tasks": 50, "min_reviewed": 20,
                              "window_days": 90}  # fmt: skip


@pytest.mark.parametrize(
    ("key", "typed", "said"),
    [
        ("s_alerts.usage_drop", "150%", "Usage drop: must be at most 100%"),
        ("s_adoption.scale_months", "36, 18", "Months to scale (on track): must be [low, high] months with "
                                              "0 < low <= high, e.g. [18, 36]"),
        ("s_adoption.scale_months", "12.5, 24", "Months to scale (on track): value 1 must be a whole number"),
        ("s_gates.min_accuracy", "most", "Minimum accuracy: 'most': expected a share such as 0.8, 80 or 80%"),
        ("s_network.appetite", '"Legal" = 2\n', "Appetite by function: Legal: must be at most 1"),
        ("s_estimates.presets", "broken =", 'Estimate presets: expected lines of "name" = value: '),
    ],
)  # fmt: skip
def test_an_invalid_setting_says_why_beside_it_and_saves_nothing(sample_app, tmp_path, key, typed, said):
    sample_app.switch_page(page("data")).run()
    widget = (
        sample_app.text_area(key=key)
        if key.endswith(("appetite", "presets"))
        else sample_app.text_input(key=key)
    )
    widget.set_value(typed)
    sample_app.number_input(key="s_forecast.draws").set_value(
        250
    )  # a good value beside it is not saved either
    sample_app.button(key=SAVE).click().run()
    assert not sample_app.exception, [error.value for error in sample_app.exception]
    [message] = beside(sample_app, key)
    assert message.startswith(said)
    assert any("Nothing was applied" in error.value for error in sample_app.error)
    assert not (tmp_path / "offload.toml").exists()
    assert sample_app.session_state["settings"] == Settings()
    assert not sample_app.success


def test_a_stricter_gate_lengthens_the_cull_list(sample_app):
    sample_app.switch_page(page("fleet")).run()
    before = sample_app.session_state["settings"]
    sample_app.session_state["settings"] = before.model_copy(
        update={"gates": before.gates.model_copy(update={"min_accuracy": 0.95})}
    )
    sample_app.run()
    strict = [element.value for element in sample_app.subheader if element.value.startswith("Cull list")]
    sample_app.session_state["settings"] = before
    sample_app.run()
    default = [element.value for element in sample_app.subheader if element.value.startswith("Cull list")]
    assert int(strict[0].split("(")[1].rstrip(")")) > int(default[0].split("(")[1].rstrip(")"))


def test_clearing_the_database_needs_confirmation(sample_app, tmp_path):
    sample_app.switch_page(page("data")).run()
    assert sample_app.button(key="clear_database").disabled
    sample_app.checkbox(key="clear_confirm").check().run()
    sample_app.button(key="clear_database").click().run()
    assert not sample_app.exception
    with store.connect(tmp_path / "app.duckdb", read_only=True) as conn:
        assert store.is_empty(conn)


def test_a_clear_that_fails_in_the_dashboard_changes_nothing(sample_app, tmp_path):
    from conftest import snapshot

    st.cache_resource.clear()  # the app holds the file read-only; this test changes it directly
    with store.connect(tmp_path / "app.duckdb") as conn:
        before = snapshot(conn)
        assert before["loads"] and store.get_meta(conn, store.SAMPLE_KEY) == "6"
        # The clear's last write, its audit line, breaks this constraint: everything before it must go back.
        conn.execute("drop table audit")
        conn.execute(
            "create table audit (recorded_at TIMESTAMP NOT NULL, who VARCHAR NOT NULL, "
            "action VARCHAR NOT NULL CHECK (action <> 'clear'), detail VARCHAR)"
        )
    st.cache_data.clear()
    sample_app.switch_page(page("data")).run()
    sample_app.checkbox(key="clear_confirm").check().run()
    sample_app.button(key="clear_database").click().run()

    assert not sample_app.exception, [error.value for error in sample_app.exception]
    assert any("was not cleared, and nothing was changed" in error.value for error in sample_app.error)
    st.cache_resource.clear()
    with store.connect(tmp_path / "app.duckdb", read_only=True) as conn:
        assert snapshot(conn) == before


def test_the_catalog_shows_a_blueprint_without_raw_html(make_app, tmp_path):
    app = make_app(sample=False)
    app.run()
    blueprint = "## Steps\n\n1. Connect the inbox.\n\n<script>alert('x')</script>"
    st.cache_resource.clear()  # the app holds the file read-only; this test writes to it directly
    with store.connect(tmp_path / "app.duckdb") as conn:
        from offload_metrics import ingest

        ingest.load_file(conn, write_csv(tmp_path / "agents.csv", [example("agents", blueprint=blueprint)]))
        ingest.load_file(conn, write_csv(tmp_path / "events.csv", [example("replication_events")]))
    st.cache_data.clear()
    app.switch_page(page("catalog")).run()
    assert not app.exception
    shown = [element.proto.body for element in app.get("html") if "Connect the inbox" in element.proto.body]
    assert shown == [
        "<h2>Steps</h2>\n<ol>\n<li>Connect the inbox.</li>\n</ol>\n<p>&lt;script&gt;alert('x')&lt;/script&gt;</p>"
    ]
    assert [button.proto.label for button in app.get("download_button")] == [
        "Download the one-page blueprint"
    ]


def test_finance_offers_csv_and_excel_downloads(sample_app):
    sample_app.switch_page(page("finance")).run()
    labels = [button.proto.label for button in sample_app.get("download_button")]
    assert labels == ["Download CSV (by function and month)", "Download Excel (cover sheet + 3 tables)"]


def test_business_unit_choices_follow_the_chosen_functions(sample_app):
    everyone = set(sample_app.multiselect(key="business_unit").options)
    sample_app.multiselect(key="function").set_value(["Legal"]).run()
    legal = set(sample_app.multiselect(key="business_unit").options)
    assert legal == {"Commercial Legal", "Compliance"}
    assert legal < everyone


# --- every screen tells the truth at a glance ------------------------------------------------------------


def sidebar_text(app: AppTest) -> str:
    return " ".join(
        element.value for element in [*app.sidebar.info, *app.sidebar.warning, *app.sidebar.caption]
    )


def upload(app: AppTest, name: str, content: bytes) -> None:
    app.file_uploader(key="upload_files").upload(name, content, "text/csv")


def submit(app: AppTest, name: str, content: bytes) -> None:
    """Upload one file on the Data page and press Load."""
    upload(app, name, content)
    app.button(key="FormSubmitter:upload_form-Load").click().run()
    assert not app.exception


def my_agents(tmp_path: Path) -> bytes:
    """A catalog file of the user's own: one agent, "mine"."""
    return write_csv(tmp_path / "mine.csv", [example("agents", agent_id="mine")]).read_bytes()


def test_loading_over_the_sample_asks_and_replace_clears_it_in_one_step(sample_app, tmp_path):
    sample_app.switch_page(page("data")).run()
    assert sample_app.radio(key="upload_sample_choice").value == "Replace the sample with these files"
    submit(sample_app, "mine.csv", my_agents(tmp_path))
    with store.connect(tmp_path / "app.duckdb", read_only=True) as conn:
        assert conn.execute("select file_name from loads").fetchall() == [("mine.csv",)]
        assert conn.execute("select agent_id from agents").fetchall() == [("mine",)]
    assert "sample" not in sidebar_text(sample_app)


@pytest.mark.parametrize("refused", [True, False], ids=["file refused", "every row rejected"])
def test_a_replacement_that_adds_no_row_leaves_the_sample_to_look_at(sample_app, tmp_path, refused):
    with store.connect(tmp_path / "app.duckdb", read_only=True) as conn:
        before = conn.execute("select count(*) from usage_events").fetchone()
        sample_files = conn.execute("select file_name from loads order by file_name").fetchall()
    sample_app.switch_page(page("data")).run()
    bad_rows = write_csv(tmp_path / "mine.csv", [example("usage_events", status="bogus")]).read_bytes()
    submit(sample_app, "mine.csv", b"\x00\x01binary\xff" if refused else bad_rows)
    errors = [error.value for error in sample_app.error]
    assert any("bundled sample was loaded back in their place" in error for error in errors), errors
    with store.connect(tmp_path / "app.duckdb", read_only=True) as conn:
        assert conn.execute("select count(*) from usage_events").fetchone() == before
        loads = conn.execute("select file_name from loads order by file_name").fetchall()
        # A file that was read stays in the history, with its rejected rows to look at.
        assert loads == (sample_files if refused else sorted([*sample_files, ("mine.csv",)])), loads
        actions = [row[0] for row in conn.execute("select action from audit order by recorded_at").fetchall()]
    assert "clear" in actions  # the replacement did clear; the sample's files were then loaded again
    sample_app.switch_page(page("overview")).run()
    assert "Showing the bundled sample organisation" in sidebar_text(sample_app)


def test_a_replacement_that_cannot_load_the_sample_back_says_so(sample_app, tmp_path):
    broken = tmp_path / "org.csv"
    broken.write_text("not,a,mapping\n", encoding="utf-8")
    sample_app.session_state["settings"] = Settings.model_validate({"mapping": {"file": str(broken)}})
    sample_app.switch_page(page("data")).run()
    submit(sample_app, "mine.csv", my_agents(tmp_path))
    errors = " ".join(error.value for error in sample_app.error)
    assert "the bundled sample could not be loaded back in full" in errors, errors
    assert "organisation mapping cannot be used" in errors, errors
    with store.connect(tmp_path / "app.duckdb", read_only=True) as conn:
        assert conn.execute("select count(*) from loads").fetchone() == (0,)
        assert store.get_meta(conn, store.SAMPLE_KEY) is None


def test_adding_to_the_sample_says_so_on_every_page(sample_app, tmp_path):
    sample_app.switch_page(page("data")).run()
    sample_app.radio(key="upload_sample_choice").set_value("Add these files to the sample")
    submit(sample_app, "mine.csv", my_agents(tmp_path))
    with store.connect(tmp_path / "app.duckdb", read_only=True) as conn:
        assert conn.execute("select count(*) from loads").fetchone() == (7,)
    for name in PAGES:
        sample_app.switch_page(page(name)).run()
        assert "bundled sample organisation is mixed with your files" in sidebar_text(sample_app), name


def test_a_median_that_was_not_reached_says_so_with_the_count_waiting(sample_app):
    # HR on the sample: 4 validated agents, 1 replicated, so the survival curve never reaches a half.
    sample_app.multiselect(key="function").set_value(["HR"]).run()
    sample_app.switch_page(page("replication")).run()
    # The tile's value stays short enough not to be cut at 1440 pixels; the count waiting is its note.
    assert tiles(sample_app)["Median days (Kaplan-Meier)"] == "not reached"
    assert "3 of 4 waiting. Plain median" in " ".join(caption.value for caption in sample_app.caption)
    sample_app.switch_page(page("overview")).run()
    assert tiles(sample_app)["KM replication median"] == "not reached"
    assert "3 of 4 waiting. Plain median" in " ".join(caption.value for caption in sample_app.caption)


def test_the_catalog_counts_every_validated_agent_and_names_the_one_without_an_entry(sample_app, tmp_path):
    # Every agent with a validated event in the sample (all of them up to its as_of, 2025-12-31).
    validated = len(
        {row["agent_id"] for row in sample_rows("replication_events.csv") if row["event_type"] == "validated"}
    )
    assert validated == 29
    sample_app.switch_page(page("replication")).run()
    assert tiles(sample_app)["Validated agents"] == str(validated)
    sample_app.switch_page(page("catalog")).run()
    assert sample_app.caption[0].value.startswith(
        f"{validated} validated agents up to 2025-12-31 ({validated} "
    )
    shown = sample_app.dataframe[0].value
    assert len(shown) == validated
    [missing] = shown[shown["name"] == "no catalog entry"]["agent_id"].tolist()
    with store.connect(tmp_path / "app.duckdb", read_only=True) as conn:
        [(line, reason)] = conn.execute(
            "select r.line, r.reason from rejected_rows r join loads l using (load_id) "
            "where l.kind = 'agents' and json_extract_string(r.raw, '$.agent_id') = ?",
            [missing],
        ).fetchall()
    notes = " ".join(element.value for element in sample_app.markdown)
    assert f"`{missing}`: its catalog row was rejected (agents.csv line {line}: {reason})." in notes
    links = [link for link in sample_app.get("page_link") if missing in link.proto.label]
    assert links and links[0].proto.query_string == f"agent={missing}"


def test_a_quick_range_fills_the_dates_and_the_sidebar_shows_what_applies(sample_app, tmp_path):
    import datetime as dt

    sample_app.selectbox(key="period").set_value("Last quarter").run()
    # The sample ends on 2025-12-31: last quarter is 2025-07 to 2025-09, compared with 2025-04 to 2025-06.
    assert sample_app.date_input(key="range").value == (dt.date(2025, 7, 1), dt.date(2025, 9, 30))
    assert (
        "Showing **2025-07 to 2025-09** (3 months, as of 2025-12-31); changes are against 2025-04 to 2025-06."
        in (sidebar_text(sample_app))
    )
    sample_app.switch_page(page("finance")).run()
    # The sample's labor value in 2025-07 to 2025-09 ($1,744,997.27; its rows never change): the
    # quarter, not the whole year, applies.
    assert tiles(sample_app)["Labor value of hours saved"] == "$1.74M"
    # An as_of inside the range moves the range with it: the sidebar never shows an end that does not apply.
    sample_app.selectbox(key="period").set_value("Custom range").run()
    sample_app.date_input(key="as_of").set_value(dt.date(2025, 8, 15)).run()
    assert sample_app.date_input(key="range").value == (dt.date(2025, 7, 1), dt.date(2025, 8, 15))
    assert "Showing **2025-07 to 2025-08** (2 months, as of 2025-08-15)" in sidebar_text(sample_app)
    sample_app.selectbox(key="period").set_value("Year to date").run()
    assert sample_app.date_input(key="range").value == (dt.date(2025, 1, 1), dt.date(2025, 8, 15))


def test_a_link_with_a_period_or_an_as_of_alone_shows_the_range_they_imply(make_app):
    """A link typed by hand or cut short: ?period=Last+quarter showed the figures of all 24 months, and
    ?as_of=2024-06-30 a range box running to 2025-12."""
    import datetime as dt

    linked = make_app()
    linked.query_params["period"] = "Last quarter"
    linked.run()
    assert linked.date_input(key="range").value == (dt.date(2025, 7, 1), dt.date(2025, 9, 30))
    assert "Showing **2025-07 to 2025-09** (3 months, as of 2025-12-31)" in sidebar_text(linked)
    # The quarter's hours, as when the period is chosen in the sidebar (the test below).
    assert tiles(linked)["Hours saved"] == "26,029 h"

    early = make_app()
    early.query_params["as_of"] = "2024-06-30"
    early.run()
    assert early.date_input(key="range").value == (dt.date(2024, 1, 1), dt.date(2024, 6, 30))
    assert "Showing **2024-01 to 2024-06** (6 months, as of 2024-06-30)" in sidebar_text(early)

    # A date before the data: the As of box shows the latest date, and so does the range, which
    # showed the first month alone under "All data"; the sidebar says the date was not used.
    before = make_app()
    before.query_params["as_of"] = "2020-01-01"
    before.run()
    assert before.date_input(key="as_of").value == dt.date(2025, 12, 31)
    assert before.date_input(key="range").value == (dt.date(2024, 1, 1), dt.date(2025, 12, 31))
    [said] = [element.value for element in before.sidebar.warning]
    assert said == (
        "The link's As of, 2020-01-01, is outside the data (2024-01-01 to 2025-12-31): showing as of 2025-12-31."
    )
    before.date_input(key="as_of").set_value(dt.date(2025, 6, 30)).run()
    assert not before.sidebar.warning


def test_headline_tiles_show_the_change_against_the_previous_period(sample_app, tmp_path):

    sample_app.selectbox(key="period").set_value("Last quarter").run()
    shown = {metric.label: metric for metric in sample_app.metric}
    hours = shown["Hours saved"]
    # The sample's figures (its rows never change): 26,028.8 hours saved in 2025-07 to 2025-09 against
    # 13,440.8 in 2025-04 to 2025-06; net savings $1,728,812.83 against $891,902.05.
    assert hours.value == "26,029 h"
    assert hours.proto.delta == "+12,588 h"
    # Short enough not to be cut at 1440 pixels: the sidebar names the months.
    assert hours.proto.delta_description == "vs Q2 2025"
    assert shown["Net savings"].value == "$1.73M"
    assert shown["Net savings"].proto.delta == "+$837k"
    # The offloaded share is a share at as_of (2025-12-31, 45.9%), not a total over the quarter: its
    # change is since the previous period's last month (2025-06, 21.1%), and says so.
    assert shown["Offloaded share"].value == "45.9%"
    assert shown["Offloaded share"].proto.delta == "+24.8 pp"
    assert shown["Offloaded share"].proto.delta_description == "since 2025-06"
    assert shown["Functions at scale"].proto.delta_description == "since 2025-06"
    assert list(shown["Net savings"].proto.chart_data), "a trend line where a series exists"
    # Beside the quarter's totals, the tiles as of as_of name their month on their face, and the share's
    # trend line runs from the quarter's first month to that month (2025-07 to 2025-12), ending on its value.
    notes = [caption.value for caption in sample_app.caption]
    assert "As of 2025-12, after the chosen range. Phase: Acceleration" in notes
    assert "As of 2025-12, after the chosen range. The organisation is at scale" in notes
    trend = list(shown["Offloaded share"].proto.chart_data)
    assert len(trend) == 6 and trend[-1] == 45.9
    # With the whole range the month is still named, as the tiles beside it total 24 months.
    sample_app.selectbox(key="period").set_value("All data").run()
    notes = [caption.value for caption in sample_app.caption]
    assert "As of 2025-12. Phase: Acceleration" in notes
    # The uplift averages the range's 24 months of ramp-up (8.0%); its note gives the last month alone,
    # as the report gives it for 2025-12 alone (hours saved over capacity that month: 21.8%).
    assert {metric.label: metric.value for metric in sample_app.metric}["Net Output uplift"] == "8.0%"
    assert "Over 24 months; 2025-12 alone 21.8%" in notes
    # Beside net savings' monthly line, the pool's line is a running total, and says so.
    assert "25% of positive net savings; the line is its running total" in notes


def test_teams_of_the_same_name_in_two_business_units_stay_apart(sample_app):
    sample_app.switch_page(page("net_output")).run()
    sample_app.segmented_control(key="net_output_group").set_value("Team").run()
    table = sample_app.dataframe[0].value
    assert {"team", "business_unit"} <= set(table.columns)
    tier_one = table[table["team"] == "Tier 1"]
    assert sorted(tier_one["business_unit"]) == ["Consumer Care", "Enterprise Care", "Service Desk"]
    assert any('"field": "team_label"' in chart.proto.spec for chart in sample_app.get("vega_lite_chart"))


def test_the_net_output_table_goes_below_its_chart_where_its_names_need_the_width(sample_app):
    """By function the table sits beside the bars; by business unit, team or agent (two name
    columns, or an agent's id) it is too wide for that, and goes below them at the page's width."""
    sample_app.switch_page(page("net_output")).run()

    def table_in_a_column() -> bool:
        return any(
            "Hours saved" in frame.value.columns or "hours_saved" in frame.value.columns
            for column in sample_app.columns
            for frame in column.dataframe
        )

    assert table_in_a_column()
    for group in ("Business unit", "Team", "Agent"):
        sample_app.segmented_control(key="net_output_group").set_value(group).run()
        assert not sample_app.exception
        assert not table_in_a_column(), group
    for chart in sample_app.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        if spec.get("encoding", {}).get("y", {}).get("field") == "agent_id":
            assert spec["encoding"]["y"]["axis"]["labelLimit"] == 0  # names are never cut short
            break
    else:
        raise AssertionError("no chart of hours saved by agent")


def test_with_only_usage_loaded_tiles_say_which_input_to_load(make_app, tmp_path):
    app = make_app(sample=False)
    app.run()
    st.cache_resource.clear()  # the app holds the file read-only; this test writes to it directly
    with store.connect(tmp_path / "app.duckdb") as conn:
        from offload_metrics import ingest

        ingest.load_file(conn, ROOT / "sample_data" / "usage_events.csv.gz")
    st.cache_data.clear()
    app.switch_page(page("overview")).run()
    assert not app.exception, [error.value for error in app.exception]
    shown = tiles(app)
    assert shown["Net savings"] == "—" and shown["Functions at scale"] == "—" and shown["Hours saved"] == "—"
    notes = [caption.value for caption in app.caption]
    assert "Load documented time savings to see this." in notes
    assert "Load documented time savings and the organisation baseline to see this." in notes
    assert any(
        "Load documented time savings and the organisation baseline" in info.value for info in app.info
    )
    app.switch_page(page("finance")).run()
    assert tiles(app)["ROI"] == "—" and tiles(app)["Agent cost"] != "—"


def test_tables_show_words_not_codes(sample_app):
    sample_app.switch_page(page("fleet")).run()
    gates = set(sample_app.dataframe[1].value["gate"])
    assert gates <= {"Pass", "Fail", "Insufficient data"} and "Insufficient data" in gates
    sample_app.switch_page(page("adoption")).run()
    # The forecast's crossing table comes first on the page: take the table that has the column.
    [phases] = [set(table.value["phase"]) for table in sample_app.dataframe if "phase" in table.value]
    assert phases and not any("_" in phase for phase in phases)
    sample_app.switch_page(page("finance")).run()
    [rois] = [table.value["roi"] for table in sample_app.dataframe if "roi" in table.value]
    assert all(value.endswith("x") for value in rois)


def test_an_upload_whose_rows_are_rejected_says_so_at_the_upload_with_the_first_reasons(make_app, tmp_path):
    app = make_app(sample=False)
    app.run()
    app.switch_page(page("data")).run()
    header = b"event_id,occurred_at,agent_id,function,business_unit,status,input_tokens\n"
    rows = b"".join(b"e%d,2025-03-04T09:15:00Z,a1,Marketing,Consumer,done,12O\n" % i for i in range(5))
    upload(app, "all_bad.csv", header + rows)
    app.button(key="FormSubmitter:upload_form-Load").click().run()
    assert not app.error
    [warning] = [element.value.replace("\\", "") for element in app.warning]
    assert warning.startswith("**all_bad.csv**: 5 rejected of 5 rows read, not loaded. The first:")
    # Three of them, each with its line, column and reason.
    assert warning.count("\n- line ") == 3
    assert "- line 2: status: must be one of completed, escalated, failed" in warning
    assert warning.endswith("Every one is listed under Rejected and conflicting rows below.")


def test_a_failed_upload_is_an_error_and_the_kind_can_be_chosen_on_the_page(make_app, tmp_path):
    app = make_app(sample=False)
    app.run()
    app.switch_page(page("data")).run()
    # The required columns of both the agent catalog and the organisation baseline: it fits two kinds.
    ambiguous = (
        b"agent_id,name,owner_function,function,business_unit,team,headcount,routine_hours_per_month,"
        b"loaded_hourly_cost_usd\nx,X,Marketing,Marketing,Consumer,Brand,3,100,50\n"
    )
    upload(app, "odd.csv", ambiguous)
    app.button(key="FormSubmitter:upload_form-Load").click().run()
    # The message is Markdown with every punctuation mark of the file's text escaped: read it as shown.
    [error] = [element.value.replace("\\", "") for element in app.error]
    assert "odd.csv" in error and "--kind" not in error and "Kind of file" in error
    # Each kind's columns on a line of its own, the kind named as the menu names it.
    assert "  \n- Agents: agent_id, name, owner_function  \n- Org baseline: " in error
    assert "org_baseline:" not in error
    app.selectbox(key="upload_kind").set_value("agents")
    upload(app, "odd.csv", ambiguous)
    app.button(key="FormSubmitter:upload_form-Load").click().run()
    assert not app.error
    with store.connect(tmp_path / "app.duckdb", read_only=True) as conn:
        assert conn.execute("select agent_id from agents").fetchall() == [("x",)]


def test_the_overview_offers_the_executive_summary_and_finance_exports_say_what_they_cover(sample_app):
    labels = {button.proto.label: button for button in sample_app.get("download_button")}
    assert {"Download the summary (Markdown)", "Download the summary (printable HTML)"} <= set(labels)
    sample_app.switch_page(page("finance")).run()
    assert [button.proto.label for button in sample_app.get("download_button")] == [
        "Download CSV (by function and month)", "Download Excel (cover sheet + 3 tables)",
    ]  # fmt: skip


def test_the_overview_builds_its_executive_summary_only_when_asked(sample_app):
    """The summary is the whole report: the page shows it when its expander is opened, not before."""

    def summaries() -> list[str]:
        return [
            text.value for text in sample_app.markdown if text.value.startswith("# Offloading report as of")
        ]

    assert [expander.label for expander in sample_app.expander if "summary" in expander.label] == [
        "Read the summary here"
    ]
    assert summaries() == []
    sample_app.session_state["overview_summary"] = True  # what opening the expander does
    sample_app.run()
    assert not sample_app.exception
    [text] = summaries()
    assert text.startswith("# Offloading report as of 2025-12-31\n\nRange 2024-01-01 to 2025-12-31.")
    assert "## Where the organisation stands" in text


# --- Vendor bills and estimated savings ----------------------------------------------------------------


@pytest.fixture
def finance_app(make_app, tmp_path):
    """Marketing's Brand team: 4 completed briefs at $1.00 in March without time_saved (estimated with
    the team's 45 -> 8 minute baseline) and one in a documented April; its vendor account billed
    $5.00 in March; $0.70 went to an account no rule maps."""
    from offload_metrics import ingest, mapping

    app = make_app(sample=False)
    app.run()
    usage = [
        example("usage_events", event_id=f"e{index}", occurred_at=f"2025-03-0{index + 1}T10:00:00Z",
                cost_usd="1.00", team="Brand", task_type="campaign_brief")
        for index in range(4)
    ] + [example("usage_events", event_id="e4", occurred_at="2025-04-02T10:00:00Z", cost_usd="1.00", team="Brand",
                 task_type="campaign_brief")]  # fmt: skip
    rules = tmp_path / "mapping.csv"
    rules.write_text(
        "source,match,function,business_unit,team\nvendor.account,acct-mkt,Marketing,Consumer,Brand\n"
    )
    st.cache_resource.clear()  # the app holds the file read-only; this fixture writes to it directly
    with store.connect(tmp_path / "app.duckdb") as conn:
        ingest.load_file(conn, write_csv(tmp_path / "usage.csv", usage))
        ingest.load_file(conn, write_csv(tmp_path / "saved.csv", [example("time_saved", team="Brand",
                         period_start="2025-04-01", period_end="2025-04-30")]))  # fmt: skip
        ingest.load_file(
            conn, write_csv(tmp_path / "baselines.csv", [example("task_baselines", team="Brand")])
        )
        ingest.load_file(
            conn,
            write_csv(tmp_path / "bills.csv", [
                {"day": "2025-03-10", "vendor": "llm", "account": "acct-mkt", "amount_usd": "5.00"},
                {"day": "2025-03-10", "vendor": "llm", "account": "acct-lost", "amount_usd": "0.70"},
            ]),
            mapping=mapping.load_mapping(rules),
        )  # fmt: skip
    st.cache_data.clear()
    return app


def test_finance_reconciles_the_usage_log_with_the_bills_and_shows_estimates_apart(finance_app, tmp_path):
    finance_app.switch_page(page("finance")).run()

    assert not finance_app.exception, [error.value for error in finance_app.exception]
    shown = tiles(finance_app)
    assert shown["Cost in the usage log"] == "$5.00"  # 4 in March and 1 in April at $1.00
    assert shown["Cost on the vendors' bills"] == "$5.00"
    assert shown["Bills minus usage log"] == "$0.00"
    assert shown["Unassigned vendor cost"] == "$0.70"
    # 4 completed briefs x (45 - 8) / 60 hours x $60 (the team has no baseline rate) = $148.00.
    assert shown["Labor value, estimated"] == "$148"
    # 4 of the 5 usage tasks are in March, which has no time_saved row; April's one task is covered.
    assert shown["Tasks documented"] == "20.0%"
    hover = {metric.label: metric.proto.help for metric in finance_app.metric}
    assert (
        "team Consumer / Brand, campaign_brief: 45 -> 8 minutes per task (estimate"
        in hover["Labor value, estimated"]
    )
    # The agent cost tile's context is its note, a caption under the tile.
    assert any(element.value.startswith("the usage log's cost") for element in finance_app.caption)
    captions = " ".join(element.value for element in finance_app.caption)
    assert (
        "uses the usage log's cost (the setting Agent cost from, under Finance in the Data page" in captions
    )


def test_net_output_shows_documented_and_estimated_hours_side_by_side(finance_app):
    finance_app.switch_page(page("net_output")).run()

    assert not finance_app.exception, [error.value for error in finance_app.exception]
    shown = tiles(finance_app)
    # Documented: April's row, 420 x (45 - 8) / 60 = 259 hours; estimated: 4 x 37 / 60 = 2.47 hours.
    assert shown["Hours saved, documented"] == "259 h"
    assert shown["Hours saved, estimated"] == "2 h"
    assert shown["Hours saved"] == "259 h"
    charts = finance_app.get("vega_lite_chart")
    assert any("Estimated" in chart.proto.spec for chart in charts)


def test_the_settings_form_switches_the_cost_source_and_the_finance_page_follows(finance_app):
    finance_app.switch_page(page("data")).run()
    finance_app.selectbox(key="s_finance.cost_source").set_value("larger")
    finance_app.selectbox(key="s_estimates.preset").set_value("6 minutes per completed task")
    finance_app.button(key="FormSubmitter:settings_form-Apply for this session").click().run()

    assert not finance_app.exception, [error.value for error in finance_app.exception]
    finance_app.switch_page(page("finance")).run()
    # Usage log: $4 in March, $1 in April; bills: $5 in March. The larger per month: $5 + $1.
    assert tiles(finance_app)["Agent cost"] == "$6"
    captions = " ".join(element.value for element in finance_app.caption)
    assert (
        "uses the larger of the usage log's and the vendors' cost, per function-month (the setting"
        in captions
    )


def test_where_to_seed_next_ranks_the_reports_teams_with_reasons_and_draws_the_network(sample_app, tmp_path):
    sample_app.switch_page(page("seed")).run()
    assert not sample_app.exception, [error.value for error in sample_app.exception]
    ranking = next(frame.value for frame in sample_app.dataframe if "seed_score" in frame.value.columns)
    # The sample's first team to seed (its rows never change), with its reasons.
    assert (ranking["team"].iloc[0], ranking["business_unit"].iloc[0]) == ("Content", "Enterprise Marketing")
    reason = (
        "centrality rank 14 of 47; 91 routine hours per head a month; ad variants takes 180 minutes by hand; "
        "Marketing validates fastest (61 days from first use to validation)"
    )
    # The reason is written in full under the table (Markdown, punctuation escaped: read it as shown).
    said = [element.value.replace("\\", "") for element in sample_app.markdown]
    assert any(f"Rank 1: **Content** (Enterprise Marketing): {reason}" in text for text in said), said
    # The sample's collaboration network has 47 teams (its rows never change).
    assert tiles(sample_app)["Teams in the network"] == "47"
    picture = [chart for chart in sample_app.get("vega_lite_chart") if "Centrality index" in chart.proto.spec]
    assert picture, "the network picture is missing"


def test_the_function_filter_narrows_where_to_seed_next(sample_app, tmp_path):
    sample_app.switch_page(page("seed")).run()
    sample_app.sidebar.multiselect(key="function").set_value(["Finance"]).run()
    assert not sample_app.exception, [error.value for error in sample_app.exception]
    ranking = next(frame.value for frame in sample_app.dataframe if "seed_score" in frame.value.columns)
    # The sample's Finance teams to seed: Reconciliation in three business units, then Close.
    assert list(ranking["team"]) == ["Reconciliation", "Reconciliation", "Reconciliation", "Close"]
    assert set(ranking["function"]) <= {"Finance"}


def test_a_filtered_where_to_seed_next_ranks_within_the_selection_and_says_so(make_app, tmp_path):
    # Three teams of 10 people with 800 routine hours a month each (80 per head: pain (1 + 0) / 2 = 0.5),
    # tied in an even triangle (centrality index 2/3 each), at the default stated appetites (Marketing
    # 0.9, Finance 0.3, Legal 0.2) and weights (0.4, 0.3, 0.3): seed scores Campaigns 0.4 x 2/3 + 0.27 +
    # 0.15 = 0.6867, Payables 0.2667 + 0.09 + 0.15 = 0.5067, Contracts 0.2667 + 0.06 + 0.15 = 0.4767.
    # Contracts sits in its own business unit, Counsel (which changes no score).
    teams = (("Campaigns", "Marketing", "Central"), ("Payables", "Finance", "Central"),
             ("Contracts", "Legal", "Counsel"))  # fmt: skip

    def build(data):
        for team, function, unit in teams:
            data.baseline(team, 10, 800, function=function, bu=unit)
        for a, b in ((teams[0], teams[1]), (teams[1], teams[2]), (teams[0], teams[2])):
            data.rows["collaboration"].append(
                {"period_start": "2025-03-01", "period_end": "2025-03-28", "source_function": a[1],
                 "source_business_unit": a[2], "source_team": a[0], "target_function": b[1],
                 "target_business_unit": b[2], "target_team": b[0], "collaboration_hours": 10}
            )  # fmt: skip
        return data

    def ranking(app):
        """The ranking as shown: its columns by their titles on screen."""
        frame = next(frame for frame in app.dataframe if "seed_score" in frame.value.columns)
        titles = {name: spec.get("label", name) for name, spec in json.loads(frame.proto.columns).items()}
        return frame.value.rename(columns=titles)

    def said(app):
        return " ".join(element.value.replace("\\", "") for element in [*app.markdown, *app.caption])

    app = app_on(make_app, tmp_path, "seed", build)
    whole = ranking(app)
    assert records(whole, "Rank", "Team", "Seed score") == [
        (1, "Campaigns", pytest.approx(0.4 * 2 / 3 + 0.27 + 0.15)),
        (2, "Payables", pytest.approx(0.4 * 2 / 3 + 0.09 + 0.15)),
        (3, "Contracts", pytest.approx(0.4 * 2 / 3 + 0.06 + 0.15)),
    ]
    assert "Rank in the organisation" not in whole.columns
    assert "Ranked among the teams of this selection" not in said(app)

    app.sidebar.multiselect(key="function").set_value(["Finance", "Legal"]).run()
    assert not app.exception, [error.value for error in app.exception]
    # The two teams shown rank 1 and 2 (they read 2 and 3, the organisation's ranks, as if a better
    # team were in the list); their scores and their organisation's ranks are as without the filter.
    shown = ranking(app)
    assert list(zip(shown["Team"], shown["Rank"], strict=True)) == [("Payables", 1), ("Contracts", 2)]
    assert records(shown, "Rank", "Team", "Seed score", "Rank in the organisation") == [
        (1, "Payables", pytest.approx(0.4 * 2 / 3 + 0.09 + 0.15), 2),
        (2, "Contracts", pytest.approx(0.4 * 2 / 3 + 0.06 + 0.15), 3),
    ]
    text = said(app)
    assert "Rank 1: **Payables** (Central)" in text and "Rank 2: **Contracts** (Counsel)" in text
    assert "Ranked among the teams of this selection" in text
    assert "the whole organisation's collaboration network" in text

    # The business unit filter alike: Counsel's one team ranks 1 there, 3 in the organisation.
    app.sidebar.multiselect(key="function").set_value([]).run()
    app.sidebar.multiselect(key="business_unit").set_value(["Counsel"]).run()
    assert not app.exception, [error.value for error in app.exception]
    assert records(ranking(app), "Rank", "Team", "Rank in the organisation") == [(1, "Contracts", 3)]
    assert "Rank 1: **Contracts** (Counsel)" in said(app)
    assert "Ranked among the teams of this selection" in said(app)


def _function_colours(node: object) -> list[dict[str, str]]:
    """Each function colour scale of a chart's spec, as function -> colour."""
    found: list[dict[str, str]] = []
    if isinstance(node, dict):
        color = node.get("color")
        if isinstance(color, dict) and color.get("field") == "function" and "range" in color.get("scale", {}):
            found.append(dict(zip(color["scale"]["domain"], color["scale"]["range"], strict=True)))
        for value in node.values():
            found += _function_colours(value)
    elif isinstance(node, list):
        for item in node:
            found += _function_colours(item)
    return found


def test_a_function_keeps_its_colour_when_the_function_filter_narrows_the_charts(sample_app):
    """Legal is teal and R&D yellow on every chart coloured by function (their places among the
    sample's seven functions in tableau10), unfiltered and filtered to the two: filtered, Legal
    turned Customer Support's blue and R&D Finance's orange."""
    for name in ("overview", "adoption", "fleet", "replication"):
        sample_app.switch_page(page(name)).run()
        for chosen in ([], ["Legal", "R&D"]):
            sample_app.multiselect(key="function").set_value(chosen).run()
            assert not sample_app.exception
            scales = [
                scale
                for chart in sample_app.get("vega_lite_chart")
                for scale in _function_colours(json.loads(chart.proto.spec))
            ]
            assert scales, name
            for scale in scales:
                assert scale.get("Legal", "#72b7b2") == "#72b7b2", (name, chosen, scale)
                assert scale.get("R&D", "#eeca3b") == "#eeca3b", (name, chosen, scale)
            if chosen:
                assert all(set(scale) <= {"Legal", "R&D"} for scale in scales), (name, scales)


def test_counts_on_hover_say_what_they_count(sample_app):
    """The seed page's counts hovered a table column's definition (the network position's kinds, the
    seed score's formula), and the catalog's Replications said other units "use" an agent, while it
    counts recorded deployments only (the sample's ticket triage agent: 0, though two units use it)."""
    sample_app.switch_page(page("seed")).run()
    hover = {metric.label: metric.proto.help for metric in sample_app.metric}
    assert hover["Teams in the network"].startswith("How many teams the network lists within the filters")
    assert hover["Teams to seed"].startswith("How many of those teams are left to seed")
    sample_app.switch_page(page("catalog")).run()
    [catalog] = [frame for frame in sample_app.dataframe if "replications" in frame.value.columns]
    replications = json.loads(catalog.proto.columns)["replications"]
    assert replications["label"] == "Replications"
    assert replications["help"].startswith(
        "How many other business units have a recorded deployment of the agent"
    )


def test_the_kaplan_meier_medians_line_up_with_the_plain_medians_beside_them(sample_app):
    """The words "15 days" and "not reached" are figures: their column is aligned to the
    right like the plain median's numbers beside it (it was aligned to the left)."""
    sample_app.switch_page(page("replication")).run()
    drivers = [frame for frame in sample_app.dataframe if "km_median" in frame.value.columns]
    assert len(drivers) == 2  # by seeding strategy, and vendor or built
    for frame in drivers:
        config = json.loads(frame.proto.columns)
        assert config["km_median"]["label"] == "Median days (Kaplan-Meier)"
        assert config["km_median"]["alignment"] == "right"
    # Self-selected agents: 3 of 7 copied, so their median is not reached.
    assert "not reached" in drivers[0].value["km_median"].tolist()


def test_replication_velocity_says_whether_replication_followed_the_network(sample_app, tmp_path):
    import datetime as dt

    sample_app.switch_page(page("replication")).run()
    assert not sample_app.exception, [error.value for error in sample_app.exception]
    # The sample's copies mostly went to units already tied to the pilot unit (its rows never change).
    verdict = (
        "Replication followed the network: 61% of 31 copies went to units already tied to the pilot unit, "
        "against 21% expected if copies went to units at random (p < 0.001)."
    )
    assert verdict in [info.value for info in sample_app.info]
    shown = {metric.label: (metric.value, metric.proto.delta) for metric in sample_app.metric}
    assert shown["p-value"] == ("< 0.001", "")
    # One month holds fewer copies than the test needs: no p-value under "too few to tell" (it read
    # 0.006 there, as if it were a finding).
    sample_app.selectbox(key="period").set_value("Custom range").run()
    sample_app.date_input(key="range").set_value((dt.date(2025, 6, 1), dt.date(2025, 6, 30))).run()
    assert any(info.value.startswith("Too few replications to tell") for info in sample_app.info)
    assert {metric.label: metric.value for metric in sample_app.metric}["p-value"] == "—"
    assert "too few to tell" in [caption.value for caption in sample_app.caption]


def test_an_undefined_number_in_a_table_reads_a_dash_not_none(sample_app):
    # On the sample, R&D is still in its pilot plateau (7.1% at 2025-12): it has entered no phase, so
    # it has no place in the cascade; Marketing crossed 15% first (2025-03), so it ranks 1.
    sample_app.switch_page(page("adoption")).run()
    tables = [frame.value for frame in sample_app.dataframe if "cascade_rank" in frame.value.columns]
    assert tables, "the phase table is on the Adoption page"
    ranks = dict(zip(tables[0]["function"], tables[0]["cascade_rank"], strict=True))
    assert ranks["R&D"] == "—"
    assert ranks["Marketing"] == "1"


def test_where_nothing_can_be_estimated_the_pages_say_what_would_estimate_it(sample_app):
    """The sample has team-months without documented savings and no task baselines or preset: the
    estimate tiles and table showed dashes without saying why."""
    sample_app.switch_page(page("finance")).run()
    [said] = [element.value for element in sample_app.info if "no documented savings" in element.value]
    assert said.endswith(
        "team-months with usage have no documented savings, and no task baseline or preset applies to estimate "
        "them. Load task baselines (a task_baselines file) on the Data page, or choose an estimate preset in "
        "the settings."
    )
    # No table of dashes under it (the reconciliation tables stay).
    assert not [frame for frame in sample_app.dataframe if "estimated_labor_value_usd" in frame.value.columns]
    shown = {metric.label: (metric.value, metric.proto.delta) for metric in sample_app.metric}
    assert shown["Labor value, estimated"] == ("—", "no baseline or preset")
    sample_app.switch_page(page("net_output")).run()
    shown = {metric.label: (metric.value, metric.proto.delta) for metric in sample_app.metric}
    assert shown["Hours saved, estimated"] == ("—", "no baseline or preset")


def test_with_one_function_selected_nothing_is_compared_with_itself(sample_app):
    """HR alone: it was both the leading and the lagging function, 0.0 pp apart, and 'Functions at
    scale 0 of 1' could never change (scale needs two functions)."""
    sample_app.multiselect(key="function").set_value(["HR"]).run()
    sample_app.switch_page(page("adoption")).run()
    shown = tiles(sample_app)
    assert shown["Selected function"] == "HR"
    assert (shown["Lagging function"], shown["Gap between them"]) == ("—", "—")
    captions = " ".join(caption.value for caption in sample_app.caption)
    assert "Only one function is in view: there is nothing to compare it with" in captions
    sample_app.switch_page(page("overview")).run()
    assert tiles(sample_app)["Functions at scale"] == "0 of 1"
    assert "Scale needs 2 functions at scale; 1 function in view" in " ".join(
        caption.value for caption in sample_app.caption
    )


def test_every_alert_and_win_is_on_the_overview_the_rest_a_click_away(sample_app):
    """The overview said "51 more in the Markdown summary (offload-metrics report --format md)": a
    command for an executive. Now the ones beyond the first are in an expander on the page."""
    headers = {header.value.split(" (")[0]: header.value for header in sample_app.subheader}
    wins_total = int(headers["Wins in this range"].split("(")[1].rstrip(")"))
    alerts_total = int(headers["What needs attention"].split("(")[1].split(" ")[0])
    assert wins_total > 15 and alerts_total > 0
    icons = (":material/celebration:", ":material/warning:")
    listed = [text.value for text in sample_app.markdown if text.value.startswith(icons)]
    [more] = [expander for expander in sample_app.expander if expander.label.endswith("more wins")]
    assert more.label == f"{wins_total - 15} more wins"
    assert len(listed) == wins_total and len(set(listed)) == wins_total
    # A copy of an agent on the cull list is not celebrated: the page says it fails its gate.
    [cull] = [
        frame.value
        for frame in sample_app.dataframe
        if list(frame.value.columns) == ["agent_id", "accuracy", "automation"]
    ]

    def agent_of(text: str) -> str:
        """The id in "<icon> Name (id) was copied to ...", or "<icon> id was ..." for an agent the
        catalog does not name (Markdown escaped)."""
        named = text.split(" ", 1)[1].split(" was copied to ")[0].replace("\\", "")
        return named.rsplit(" (", 1)[1].removesuffix(")") if named.endswith(")") else named

    copied = {agent_of(text) for text in listed if " was copied to " in text}
    warned = {agent_of(text) for text in listed if text.startswith(icons[1])}
    assert warned == copied & set(cull["agent_id"]) and len(warned) >= 2
    assert all(
        text.endswith("so fix it before it spreads further") for text in listed if text.startswith(icons[1])
    )
    said = [text.value for text in sample_app.markdown if text.value.endswith(")") and " · [" in text.value]
    assert len(said) == alerts_total
    assert "offload-metrics report" not in " ".join(caption.value for caption in sample_app.caption)


def test_the_audit_shows_its_newest_entries_and_keeps_the_older_a_click_away(make_app, tmp_path):
    app = make_app(sample=False)
    app.run()
    st.cache_resource.clear()  # the app holds the file read-only; the entries are written directly
    with store.connect(tmp_path / "app.duckdb") as conn:
        for number in range(12):
            store.record_audit(conn, "ada", "load", f"file{number:02d}.csv: " + "a long outcome, " * 8)
    app.switch_page(page("data")).run()
    assert not app.exception, [error.value for error in app.exception]
    newest, older = (table.value for table in app.table)
    assert [text[:11] for text in newest["What"]] == [f"file{n:02d}\\.csv" for n in range(11, 1, -1)]
    assert [text[:11] for text in older["What"]] == ["file01\\.csv", "file00\\.csv"]
    assert [expander.label for expander in app.expander if expander.label.startswith("Older")] == [
        "Older entries (2)"
    ]


def test_an_alert_for_an_agent_waiting_for_a_copy_says_which_units_already_run_it(make_app, tmp_path):
    # w1 (validated in Consumer) runs in Retail and Labs with no deployment recorded; k1 runs at home only.
    app = app_on(make_app, tmp_path, "overview", lambda data: (
        data.event("w1", "validated", "2025-01-10", "Consumer").event("k1", "validated", "2025-01-11", "Consumer")
        .usage("2025-06-29", "w1", bu="Retail", team="Shops").usage("2025-06-30", "w1", bu="Labs", team="Bench")
        .usage("2025-06-30", "k1")
    ))  # fmt: skip
    said = [text.value for text in app.markdown if "for a first copy" in text.value]
    # As of 2025-06-30: w1 has waited 171 days, k1 170 (over the 90-day rule); Markdown escaped.
    assert [text.split(" · ")[1] for text in said] == [
        "k1 has waited 170 days for a first copy since its validation in Consumer",
        "w1 has waited 171 days for a first copy since its validation in Consumer\\, though Labs and Retail "
        "already use it without a recorded deployment",
    ]


def test_tile_trend_lines_hover_with_the_figures_the_tiles_show(make_app, tmp_path):
    # Brand: 390 routine hours a month at $61.37 an hour, 10 people (1,600 hours of capacity); 91,
    # 151 and 301 tasks at 40 -> 10 minutes in January to March; the agent ran 3, 7 and 9 tasks at
    # $0.10. st.metric hovers each point's number as it is, and showed 0.15555555555555556.
    app = app_on(make_app, tmp_path, "overview", lambda data: (
        data.baseline("Brand", headcount=10, routine=390, rate="61.37")
        .saved("2025-01", "Brand", tasks=91, baseline=40, minutes=10)
        .saved("2025-02", "Brand", tasks=151, baseline=40, minutes=10)
        .saved("2025-03", "Brand", tasks=301, baseline=40, minutes=10)
        .usage("2025-01-10", "a1", cost="0.10", count=3)
        .usage("2025-02-10", "a1", cost="0.10", count=7)
        .usage("2025-03-10", "a1", cost="0.10", count=9)
    ))  # fmt: skip

    def trends() -> dict[str, list[float]]:
        return {
            metric.label: list(metric.proto.chart_data) for metric in app.metric if metric.proto.chart_data
        }

    shown = trends()
    # Shares in percent to one decimal, as the tile: 91 x 40 / 60 = 60.67 of 390 h is 15.56%, then
    # 100.67 / 390 = 25.81% and 200.67 / 390 = 51.45%.
    assert shown["Offloaded share"] == [15.6, 25.8, 51.5]
    # Money in cents: 45.5, 75.5 and 150.5 hours saved x $61.37 = $2,792.335, $4,633.435 and
    # $9,236.185, less $0.30, $0.70 and $0.90 of agent cost; a quarter of it to the pool, summed.
    assert shown["Net savings"] == [2792.04, 4632.74, 9235.29]
    assert shown["Reinvestment pool"] == [698.01, 1856.19, 4165.01]  # 698.00875, 1,856.1925, 4,165.01375
    app.switch_page(page("net_output")).run()
    shown = trends()
    # 45.5, 75.5 and 150.5 hours saved of 1,600 hours of capacity: 2.84375%, 4.71875%, 9.40625%.
    assert shown["Net Output uplift"] == [2.8, 4.7, 9.4]
    assert shown["Hours saved"] == [45.5, 75.5, 150.5]  # four significant digits: as they are
    app.switch_page(page("fleet")).run()
    assert trends() == {"Tasks": [3.0, 7.0, 9.0], "Agent cost": [0.3, 0.7, 0.9]}


def test_the_fleet_names_the_agents_drawn_as_hollow_circles(make_app, tmp_path):
    # g1: 50 tasks, 20 reviewed, passes; t1 and t2: 3 tasks each, too few to judge, at the same point.
    app = app_on(make_app, tmp_path, "fleet", lambda data: (
        data.gated("g1", "2025-03-15", tasks=50, completed=46, correct=17, incorrect=3)
        .gated("t2", "2025-03-15", tasks=3, completed=3, correct=3, incorrect=0)
        .gated("t1", "2025-03-15", tasks=3, completed=3, correct=3, incorrect=0)
    ))  # fmt: skip
    assert "Hollow circles, too little data to judge (2): t1 and t2." in [
        caption.value for caption in app.caption
    ]


def test_a_trend_point_rounds_to_four_significant_digits_and_one_not_finite_passes_as_it_is():
    # 1,234.5678 -> 1,235 (four significant digits); 0.0123456 -> 0.01235; an infinite point raised a
    # ValueError (log10 of infinity has no floor).
    assert ui.sparkline([1234.5678, 0.0123456, 0.0], "hours_saved") == [1235.0, 0.01235, 0.0]
    assert ui.sparkline([float("inf")], "hours_saved") == [float("inf")]


def test_a_table_with_a_height_is_no_taller_than_its_rows():
    # 420 pixels hold the header and 10 rows of 35 (388) but not 11 (423): fewer rows take their own
    # height, not 420 pixels with empty rows below them.
    assert ui.table_height(3, 420) == "content"
    assert ui.table_height(10, 420) == "content"
    assert ui.table_height(11, 420) == 420
    assert ui.table_height(3, "auto") == "auto"
