"""Trust in a real browser: sign-in through a real OIDC provider, content from data that fetches
nothing, readers during a load, and a server that listens on this machine only."""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import ClassVar

import pytest
from test_browser import settle

from conftest import CHROMIUM, SAMPLE, example, free_port, streamlit_server, wait_for, write_csv

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Debian's chromium is not installed on this machine (.ci/run installs it with apt-get)",
    ),
]


@pytest.fixture
def context(browser):
    opened = browser.new_context(viewport={"width": 1440, "height": 1000})
    yield opened
    opened.close()


def upload(page, url: str, files: list[dict]) -> None:
    page.goto(f"{url}/data")
    settle(page)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(files)
    page.get_by_text(files[-1]["name"]).first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Load", exact=True).click()
    page.get_by_text(f"of {len(files)} file(s)").first.wait_for(timeout=180_000)
    settle(page)


def csv_file(name: str, path: Path) -> dict:
    return {"name": name, "mimeType": "text/csv", "buffer": path.read_bytes()}


# --- the server listens on this machine only ---------------------------------------------------------


def outward_address() -> str | None:
    """This machine's address on its network (none when it has no network)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET: nothing is sent, the route picks the interface
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_the_server_listens_on_localhost_only_by_default(tmp_path):
    address = outward_address()
    assert address, "this check needs a network interface besides loopback"
    with streamlit_server(tmp_path, OFFLOAD_METRICS_SAMPLE="off") as (url, port):
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as response:
            assert response.status == 200
        with socket.socket() as outside, pytest.raises(OSError):
            outside.settimeout(5)
            outside.connect((address, port))


# --- sign-in through a real OIDC provider -------------------------------------------------------------

FRAN = {"sub": "fran@example.org", "email": "fran@example.org", "name": "Fran", "groups": ["offload-finance"]}
ROLES = """
[roles]
admin = ["ada@example.org"]
finance = ["offload-finance"]
"""


@pytest.fixture
def provider():
    """oidc-provider-mock on 127.0.0.1, knowing one user whose groups claim makes her finance."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "oidc_provider_mock",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--user-claims",
            json.dumps(FRAN),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/.well-known/openid-configuration", process)
    yield url
    process.terminate()
    process.wait(timeout=20)


def test_signing_in_through_an_oidc_provider_gives_the_role_of_the_users_group(tmp_path, provider, context):
    (tmp_path / "offload.toml").write_text(ROLES, encoding="utf-8")
    port = free_port()
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "a-long-random-secret-for-the-test-cookie"\n'
        'client_id = "offload-metrics"\n'
        'client_secret = "client-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    with streamlit_server(
        tmp_path, "--secrets.files", str(secrets), port=port, OFFLOAD_METRICS_SAMPLE="on"
    ) as (url, _):
        page = context.new_page()
        page.goto(url)
        page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
        assert page.locator("[data-testid='stTopNavSection']").count() == 0
        assert page.locator("[data-testid='stMetric']").count() == 0
        page.get_by_role("button", name="Sign in").click()
        page.get_by_placeholder("sub").wait_for(timeout=30_000)
        assert page.url.startswith(provider)
        page.get_by_placeholder("sub").fill(FRAN["sub"])
        page.get_by_role("button", name="Authorize").click()
        page.wait_for_url(f"{url}/**", timeout=60_000)
        settle(page, 2)
        sidebar = page.locator("[data-testid='stSidebar']")
        sidebar.get_by_text("Signed in as fran@example.org (finance).").wait_for(timeout=30_000)
        # The pages sit in the top bar by section; the Finance section only for who may see money.
        sections = [
            text.strip() for text in page.locator("[data-testid='stTopNavSection']").all_inner_texts()
        ]
        assert any(text.startswith("Finance") for text in sections), sections
        assert any(text.startswith("Data") for text in sections), sections
        assert "Net savings" in page.locator("[data-testid='stMain']").inner_text()
        page.goto(f"{url}/data")
        settle(page)
        assert page.locator("[data-testid='stFileUploaderDropzoneInput']").count() == 0
        assert page.get_by_role("button", name="Clear the database").count() == 0
        assert page.locator("[data-testid='stException']").count() == 0


# --- content from data fetches nothing -----------------------------------------------------------------


