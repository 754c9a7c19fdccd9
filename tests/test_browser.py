"""What a person sees: the real app under `streamlit run`, driven in Debian's Chromium by Playwright."""

from __future__ import annotations

import csv
import io

import pytest

from conftest import CHROMIUM, ROOT, example, streamlit_server, write_csv

OUTPUT = ROOT / "test-output" / "browser"
# url path -> charts the page draws on the sample data
PAGES = {
    "": 2,
    "adoption": 3,
    "net_output": 1,
    "replication": 4,
    "fleet": 2,
    "catalog": 0,
    "seed": 1,
    "finance": 3,
    "data": 0,
}
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Debian's chromium is not installed on this machine (.ci/run installs it with apt-get)",
    ),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """streamlit run app.py on a fresh database, which starts on the bundled sample."""
    folder = tmp_path_factory.mktemp("browser")
    with streamlit_server(folder, "--server.headless", "true") as (url, _port):
        yield url, folder


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    opened = context.new_page()
    yield opened
    context.close()


def settle(page, charts: int = 0) -> None:
    """Wait for the app to finish running and for the page's charts to be drawn."""
    page.wait_for_selector("[data-testid='stApp']", timeout=60_000)
    page.wait_for_function(
        "() => !document.querySelector(\"[data-testid='stStatusWidget']\")", timeout=180_000
    )
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=60_000)
    if charts:
        page.wait_for_function(
            "n => document.querySelectorAll('.vega-embed canvas, .vega-embed svg').length >= n",
            arg=charts,
            timeout=60_000,
        )


@pytest.mark.parametrize("path", list(PAGES), ids=[name or "overview" for name in PAGES])
def test_every_page_renders_its_charts_without_error(server, page, path):
    url, _ = server
    page.goto(f"{url}/{path}")
    settle(page, PAGES[path])
    drawn = page.locator(".vega-embed canvas, .vega-embed svg").count()
    assert drawn >= PAGES[path]
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("[data-testid='stAlertContentError']").count() == 0
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=OUTPUT / f"{path or 'overview'}.png", full_page=True)


def test_the_sidebar_links_open_every_page(server, page):
    url, _ = server
    page.goto(url)
    settle(page, PAGES[""])
    links = page.locator("[data-testid='stSidebarNavLink']")
    assert links.count() == len(PAGES)
    links.filter(has_text="Finance").click()
    settle(page, PAGES["finance"])
    assert page.locator("[data-testid='stMain'] h1").inner_text() == "Finance"


def test_filters_travel_in_the_url(server, page):
    url, _ = server
    page.goto(f"{url}/fleet?function=Marketing")
    settle(page, PAGES["fleet"])
    tasks = page.locator("[data-testid='stMetric']").filter(has_text="Tasks").first.inner_text()
    page.goto(f"{url}/fleet")
    settle(page, PAGES["fleet"])
    everyone = page.locator("[data-testid='stMetric']").filter(has_text="Tasks").first.inner_text()
    assert tasks != everyone


def test_uploading_a_file_on_the_data_page_loads_it(server, page, tmp_path):
    url, _ = server
    upload = write_csv(tmp_path / "my_agents.csv", [example("agents", agent_id="uploaded-agent")])
    page.goto(f"{url}/data")
    settle(page)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(upload))
    page.get_by_text("my_agents.csv").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Load", exact=True).click()
    page.get_by_text("Loaded 1 of 1 file(s)").first.wait_for(timeout=60_000)
    settle(page)
    # The per-file line sits in the status box, which folds once loading completes.
    page.get_by_text("agents, 1 rows read: 1 accepted").first.wait_for(state="attached", timeout=10_000)
    assert page.locator("[data-testid='stException']").count() == 0


def test_the_finance_csv_downloads(server, page):
    url, _ = server
    page.goto(f"{url}/finance")
    settle(page, PAGES["finance"])
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV (by function and month)").click()
    saved = OUTPUT / "finance.csv"
    OUTPUT.mkdir(parents=True, exist_ok=True)
    download.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert rows
    assert {"function", "month", "labor_value_usd", "agent_cost_usd", "net_savings_usd"} <= set(rows[0])
    money = [
        row[column] for row in rows for column in ("labor_value_usd", "agent_cost_usd", "net_savings_usd")
    ]
    assert all(len(value.partition(".")[2]) <= 2 for value in money), "money is shown in cents"
