"""The report: SPEC's JSON shape, totals that add up, and its CSV, Excel and Markdown forms."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
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
from offload_metrics import export, metrics, report, summary
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


def test_money_that_rounds_to_zero_is_zero_not_minus_zero(data, tmp_path):
    conn = data.usage("2025-03-01", "a", cost="0.004").load()
    built = report.build(conn, metrics.Filters(), Settings())
    # Net savings: 0 labor value - 0.004 cost rounds half up to 0.00, a zero without a sign.
    net = built["org"]["net_savings_usd"]
    assert (net, math.copysign(1, net)) == (0.0, 1.0)
    assert '"net_savings_usd": -0.0' not in json.dumps(built)
    shown = export.finance_tables(conn, metrics.Filters(), Settings())["by function"]
    assert [str(value) for value in shown["net_savings_usd"]] == ["0.00"]
    # The Markdown before any validated agent says so, without dashes for months.
    assert "- Trajectory: none yet, as no agent has been validated." in summary.markdown(built)


def test_an_empty_database_gives_zeros_and_nulls(conn):
    built = report.build(conn, metrics.Filters(as_of=dt.date(2025, 6, 30)), Settings())
    jsonschema.validate(built, SCHEMA)
    assert built["as_of"] == "2025-06-30"
    org = dict(built["org"])
    assert (org.pop("roi"), org.pop("previous")["has_data"]) == (None, False)
    assert org == {
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


def test_csv_tables_are_written_all_or_none(data, tmp_path):
    """A table that cannot be written leaves the folder as it was: it had mixed one report's tables
    with an earlier one's (here teams.csv cannot be written as a folder stands in its way; then a
    folder stands where teams.csv belongs)."""
    conn = rich(data).load()
    out = tmp_path / "out"
    report.write_csv(report.build(conn, metrics.Filters(), Settings()), out)
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    marketing = report.build(conn, metrics.Filters(functions=("Marketing",)), Settings())
    (out / ".teams.csv.partial").mkdir()
    with pytest.raises(IsADirectoryError):
        report.write_csv(marketing, out)
    assert {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()} == before
    (out / ".teams.csv.partial").rmdir()
    (out / "teams.csv").unlink()
    (out / "teams.csv").mkdir()
    with pytest.raises(IsADirectoryError, match="a folder is where the table belongs"):
        report.write_csv(marketing, out)
    del before["teams.csv"]
    assert {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()} == before
    assert [path.name for path in out.iterdir() if path.name.startswith(".")] == []


def test_the_report_command_names_a_place_it_cannot_write_without_a_traceback(data, db_path, tmp_path):
    data.usage("2025-03-02", "a", cost="5")
    data.load().close()
    (tmp_path / "a_file").write_text("x")
    for arguments in (
        ["--format", "json", "--out", str(tmp_path / "missing" / "r.json")],
        ["--format", "json", "--out", str(tmp_path)],
        ["--format", "csv", "--out", str(tmp_path / "a_file")],
        ["--format", "xlsx", "--out", str(tmp_path / "missing" / "r.xlsx")],
    ):
        result = subprocess.run(
            [CLI, "report", "--db", str(db_path), *arguments], capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 2, (arguments, result.stderr)
        said = " ".join((result.stdout + result.stderr).split())
        assert "The report could not be written to" in said and "Traceback" not in said, said
    # "-" is standard output, as the help says.
    result = subprocess.run(
        [CLI, "report", "--db", str(db_path), "--format", "json", "--out", "-"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0 and json.loads(result.stdout)["functions"]
    assert not (tmp_path / "-").exists()


def test_csv_values_are_the_jsons_ranks_integers_booleans_true_false(data, tmp_path):
    built = report.build(rich(data).load(), metrics.Filters(), Settings())
    report.write_csv(built, tmp_path / "out")

    def read(name: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO((tmp_path / "out" / f"{name}.csv").read_text())))

    functions = {row["function"]: row for row in read("functions")}
    for row in built["functions"]:
        shown = functions[row["function"]]
        for key in ("cascade_rank", "tasks", "validated_agents", "labor_value_usd", "offloaded_share", "roi"):
            assert shown[key] == ("" if row[key] is None else str(row[key])), key
    assert functions["Finance"]["cascade_rank"] == ""
    assert {row["validated_net_output"] for row in read("teams")} <= {"true", "false"}
    [org] = read("org")
    assert org["at_scale"] in ("true", "false") and org["functions_at_scale"] == str(
        built["org"]["functions_at_scale"]
    )
    assert org["previous_has_data"] == "false"


def test_dashboard_exports_have_readable_headers_months_and_what_they_cover():
    from decimal import Decimal

    import pandas as pd

    from offload_metrics import export

    frame = pd.DataFrame(
        {"function": ["Marketing"], "month": [dt.date(2025, 3, 1)], "labor_value_usd": [Decimal("1234.57")],
         "roi": [98.7349]}, dtype=object,
    )  # fmt: skip
    about = [("As of", "2025-06-30"), ("Range", "2025-01 to 2025-06"), ("Functions", "All")]
    text = export.csv_bytes(frame, about, for_people=True).decode()
    assert text.splitlines() == [
        "# As of: 2025-06-30",
        "# Range: 2025-01 to 2025-06",
        "# Functions: All",
        "Function,Month (YYYY-MM),Labor value of hours saved (USD),ROI (x: net savings per USD of agent cost)",
        "Marketing,2025-03,1234.57,98.73",
    ]
    book = openpyxl.load_workbook(
        io.BytesIO(export.excel_bytes({"by month": frame}, about_lines=about, for_people=True))
    )
    assert book.sheetnames == ["About", "by month"]
    assert [[cell.value for cell in row] for row in book["About"].iter_rows(min_row=2)] == [
        list(line) for line in about
    ]
    sheet = book["by month"]
    assert [cell.value for cell in sheet[1]][:2] == ["Function", "Month (YYYY-MM)"]
    assert (sheet["B2"].value, sheet["C2"].number_format, sheet["D2"].value, sheet["D2"].number_format) == (
        "2025-03", "$#,##0.00", 98.73, '0.0"x"',
    )  # fmt: skip


def test_every_column_of_the_finance_pages_downloads_has_a_written_header(data):
    conn = data.usage("2025-03-01", "a", cost="1.25").load()
    tables = export.finance_tables(conn, metrics.Filters(), Settings())
    unwritten = {
        name: [c for c in frame.columns if c not in export.HEADERS] for name, frame in tables.items()
    }
    assert unwritten == {"by function": [], "by month": [], "by function and month": []}
    assert export.readable(tables["by month"]).columns[
        list(tables["by month"].columns).index("vendor_cost_usd")
    ] == ("Agent cost on vendor bills (USD)")


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
    text = summary.markdown(report.build(conn, metrics.Filters(), Settings()))
    assert text.startswith("# Offloading report as of 2025-03-28")
    for heading in ("## Where the organisation stands", "## Functions by phase", "## Teams with validated Net Output",
                    "## Cull list", "## Replication backlog", "## Savings and the reinvestment pool"):  # fmt: skip
        assert heading in text
    assert "| bad | Marketing | 0.0% | 0.0% | 60 |" in text
    # As of 2025-03-28 the Deals agent has waited 82 days since 2025-01-05.
    assert "| Deals-agent | Sales Operations | 2025-01-05 | 82 |" in text
    assert "- Reinvestment pool: **$" in text


def test_a_filtered_summary_says_whose_figures_it_gives(data):
    conn = rich(data).load()
    whole = summary.markdown(report.build(conn, metrics.Filters(), Settings()))
    assert "Only " not in whole
    narrowed = report.build(
        conn, metrics.Filters(functions=("Marketing",), business_units=("Consumer", "Sales")), Settings()
    )
    assert (
        "Only function Marketing and business units Consumer, Sales: every figure below is theirs, not the "
        "whole organisation's." in summary.markdown(narrowed)
    )


def test_a_filtered_seed_list_ranks_within_the_selection_and_keeps_the_organisations_rank(data):
    # Three teams of 10 people, 800 routine hours a month each (pain 0.5), in an even triangle of ties
    # (centrality index 2/3), at the default stated appetites and weights: seed scores Campaigns
    # 0.4 x 2/3 + 0.3 x 0.9 + 0.15 = 0.69, Payables ... + 0.3 x 0.3 ... = 0.51, Contracts ... + 0.3 x 0.2 ... = 0.48.
    teams = (("Campaigns", "Marketing"), ("Payables", "Finance"), ("Contracts", "Legal"))
    for team, function in teams:
        data.baseline(team, 10, 800, function=function, bu="Central")
    pairs = ((teams[0], teams[1]), (teams[1], teams[2]), (teams[0], teams[2]))
    for (a, a_function), (b, b_function) in pairs:
        data.rows["collaboration"].append(
            {"period_start": "2025-03-01", "period_end": "2025-03-28", "source_function": a_function,
             "source_business_unit": "Central", "source_team": a, "target_function": b_function,
             "target_business_unit": "Central", "target_team": b, "collaboration_hours": 10}
        )  # fmt: skip
    conn = data.load()
    whole = report.build(conn, metrics.Filters(), Settings())
    assert [(row["team"], row["seed_rank"], row["selection_rank"]) for row in whole["where_to_seed"]] == [
        ("Campaigns", 1, 1), ("Payables", 2, 2), ("Contracts", 3, 3),
    ]  # fmt: skip
    assert "| 1 | Campaigns | Central | 0.69 |" in summary.markdown(whole)
    narrowed = report.build(conn, metrics.Filters(functions=("Finance", "Legal")), Settings())
    jsonschema.validate(narrowed, SCHEMA)
    # seed_rank keeps the organisation's rank (a published key); selection_rank runs 1, 2 among the two.
    assert [(row["team"], row["seed_rank"], row["selection_rank"], row["seed_score"])
            for row in narrowed["where_to_seed"]] == [
        ("Payables", 2, 1, pytest.approx(0.4 * 2 / 3 + 0.09 + 0.15)),
        ("Contracts", 3, 2, pytest.approx(0.4 * 2 / 3 + 0.06 + 0.15)),
    ]  # fmt: skip
    text = summary.markdown(narrowed)
    assert "| 1 | Payables | Central | 0.51 |" in text and "| 2 | Contracts | Central | 0.48 |" in text
    assert "Ranked among the teams of this selection" in text
    assert "the whole organisation's collaboration network" in text
    assert "Ranked among the teams of this selection" not in summary.markdown(whole)


def test_an_empty_selection_makes_no_all_is_well_claims(conn):
    # An empty database said "Every validated agent has been replicated." and "No team is left to seed".
    text = summary.markdown(report.build(conn, metrics.Filters(), Settings()))
    for claim in (
        "Every validated agent has been replicated.",
        "No team is left to seed",
        "No agent fails the gate.",
    ):
        assert claim not in text
    for said in (
        "No agent ran tasks in this selection.",
        "No agent has been validated in this selection.",
        "No team is in this selection.",
    ):
        assert said in text


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


def test_the_report_withholds_the_webhook_address_its_readers_should_not_see(conn):
    # A Slack webhook's path is its secret: the report goes to finance and executives.
    secret = "https://hooks.slack.com/services/T000/B000/SECRETTOKEN"
    built = report.build(
        conn, metrics.Filters(), Settings.model_validate({"alerts": {"webhook_url": secret}})
    )
    assert built["settings"]["alerts"]["webhook_url"] == "(set; shown to admins only)"
    assert secret not in json.dumps(built, default=str)
    # Not set: it says so, as before.
    assert report.build(conn, metrics.Filters(), Settings())["settings"]["alerts"]["webhook_url"] == ""


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


def test_the_previous_period_is_the_same_number_of_whole_months_just_before_from():
    quarter = metrics.Filters(
        as_of=dt.date(2025, 6, 15), date_from=dt.date(2025, 4, 1), date_to=dt.date(2025, 6, 15),
        functions=("Marketing",), business_units=("Consumer",), history_from=dt.date(2024, 1, 1),
    )  # fmt: skip
    assert metrics.previous_period(quarter) == metrics.Filters(
        as_of=dt.date(2025, 3, 31), date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 3, 31),
        functions=("Marketing",), business_units=("Consumer",), history_from=dt.date(2024, 1, 1),
    )  # fmt: skip
    across_a_year = metrics.Filters(
        as_of=dt.date(2025, 2, 28), date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 2, 28),
        history_from=dt.date(2025, 1, 1),
    )  # fmt: skip
    previous = metrics.previous_period(across_a_year)
    assert (previous.date_from, previous.date_to, previous.history_from) == (
        dt.date(2024, 11, 1), dt.date(2024, 12, 31), dt.date(2024, 11, 1),
    )  # fmt: skip
    with pytest.raises(ValueError):
        metrics.previous_period(metrics.Filters())


def test_the_report_compares_with_the_previous_period(data):
    conn = rich(data).load()
    march = report.build(
        conn, metrics.Filters(date_from=dt.date(2025, 3, 1), date_to=dt.date(2025, 3, 31)), Settings()
    )
    jsonschema.validate(march, SCHEMA)
    previous = march["org"]["previous"]
    # February: two teams each saved 90 tasks x (40 - 8) minutes = 48 h at $55.50 an hour, and ran
    # 30 tasks at $3.33.
    assert (previous["from"], previous["to"], previous["months"], previous["has_data"]) == (
        "2025-02-01", "2025-02-28", 1, True,
    )  # fmt: skip
    assert previous["hours_saved"] == pytest.approx(96.0)
    assert (previous["labor_value_usd"], previous["agent_cost_usd"], previous["net_savings_usd"]) == (
        5328.0, 199.8, 5128.2,
    )  # fmt: skip
    assert previous["roi"] == pytest.approx(5128.2 / 199.8)
    # The whole history has nothing before it: the comparison says so instead of showing zeros.
    everything = report.build(conn, metrics.Filters(), Settings())
    jsonschema.validate(everything, SCHEMA)
    before = everything["org"]["previous"]
    assert (before["from"], before["to"], before["has_data"]) == ("2024-10-01", "2024-12-31", False)
    assert before["hours_saved"] is None and before["net_savings_usd"] is None


def test_the_blueprint_page_has_no_duplicated_heading_and_the_summary_prints_as_html(data):
    agent = {
        "agent_id": "a1",
        "name": "Brief writer",
        "blueprint": "## Brief writer\n\n1. Connect the inbox.",
    }
    page = summary.blueprint_page(agent, dt.date(2025, 3, 31), 0.30)
    assert page.count("Brief writer") == 1
    assert "## Blueprint\n\n1. Connect the inbox." in page
    text = summary.markdown(report.build(rich(data).load(), metrics.Filters(), Settings()))
    assert "- Against the previous period (2024-10 to 2024-12): no data loaded for it" in text
    html = summary.html(text + "\n<script>alert(1)</script>\n", "Report <as of>")
    assert html.startswith("<!doctype html>") and "<title>Report &lt;as of&gt;</title>" in html
    assert "<table>" in html and "<h2>Where the organisation stands</h2>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_the_markdown_summary_escapes_html_and_images_from_data(data):
    script, image, tag = (
        "<script>alert(1)</script>",
        "![x](http://127.0.0.1:9/x.png)",
        "<img src=x onerror=alert(1)>",
    )
    data.usage("2025-03-15", tag, function=script, bu=image, status="failed", review="incorrect", count=60)
    text = summary.markdown(report.build(data.load(), metrics.Filters(), Settings()))
    assert (
        "| &lt;img src=x onerror=alert(1)&gt; | &lt;script&gt;alert(1)&lt;/script&gt; | 0.0% | 0.0% | 60 |"
        in text
    )
    assert "<script" not in text and "<img" not in text and "![" not in text


def test_names_in_the_markdown_summary_open_no_row_heading_or_link(data):
    # A carriage return ended the table row (a fake row followed), a leading "# " made a heading in a
    # list item, and [text](url) a live link in the summary and its printable HTML.
    data.usage(
        "2025-03-15",
        "# Owned",
        function="Fx | INJECTED | ROW |",
        status="failed",
        review="incorrect",
        count=60,
    )
    data.usage(
        "2025-03-15",
        "[click](https://evil.example/phish)",
        function="Legal",
        status="failed",
        review="incorrect",
        count=60,
    )
    text = summary.markdown(report.build(data.load(), metrics.Filters(), Settings()))
    assert "| \\# Owned | Fx \\| INJECTED \\| ROW \\| |" in text
    # A JSON Lines or Parquet file can carry a lone carriage return in a name.
    assert summary._cell("Fx\r| INJECTED |\r\r# Owned") == "Fx \\| INJECTED \\| # Owned"
    page = summary.html(text, "Summary")
    assert "<h1>Owned" not in page and 'href="https://evil.example' not in page
    assert "[click](https://evil.example/phish)" in page  # shown as typed


def test_the_blueprint_page_states_the_pilot_teams_net_output():
    agent = {"agent_id": "p1", "name": "Writer", "pilot_unit": "Consumer"}
    proved = {
        **agent,
        "pilot_team": "Brand",
        "pilot_months": 2,
        "pilot_best_uplift": 0.375,
        "pilot_best_month": dt.date(2025, 3, 1),
        "pilot_best_month_outcome": "validated",
        "pilot_validated_months": 2,
        "pilot_hours_saved": 370.0,
    }
    best = "Brand (Consumer): its best month with this agent, 2025-03, gave {} more capacity (all its agents together)"
    short = {**proved, "pilot_best_uplift": 0.34375, "pilot_validated_months": 0}
    cases = [
        (agent, "—", "The validation names no pilot team."),
        ({**agent, "pilot_team": "Quiet", "pilot_hours_saved": 0.0, "pilot_months": 0},
         "0 h", "Quiet (Consumer) documented no savings with this agent in the chosen months."),
        ({**proved, "pilot_best_uplift": None}, "370 h",
         "Brand (Consumer): its capacity in the months with this agent is unknown (no headcount)."),
        (proved, "370 h", best.format("37.5%") + "; validated Net Output in 2 months with this agent."),
        ({**short, "pilot_best_month_outcome": "grown_headcount"}, "370 h", best.format("34.4%")
         + "; not validated Net Output: that month the team had more people than its baseline headcount."),
        ({**short, "pilot_best_month_outcome": "no_baseline"}, "370 h", best.format("34.4%")
         + "; not validated Net Output: the team has no baseline headcount to hold it against."),
        ({**short, "pilot_best_uplift": 0.2, "pilot_best_month_outcome": "below_uplift"}, "370 h", best.format("20.0%")
         + "; not validated Net Output: validation needs 30% more capacity without adding people."),
    ]  # fmt: skip
    for record, hours, sentence in cases:
        page = summary.blueprint_page(record, dt.date(2025, 3, 31), 0.30)
        assert f"| Hours saved in the pilot team | {hours} |" in page
        assert f"| Pilot team's Net Output | {sentence} |" in page


def test_the_blueprint_page_escapes_html_and_images_from_data():
    agent = {
        "agent_id": "a<1>",
        "name": "<b>Brief writer</b>",
        "description": "Drafts & checks. <img src=x onerror=alert(1)>",
        "function": "<i>Marketing</i>",
        "blueprint": "1. Connect ![x](http://127.0.0.1:9/x.png)\n<script>alert(1)</script>",
    }
    page = summary.blueprint_page(agent, dt.date(2025, 3, 31), 0.30)
    assert page.startswith(
        "# &lt;b&gt;Brief writer&lt;/b&gt; (a&lt;1&gt;)\n\n"
        "Drafts &amp; checks. &lt;img src=x onerror=alert(1)&gt;\n\n"
        "| | |\n|---|---|\n| Function | &lt;i&gt;Marketing&lt;/i&gt; |\n"
    )
    assert page.endswith(
        "## Blueprint\n\n1. Connect !\\[x](http://127.0.0.1:9/x.png)\n&lt;script&gt;alert(1)&lt;/script&gt;\n"
    )


def test_each_column_of_the_functions_table_comes_from_one_result_that_has_it(data):
    sources = report.FUNCTION_SOURCES
    named = [column for columns in sources.values() for column in columns]
    assert sorted(named) == sorted(set(named))  # no column from two results
    assert ["function", *sorted(named)] == ["function", *sorted(report.FUNCTION_COLUMNS[1:])]
    results = report.function_results(rich(data).load(), metrics.Filters().resolve(data.conn), Settings())
    assert {source: set(columns) - set(results[source].columns) for source, columns in sources.items()} == {
        source: set() for source in sources
    }


LEGAL_ROW = {
    # Usage only: a completed task (150 tokens, $1.005) and an escalated one (10 tokens, $2).
    "function": "Legal", "tasks": 2, "api_calls": 3, "tokens": 160, "agent_cost_usd": 3.01, "active_agents": 1,
    "escalation_rate": 0.5, "failure_rate": 0.0, "automation_rate": 0.5, "estimated_agent_cost_usd": 0.0,
    # No time saved, replication or savings estimate: counts and money 0, shares and ranks undefined.
    "delegated_hours": 0.0, "hours_saved": 0.0, "net_output_uplift": None, "validated_teams": 0,
    "offloaded_share": None, "phase": None, "crossed_on": None, "cascade_rank": None,
    "validated_agents": 0, "replicated_agents": 0, "median_replication_days": None,
    "km_median_replication_days": None, "labor_value_usd": 0.0,
    # $0 - $3.005 = -$3.005, half away from zero; ROI -3.005 / 3.005.
    "net_savings_usd": -3.01, "reinvestment_pool_usd": 0.0, "roi": -1.0,
    "usage_cost_usd": 3.01, "vendor_cost_usd": 0.0, "estimated_hours_saved": None, "estimated_labor_value_usd": None,
    # Neither task is in a documented team-month.
    "documented_task_share": 0.0, "documented_cost_share": 0.0, "estimated_task_share": 0.0,
}  # fmt: skip


def test_a_function_with_usage_only_takes_zeros_where_other_results_have_no_row(data):
    data.usage("2025-03-10", "L1", function="Legal", bu="Counsel", team="Contracts", api_calls=2, input_tokens=100,
               output_tokens=50, cost="1.005")  # fmt: skip
    data.usage("2025-03-11", "L1", function="Legal", bu="Counsel", team="Contracts", status="escalated",
               api_calls=1, input_tokens=10, cost="2")  # fmt: skip
    conn = rich(data).load()
    built = report.build(conn, metrics.Filters(), Settings())
    assert next(row for row in built["functions"] if row["function"] == "Legal") == LEGAL_ROW
    # On vendor bills the agent cost is finance's (no bill: $0); the usage log's cost stays beside it.
    vendor = report.build(
        conn, metrics.Filters(), Settings.model_validate({"finance": {"cost_source": "vendor"}})
    )
    assert next(row for row in vendor["functions"] if row["function"] == "Legal") == {
        **LEGAL_ROW, "agent_cost_usd": 0.0, "net_savings_usd": 0.0, "roi": None,
    }  # fmt: skip


def test_every_kind_of_column_converts_to_its_json_value():
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(
        {
            "tasks": np.array([3, 4], dtype="int64"),
            "waiting_days": pd.array([5, None], dtype="Int64"),
            "accuracy": [0.5, np.nan],
            "net_output_uplift": [np.inf, 0.25],
            "cascade_rank": [1.0, np.nan],
            "reviewed": [True, False],
            "is_tied": [True, False],
            "agent_cost_usd": [1.005, np.nan],
            "month": pd.to_datetime(["2025-03-01", None]),
            "validated_on": pd.to_datetime(["2025-03-04", None]),
            "team": pd.array(["A", None], dtype="str"),
            "basis": pd.Series(["preset", None], dtype=object),
        }
    )
    keys = (
        "tasks", "days_waiting", "accuracy", "net_output_uplift", "cascade_rank", "reviewed", "tied",
        "agent_cost_usd", "month", "validated_on", "team", "basis", "not_in_the_result",
    )  # fmt: skip
    # Integers stay integers (a float rank becomes 1, not 1.0), NaN, NaT, NA and infinity become null,
    # money is rounded half up to cents, a boolean counted as an integer becomes 1 or 0, booleans stay
    # booleans, internal names take the report's (waiting_days, is_tied), a missing column is null.
    expected = [
        {
            "tasks": 3, "days_waiting": 5, "accuracy": 0.5, "net_output_uplift": None, "cascade_rank": 1,
            "reviewed": 1, "tied": True, "agent_cost_usd": 1.01, "month": "2025-03", "validated_on": "2025-03-04",
            "team": "A", "basis": "preset", "not_in_the_result": None,
        },
        {
            "tasks": 4, "days_waiting": None, "accuracy": None, "net_output_uplift": 0.25, "cascade_rank": None,
            "reviewed": 0, "tied": False, "agent_cost_usd": None, "month": None, "validated_on": None,
            "team": None, "basis": None, "not_in_the_result": None,
        },
    ]  # fmt: skip
    converted = report._records(frame, keys)
    # Compared as JSON text, so that 1 and 1.0 or 1 and True differ.
    assert json.dumps(converted) == json.dumps(expected)
    assert report._records(frame.iloc[:0], keys) == []


def test_the_summary_says_a_share_at_as_of_changed_since_the_previous_periods_last_month():
    """The offloaded share is at as_of; hours and money are totals over the range. With last quarter
    chosen three months before as_of, the share's change spans six months and must say from when."""
    org = {
        "offloaded_share": 0.459,
        "hours_saved": 26_028.8,
        "net_output_uplift": None,
        "previous": {
            "from": dt.date(2025, 4, 1),
            "to": dt.date(2025, 6, 30),
            "has_data": True,
            "offloaded_share": 0.211,
            "hours_saved": 13_440.8,
            "net_output_uplift": None,
        },
    }

    [line] = summary._previous_lines(org)

    assert line == (
        "- Against the previous period (2025-04 to 2025-06): Offloaded share +24.8 pp since 2025-06; "
        "Hours saved +12,588 h; Net Output uplift —."
    )