class Recorder(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Recorder.requests.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def recorder():
    """An HTTP server on 127.0.0.1 that notes every request it receives."""
    Recorder.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_markdown_from_data_makes_no_browser_fetch_anything(tmp_path, recorder, context):
    blueprint = (
        f"## Steps\n\n1. Connect the inbox ![shot]({recorder}/blueprint.png)\n\n"
        f'<img src="{recorder}/html.png">\n\n![ref][r]\n\n[r]: {recorder}/reference.png\n\n'
        "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"
    )
    agents = write_csv(
        tmp_path / "agents.csv",
        [
            example(
                "agents",
                agent_id="inert",
                name=f"Inert ![n]({recorder}/name.png)",
                blueprint=blueprint,
                description=f"![d]({recorder}/description.png)",
            )
        ],
    )
    events = write_csv(tmp_path / "events.csv", [example("replication_events", agent_id="inert")])
    header = tmp_path / "header.csv"
    header.write_text(f"![h]({recorder}/header.png),b\n1,2\n", encoding="utf-8")
    with streamlit_server(tmp_path, OFFLOAD_METRICS_SAMPLE="off") as (url, _):
        page = context.new_page()
        upload(page, url, [csv_file("agents.csv", agents), csv_file("events.csv", events),
                           csv_file("header.csv", header)])  # fmt: skip
        page.get_by_text("of 3 file(s)").first.click()  # unfold the messages: the header is named in one
        page.get_by_text(f"![h]({recorder}/header.png)", exact=False).first.wait_for(timeout=10_000)
        page.goto(f"{url}/catalog")
        settle(page)
        page.get_by_text("Connect the inbox").first.wait_for(timeout=30_000)
        page.wait_for_timeout(2_000)  # time for any image to be asked for
        main = page.locator("[data-testid='stMain']")
        assert main.locator("img").count() == 0
        assert main.locator("a[href^='data:']").count() == 0
        assert page.locator("[data-testid='stException']").count() == 0
    assert Recorder.requests == []


# --- readers during a load -------------------------------------------------------------------------------

READER_PAGES = ("", "adoption", "net_output", "replication", "fleet", "catalog", "finance", "data")


def test_sessions_reading_while_a_file_loads_see_no_errors(tmp_path, browser):
    import duckdb

    events = tmp_path / "more_usage.csv"
    with duckdb.connect() as conn:  # the sample's usage six times over, under new event ids
        conn.execute(
            "copy (select * replace ('copy' || copy.range || '-' || event_id as event_id) "
            "from read_csv(?, all_varchar = true), range(6) as copy) to ? (header)",
            [str(SAMPLE / "usage_events.csv.gz"), str(events)],
        )
    small = [
        {"name": name, "mimeType": "text/csv", "buffer": (SAMPLE / name).read_bytes()}
        for name in ("agents.csv", "org_baseline.csv", "replication_events.csv", "time_saved.csv")
    ]
    with streamlit_server(tmp_path, OFFLOAD_METRICS_SAMPLE="off") as (url, _):
        loading = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
        upload(loading, url, small)
        readers = [browser.new_context(viewport={"width": 1280, "height": 900}).new_page() for _ in range(3)]
        for reader in readers:
            reader.goto(url)
            settle(reader)
        loading.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(events))
        loading.get_by_text("more_usage.csv").first.wait_for(timeout=30_000)
        loading.get_by_role("button", name="Load", exact=True).click()
        done = loading.get_by_text("Loaded 1 of 1 file(s)").first
        errors, during, deadline = [], 0, time.monotonic() + 240
        step = 0
        while time.monotonic() < deadline:
            finished = done.is_visible()
            for reader in readers:
                reader.goto(f"{url}/{READER_PAGES[step % len(READER_PAGES)]}")
                settle(reader)
                errors += [reader.url] * reader.locator("[data-testid='stException']").count()
                step += 1
            if finished:
                break
            during += len(readers)
        done.wait_for(timeout=60_000)
        assert errors == []
        assert during >= 3, "the readers finished pages while the file loaded"
        assert loading.locator("[data-testid='stException']").count() == 0
        loading.get_by_text("more_usage.csv: agent usage logs").first.wait_for(
            state="attached", timeout=10_000
        )
