"""The look-ahead blocks in the dashboard: forecast tiles, alerts panel, wins feed, crossing table."""

from __future__ import annotations

from pathlib import Path

from test_app import make_app, sample_app  # noqa: F401  (fixtures)

from offload_metrics import metrics, report, store
from offload_metrics.config import Settings


def expected_report(tmp_path: Path) -> dict:
    """The report on the app's database, as the CLI would compute it (beside the app: read-only)."""
    with store.connect(tmp_path / "app.duckdb", read_only=True) as conn:
        return report.build(conn, metrics.Filters(), Settings())


def test_overview_shows_the_forecast_the_alerts_and_the_wins_of_the_report(sample_app, tmp_path):  # noqa: F811
    built = expected_report(tmp_path)
    forecast, alerts, wins = built["forecast"]["org"], built["alerts"], built["wins"]
    tiles = {metric.label: (metric.value, metric.proto.delta) for metric in sample_app.metric}
    # The sample reached scale in 2025-08; R&D's fitted ceiling stays below the scale share.
    assert (forecast["status"], forecast["first_scale_month"], forecast["last_function"]) == (
        "observed", "2025-08", "R&D",
    )  # fmt: skip
    assert tiles["At scale since"] == ("2025-08", "reached; no projection needed")
    # Not "reaches scale last": R&D is not projected to get there at all.
    assert "Reaches scale last" not in tiles
    assert tiles["Not projected to reach scale"] == ("R&D", "within the forecast horizon")
    headings = [element.value for element in sample_app.subheader]
    assert f"What needs attention ({len(alerts)} alerts)" in headings
    assert f"Wins in this range ({len(wins)})" in headings
    text = "\n".join(element.value for element in sample_app.markdown)
    assert alerts[0]["message"].split(" ")[0] in text
    assert "[Replication Velocity](/replication)" in text


def test_the_adoption_page_lists_each_functions_projected_crossings(sample_app):  # noqa: F811
    sample_app.switch_page("src/offload_metrics/app_pages/adoption.py").run()
    assert not sample_app.exception
    table = next(frame for frame in sample_app.dataframe if "forecast" in frame.value.columns)
    rows = table.value.set_index("function")
    # Marketing crossed into acceleration in 2025-03 (the cascade's crossed_on for the sample).
    assert rows.loc["Marketing", "acceleration"] == "2025-03 (observed)"
    assert set(rows["forecast"]) == {"yes"}
    # A crossing the fitted curve never reaches is explained under the table, where the sample has one.
    unreached = rows.astype(str).apply(lambda column: column.str.startswith("not in sight")).any().any()
    explained = any(
        caption.value.startswith("Not in sight: the fitted curve") for caption in sample_app.caption
    )
    assert unreached and explained


def test_a_projection_shows_its_month_range_and_the_function_that_comes_last(make_app, tmp_path):  # noqa: F811
    import streamlit as st
    from test_forecast import s_curve

    from conftest import Data
    from offload_metrics import store

    app = make_app(sample=False)
    app.run()
    st.cache_resource.clear()  # the app holds the file read-only; this test writes to it directly
    with store.connect(tmp_path / "app.duckdb") as conn:
        # As in test_forecast: Marketing reached 40% in 2024-11, Sales is projected there in 2025-03,
        # 14 months after the first validation in 2024-01.
        data = Data(conn, tmp_path)
        s_curve(data, "Marketing", "Brand", 0.9, 0.5, 10, 12)
        s_curve(data, "Sales", "Deals", 0.9, 0.5, 14, 12)
        data.event("a1", "validated", "2024-01-10", "Brand")
        data.load()
        expected = report.build(conn, metrics.Filters(), Settings())["forecast"]["org"]
    st.cache_data.clear()
    app.run()
    assert not app.exception
    tiles = {metric.label: (metric.value, metric.proto.delta) for metric in app.metric}
    assert tiles["Projected at scale"] == (
        "2025-03",
        f"range {expected['first_scale_month_low']} – {expected['first_scale_month_high']}; 14 months "
        "(on track is 18-36)",
    )
    assert tiles["Reaches scale last"] == ("Sales", "projected at scale 2025-03")


