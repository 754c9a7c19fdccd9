"""The baselines of benchmarks/ (pandas, Polars, hand-written DuckDB SQL) compute the same numbers as
the engine, on hand-made data.

Each test builds its inputs once with the Data builder, loads them through the real ingest for the
engine, writes the same rows to the files each baseline reads (CSV; for Polars and DuckDB the usage
events as typed Parquet), and checks every baseline against the same values worked out by hand here
and against the engine.
"""

from __future__ import annotations

import datetime as dt
import decimal
import importlib.util
import numbers
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from conftest import Data, records
from offload_metrics import metrics
from offload_metrics.config import Settings

D = dt.date
SETTINGS = Settings()
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _import(name: str):
    # benchmarks/ is a folder of scripts, not a package on the path, so import the file itself.
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


pandas_baseline = _import("pandas_baseline")
polars_baseline = _import("polars_baseline")
duckdb_baseline = _import("duckdb_baseline")
realistic = _import("realistic")


def write_inputs(data: Data, folder: Path) -> tuple[Path, Path, Path]:
    """The builder's usage, time-saved and baseline rows as the CSV files the baselines read."""
    folder.mkdir()
    return (
        data.write("usage_events", folder),
        data.write("time_saved", folder),
        data.write("org_baseline", folder),
    )


def typed_parquet(usage_csv: Path) -> Path:
    """The usage CSV as the benchmark's typed Parquet (occurred_at a UTC instant, cost a decimal)."""
    parquet = usage_csv.with_suffix(".parquet")
    with duckdb.connect() as conn:
        conn.execute("SET TimeZone = 'UTC'")
        conn.execute(f"copy ({realistic.PARQUET_SQL.format(csv=usage_csv)}) to '{parquet}' (format parquet)")
    return parquet


class Pandas:
    """The pandas baseline on the builder's CSV files."""

    def __init__(self, data: Data, folder: Path) -> None:
        self.files = write_inputs(data, folder)
        self.inputs = pandas_baseline.load(*self.files)

    def usage(self, first: dt.date, last: dt.date) -> pd.DataFrame:
        return pandas_baseline.usage_by_function(self.inputs["usage"], first, last)

    def gates(self, as_of: dt.date, **thresholds) -> pd.DataFrame:
        return pandas_baseline.gates(self.inputs["usage"], as_of, **thresholds)

    def net_output(self, first: dt.date, last: dt.date) -> pd.DataFrame:
        return pandas_baseline.net_output_teams(
            self.inputs["time_saved"], self.inputs["baseline"], first, last
        )

    def report(self, **dates: dt.date) -> dict[str, pd.DataFrame]:
        return pandas_baseline.report(*self.files, **dates)


class Polars:
    """The Polars baseline on a typed Parquet copy of the usage CSV and the other CSV files."""

    def __init__(self, data: Data, folder: Path) -> None:
        usage_csv, time_saved, baseline = write_inputs(data, folder)
        self.files = (typed_parquet(usage_csv), time_saved, baseline)
        self.inputs = polars_baseline.scan(*self.files)

    def usage(self, first: dt.date, last: dt.date) -> pd.DataFrame:
        return polars_baseline.usage_by_function(self.inputs["usage"], first, last).collect().to_pandas()

    def gates(self, as_of: dt.date, **thresholds) -> pd.DataFrame:
        return polars_baseline.gates(self.inputs["usage"], as_of, **thresholds).collect().to_pandas()

    def net_output(self, first: dt.date, last: dt.date) -> pd.DataFrame:
        frame = polars_baseline.net_output_teams(
            self.inputs["time_saved"], self.inputs["baseline"], first, last
        )
        return frame.collect().to_pandas()

    def report(self, **dates: dt.date) -> dict[str, pd.DataFrame]:
        return {
            name: frame.to_pandas() for name, frame in polars_baseline.report(*self.files, **dates).items()
        }


