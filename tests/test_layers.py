"""Which module may import which: pages and ui.py never the headless report, metrics.py never
ingest, and pages ask for metrics by reference (a typo fails at import), never by a name string."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "offload_metrics"
DASHBOARD = [*sorted(PACKAGE.glob("app_pages/*.py")), PACKAGE / "ui.py", PACKAGE / "outlook.py"]


def imported(path: Path) -> set[str]:
    """Every offload_metrics module a file imports, anywhere in it (a function's own import too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            # Within the package, `from . import x` and `from .x import y` are relative to it.
            base = ".".join(
                part for part in ("offload_metrics" if node.level else "", node.module or "") if part
            )
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in found if name == "offload_metrics" or name.startswith("offload_metrics.")}


def test_imported_sees_every_way_of_importing_a_module(tmp_path):
    source = tmp_path / "page.py"
    source.write_text(
        "from offload_metrics import display, report\n"
        "def later():\n"
        "    import offload_metrics.ingest.load\n"
        "    from offload_metrics.forecast import forecast\n"
        "    from . import wins\n",
        encoding="utf-8",
    )
    assert imported(source) == {
        "offload_metrics", "offload_metrics.display", "offload_metrics.report", "offload_metrics.ingest.load",
        "offload_metrics.forecast", "offload_metrics.forecast.forecast", "offload_metrics.wins",
    }  # fmt: skip


@pytest.mark.parametrize("path", DASHBOARD, ids=lambda path: path.name)
def test_no_page_nor_ui_imports_the_report(path):
    assert not {name for name in imported(path) if name.startswith("offload_metrics.report")}


def test_metrics_does_not_import_ingest():
    assert not {
        name for name in imported(PACKAGE / "metrics.py") if name.startswith("offload_metrics.ingest")
    }


def metric_arguments(path: Path) -> list[ast.expr]:
    """The first argument of every ui.get(...) in a file (ui.get(metric, by=...))."""
    return [
        node.args[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "ui"
        and node.args
    ]


@pytest.mark.parametrize("path", DASHBOARD, ids=lambda path: path.name)
def test_pages_ask_for_metrics_by_reference(path):
    strings = [ast.unparse(node) for node in metric_arguments(path) if isinstance(node, ast.Constant)]
    assert strings == []


def test_every_metric_a_page_names_exists():
    """ui.get(module.function): the module is one the file imports, and has the function."""
    import importlib

    asked = set()
    for path in DASHBOARD:
        for node in metric_arguments(path):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                assert f"offload_metrics.{node.value.id}" in imported(path), (path.name, node.value.id)
                asked.add((node.value.id, node.attr))
    missing = {
        f"{module}.{name}"
        for module, name in asked
        if not callable(getattr(importlib.import_module(f"offload_metrics.{module}"), name, None))
    }
    assert len(asked) > 30 and missing == set()


def _two_metrics_on_the_same_filters() -> None:
    import streamlit as st

    from offload_metrics import metrics, ui

    ui.start_on_sample()
    for name, metric in (("usage", metrics.usage), ("net_output", metrics.net_output)):
        st.session_state[name] = list(ui.get(metric, by=("organisation",)).columns)
    st.session_state["again"] = list(ui.get(metrics.usage, by=("organisation",)).columns)


def test_the_cache_keeps_each_metric_apart(tmp_path, monkeypatch):
    """Same filters, settings, grain and data: the function alone tells the cached results apart."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("OFFLOAD_METRICS_DB", str(tmp_path / "app.duckdb"))
    monkeypatch.setenv("OFFLOAD_METRICS_SAMPLE_DIR", str(PACKAGE.parents[1] / "sample_data"))
    monkeypatch.setenv("OFFLOAD_METRICS_CONFIG", str(tmp_path / "offload.toml"))
    st.cache_data.clear()
    st.cache_resource.clear()
    app = AppTest.from_function(_two_metrics_on_the_same_filters, default_timeout=180).run()
    try:
        assert not app.exception, [error.value for error in app.exception]
        assert app.session_state["usage"][:3] == ["organisation", "tasks", "api_calls"]
        assert app.session_state["net_output"][:3] == ["organisation", "delegated_hours", "hours_saved"]
        assert app.session_state["again"] == app.session_state["usage"]
    finally:
        st.cache_data.clear()
        st.cache_resource.clear()
