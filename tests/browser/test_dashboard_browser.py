"""The dashboards in a real browser: `stockcard dashboard` serves the app on a free loopback
port against the known warehouse, Debian's Chromium opens every page, finds a KPI on screen and
keeps a screenshot of it under test-artifacts/browser/. Nothing may leave the machine."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from stockcard import dashboard
from tests.integration.test_dashboard_warehouse import known_warehouse

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
STARTUP_SECONDS = 90
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

# page (URL path) → (title, a KPI card's label, the value it shows for the known warehouse)
PAGES = {
    "": ("Overview", "Stock value", "EUR 392.56"),
    "stock_lookup?lookup=4000000000017": ("Stock lookup", "On hand, every facility", "83"),
    "stock_card?sku=TEE-M&facility=DC1": ("Stock card", "Closing", "69"),
    "transfers": ("Transfers", "Open transfers", "2"),
    "counts": ("Counts and accuracy", "Recounts waiting", "1"),
    "adjustments": ("Adjustments and shrink", "Shrink value", "EUR 16.64"),
    "aging": ("Aging and expiry", "Expired quantity", "4"),
    "valuation": ("Valuation", "Stock value", "EUR 392.56"),
    "replenishment": ("Replenishment", "Orders suggested", "1"),
    "data_quality": ("Data quality", "Rows rejected", "2"),
}


def chromium_or_skip() -> None:
    """Skip where Chromium is absent, but never in CI: there its absence is a failure."""
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run installs Debian's chromium")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app as `stockcard dashboard --warehouse … --port …` serves it; its base URL."""
    chromium_or_skip()
    warehouse = known_warehouse(tmp_path_factory)
    port = free_port()
    args = argparse.Namespace(warehouse=str(warehouse), port=port, host="127.0.0.1")
    log = tmp_path_factory.mktemp("dashboard") / "streamlit.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            dashboard.command(args), env=dashboard.environment(args), cwd=ROOT,
            stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, server, log)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_until_healthy(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the dashboard exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as answer:
                if answer.read().strip() == b"ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"the dashboard did not answer within {STARTUP_SECONDS} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def browser(served: str) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


def test_every_page_shows_its_kpi_in_the_browser(served: str, browser) -> None:
    from playwright.sync_api import expect

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    # tall enough for whole pages: Streamlit scrolls its main area, not the document
    page = browser.new_page(viewport={"width": 1400, "height": 3200})
    page.route("**/*", lambda route: keep_local(route, outside))
    for path, (title, label, value) in PAGES.items():
        page.goto(f"{served}/{path}")
        expect(page.get_by_role("heading", name=title, level=1)).to_be_visible(timeout=60_000)
        card = page.get_by_test_id("stMetric").filter(has_text=label).first
        expect(card.get_by_test_id("stMetricValue")).to_have_text(value, timeout=60_000)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        settle(page)
        name = path.split("?")[0] or "overview"
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    page.close()
    assert outside == [], "the dashboards asked for something beyond this machine"


def keep_local(route, outside: list[str]) -> None:
    """Let requests to the app through; refuse and note any other host (telemetry, fonts…)."""
    host = urlsplit(route.request.url).hostname
    if host in LOCAL_HOSTS or route.request.url.startswith(("data:", "blob:")):
        route.continue_()
    else:
        outside.append(route.request.url)
        route.abort()


def settle(page) -> None:
    """Wait for the script run to finish (the status widget goes away) before the screenshot."""
    page.wait_for_load_state("networkidle")
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=60_000)


def test_a_stock_card_link_from_the_lookup_opens_that_card(served: str, browser) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{served}/stock_lookup?lookup=TEE-M")
    page.get_by_role("link", name="TEE-M at ST1").click()
    expect(page.get_by_role("heading", name="Stock card", level=1)).to_be_visible(timeout=60_000)
    closing = page.get_by_test_id("stMetric").filter(has_text="Closing").first
    expect(closing.get_by_test_id("stMetricValue")).to_have_text("14", timeout=60_000)
    assert "sku=TEE-M" in page.url and "facility=ST1" in page.url
    page.close()


def test_a_facility_chosen_on_one_page_filters_the_next(served: str, browser) -> None:
    """ST1 alone holds 14 TEE-M at 4.32: 60.48 on the overview, and still on the valuation page."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 2000})
    page.goto(served)
    stock_value = page.get_by_test_id("stMetric").filter(has_text="Stock value").first
    expect(stock_value.get_by_test_id("stMetricValue")).to_have_text("EUR 392.56", timeout=60_000)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_test_id("stMultiSelect").first.click()  # Facility, the first filter
    page.get_by_role("option", name="ST1").click()
    page.keyboard.press("Escape")
    expect(stock_value.get_by_test_id("stMetricValue")).to_have_text("EUR 60.48", timeout=60_000)
    sidebar.get_by_role("link", name="Valuation").click()
    expect(page.get_by_role("heading", name="Valuation", level=1)).to_be_visible(timeout=60_000)
    valued = page.get_by_test_id("stMetric").filter(has_text="Stock value").first
    expect(valued.get_by_test_id("stMetricValue")).to_have_text("EUR 60.48", timeout=60_000)
    page.close()
