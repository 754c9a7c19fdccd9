"""The report: SPEC's JSON shape, totals that add up, and its CSV, Excel and Markdown forms."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import openpyxl
import pytest

from conftest import Data
from offload_metrics import metrics, report
from offload_metrics.config import Settings

CLI = shutil.which("offload-metrics") or str(Path(sys.executable).with_name("offload-metrics"))
SCHEMA = json.loads(resources.files("offload_metrics").joinpath("report.schema.json").read_text())


def rich(data: Data) -> Data:
    """Two functions with usage, savings, replication, baselines and a catalog."""
    for function, bu, team in (("Marketing", "Consumer", "Brand"), ("Sales Operations", "Sales", "Deals")):
        data.baseline(team, headcount=4, routine=400, rate="55.5", function=function, bu=bu)
        data.agent(f"{team}-agent", function, name=f"{team} helper")
        for month in ("2025-01", "2025-02", "2025-03"):
            data.saved(month, team, tasks=90, baseline=40, minutes=8, function=function, bu=bu,
                       agent=f"{team}-agent")  # fmt: skip
            data.usage(f"{month}-15", f"{team}-agent", function=function, bu=bu, team=team, review="correct",
                       cost="3.33", count=30)  # fmt: skip
        data.event(f"{team}-agent", "validated", "2025-01-05", bu, function=function)
    data.event("Brand-agent", "deployed", "2025-02-10", "Sales", function="Marketing")
    data.usage("2025-03-20", "lone", function="Finance", bu="Ledger", status="failed", cost="0.125")
    return data


def test_the_report_has_specs_shape(data):
    built = report.build(rich(data).load(), metrics.Filters(), Settings())
    jsonschema.validate(built, SCHEMA)
    assert list(built)[:1] == ["as_of"]
    assert {"org", "functions", "adoption", "teams", "agents", "data_quality"} <= set(built)
    assert [row["function"] for row in built["functions"]] == ["Finance", "Marketing", "Sales Operations"]


def test_function_figures_add_up_to_the_organisation(data):
    built = report.build(rich(data).load(), metrics.Filters(), Settings())
    functions = built["functions"]
    for key in ("labor_value_usd", "agent_cost_usd", "net_savings_usd", "reinvestment_pool_usd"):
        # Each figure is rounded to cents on its own, so the sum may differ by half a cent per function.
        assert sum(row[key] for row in functions) == pytest.approx(
            built["org"][key], abs=0.005 * len(functions)
        )
    assert sum(row["hours_saved"] for row in functions) == pytest.approx(built["org"]["hours_saved"])
    assert built["org"]["agent_cost_usd"] == pytest.approx(3 * 30 * 3.33 * 2 + 0.125, abs=0.01)


def test_the_numbers_of_a_small_program(data):
    built = report.build(rich(data).load(), metrics.Filters(), Settings())
    marketing = next(row for row in built["functions"] if row["function"] == "Marketing")
    # 90 tasks x 40 / 60 = 60 delegated hours a month over 400 routine hours: 0.15, acceleration.
    # Saved 90 x 32 / 60 = 48 h a month, 144 h in all, over 3 x 4 x 160 = 1920 h of capacity.
    assert (marketing["tasks"], marketing["delegated_hours"], marketing["hours_saved"]) == (90, 180.0, 144.0)
    assert (marketing["offloaded_share"], marketing["phase"], marketing["crossed_on"]) == (
        0.15,
        "acceleration",
        "2025-01",
    )
    assert marketing["net_output_uplift"] == pytest.approx(144 / 1920)
    # 144 h x $55.50 = $7,992 of labor against 90 x $3.33 = $299.70: net $7,692.30, pool a quarter of it.
    assert (marketing["labor_value_usd"], marketing["agent_cost_usd"], marketing["net_savings_usd"]) == (
        7992.0, 299.7, 7692.3,
    )  # fmt: skip
    assert marketing["reinvestment_pool_usd"] == 1923.08  # 0.25 x 7692.30 = 1923.075, half up
    assert (marketing["validated_agents"], marketing["replicated_agents"], marketing["median_replication_days"]) == (
        1, 1, 36.0,
    )  # fmt: skip
    finance = next(row for row in built["functions"] if row["function"] == "Finance")
    assert (finance["tasks"], finance["failure_rate"], finance["offloaded_share"], finance["roi"]) == (
        1,
        1.0,
        None,
        -1.0,
    )


def test_money_rounds_half_up_to_cents(data):
    built = report.build(data.usage("2025-03-01", "a", cost="0.125").load(), metrics.Filters(), Settings())
    # As a float 0.125 would round to even, 0.12; money is exact, so half a cent rounds up.
    assert built["functions"][0]["agent_cost_usd"] == 0.13
    assert built["org"]["agent_cost_usd"] == 0.13


def test_an_empty_database_gives_zeros_and_nulls(conn):
    built = report.build(conn, metrics.Filters(as_of=dt.date(2025, 6, 30)), Settings())
    jsonschema.validate(built, SCHEMA)
    assert built["as_of"] == "2025-06-30"
    assert built["org"] == {
        "offloaded_share": None, "phase": None, "functions_at_scale": 0, "at_scale": False,
        "months_since_first_deployment": None, "time_to_scale_months": None, "trajectory": None,
        "hours_saved": 0.0, "net_output_uplift": None, "labor_value_usd": 0.0, "agent_cost_usd": 0.0,
        "net_savings_usd": 0.0, "reinvestment_pool_usd": 0.0, "first_deployment_month": None,
        "first_scale_month": None, "estimated_agent_cost_usd": 0.0,
        # Finance on vendor bills and estimates (additive keys).
        "cost_source": "usage", "usage_cost_usd": 0.0, "vendor_cost_usd": 0.0, "unassigned_vendor_cost_usd": 0.0,
        "estimated_hours_saved": None, "estimated_labor_value_usd": None, "documented_task_share": None,
        "documented_cost_share": None, "estimated_task_share": None,
    }  # fmt: skip
    assert (built["functions"], built["adoption"], built["teams"], built["agents"]) == ([], [], [], [])
    assert built["data_quality"] == {
        "rows_read": 0,
        "accepted": 0,
        "duplicate": 0,
        "conflict": 0,
        "rejected": 0,
    }


def test_filters_narrow_every_section(data):
    conn = rich(data).load()
    built = report.build(conn, metrics.Filters(functions=("Marketing",)), Settings())
    jsonschema.validate(built, SCHEMA)
    for section in ("functions", "adoption", "teams", "agents"):
        assert {row["function"] for row in built[section]} == {"Marketing"}, section
    marketing = built["functions"][0]
    assert built["org"]["labor_value_usd"] == marketing["labor_value_usd"]
    assert built["org"]["offloaded_share"] == marketing["offloaded_share"]
    march = report.build(conn, metrics.Filters(date_from=dt.date(2025, 3, 1)), Settings())
    assert {row["month"] for row in march["adoption"]} == {"2025-03"}
    assert {row["month"] for row in march["teams"]} == {"2025-03"}
    assert next(row for row in march["functions"] if row["function"] == "Marketing")["tasks"] == 30


def test_csv_tables_cannot_run_as_formulas(data, tmp_path):
    data.saved("2025-03", '=HYPERLINK("http://x")', tasks=6, baseline=30, minutes=30, bu="@Evil")
    data.usage("2025-03-02", "a", cost="5")
    built = report.build(data.load(), metrics.Filters(), Settings())

    report.write_csv(built, tmp_path / "out")

    teams = list(csv.DictReader(io.StringIO((tmp_path / "out" / "teams.csv").read_text())))
    assert teams[0]["team"] == '\'=HYPERLINK("http://x")'
    assert teams[0]["business_unit"] == "'@Evil"
    functions = list(csv.DictReader(io.StringIO((tmp_path / "out" / "functions.csv").read_text())))
    assert functions[0]["net_savings_usd"] == "-5.0"
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [
        "adoption.csv", "agents.csv", "data_quality.csv", "functions.csv", "grassroots_teams.csv", "network_teams.csv",
        "org.csv", "replication_spread.csv", "teams.csv", "where_to_seed.csv",
    ]  # fmt: skip


def test_excel_has_a_sheet_per_table_with_money_as_currency(data, tmp_path):
    built = report.build(rich(data).load(), metrics.Filters(), Settings())
    path = tmp_path / "report.xlsx"
    path.write_bytes(report.excel(built))
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [
        "org", "functions", "adoption", "teams", "agents", "data_quality", "network_teams", "where_to_seed",
        "grassroots_teams", "replication_spread",
    ]  # fmt: skip
    sheet = book["functions"]
    header = [cell.value for cell in sheet[1]]
    labor = sheet.cell(row=3, column=header.index("labor_value_usd") + 1)
    assert (labor.value, labor.number_format) == (7992, "$#,##0.00")
    share = sheet.cell(row=3, column=header.index("offloaded_share") + 1)
    assert share.number_format == "0.0%"


def test_markdown_is_a_one_page_summary(data):
    conn = rich(data).usage("2025-03-25", "bad", status="escalated", review="incorrect", count=60).load()
    text = report.markdown(report.build(conn, metrics.Filters(), Settings()))
    assert text.startswith("# Offloading report as of 2025-03-28")
    for heading in ("## Where the organisation stands", "## Functions by phase", "## Teams with validated Net Output",
                    "## Cull list", "## Replication backlog", "## Savings and the reinvestment pool"):  # fmt: skip
        assert heading in text
    assert "| bad | Marketing | 0.0% | 0.0% | 60 |" in text
    # As of 2025-03-28 the Deals agent has waited 82 days since 2025-01-05.
    assert "| Deals-agent | Sales Operations | 2025-01-05 | 82 |" in text
    assert "- Reinvestment pool: **$" in text


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, timeout=120
    )


def test_the_report_command_in_every_format(data, db_path, tmp_path):
    rich(data).load().close()
    as_json = run("report", "--db", str(db_path), "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    jsonschema.validate(json.loads(as_json.stdout), SCHEMA)
    narrowed = json.loads(
        run("report", "--db", str(db_path), "--as-of", "2025-02-28", "--function", "Marketing").stdout
    )
    assert (narrowed["as_of"], [row["function"] for row in narrowed["functions"]]) == (
        "2025-02-28",
        ["Marketing"],
    )
    assert (
        run("report", "--db", str(db_path), "--format", "csv", "--out", str(tmp_path / "csv")).returncode == 0
    )
    assert (tmp_path / "csv" / "functions.csv").exists()
    assert (
        run("report", "--db", str(db_path), "--format", "xlsx", "--out", str(tmp_path / "r.xlsx")).returncode
        == 0
    )
    assert openpyxl.load_workbook(tmp_path / "r.xlsx").sheetnames[0] == "org"
    assert run("report", "--db", str(db_path), "--format", "md").stdout.startswith("# Offloading report")


def test_the_report_command_explains_bad_settings_and_ranges(data, db_path, tmp_path):
    data.usage("2025-03-01", "a").load().close()
    settings = tmp_path / "bad.toml"
    settings.write_text("[gates]\nmin_accuracy = 2\n", encoding="utf-8")
    bad = run("report", "--db", str(db_path), "--config", str(settings))
    assert bad.returncode == 2
    assert "gates.min_accuracy" in bad.stderr and "Traceback" not in bad.stderr
    backwards = run("report", "--db", str(db_path), "--from", "2025-05-01", "--to", "2025-04-01")
    assert backwards.returncode == 2
    assert "is after" in backwards.stderr


def test_settings_change_the_report(data):
    conn = rich(data).load()
    strict = Settings.model_validate(
        {"finance": {"reinvestment_share": 0.5}, "adoption": {"phase_bounds": [0.1, 0.2, 0.6]}}
    )
    built = report.build(conn, metrics.Filters(), strict)
    marketing = next(row for row in built["functions"] if row["function"] == "Marketing")
    assert marketing["reinvestment_pool_usd"] == 3846.15  # 0.5 x 7692.30
    assert (marketing["phase"], marketing["crossed_on"]) == ("crossing_point", None)
    assert built["settings"]["finance"]["reinvestment_share"] == 0.5


def test_a_range_inside_months_covers_those_whole_months(data):
    conn = rich(data).load()
    inside = report.build(
        conn, metrics.Filters(date_from=dt.date(2025, 2, 14), date_to=dt.date(2025, 2, 20)), Settings()
    )
    whole = report.build(
        conn, metrics.Filters(date_from=dt.date(2025, 2, 1), date_to=dt.date(2025, 2, 28)), Settings()
    )
    assert (inside["from"], inside["to"]) == ("2025-02-01", "2025-02-28")
    assert inside["functions"] == whole["functions"]
    assert {row["month"] for row in inside["teams"]} == {"2025-02"}


def test_the_markdown_summary_escapes_html_and_images_from_data(data):
    script, image, tag = (
        "<script>alert(1)</script>",
        "![x](http://127.0.0.1:9/x.png)",
        "<img src=x onerror=alert(1)>",
    )
    data.usage("2025-03-15", tag, function=script, bu=image, status="failed", review="incorrect", count=60)
    text = report.markdown(report.build(data.load(), metrics.Filters(), Settings()))
    assert (
        "| &lt;img src=x onerror=alert(1)&gt; | &lt;script&gt;alert(1)&lt;/script&gt; | 0.0% | 0.0% | 60 |"
        in text
    )
    assert "<script" not in text and "<img" not in text and "![" not in text


def test_the_blueprint_page_escapes_html_and_images_from_data():
    agent = {
        "agent_id": "a<1>",
        "name": "<b>Brief writer</b>",
        "description": "Drafts & checks. <img src=x onerror=alert(1)>",
        "function": "<i>Marketing</i>",
        "blueprint": "1. Connect ![x](http://127.0.0.1:9/x.png)\n<script>alert(1)</script>",
    }
    page = report.blueprint_page(agent, dt.date(2025, 3, 31))
    assert page.startswith(
        "# &lt;b&gt;Brief writer&lt;/b&gt; (a&lt;1&gt;)\n\n"
        "Drafts &amp; checks. &lt;img src=x onerror=alert(1)&gt;\n\n"
        "| | |\n|---|---|\n| Function | &lt;i&gt;Marketing&lt;/i&gt; |\n"
    )
    assert page.endswith(
        "## Blueprint\n\n1. Connect !\\[x](http://127.0.0.1:9/x.png)\n&lt;script&gt;alert(1)&lt;/script&gt;\n"
    )
