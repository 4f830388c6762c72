"""The dashboard in a real headless Chromium (Debian's, driven by Playwright): log in, open a
pair, see the chart drawn, and see a price change pushed over the WebSocket after the devnet
moves the price — without a reload. Runs against a live ASGI server (HTTP + WebSocket)."""
import shutil

import pytest

from apps.devnet.control import DevnetClient
from apps.protocols.sync import sync_chain
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres,
              pytest.mark.django_db(transaction=True)]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


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


def test_a_new_user_signs_up_for_pro_pays_on_checkout_and_the_api_answers_with_pros_limit(
        live_server_url, browser, settings):
    """Sign-up → pricing's Pro → Checkout on the local Stripe double → back on Pro, and the
    API's rate-limit header says Pro's limit for a key made while the organization was Free."""
    import requests

    from apps.accounts.models import User
    from apps.api_keys import runtime
    from apps.api_keys.services import create_key
    from apps.billing.plans import get_plan
    from apps.devnet.stripe.double import double_from_settings

    settings.OP_SITE_URL = live_server_url  # where the double sends its signed events
    settings.OP_BILLING_ENABLED = True
    double = double_from_settings(0, asynchronous=True)
    double.start()
    settings.OP_STRIPE_API_BASE = double.url
    runtime.reset()

    def rate_limit(raw: str) -> str:
        answer = requests.get(f"{live_server_url}/api/v1/pairs", timeout=10,
                              headers={"Authorization": f"Bearer {raw}"})
        return answer.headers["X-RateLimit-Limit"]

    try:
        page = browser.new_page()
        page.goto(f"{live_server_url}/pricing/")
        page.click("#signup-pro")
        assert page.is_checked("input[name=plan][value='pro:monthly']")
        page.fill("input[name=email]", "buyer@example.com")
        page.fill("input[name=password1]", "Correct-horse-9")
        page.fill("input[name=password2]", "Correct-horse-9")
        page.click("form button[type=submit]")
        page.wait_for_selector("#start-checkout", timeout=15_000)
        organization = User.objects.get(email="buyer@example.com").memberships.get().organization
        _, raw = create_key(organization, name="desk")
        assert rate_limit(raw) == str(get_plan("free").limits.requests_per_minute)

        page.click(f"#checkout-{organization.slug}")
        page.wait_for_url(f"{double.url}/checkout/**", timeout=15_000)
        page.click("text=Pay")  # the double's hosted page "pays" and redirects back
        page.wait_for_selector("#checkout-result:has-text('Pro')", timeout=15_000)
        organization.refresh_from_db()
        assert organization.plan == "pro"
        # the key's principal was cached on Free; the plan hash the upgrade published says Pro
        assert rate_limit(raw) == str(get_plan("pro").limits.requests_per_minute)
    finally:
        double.stop()
        runtime.reset()