class DuckDB:
    """The hand-written SQL on a database file built from the typed Parquet and the CSV files."""

    def __init__(self, data: Data, folder: Path) -> None:
        usage_csv, time_saved, baseline = write_inputs(data, folder)
        self.db = folder / "baseline.duckdb"
        duckdb_baseline.build(self.db, typed_parquet(usage_csv), time_saved, baseline)
        self.conn = duckdb_baseline.connect(self.db, read_only=True)

    def usage(self, first: dt.date, last: dt.date) -> pd.DataFrame:
        return duckdb_baseline.usage_by_function(self.conn, first, last)

    def gates(self, as_of: dt.date, **thresholds) -> pd.DataFrame:
        return duckdb_baseline.gates(self.conn, as_of, **thresholds)

    def net_output(self, first: dt.date, last: dt.date) -> pd.DataFrame:
        return duckdb_baseline.net_output_teams(self.conn, first, last)

    def report(self, **dates: dt.date) -> dict[str, pd.DataFrame]:
        return duckdb_baseline.report(self.db, **dates)


@pytest.fixture(params=[Pandas, Polars, DuckDB], ids=["pandas", "polars", "duckdb"])
def baseline(request, tmp_path):
    """Builds the baseline on the builder's rows once the test has added them."""
    return lambda data: request.param(data, tmp_path / "inputs")


def usage_at(data: Data, stamp: str, agent: str, **fields: object) -> None:
    """One usage event at an exact ISO 8601 timestamp, offset and all."""
    data.usage(stamp[:10], agent, **fields)
    data.rows["usage_events"][-1]["occurred_at"] = stamp


def _is_number(value: object) -> bool:
    # Polars sums a decimal column to a decimal.
    return isinstance(value, numbers.Real | decimal.Decimal) and not isinstance(value, bool)


def assert_rows(actual: list[tuple], expected: list[tuple]) -> None:
    """Row by row equality: numbers within pytest.approx, missing values (None) equal each other."""
    assert len(actual) == len(expected), f"{actual} != {expected}"
    for got, want in zip(actual, expected, strict=True):
        assert len(got) == len(want), f"{got} != {want}"
        for left, right in zip(got, want, strict=True):
            if _is_number(left) and _is_number(right):
                assert float(left) == pytest.approx(float(right)), f"{got} != {want}"
            else:
                assert left == right, f"{got} != {want}"


def assert_same_table(ours: pd.DataFrame, engine: pd.DataFrame) -> None:
    """The baseline's table equals the engine's on the baseline's columns, which the engine must have."""
    columns = list(ours.columns)
    assert set(columns) <= set(engine.columns), set(columns) - set(engine.columns)
    assert_rows(records(ours, *columns), records(engine, *columns))


USAGE_COLUMNS = (
    "function",
    "tasks",
    "api_calls",
    "tokens",
    "agent_cost_usd",
    "active_agents",
    "escalation_rate",
    "failure_rate",
)


def test_usage_counts_events_by_their_utc_day(data, baseline):
    # Marketing, by UTC instant: 2025-03-01 00:00 (in March), 2025-02-28 23:30 (out),
    # 2025-03-31 23:59:59 (no offset means UTC: in), 2025-03-31 23:00 (in).
    usage_at(
        data, "2025-02-28T23:00:00-01:00", "a1", api_calls=1, input_tokens=10, output_tokens=5, cost="0.10"
    )
    usage_at(data, "2025-03-01T00:30:00+01:00", "a1", api_calls=100, input_tokens=100, cost="5.00")
    usage_at(data, "2025-03-31T23:59:59", "a2", status="escalated", api_calls=2, input_tokens=20, cost="0.25")
    usage_at(
        data, "2025-04-01T01:00:00+02:00", "a2", status="failed", api_calls=3, output_tokens=30, cost="0.05"
    )
    # 2025-04-01 00:00 UTC, and Legal's only event at 2025-04-01 01:30 UTC: both in April.
    usage_at(data, "2025-04-01T00:00:00Z", "a3", api_calls=7, cost="0.70")
    usage_at(data, "2025-03-31T23:30:00-02:00", "l1", function="Legal", bu="Corporate", api_calls=50)
    # Sales Operations at 2025-03-15 06:30:00.250 UTC.
    usage_at(
        data,
        "2025-03-15T12:00:00.250+05:30",
        "s1",
        function="Sales Operations",
        bu="Sales",
        api_calls=4,
        input_tokens=1,
        output_tokens=1,
        cost="1.50",
    )
    conn = data.load()
    computed = baseline(data)

    march = computed.usage(D(2025, 3, 1), D(2025, 3, 31))
    april = computed.usage(D(2025, 4, 1), D(2025, 4, 30))

    # March: Marketing has a1's first and a2's two events; Legal ran nothing in March.
    assert_rows(
        records(march, *USAGE_COLUMNS),
        [
            ("Marketing", 3, 6, 65, 0.40, 2, 1 / 3, 1 / 3),
            ("Sales Operations", 1, 4, 2, 1.50, 1, 0.0, 0.0),
        ],
    )
    assert_rows(
        records(april, *USAGE_COLUMNS),
        [("Legal", 1, 50, 0, 0.0, 1, 0.0, 0.0), ("Marketing", 1, 7, 0, 0.70, 1, 0.0, 0.0)],
    )
    as_of = D(2025, 4, 30)
    for ours, first, last in ((march, D(2025, 3, 1), D(2025, 3, 31)), (april, D(2025, 4, 1), D(2025, 4, 30))):
        engine = metrics.usage(conn, metrics.Filters(as_of=as_of, date_from=first, date_to=last), SETTINGS)
        assert_same_table(ours, engine)