def test_while_functions_have_no_forecast_none_is_named_last(sample_app):  # noqa: F811
    """As of 2024-06-30 only Marketing, the leading function, has a forecast on the sample: it was
    named the function that reaches scale last."""
    import datetime as dt

    sample_app.date_input(key="as_of").set_value(dt.date(2024, 6, 30)).run()
    assert not sample_app.exception
    tiles = {metric.label: (metric.value, metric.proto.delta) for metric in sample_app.metric}
    assert tiles["Reaches scale last"] == (
        "—",
        "6 of 7 functions have no forecast yet; of the others, Marketing last",
    )
    # On the Adoption page, the six say "no" in the table, and why under it: a reason in a cell was cut.
    sample_app.switch_page("src/offload_metrics/app_pages/adoption.py").run()
    table = next(frame for frame in sample_app.dataframe if "forecast" in frame.value.columns).value
    assert sorted(table["forecast"]) == ["no"] * 6 + ["yes"]
    [why] = [caption.value for caption in sample_app.caption if caption.value.startswith("No forecast: ")]
    assert why.count("fewer than 6 months with time") == 6


def test_the_s_curve_draws_no_organisation_projection_from_one_functions_fit(sample_app):  # noqa: F811
    """As of 2024-06-30 only Marketing has a forecast: the organisation's projection held the six
    others at their share and drew the organisation flat near 0% for years."""
    import datetime as dt

    def s_curve_spec() -> str:
        [chart] = [
            chart
            for chart in sample_app.get("vega_lite_chart")
            if "Offloaded share of routine work" in chart.proto.spec
        ]
        return chart.proto.spec

    assert "strokeDash" in s_curve_spec()  # every function has a forecast as of 2025-12-31
    sample_app.date_input(key="as_of").set_value(dt.date(2024, 6, 30)).run()
    assert "strokeDash" not in s_curve_spec()


def test_functions_that_never_reach_scale_are_not_ranked_by_name(sample_app):  # noqa: F811
    """As of 2025-03-15 on the sample, HR and Sales Operations have forecasts that never reach the scale
    share: the tile named Sales Operations "last", by its name breaking the tie."""
    import datetime as dt

    sample_app.date_input(key="as_of").set_value(dt.date(2025, 3, 15)).run()
    assert not sample_app.exception
    tiles = {metric.label: (metric.value, metric.proto.delta) for metric in sample_app.metric}
    value, note = tiles["Reaches scale last"]  # other functions have no forecast yet: none is known last
    assert value == "—"
    assert note.endswith("HR and Sales Operations are not projected to reach scale"), note
    # As of 2025-09-15 every function has a forecast, and Legal's and R&D's stay below the scale share:
    # the tile counts them rather than name one last.
    sample_app.date_input(key="as_of").set_value(dt.date(2025, 9, 15)).run()
    tiles = {metric.label: (metric.value, metric.proto.delta) for metric in sample_app.metric}
    assert tiles["Not projected to reach scale"] == (
        "2 functions",
        "Legal and R&D, within the forecast horizon",
    )


def test_a_view_of_fewer_functions_than_scale_takes_says_so_and_a_seen_month_is_not_a_projection(sample_app):  # noqa: F811
    """Marketing alone: scale takes 2 functions at 40%, so the organisation tile said "fewer than 2
    functions have a forecast" beside "Marketing, projected at scale 2025-07", a month already past."""
    sample_app.multiselect(key="function").set_value(["Marketing"]).run()
    assert not sample_app.exception
    tiles = {metric.label: (metric.value, metric.proto.delta) for metric in sample_app.metric}
    assert tiles["Organisation at scale"] == (
        "—",
        "scale takes 2 functions; this view holds 1: choose more functions to see it",
    )
    # Marketing's offloaded share on the sample: 38.6% in 2025-06, 45.4% in 2025-07 (at 40% or more).
    assert tiles["Reaches scale last"] == ("Marketing", "at scale since 2025-07")
    assert "Projected at scale" not in tiles


def test_the_at_scale_since_tile_explains_the_month_it_shows(sample_app):  # noqa: F811
    """Its hover described the S-curve projection, which this month does not come from."""
    [tile] = [metric for metric in sample_app.metric if metric.label == "At scale since"]
    assert tile.proto.help == (
        "The first month in which 2 functions each had 40% or more of their routine work offloaded: "
        "seen in the data, so no projection is needed."
    )
