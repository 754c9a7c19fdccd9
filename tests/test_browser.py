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
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
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


# What a person cannot read: a tile value or note cut with an ellipsis, a table that needs a horizontal
# scroll bar (its right-hand columns hidden), a chart wider than its column (its right edge cut).
CLIPPED = """() => {
    const cut = [];
    const wider = (element) => element.scrollWidth > element.clientWidth + 1;
    for (const element of document.querySelectorAll(
        "[data-testid='stMetricValue'], [data-testid='stMetricDelta'], [data-testid='stMetricLabel'], "
        + "[data-testid='stMain'] [data-testid='stCaptionContainer'], [data-testid='stMain'] button, "
        + "[data-testid='stSidebar'] button, [data-testid='stSidebar'] [data-testid='stCaptionContainer']")) {
        for (const part of [element, ...element.querySelectorAll('*')]) {
            if (wider(part) && getComputedStyle(part).overflow !== 'visible') { cut.push('text: ' + element.innerText); break; }
        }
    }
    for (const grid of document.querySelectorAll("[data-testid='stDataFrame']")) {
        const scroller = grid.querySelector('.dvn-scroller');
        const keyed = grid.closest("[class*='st-key-']");
        const name = keyed ? [...keyed.classList].find((c) => c.startsWith('st-key-')) : 'a table';
        if (scroller && wider(scroller)) cut.push(name + ' scrolls sideways (' + scroller.scrollWidth + ' > ' + scroller.clientWidth + ')');
    }
    for (const chart of document.querySelectorAll("[data-testid='stMain'] .vega-embed")) {
        const drawn = chart.querySelector('canvas, svg');
        const column = chart.closest("[data-testid='stVerticalBlock']");
        if (drawn && column && drawn.getBoundingClientRect().right > column.getBoundingClientRect().right + 2)
            cut.push('chart wider than its column');
    }
    return cut;
}"""
RAW_CODES = (
    "pilot_plateau",
    "crossing_point",
    "insufficient_data",
    "on_track",
    "pilot_purgatory",
    "in_progress",
)


@pytest.mark.parametrize("path", list(PAGES), ids=[name or "overview" for name in PAGES])
def test_every_page_renders_its_charts_without_error(server, page, path):
    url, _ = server
    outside = []
    page.on("request", lambda request: outside.append(request.url) if not request.url.startswith(
        ("http://127.0.0.1", "data:", "blob:", "about:")) else None)  # fmt: skip
    page.goto(f"{url}/{path}")
    settle(page, PAGES[path])
    drawn = page.locator(".vega-embed canvas, .vega-embed svg").count()
    assert drawn >= PAGES[path]
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("[data-testid='stAlertContentError']").count() == 0
    OUTPUT.mkdir(parents=True, exist_ok=True)
    # The main area scrolls inside the window: a window as tall as the page shows all of it (and
    # draws every table, which draws only once on screen).
    # The page can still grow after it settles (a table drawn once on screen, a section after a slow
    # query): the window follows its height until the height holds.
    height = 0
    for _ in range(10):
        page.wait_for_timeout(1000)
        grown = page.evaluate(
            '() => Math.min(8000, Math.max(...[...document.querySelectorAll(\'[data-testid="stMain"], '
            '[data-testid="stMain"] *\')].map((element) => element.scrollHeight)))'
        )
        if grown <= height:
            break
        height = grown
        page.set_viewport_size({"width": 1440, "height": max(900, height)})
    page.wait_for_function(
        # A table in a closed expander is not drawn until opened: wait for the ones on show.
        "() => [...document.querySelectorAll(\"[data-testid='stDataFrame']\")].every("
        "(grid) => !grid.checkVisibility() || grid.querySelector('canvas'))",
        timeout=60_000,
    )
    page.wait_for_timeout(1500)
    clipped = page.evaluate(CLIPPED)
    page.screenshot(path=OUTPUT / f"{path or 'overview'}.png", full_page=True)
    assert clipped == []
    text = page.locator("[data-testid='stMain']").inner_text()
    assert [code for code in RAW_CODES if code in text] == []
    assert outside == [], "nothing is fetched from outside the machine"


def test_every_sidebar_filter_is_reachable_without_scrolling(server, page):
    url, _ = server
    page.goto(url)
    settle(page, PAGES[""])
    for label in ("As of", "Period", "Date range", "Function", "Business unit", "Reset filters"):
        box = page.locator("[data-testid='stSidebar']").get_by_text(label, exact=True).first.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 900, f"{label} is below the fold"
    # A dropdown opens on screen.
    page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").last.click()
    menu = page.locator("[role='listbox']").first
    menu.wait_for(timeout=10_000)
    box = menu.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + min(box["height"], 120) <= 900


