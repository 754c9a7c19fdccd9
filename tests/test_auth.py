"""Sign-in and roles: who sees which pages and figures, who may load, save and clear, and the audit."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from conftest import example, write_csv
from offload_metrics import config, ingest, store, ui

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
ROLES = """
[gates]
min_tasks = 40

[roles]
admin = ["ada@example.org"]
finance = ["Fin@Example.org", "finance-team"]
program = ["pat@example.org"]
executive = ["eve@example.org", "leaders"]
"""
# An [auth] section as secrets.toml would hold it; no provider is contacted until someone signs in.
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-long-random-secret-for-the-cookie",
    "client_id": "offload-metrics",
    "client_secret": "client-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
USERS = {
    "executive": {"email": "eve@example.org"},
    "program": {"email": "pat@example.org"},
    "finance": {"email": "fin@example.org"},
    "admin": {"email": "ADA@example.org"},  # as the provider spells it: the audit keeps that
}


def page(name: str) -> str:
    return f"src/offload_metrics/app_pages/{name}.py"


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory) -> Path:
    """The bundled sample loaded once; each test works on a copy."""
    path = tmp_path_factory.mktemp("sample") / "app.duckdb"
    with store.connect(path) as conn:
        for name in ui.SAMPLE_FILES:
            ingest.load_file(conn, ROOT / "sample_data" / name)
    return path


@pytest.fixture
def make_app(tmp_path, monkeypatch, sample_db):
    """An AppTest on a copy of the sample, with the roles file; signed in as `user` when given."""

    def build(user: dict | None = None, sign_in: bool = True) -> AppTest:
        shutil.copy(sample_db, tmp_path / "app.duckdb")
        (tmp_path / "offload.toml").write_text(ROLES, encoding="utf-8")
        monkeypatch.setenv("OFFLOAD_METRICS_DB", str(tmp_path / "app.duckdb"))
        monkeypatch.setenv("OFFLOAD_METRICS_CONFIG", str(tmp_path / "offload.toml"))
        monkeypatch.setenv("OFFLOAD_METRICS_SAMPLE", "off")
        st.cache_data.clear()
        st.cache_resource.clear()
        app = AppTest.from_file(APP, default_timeout=180)
        if sign_in:
            app.secrets["auth"] = AUTH
            app.user = {"is_logged_in": user is not None, **(user or {})}
        return app

    yield build
    st.cache_data.clear()
    st.cache_resource.clear()


def audit_rows(tmp_path: Path) -> list[tuple]:
    st.cache_resource.clear()  # the app's read-only hold on the file
    with store.connect(tmp_path / "app.duckdb", read_only=True) as conn:
        return conn.execute("select who, action, detail from audit order by recorded_at, rowid").fetchall()


def shown_text(app: AppTest) -> str:
    parts = [element.value for element in app.markdown] + [metric.value for metric in app.metric]
    parts += [str(frame.value.to_dict()) for frame in [*app.dataframe, *app.table]]
    return " ".join(str(part) for part in parts)


def test_roles_come_from_emails_in_any_case_or_groups_and_the_highest_wins():
    roles = config.parse_roles({"admin": ["ada@example.org"], "finance": ["fin@example.org", "finance-team"]})
    assert roles.role_of("ADA@Example.org") == "admin"
    assert roles.role_of("someone@example.org", ["finance-team"]) == "finance"
    assert roles.role_of("fin@example.org", ["finance-team"]) == "finance"
    assert roles.role_of("someone@example.org", ["Finance-Team"]) == "executive"  # groups match exactly
    assert roles.role_of(None) == "executive"
    closed = config.parse_roles({"default_role": "none", "program": ["pat@example.org"]})
    assert closed.role_of("someone@example.org") is None
    assert closed.role_of("pat@example.org") == "program"


def test_a_bad_roles_table_names_the_key(tmp_path):
    path = tmp_path / "offload.toml"
    path.write_text('[roles]\nadmin = "ada@example.org"\ndefault_role = "boss"\n', encoding="utf-8")
    with pytest.raises(config.SettingsError) as raised:
        config.load_roles(path)
    assert "roles.admin: Input should be a valid list" in str(raised.value)
    assert "roles.default_role: Input should be 'executive', 'program', 'finance', 'admin' or 'none'" in str(
        raised.value
    )
    # The metrics' settings and the roles share the file without getting in each other's way.
    path.write_text(ROLES, encoding="utf-8")
    assert config.load_settings(path).gates.min_tasks == 40
    assert config.load_roles(path).admin == ["ada@example.org"]


def test_without_sign_in_configured_one_local_user_can_do_everything_and_is_told(make_app):
    app = make_app(sign_in=False)
    app.run()
    assert not app.exception, [error.value for error in app.exception]
    assert any("Single local user" in caption.value for caption in app.sidebar.caption)
    assert {"Net savings", "Reinvestment pool"} <= {metric.label for metric in app.metric}
    app.switch_page(page("finance")).run()
    assert not app.exception
    app.switch_page(page("data")).run()
    assert app.get("file_uploader")
    assert [button for button in app.button if button.key == "clear_database"]
    assert any(button.label.startswith("Apply and save") for button in app.button)


def test_a_visitor_who_is_not_signed_in_sees_only_the_sign_in_button(make_app):
    app = make_app(user=None)
    app.run()
    assert not app.exception, [error.value for error in app.exception]
    assert [button.key for button in app.button] == ["sign_in"]
    assert not app.metric and not app.dataframe and not app.get("vega_lite_chart")


@pytest.mark.parametrize("role", list(USERS))
def test_each_role_sees_its_pages_and_figures(make_app, role):
    money = role in ("finance", "admin")
    admin = role == "admin"
    app = make_app(USERS[role])
    app.run()
    assert not app.exception, [error.value for error in app.exception]
    assert any(f"({role})" in caption.value for caption in app.sidebar.caption)
    labels = {metric.label for metric in app.metric}
    assert ({"Net savings", "Reinvestment pool"} <= labels) is money
    assert "Hours saved" in labels
    assert ("$" in shown_text(app)) is money

    app.switch_page(page("fleet")).run()
    assert not app.exception
    assert ("Agent cost" in {metric.label for metric in app.metric}) is money
    assert ("Cost" in str(app.get("button_group")[0].proto.options)) is money
    charts = " ".join(str(chart.proto) for chart in app.get("vega_lite_chart"))
    assert ("agent_cost_usd" in charts) is money  # a chart's data reaches the browser whole
    functions = next(frame.value for frame in app.dataframe if "api_calls" in frame.value.columns)
    assert ("agent_cost_usd" in functions.columns) is money
    assert ("$" in shown_text(app)) is money

    if money:
        app.switch_page(page("finance")).run()
        assert not app.exception
        assert "Agent cost" in {metric.label for metric in app.metric}
    else:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            app.switch_page(page("finance"))

    app.switch_page(page("data")).run()
    assert not app.exception, [error.value for error in app.exception]
    assert bool(app.get("file_uploader")) is admin
    assert bool([button for button in app.button if button.key == "clear_database"]) is admin
    submit = [button.label for button in app.button]
    assert "Apply for this session" in submit
    assert any(label.startswith("Apply and save") for label in submit) is admin
    assert (
        bool([field for field in app.number_input if field.key == "s_finance.default_hourly_cost_usd"])
        is money
    )
    settings_keys = {widget.key for kind in ("text_input", "text_area") for widget in app.get(kind)}
    assert ("s_telemetry.prices" in settings_keys) is money  # dollars per million tokens
    assert ("s_alerts.webhook_url" in settings_keys) is admin  # a web address (with its secret)
    assert ("s_mapping.file" in settings_keys) is admin  # a path on the server
    assert [frame for frame in app.dataframe if "reason" in frame.value.columns or frame.value.empty]


def test_a_user_in_a_group_gets_the_groups_role(make_app):
    app = make_app({"email": "someone@example.org", "groups": ["finance-team", "staff"]})
    app.run()
    assert any("(finance)" in caption.value for caption in app.sidebar.caption)
    assert "Net savings" in {metric.label for metric in app.metric}


def test_a_user_no_entry_names_gets_the_default_role(make_app):
    app = make_app({"email": "visitor@example.org"})
    app.run()
    # The address is the provider's text, shown as typed (escaped Markdown).
    assert "Signed in as visitor\\@example\\.org (executive)." in [
        caption.value for caption in app.sidebar.caption
    ]
    assert "Net savings" not in {metric.label for metric in app.metric}


def test_with_no_default_role_an_unlisted_user_sees_nothing(make_app, tmp_path):
    app = make_app({"email": "visitor@example.org"})
    (tmp_path / "offload.toml").write_text(ROLES + 'default_role = "none"\n', encoding="utf-8")
    app.run()
    assert not app.exception
    assert any("no role" in warning.value for warning in app.warning)
    assert not app.metric and not app.dataframe


def test_a_roles_table_that_cannot_be_read_gives_no_one_a_role_and_says_why(make_app, tmp_path):
    app = make_app(USERS["admin"])
    (tmp_path / "offload.toml").write_text('[roles]\nadmin = "ada@example.org"\n', encoding="utf-8")
    app.run()
    assert not app.exception
    assert [error.value for error in app.error] == [
        "Roles cannot be given until the settings file is fixed. "
        f"{tmp_path / 'offload.toml'}: invalid settings\n"
        "  roles.admin: Input should be a valid list (got 'ada@example.org')"
    ]
    assert not app.metric and not app.dataframe


def test_a_session_change_stays_in_the_session_and_only_an_admin_saves_it(make_app, tmp_path):
    app = make_app(USERS["program"])
    app.run()
    app.switch_page(page("data")).run()
    app.text_input(key="s_gates.min_accuracy").set_value("0.5")
    app.button(key="FormSubmitter:settings_form-Apply for this session").click().run()
    assert not app.exception
    assert app.session_state["settings"].gates.min_accuracy == 0.5
    assert config.load_settings(tmp_path / "offload.toml").gates.min_accuracy == 0.8
    assert audit_rows(tmp_path) == []

    app = make_app(USERS["admin"])
    app.run()
    app.switch_page(page("data")).run()
    app.text_input(key="s_gates.min_accuracy").set_value("0.5")
    app.button(key="FormSubmitter:settings_form-Apply and save to offload.toml").click().run()
    assert not app.exception, [error.value for error in app.exception]
    saved = tomllib.loads((tmp_path / "offload.toml").read_text(encoding="utf-8"))
    assert saved["gates"]["min_accuracy"] == 0.5
    assert saved["gates"]["min_tasks"] == 40
    assert saved["roles"]["admin"] == ["ada@example.org"]  # the roles survive a save from the page
    [audit] = [table.value for table in app.table]
    assert audit[["Who", "Action"]].values.tolist() == [
        ["ADA\\@example\\.org", "save settings"]
    ]  # Markdown escaped
    assert audit_rows(tmp_path) == [
        ("ADA@example.org", "save settings", f"{tmp_path / 'offload.toml'}: gates.min_accuracy: 0.8 -> 0.5")
    ]


def test_loads_and_clears_are_audited_and_the_audit_outlives_a_clear(make_app, tmp_path):
    app = make_app(USERS["admin"])
    app.run()
    app.switch_page(page("data")).run()
    content = write_csv(tmp_path / "mine.csv", [example("agents", agent_id="mine")]).read_bytes()
    app.file_uploader(key="upload_files").upload("mine.csv", content, "text/csv")
    app.button(key="FormSubmitter:upload_form-Load").click().run()
    app.checkbox(key="clear_confirm").check().run()
    app.button(key="clear_database").click().run()
    assert not app.exception, [error.value for error in app.exception]
    assert audit_rows(tmp_path) == [
        (
            "ADA@example.org",
            "load",
            "mine.csv: the agent catalog, 1 row read: 1 accepted, 0 duplicate, 0 conflicting, 0 rejected",
        ),
        ("ADA@example.org", "clear", "cleared app.duckdb"),
    ]


def clear_from_a_script():
    from offload_metrics import ui

    ui.clear_database()


def load_from_a_script():
    from pathlib import Path

    from offload_metrics import ui

    ui.load_files([Path(__import__("os").environ["UPLOAD"])], print)


@pytest.mark.parametrize("role", ["executive", "program", "finance"])
def test_loading_and_clearing_are_refused_below_admin_even_when_called(make_app, tmp_path, monkeypatch, role):
    make_app(USERS[role])  # the environment and the database copy
    monkeypatch.setenv("UPLOAD", str(write_csv(tmp_path / "x.csv", [example("agents", agent_id="x")])))
    for script in (clear_from_a_script, load_from_a_script):
        app = AppTest.from_function(script, default_timeout=60)
        app.secrets["auth"] = AUTH
        app.user = {"is_logged_in": True, **USERS[role]}
        app.run()
        assert not app.exception, [error.value for error in app.exception]
        assert [warning.value for warning in app.warning] == [
            f"Your role does not allow you to {'clear the database' if script is clear_from_a_script else 'load files'}."
        ]
    st.cache_resource.clear()
    with store.connect(tmp_path / "app.duckdb", read_only=True) as conn:
        assert conn.execute("select count(*) from agents where agent_id = 'x'").fetchone() == (0,)
        # one load per sample file (the copy), none from the refused calls
        assert conn.execute("select count(*) from loads").fetchone() == (len(ui.SAMPLE_FILES),)
        assert conn.execute("select count(*) from audit").fetchone() == (0,)