def test_gates_thresholds_sample_and_window_edge(data, baseline):
    # 16 of 20 reviewed correct is exactly 0.80 and 45 of 50 completed exactly 0.90: pass.
    data.gated("at_both", "2025-06-01", tasks=50, completed=45, correct=16, incorrect=4)
    # 79% accuracy with 95% automation: fail.
    data.gated("low_accuracy", "2025-06-01", tasks=100, completed=95, correct=79, incorrect=21)
    # 49 tasks, or 19 reviewed: below the minimum sample whatever the rates.
    data.gated("few_tasks", "2025-06-01", tasks=49, completed=49, correct=49, incorrect=0)
    data.gated("few_reviews", "2025-06-01", tasks=50, completed=10, correct=0, incorrect=19)
    # Nothing reviewed: accuracy is missing, the gate insufficient.
    data.gated("unreviewed", "2025-06-01", tasks=60, completed=60, correct=0, incorrect=0)
    # as_of 2025-06-30: the 90 days start on 2025-04-02 (June 30 + May 31 + April 2..30 29).
    data.gated("edge", "2025-04-02", tasks=50, completed=50, correct=20, incorrect=0)
    usage_at(data, "2025-04-01T23:30:00-01:00", "edge")  # 2025-04-02 00:30 UTC: day 90, in
    usage_at(data, "2025-07-01T01:00:00+02:00", "edge")  # 2025-06-30 23:00 UTC: as_of, in
    # Day 91, after as_of, and 2025-04-01 23:00 UTC: all out. Were any in, the agent would fail.
    data.gated("edge", "2025-04-01", tasks=10, completed=0, correct=0, incorrect=10)
    data.gated("edge", "2025-07-01", tasks=10, completed=0, correct=0, incorrect=10)
    usage_at(data, "2025-04-02T01:00:00+02:00", "edge", status="failed", review="incorrect")
    # Only outside the window: no row at all.
    data.gated("old", "2025-03-01", tasks=60, completed=60, correct=30, incorrect=0)
    conn = data.load()
    computed = baseline(data)

    ours = computed.gates(D(2025, 6, 30))

    assert list(ours.columns) == ["agent_id", "tasks", "reviewed", "accuracy", "automation", "gate"]
    assert_rows(
        records(ours, *ours.columns),
        [
            ("at_both", 50, 20, 0.80, 0.90, "pass"),
            ("edge", 52, 20, 1.0, 1.0, "pass"),
            ("few_reviews", 50, 19, 0.0, 0.20, "insufficient_data"),
            ("few_tasks", 49, 49, 1.0, 1.0, "insufficient_data"),
            ("low_accuracy", 100, 100, 0.79, 0.95, "fail"),
            ("unreviewed", 60, 0, None, 1.0, "insufficient_data"),
        ],
    )
    assert_same_table(ours, metrics.gates(conn, metrics.Filters(as_of=D(2025, 6, 30)), SETTINGS))