def test_the_navigation_opens_a_page(server, page):
    url, _ = server
    page.goto(url)
    settle(page, PAGES[""])
    # The pages sit in the top bar, by section, so that the sidebar holds only the filters.
    sections = page.locator("[data-testid='stTopNavSection']")
    assert sections.count() == 4
    sections.filter(has_text="Finance").click()
    page.locator("[data-testid='stTopNavDropdownLink']").filter(has_text="Finance").click()
    # The click starts the page's run a moment later: until then the Overview looks settled.
    page.wait_for_url(f"{url}/finance", timeout=60_000)
    page.locator("[data-testid='stMain'] h1").filter(has_text="Finance").wait_for(timeout=60_000)
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
    # The sample is loaded, so the form asks; this test keeps it for the tests after it.
    page.get_by_text("Add these files to the sample").click()
    page.get_by_role("button", name="Load", exact=True).click()
    page.get_by_text("Loaded 1 of 1 file(s)").first.wait_for(timeout=60_000)
    settle(page)
    # The per-file line sits in the status box, which folds once loading completes.
    page.get_by_text("the agent catalog, 1 row read: 1 accepted").first.wait_for(
        state="attached", timeout=10_000
    )
    assert page.locator("[data-testid='stException']").count() == 0


def downloaded(page, button: str, name: str) -> str:
    """The text of the file a download button gives, kept in the output folder as `name`."""
    with page.expect_download() as download:
        page.get_by_role("button", name=button).click()
    saved = OUTPUT / name
    OUTPUT.mkdir(parents=True, exist_ok=True)
    download.value.save_as(saved)
    return saved.read_text(encoding="utf-8")


def test_the_finance_csv_downloads(server, page):
    url, _ = server
    page.goto(f"{url}/finance")
    settle(page, PAGES["finance"])
    text = downloaded(page, "Download CSV (by function and month)", "finance.csv")
    about = [line for line in text.splitlines() if line.startswith("# ")]
    assert about[:2] == ["# As of: 2025-12-31", "# Range: 2024-01 to 2025-12 (2024-01-01 to 2025-12-31)"]
    rows = list(
        csv.DictReader(
            io.StringIO("\n".join(line for line in text.splitlines() if not line.startswith("# ")))
        )
    )
    assert rows
    money_columns = ("Labor value of hours saved (USD)", "Agent cost (USD)", "Net savings (USD)")
    assert {"Function", "Month (YYYY-MM)", *money_columns} <= set(rows[0])
    assert all(len(row["Month (YYYY-MM)"]) == 7 for row in rows)
    money = [row[column] for row in rows for column in money_columns]
    assert all(len(value.partition(".")[2]) <= 2 for value in money), "money is shown in cents"


def test_the_executive_summary_downloads_and_opens_when_asked(server, page):
    """Built on request: the download makes it when clicked, the expander when opened."""
    url, _ = server
    page.goto(url)
    settle(page, PAGES[""])
    heading = "Offloading report as of 2025-12-31"
    assert page.get_by_text(heading).count() == 0
    text = downloaded(page, "Download the summary (Markdown)", "offload-summary.md")
    assert text.startswith(f"# {heading}\n\nRange 2024-01-01 to 2025-12-31.")
    assert "## Where the organisation stands" in text
    page.get_by_text("Read the summary here").click()
    page.get_by_role("heading", name=heading).wait_for(timeout=30_000)
    assert page.locator("[data-testid='stException']").count() == 0


def test_enter_applies_a_typed_date_and_the_sidebar_shows_the_applied_range(server, page):
    url, _ = server
    page.goto(f"{url}/finance")
    settle(page, PAGES["finance"])
    # The applied range's caption (the sidebar's first caption may be the sign-in note).
    applied = page.locator("[data-testid='stSidebar'] [data-testid='stCaptionContainer']").filter(
        has_text="Showing"
    )
    assert "as of 2025-12-31" in applied.inner_text()
    page.get_by_role("spinbutton", name="month, As of").click()
    page.keyboard.type("06")
    page.keyboard.press("Enter")
    # Applied at once (not after the field loses focus): the range now ends with as of.
    page.wait_for_function(
        "() => [...document.querySelectorAll(\"[data-testid='stSidebar'] [data-testid='stCaptionContainer']\")]"
        ".some((caption) => caption.innerText.includes('as of 2025-06-30'))",
        timeout=30_000,  # a loaded machine re-runs the page slowly
    )
    assert "Showing 2024-01 to 2025-06 (18 months, as of 2025-06-30)" in applied.inner_text()
