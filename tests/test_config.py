"""Settings: SPEC's defaults, TOML files, and messages that name the key and the rule."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from offload_metrics import config


def test_defaults_are_specs():
    settings = config.Settings()
    assert settings.model_dump() == {
        "gates": {
            "min_accuracy": 0.80,
            "min_automation": 0.90,
            "min_tasks": 50,
            "min_reviewed": 20,
            "window_days": 90,
        },
        "net_output": {"validation_uplift": 0.30, "hours_per_fte_month": 160},
        "adoption": {
            "phase_bounds": (0.10, 0.15, 0.60),
            "scale_share": 0.40,
            "scale_min_functions": 2,
            "scale_months": (18, 36),
        },
        "finance": {"reinvestment_share": 0.25, "default_hourly_cost_usd": 60, "cost_source": "usage"},
        "ingest": {"min_date": dt.date(1900, 1, 1), "max_date": dt.date(2199, 12, 31)},
        "estimates": {"preset": "", "presets": {"6 minutes per completed task": (6.0, 0.0)}},
        "network": {
            "bridge_share": 0.4,
            "centrality_weight": 0.4,
            "appetite_weight": 0.3,
            "pain_weight": 0.3,
            "appetite": {
                "Marketing": 0.9,
                "R&D": 0.85,
                "Sales Operations": 0.7,
                "Customer Support": 0.6,
                "HR": 0.45,
                "Finance": 0.3,
                "Legal": 0.2,
            },
            "default_appetite": 0.5,
            "measured_appetite_weight": 0.5,
            "first_agents": 3,
            "min_tie_hours": 0,
            "min_replications": 5,
            "permutations": 2000,
            "random_seed": 7,
            "significance": 0.05,
        },
        "mapping": {"file": ""},
        "telemetry": {
            "task_type_attribute": "",
            "escalated_attribute": "",
            "review_evaluation": "",
            "review_threshold": 0.5,
            "langfuse_event_per": "agent",
            "prices": {},
        },
        "forecast": {
            "min_months": 6,
            "interval": 0.80,
            "draws": 100,
            "seed": 1,
            "horizon_months": 120,
            "chart_months": 24,
        },
        "alerts": {
            "gate_lookback_days": 30,
            "cost_multiple": 2.0,
            "cost_trailing_months": 6,
            "plateau_months": 12,
            "waiting_days": 90,
            "usage_drop": 0.5,
            "min_usage_tasks": 20,
            "webhook_url": "",
            "webhook_timeout_seconds": 10,
        },
    }


def test_an_appetite_table_changes_the_functions_it_names_and_keeps_the_others(tmp_path):
    path = tmp_path / "offload.toml"
    path.write_text('[network.appetite]\nFinance = 0.8\n"Field Ops" = 0.1\n', encoding="utf-8")
    network = config.load_settings(path).network
    assert (network.appetite_of("Finance"), network.appetite_of("Legal")) == (0.8, 0.2)
    assert (network.appetite_of("Field Ops"), network.appetite_of("Unnamed")) == (0.1, 0.5)


def test_the_seed_score_needs_a_weight(tmp_path):
    path = tmp_path / "offload.toml"
    path.write_text(
        "[network]\ncentrality_weight = 0\nappetite_weight = 0\npain_weight = 0\n", encoding="utf-8"
    )
    with pytest.raises(config.SettingsError, match="at least one weight above 0"):
        config.load_settings(path)


def test_a_toml_file_overrides_some_settings(tmp_path):
    path = tmp_path / "offload.toml"
    path.write_text("[gates]\nmin_accuracy = 0.85\n[finance]\nreinvestment_share = 0.5\n", encoding="utf-8")
    settings = config.load_settings(path)
    assert (settings.gates.min_accuracy, settings.gates.min_automation) == (0.85, 0.90)
    assert settings.finance.reinvestment_share == 0.5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[gates]\nmin_accuracy = 1.5\n",
            "gates.min_accuracy: Input should be less than or equal to 1 (got 1.5)",
        ),
        ("[gates]\nmin_tasks = 0\n", "gates.min_tasks: Input should be greater than or equal to 1 (got 0)"),
        ("[gates]\nmin_acuracy = 0.9\n", "gates.min_acuracy: unknown setting (got 0.9)"),
        (
            "[adoption]\nphase_bounds = [0.2, 0.1, 0.6]\n",
            "adoption.phase_bounds: Value error, must be three increasing shares",
        ),
        (
            "[finance]\nreinvestment_share = 'a lot'\n",
            "finance.reinvestment_share: Input should be a valid number",
        ),
        ("gates = [", "not valid TOML"),
        # NaN and infinity reached the JSON report as NaN/Infinity, or failed a query's cast.
        (
            "[telemetry]\nreview_threshold = nan\n",
            "telemetry.review_threshold: Input should be a finite number",
        ),
        ("[network]\nmin_tie_hours = inf\n", "network.min_tie_hours: Input should be a finite number"),
        (
            "[network]\ncentrality_weight = inf\n",
            "network.centrality_weight: Input should be a finite number",
        ),
        (
            "[finance]\ndefault_hourly_cost_usd = 1e30\n",
            "finance.default_hourly_cost_usd: Input should be less than or equal to 1000000",
        ),
        ("[gates]\nmin_accuracy = 0.8\n# caf\xe9", "not UTF-8 text"),
    ],
)
def test_bad_settings_name_the_key_and_the_rule(tmp_path, text, message):
    path = tmp_path / "offload.toml"
    path.write_bytes(text.encode("latin-1") if "caf" in text else text.encode("utf-8"))
    with pytest.raises(config.SettingsError) as raised:
        config.load_settings(path)
    assert message in str(raised.value)
    assert str(path) in str(raised.value)


def test_a_missing_named_file_is_an_error_but_a_missing_default_is_not(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(config.SETTINGS_ENV, raising=False)
    assert config.load_settings() == config.Settings()
    with pytest.raises(config.SettingsError, match="not found"):
        config.load_settings(tmp_path / "absent.toml")


def test_saved_settings_load_back_unchanged(tmp_path):
    settings = config.parse_settings({"gates": {"window_days": 30}, "adoption": {"scale_months": [12, 24]}})
    path = config.save_settings(settings, tmp_path / "saved.toml")
    assert config.load_settings(path) == settings


def test_every_setting_is_described():
    described = config.describe_settings()
    # SPEC, ingest, mapping, telemetry, forecast, alerts, finance, network
    assert len(described) == 13 + 2 + 1 + 6 + 6 + 9 + 3 + 13
    assert all(row["description"] for row in described)


def test_prices_are_exact_decimals_and_survive_a_save(tmp_path):
    path = tmp_path / "offload.toml"
    path.write_text('[telemetry.prices]\n"gpt-4o-mini" = [0.15, "0.6"]\n', encoding="utf-8")
    settings = config.load_settings(path)
    assert settings.telemetry.prices == {"gpt-4o-mini": (Decimal("0.15"), Decimal("0.6"))}
    assert config.load_settings(config.save_settings(settings, tmp_path / "saved.toml")) == settings


def test_the_mapping_file_is_read_beside_the_settings_file(tmp_path):
    settings = config.parse_settings({"mapping": {"file": "org.toml"}})
    assert config.mapping_file(settings, tmp_path / "offload.toml") == tmp_path / "org.toml"
    assert config.mapping_file(config.Settings(), tmp_path / "offload.toml") is None
