"""The look-ahead blocks in the dashboard: forecast tiles, alerts panel, wins feed, crossing table."""

from __future__ import annotations

from test_app import expected_report, make_app, sample_app  # noqa: F401  (fixtures)


def test_overview_shows_the_forecast_the_alerts_and_the_wins_of_the_report(sample_app, tmp_path):  # noqa: F811
    built = expected_report(tmp_path)
    forecast, alerts, wins = built["forecast"]["org"], built["alerts"], built["wins"]
    tiles = {metric.label: (metric.value, metric.proto.delta) for metric in sample_app.metric}
    # The sample reached scale in 2025-08; R&D's fitted ceiling stays below the scale share.
    assert (forecast["status"], forecast["first_scale_month"], forecast["last_function"]) == (
        "observed", "2025-08", "R&D",
    )  # fmt: skip
    assert tiles["Projected at scale"] == ("2025-08", "at scale since this month")
    assert tiles["Reaches scale last"] == ("R&D", "not projected to reach scale within the horizon")
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