def test_the_summary_names_no_last_function_while_some_have_no_forecast():
    def report_with(has_forecast: list[bool], reason: str = "too_few_months") -> dict:
        functions = [
            {"function": name, "has_forecast": has, "reason": None if has else reason}
            for name, has in zip(("HR", "Marketing"), has_forecast, strict=True)
        ]
        org = {"status": "none", "reason": "fewer than 2 functions have a forecast", "last_function": "Marketing",
               "last_function_month": "2026-03"}  # fmt: skip
        return {"forecast": {"org": org, "functions": functions}, "wins": []}

    early = "\n".join(summary.outlook_markdown(report_with([False, True])))
    later = "\n".join(summary.outlook_markdown(report_with([True, True])))
    # A function without a baseline will not get a forecast by waiting: the others' last is named.
    never = "\n".join(summary.outlook_markdown(report_with([False, True], reason="no_baseline")))

    assert (
        "- Which function reaches scale last cannot be told yet: 1 of 2 functions have no forecast." in early
    )
    assert "Marketing" not in early
    assert "- Projected to reach scale last: **Marketing** (2026-03)." in later
    assert "- Projected to reach scale last: **Marketing** (2026-03)." in never


def test_the_summary_says_a_function_reached_scale_when_its_month_is_seen_not_projected():
    def report_with(observed: bool) -> dict:
        scale = {"milestone": "scale", "share": 0.4, "month": "2025-07", "observed": observed}
        functions = [{"function": "Marketing", "has_forecast": True, "reason": None, "crossings": [scale]}]
        org = {"status": "none", "reason": "fewer than 2 functions have a forecast", "last_function": "Marketing",
               "last_function_month": "2025-07"}  # fmt: skip
        return {"forecast": {"org": org, "functions": functions}, "wins": []}

    assert "- Reached scale last: **Marketing** (2025-07)." in summary.outlook_markdown(report_with(True))
    assert "- Projected to reach scale last: **Marketing** (2025-07)." in summary.outlook_markdown(
        report_with(False)
    )


def test_the_summary_does_not_call_a_function_that_never_reaches_scale_the_last_to_reach_it():
    """As the sample's R&D: a fitted ceiling stays below the scale share, so no month is projected.
    The summary said "Projected to reach scale last: **R&D** (not within the forecast horizon)"."""
    functions = [{"function": "Legal", "has_forecast": True, "reason": None, "crossings": []}]
    org = {"status": "none", "reason": "no forecast", "last_function": "Legal", "last_function_month": None,
           "not_projected_functions": ["Legal"]}  # fmt: skip
    text = "\n".join(summary.outlook_markdown({"forecast": {"org": org, "functions": functions}, "wins": []}))
    assert "- Not projected to reach scale within the forecast horizon: **Legal**." in text
    assert "scale last" not in text
