"""The settings form's fields, made from the pydantic settings, and how it reads what was typed."""

from __future__ import annotations

import datetime as dt

import pytest

from offload_metrics import settings_form
from offload_metrics.config import Settings


def as_shown(settings: Settings) -> dict[str, object]:
    """Every widget's entry when nothing is changed."""
    return {field.key: settings_form.shown_value(field, settings) for field in settings_form.fields()}


def by_key() -> dict[str, settings_form.FormField]:
    return {field.key: field for field in settings_form.fields()}


def test_every_setting_is_a_field_of_the_form():
    expected = {
        f"s_{group}.{name}"
        for group, group_field in Settings.model_fields.items()
        for name in group_field.default_factory.model_fields  # type: ignore[union-attr]
    }
    assert set(by_key()) == expected


def test_each_field_takes_its_widget_bounds_and_step_from_the_model():
    fields = by_key()
    # Gates.window_days: int, ge=1, le=3660; Gates.min_accuracy: config.Share (0 to 1), typed as a share.
    assert (fields["s_gates.window_days"].kind, fields["s_gates.window_days"].minimum) == ("integer", 1)
    assert (fields["s_gates.window_days"].maximum, fields["s_gates.window_days"].step) == (3660, 1)
    assert fields["s_gates.min_accuracy"].kind == "share"
    assert fields["s_gates.min_accuracy"].help.startswith("A share: type 0.8, 80 or 80%. ")
    # NetOutput.validation_uplift asks to be typed as a share (json_schema_extra), though it goes to 10.
    assert (
        fields["s_net_output.validation_uplift"].kind,
        fields["s_net_output.validation_uplift"].maximum,
    ) == (
        "share",
        10,
    )
    # hours_per_fte_month: gt=0 cannot be a widget's inclusive minimum; the model checks it.
    assert (
        fields["s_net_output.hours_per_fte_month"].minimum,
        fields["s_net_output.hours_per_fte_month"].maximum,
    ) == (
        None,
        744,
    )
    assert fields["s_adoption.phase_bounds"].kind == "shares"
    assert fields["s_adoption.scale_months"].kind == "numbers"
    assert fields["s_finance.cost_source"].choices == ("usage", "vendor", "larger")
    assert fields["s_estimates.preset"].choices_from == "presets"
    assert fields["s_network.appetite"].kind == "table"
    assert fields["s_ingest.min_date"].kind == "date"
    assert fields["s_forecast.interval"].step == 0.05
    assert (fields["s_finance.reinvestment_share"].finance, fields["s_telemetry.prices"].finance) == (
        True,
        True,
    )
    assert (fields["s_alerts.webhook_url"].admin, fields["s_gates.min_tasks"].finance) == (True, False)


def test_the_form_as_shown_gives_back_the_same_settings():
    settings = Settings.model_validate(
        {"network": {"appetite": {"Legal": 0.25}}, "telemetry": {"prices": {"gpt-4o-mini": ["0.15", "0.6"]}}}
    )
    outcome = settings_form.check(settings, as_shown(settings))
    assert (outcome.settings, outcome.problems, outcome.read) == (settings, {}, [])


def test_fields_the_form_did_not_show_keep_the_sessions_values():
    settings = Settings.model_validate({"alerts": {"webhook_url": "https://example.org/hook"}})
    entered = {key: value for key, value in as_shown(settings).items() if key != "s_alerts.webhook_url"}
    entered["s_gates.window_days"] = 30
    outcome = settings_form.check(settings, entered)
    assert outcome.settings is not None
    assert outcome.settings.alerts.webhook_url == "https://example.org/hook"
    assert outcome.settings.gates.window_days == 30


def test_typed_text_is_read_and_what_was_read_is_said():
    entered = as_shown(Settings())
    entered |= {"s_alerts.usage_drop": "40", "s_adoption.phase_bounds": "5%, 0.2, 70",
                "s_adoption.scale_months": "12, 24", "s_ingest.max_date": dt.date(2100, 1, 1)}  # fmt: skip
    outcome = settings_form.check(Settings(), entered)
    assert outcome.settings is not None
    assert outcome.settings.alerts.usage_drop == pytest.approx(0.4)
    assert outcome.settings.adoption.phase_bounds == pytest.approx((0.05, 0.2, 0.7))
    assert outcome.settings.adoption.scale_months == (12, 24)
    assert outcome.settings.ingest.max_date == dt.date(2100, 1, 1)
    assert outcome.read == [
        "Phase bounds: read '5%' as a percent: 5% (0.05)",
        "Phase bounds: read '0.2' as a fraction: 20% (0.2)",
        "Phase bounds: read '70' as a percent: 70% (0.7)",
        "Usage drop: read '40' as a percent: 40% (0.4)",
    ]


@pytest.mark.parametrize(
    ("key", "typed", "where", "said"),
    [
        ("s_gates.min_accuracy", "120%", "s_gates.min_accuracy", "Minimum accuracy: must be at most 100%"),
        ("s_adoption.phase_bounds", "10%, 20%", "s_adoption.phase_bounds", "Phase bounds: value 3 is missing"),
        ("s_adoption.phase_bounds", "10%, 20%, 150%", "s_adoption.phase_bounds",
         "Phase bounds: value 3 must be at most 100%"),
        ("s_forecast.interval", 1.0, "s_forecast.interval", "Interval: must be less than 1"),
        ("s_net_output.hours_per_fte_month", 0.0, "s_net_output.hours_per_fte_month",
         "Hours per FTE month: must be more than 0"),
        ("s_ingest.max_date", dt.date(1800, 1, 1), "s_ingest.max_date", "Latest date: must not be before ingest.min_date"),
        ("s_network.appetite", '"Legal" = "high"\n', "s_network.appetite",
         "Appetite by function: Legal: must be a number"),
        ("s_estimates.presets", '"quick" = [0, 0]\n', "s_estimates.presets",
         "Estimate presets: preset 'quick' needs a name and baseline minutes above 0"),
    ],
)  # fmt: skip
def test_a_value_the_model_refuses_is_said_in_plain_words_beside_its_field(key, typed, where, said):
    entered = as_shown(Settings()) | {key: typed}
    outcome = settings_form.check(Settings(), entered)
    assert outcome.settings is None
    assert outcome.problems == {where: [said]}


def test_a_problem_with_a_whole_group_is_said_under_its_title():
    # The preset must be one of the presets: a rule of the estimates group, not of one field.
    settings = Settings()
    entered = as_shown(settings) | {"s_estimates.presets": '"other" = [10, 2]\n'}
    entered["s_estimates.preset"] = "6 minutes per completed task"
    outcome = settings_form.check(settings, entered)
    assert outcome.problems == {
        "s_estimates": ["Estimates: preset '6 minutes per completed task' is not one of the presets: other"]
    }
