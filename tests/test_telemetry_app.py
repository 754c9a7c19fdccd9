"""Telemetry on the dashboard: an OTLP upload mapped by the settings' mapping file, unmapped values
listed on the Data page, estimated cost on the Finance page (the real app, through AppTest)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from test_otlp import MAPPING, MARKETING, agent_span, traces_data

from offload_metrics import display, store

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = """
[mapping]
file = "org.toml"

[telemetry.prices]
"m" = ["1.5", "4"]
"""


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("OFFLOAD_METRICS_DB", str(tmp_path / "app.duckdb"))
    monkeypatch.setenv("OFFLOAD_METRICS_SAMPLE", "off")
    monkeypatch.setenv("OFFLOAD_METRICS_CONFIG", str(tmp_path / "offload.toml"))
    (tmp_path / "offload.toml").write_text(SETTINGS, encoding="utf-8")
    (tmp_path / "org.toml").write_text(MAPPING, encoding="utf-8")
    st.cache_data.clear()
    st.cache_resource.clear()
    yield AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    st.cache_data.clear()
    st.cache_resource.clear()


def test_an_otlp_upload_is_mapped_and_the_unmapped_values_are_listed(app, tmp_path):
    mapped = agent_span("a000000000000001", "writer", gen_ai__request__model="m",
                        gen_ai__usage__input_tokens=1_000_000, gen_ai__usage__output_tokens=0)  # fmt: skip
    lines = [
        traces_data([mapped], **MARKETING),
        traces_data([agent_span("b000000000000001")], service__name="billing"),
    ]
    content = "".join(json.dumps(line) + "\n" for line in lines).encode()
    app.run()
    app.switch_page("src/offload_metrics/app_pages/data.py").run()
    app.file_uploader(key="upload_files").upload("traces.jsonl", content, "application/json")
    app.button(key="FormSubmitter:upload_form-Load").click().run()
    assert not app.exception, [error.value for error in app.exception]
    # Load messages are Markdown with every punctuation mark escaped (display.plain): compare alike.
    said = display.plain("2 spans read, 1 usage events made, 1 records rejected")
    assert any(said in m.value for m in app.markdown)
    with store.connect(tmp_path / "app.duckdb", read_only=True) as conn:  # beside the app: read-only
        assert conn.execute("select agent_id, function, cost_usd from usage_events").fetchall() == [
            ("writer", "Marketing", 1.5)
        ]
    unmapped = next(frame for frame in app.dataframe if "unmapped" in frame.value.columns).value
    assert unmapped[["unmapped", "records"]].values.tolist() == [['resource.service.name="billing"', 1]]
    app.switch_page("src/offload_metrics/app_pages/finance.py").run()
    assert not app.exception, [error.value for error in app.exception]
    agent_cost = next(metric for metric in app.metric if metric.label == "Agent cost")
    # $1.50, all of it estimated: below a thousand dollars a tile shows the cents ($2 read as twice $1).
    # The context line is the tile's note (a caption under it), the screens' way.
    captions = [caption.value for caption in app.caption]
    assert (agent_cost.value, "the usage log's cost; $1.50 of it estimated from prices" in captions) == (
        "$1.50",
        True,
    )


def test_applying_the_settings_form_keeps_the_mapping_and_prices(app):
    app.run()
    app.switch_page("src/offload_metrics/app_pages/data.py").run()
    app.text_input(key="s_gates.min_accuracy").set_value("0.5")
    app.button(key="FormSubmitter:settings_form-Apply for this session").click().run()
    chosen = app.session_state["settings"]
    assert (chosen.gates.min_accuracy, chosen.mapping.file, list(chosen.telemetry.prices)) == (
        0.5,
        "org.toml",
        ["m"],
    )
