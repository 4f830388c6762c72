"""The dashboard in a real headless Chromium (Debian's, driven by Playwright): log in, open a
pair, see the chart drawn, and see a price change pushed over the WebSocket after the devnet
moves the price — without a reload. Runs against a live ASGI server (HTTP + WebSocket)."""
import shutil
import threading
import time

import pytest
import uvicorn

from apps.devnet import chain as evm
from apps.devnet.control import DevnetClient
from apps.protocols.sync import sync_chain
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres,
              pytest.mark.django_db(transaction=True)]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture
def live_server_url():
    from oracle_platform.asgi import application

    port = evm.free_port()
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off",
                                           ws="websockets-sansio"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the live server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; the test's own ORM
    # calls are still plain synchronous code (Django's documented escape hatch).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=shutil.which("chromium"),
                                              args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def consensus_text(page) -> str:
    return page.text_content("#pair-feeds .consensus .big") or ""


def test_a_user_watches_a_price_move_live(onchain_feeds, calm_devnet, clock, live_server_url,
                                          browser):
    user = UserFactory(email="watcher@example.com")
    assert sync_chain("ethereum") is not None  # prices in, consensus computed and cached
    page = browser.new_page()
    page.goto(f"{live_server_url}/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server_url}/pairs/ETH-USD/")
    page.wait_for_selector("#chart[data-drawn]", timeout=15_000)
    assert int(page.get_attribute("#chart", "data-drawn")) >= 1
    page.wait_for_selector("#live-indicator[data-state=live]", timeout=15_000)
    page.evaluate("window.__not_reloaded = true")
    before = consensus_text(page)

    DevnetClient(calm_devnet.control.url).inject("move", "ETH", percent="10")
    clock.step(2)  # the oracles publish the new price on-chain
    assert sync_chain("ethereum") is not None  # read, stored, consensus pushed to the browser

    page.wait_for_function(
        "before => document.querySelector('#pair-feeds .consensus .big').textContent !== before",
        arg=before, timeout=15_000,
    )
    assert page.evaluate("window.__not_reloaded") is True
    assert consensus_text(page) != before
