"""The benchmark cannot rot: it runs here at a small size, and its page queries match the pages."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import run as benchmark  # noqa: E402

from offload_metrics import metrics  # noqa: E402

PAGES = ROOT / "src" / "offload_metrics" / "app_pages"
# Calls a page makes with a name chosen at run time: the benchmark measures their default.
DEFAULTS = {
    "net_output": {("metrics.net_output", ("function",))},
    # The look-ahead blocks (outlook.py) a page draws with one call each.
    "overview": {("forecast.forecast_summary", ()), ("alerts.alert_list", ()), ("wins.win_list", ())},
    "adoption": {("forecast.forecast_summary", ())},
    "replication": {
        ("metrics.replication_summary", ("seeding_strategy",)),
        ("metrics.replication_summary", ("source",)),
    },
}


def _value(node: ast.expr) -> object:
    """A literal, or a name the page reads from metrics (by=metrics.TEAMS)."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "metrics":
        return getattr(metrics, node.attr)
    return ast.literal_eval(node)


def literal_calls(page: str) -> set[tuple[str, tuple[str, ...]]]:
    """The ui.get(module.function, by=(...)) calls written in a page, with literal arguments, as
    ("module.function", by)."""
    calls = set()
    for node in ast.walk(ast.parse((PAGES / f"{page}.py").read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "ui"
            and node.args
            and isinstance(node.args[0], ast.Attribute)
            and isinstance(node.args[0].value, ast.Name)
        ):
            by = next((_value(keyword.value) for keyword in node.keywords if keyword.arg == "by"), ())
            calls.add((f"{node.args[0].value.id}.{node.args[0].attr}", tuple(by)))
    return calls


@pytest.mark.parametrize("page", list(benchmark.PAGE_QUERIES))
def test_the_benchmark_runs_each_pages_queries(page):
    assert set(benchmark.PAGE_QUERIES[page]) == literal_calls(page) | DEFAULTS.get(page, set())


def test_every_page_with_metrics_is_benchmarked():
    pages = {path.stem for path in PAGES.glob("*.py")} - {"data"}
    assert set(benchmark.PAGE_QUERIES) == pages


def test_the_benchmark_runs_end_to_end_at_a_small_size(tmp_path):
    out = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--sizes", "20000", "--repeat", "1",
         "--data", str(tmp_path / "data"), "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    text = out.read_text(encoding="utf-8")
    for figure in ("ingest CSV (s)", "ingest PARQUET (s)", "ingest CSV, sample's sorted ids (s)",
                   "daily load of 100k into the store (s)", "full report vs pandas (s)", "full report memory (MB)",
                   "page overview queries", "page finance queries", "load all five files (s)"):  # fmt: skip
        assert f"| 20,000 | {figure}" in text
    assert "Machine: " in text and "duckdb " in text