def test_gate_thresholds_are_parameters(data, baseline):
    data.gated("a", "2025-06-01", tasks=10, completed=9, correct=4, incorrect=1)
    conn = data.load()
    computed = baseline(data)
    lenient = {"min_tasks": 10, "min_reviewed": 5, "window_days": 30}

    ours = computed.gates(D(2025, 6, 30), **lenient)

    assert records(ours, "agent_id", "gate") == [("a", "pass")]
    engine = metrics.gates(
        conn, metrics.Filters(as_of=D(2025, 6, 30)), Settings.model_validate({"gates": lenient})
    )
    assert_same_table(ours, engine)
    assert records(computed.gates(D(2025, 6, 30)), "gate") == [("insufficient_data",)]


NET_OUTPUT_COLUMNS = (
    "function",
    "business_unit",
    "team",
    "month",
    "delegated_hours",
    "hours_saved",
    "headcount",
    "capacity_hours",
    "net_output_uplift",
    "has_validated_net_output",
    "has_grown_headcount",
)


def test_net_output_per_team_month(data, baseline):
    data.baseline("Brand", 10, 700).baseline("Web", 4, 300).baseline("Design", 5, 300)
    # Brand, March: 600 x 60/60 + 300 x 40/60 = 800 delegated, 600 x 40/60 + 300 x 30/60 = 550 saved;
    # the largest reported headcount is 10, capacity 1600, uplift 0.34375 at baseline headcount.
    data.saved("2025-03", "Brand", 600, 60, 20)
    data.saved("2025-03", "Brand", 300, 40, 10, headcount=10)
    # Brand, April: no headcount reported, so the baseline's 10; a row starting on April 30 counts
    # in April. 240 + 60 delegated, 160 + 40 saved, uplift 200/1600 = 0.125.
    data.saved("2025-04", "Brand", 240, 60, 20)
    data.saved("2025-04", "Brand", 60, 60, 20)
    data.rows["time_saved"][-1].update(period_start="2025-04-30", period_end="2025-05-29")
    # Outside [March 1, April 30]: February and a period starting on May 1.
    data.saved("2025-02", "Brand", 1000, 60, 0)
    data.saved("2025-05", "Brand", 1000, 60, 0)
    # Design, April: 480 x 30/60 = 240 saved of 5 x 160 = 800, exactly 0.30: validated.
    data.saved("2025-04", "Design", 480, 40, 10)
    # Web grew from 4 to 6: uplift 480/960 = 0.5 but not validated.
    data.saved("2025-03", "Web", 960, 30, 0, headcount=6)
    # Customer Support has no baseline: uplift from the reported headcount, never validated;
    # Tier2 reports no headcount either, so capacity and uplift are missing.
    data.saved("2025-03", "Tier1", 300, 60, 0, function="Customer Support", bu="Service", headcount=5)
    data.saved("2025-03", "Tier2", 60, 30, 10, function="Customer Support", bu="Service")
    conn = data.load()
    computed = baseline(data)

    ours = computed.net_output(D(2025, 3, 1), D(2025, 4, 30))

    assert list(ours.columns) == list(NET_OUTPUT_COLUMNS)
    march, april = pd.Timestamp("2025-03-01"), pd.Timestamp("2025-04-01")
    assert_rows(
        records(ours, *NET_OUTPUT_COLUMNS),
        [
            ("Customer Support", "Service", "Tier1", march, 300.0, 300.0, 5, 800.0, 0.375, False, False),
            ("Customer Support", "Service", "Tier2", march, 30.0, 20.0, None, None, None, False, False),
            ("Marketing", "Consumer", "Brand", march, 800.0, 550.0, 10, 1600.0, 0.34375, True, False),
            ("Marketing", "Consumer", "Brand", april, 300.0, 200.0, 10, 1600.0, 0.125, False, False),
            ("Marketing", "Consumer", "Design", april, 320.0, 240.0, 5, 800.0, 0.30, True, False),
            ("Marketing", "Consumer", "Web", march, 480.0, 480.0, 6, 960.0, 0.5, False, True),
        ],
    )
    filters = metrics.Filters(as_of=D(2025, 5, 31), date_from=D(2025, 3, 1), date_to=D(2025, 4, 30))
    assert_same_table(ours, metrics.net_output_teams(conn, filters, SETTINGS))


def test_report_reads_the_files_and_returns_the_three_tables(data, baseline):
    # In the gate window (ending June 30) but before the June range: counts for the gate only.
    data.gated("a1", "2025-05-15", tasks=55, completed=55, correct=20, incorrect=0)
    data.usage("2025-06-10", "a1", status="failed", cost="0.02")
    data.baseline("Brand", 2, 300)
    data.saved("2025-05", "Brand", 100, 60, 0)
    data.saved("2025-06", "Brand", 120, 60, 30)
    conn = data.load()
    as_of, first, last = D(2025, 6, 30), D(2025, 6, 1), D(2025, 6, 30)

    tables = baseline(data).report(as_of=as_of, date_from=first, date_to=last)

    assert set(tables) == {"usage", "gates", "net_output"}
    assert records(tables["usage"], "function", "tasks", "failure_rate") == [("Marketing", 1, 1.0)]
    assert records(tables["gates"], "agent_id", "tasks", "gate") == [("a1", 56, "pass")]
    # 120 x 30/60 = 60 hours saved of 2 x 160 = 320.
    assert records(tables["net_output"], "month", "hours_saved", "net_output_uplift") == [
        (pd.Timestamp("2025-06-01"), 60.0, 0.1875)
    ]
    filters = metrics.Filters(as_of=as_of, date_from=first, date_to=last)
    assert_same_table(tables["usage"], metrics.usage(conn, filters, SETTINGS))
    assert_same_table(tables["gates"], metrics.gates(conn, filters, SETTINGS))
    assert_same_table(tables["net_output"], metrics.net_output_teams(conn, filters, SETTINGS))


def test_empty_counts_and_cost_are_zero_and_an_empty_review_is_unreviewed(data, baseline):
    # The contract defaults api_calls, tokens and cost to 0: an empty cell must not make a sum missing.
    data.usage(
        "2025-03-10", "a1", api_calls=3, input_tokens=10, output_tokens=5, cost="1.25", review="correct"
    )
    data.usage("2025-03-11", "a1", status="failed", cost="")
    for field in ("api_calls", "input_tokens", "output_tokens"):
        data.rows["usage_events"][-1][field] = ""
    conn = data.load()
    computed = baseline(data)

    ours = computed.usage(D(2025, 3, 1), D(2025, 3, 31))
    gate_rows = computed.gates(D(2025, 3, 31))

    assert_rows(records(ours, *USAGE_COLUMNS), [("Marketing", 2, 3, 15, 1.25, 1, 0.0, 0.5)])
    # One of two reviewed: the empty review is no review at all.
    assert_rows(records(gate_rows, *gate_rows.columns), [("a1", 2, 1, 1.0, 0.5, "insufficient_data")])
    filters = metrics.Filters(as_of=D(2025, 3, 31), date_from=D(2025, 3, 1), date_to=D(2025, 3, 31))
    assert_same_table(ours, metrics.usage(conn, filters, SETTINGS))
    assert_same_table(gate_rows, metrics.gates(conn, filters, SETTINGS))


def test_a_headcount_column_empty_in_every_row_falls_back_on_the_baseline(data, baseline):
    # The realistic organisation's time-saved file never reports a headcount: the column is empty
    # throughout, which must read as missing numbers, not text. Brand: 8 x 160 = 1280 hours of
    # capacity; 300 x (50 - 10) / 60 = 200 hours saved, uplift 0.15625.
    data.baseline("Brand", 8, 400)
    data.saved("2025-03", "Brand", 300, 50, 10)
    conn = data.load()

    ours = baseline(data).net_output(D(2025, 3, 1), D(2025, 3, 31))

    assert_rows(
        records(ours, *NET_OUTPUT_COLUMNS),
        [
            (
                "Marketing",
                "Consumer",
                "Brand",
                pd.Timestamp("2025-03-01"),
                250.0,
                200.0,
                8,
                1280.0,
                0.15625,
                False,
                False,
            )
        ],
    )
    filters = metrics.Filters(as_of=D(2025, 3, 31), date_from=D(2025, 3, 1), date_to=D(2025, 3, 31))
    assert_same_table(ours, metrics.net_output_teams(conn, filters, SETTINGS))
