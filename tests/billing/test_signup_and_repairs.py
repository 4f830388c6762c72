"""Signing up straight into a paid plan's checkout, and the state billing keeps right when
things go wrong: a plan hash lost in Redis, a refused meter event, a webhook that came late,
two subscriptions for one customer, a plan with nothing to bill overage with."""
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.api_keys import runtime
from apps.api_keys.services import create_key, republish_limits
from apps.api_keys.throttle import PLAN_PREFIX, PLAN_TTL_SECONDS, plan_limits
from apps.billing import metering, services
from apps.billing.models import MeterReport
from apps.billing.plans import get_plan
from tests.billing.test_billing import _hourly, _metered, _subscribed

NEW_USER = {"email": "new@example.com", "password1": "Correct-horse-9",
            "password2": "Correct-horse-9"}


def test_the_pricing_link_preselects_the_plan_and_sign_up_goes_on_to_its_checkout(
        client, db, stripe_double):
    page = client.get(reverse("pricing"))
    link = next(line for line in page.content.decode().splitlines() if 'id="signup-pro"' in line)
    assert "plan=pro&amp;interval=monthly" in link
    form = client.get(reverse("account_signup") + "?plan=pro&interval=yearly").content.decode()
    assert 'value="pro:yearly" id="id_plan_2" checked' in form
    signed_up = client.post(reverse("account_signup"), {**NEW_USER, "plan": "pro:yearly"})
    assert signed_up["Location"] == reverse("billing_start") + "?plan=pro&interval=yearly"
    start = client.get(signed_up["Location"]).content.decode()
    assert "Pro, billed yearly" in start and "14-day free trial" in start
    from apps.accounts.models import User

    organization = User.objects.get(email=NEW_USER["email"]).memberships.get().organization
    checkout = client.post(reverse("billing_checkout", args=[organization.slug]),
                           {"plan": "pro", "interval": "yearly"})
    session_id = urlparse(checkout["Location"]).path.rstrip("/").rsplit("/", 1)[-1]
    stripe_double.complete_checkout(session_id)
    stripe_double.flush()
    organization.refresh_from_db()
    assert organization.plan == "pro"


def test_signing_up_on_free_asks_for_no_card(client, db, stripe_double):
    signed_up = client.post(reverse("account_signup"), {**NEW_USER, "plan": "free"})
    assert signed_up["Location"] == reverse("overview")
    assert not stripe_double.customers


def test_an_invitations_next_wins_over_a_plan_choice(client, db):
    accept = reverse("invitation", args=["a-token"])  # where the invitation's link led
    signed_up = client.post(reverse("account_signup") + f"?next={accept}",
                            {**NEW_USER, "plan": "pro:monthly", "next": accept})
    assert signed_up["Location"] == accept


def test_without_billing_sign_up_has_no_plan_choice_and_start_is_404(client, db, settings):
    settings.OP_BILLING_ENABLED = False
    assert 'name="plan"' not in client.get(reverse("account_signup")).content.decode()
    client.post(reverse("account_signup"), NEW_USER)
    assert client.get(reverse("billing_start") + "?plan=pro&interval=monthly").status_code == 404


def test_start_refuses_a_plan_not_for_sale(client, tenants):
    client.force_login(tenants["owner"])
    response = client.get(reverse("billing_start") + "?plan=free&interval=monthly")
    assert response["Location"] == reverse("pricing")


def test_a_paid_plan_without_an_overage_price_refuses_past_its_volume(settings):
    assert get_plan("pro").metered
    month = next(limit for limit in plan_limits("pro") if limit.name == "month")
    assert not month.hard
    settings.OP_STRIPE_PRICES = {**settings.OP_STRIPE_PRICES, "pro_overage": ""}
    assert not get_plan("pro").metered  # nothing to bill it with: not given away either
    month = next(limit for limit in plan_limits("pro") if limit.name == "month")
    assert month.hard
    settings.OP_STRIPE_PRICES = {**settings.OP_STRIPE_PRICES, "pro_overage": "price_x"}
    settings.OP_BILLING_ENABLED = False
    assert not get_plan("pro").metered


def test_a_paying_subscription_wins_over_a_newer_abandoned_one(client, tenants, stripe_double):
    account = _subscribed(client, tenants, stripe_double)
    paid = account.stripe_subscription_id
    newer = stripe_double.subscriptions[paid] | {"id": "sub_abandoned", "status": "incomplete",
                                                 "created": stripe_double.now() + 60}
    stripe_double.subscriptions["sub_abandoned"] = newer
    services.refresh_account(account)
    account.refresh_from_db()
    tenants["org"].refresh_from_db()
    assert account.stripe_subscription_id == paid and tenants["org"].plan == "pro"


def test_of_two_paying_subscriptions_the_dearer_plan_is_mirrored_and_logged(
        client, tenants, stripe_double, caplog):
    account = _subscribed(client, tenants, stripe_double)
    pro = stripe_double.subscriptions[account.stripe_subscription_id]
    enterprise_price = stripe_double.prices["price_enterprise_monthly"]
    older = {**pro, "id": "sub_enterprise", "created": pro["created"] - 60,
             "items": {**pro["items"], "data": [{**pro["items"]["data"][0],
                                                "price": enterprise_price}]}}
    stripe_double.subscriptions["sub_enterprise"] = older
    services.refresh_account(account)
    account.refresh_from_db()
    assert account.stripe_subscription_id == "sub_enterprise"
    assert "2 paying subscriptions" in caplog.text


def test_the_grace_period_counts_from_the_failed_invoice_when_the_webhook_was_missed(
        client, tenants, stripe_double):
    account = _subscribed(client, tenants, stripe_double)
    stripe_double.end_trial(account.stripe_subscription_id, succeed=False)
    failed_at = timezone.now()
    # the events are lost; a reconcile three days later finds the subscription past due
    services.refresh_account(account, now=failed_at + timedelta(days=3))
    account.refresh_from_db()
    assert account.status == "past_due"
    assert abs(account.past_due_since - failed_at) < timedelta(minutes=1)


def test_a_refused_meter_event_is_kept_and_does_not_block_the_hours_after_it(
        client, tenants, stripe_double, settings, monkeypatch):
    import stripe

    account, key, now, start = _metered(client, tenants, stripe_double, settings,
                                        included=10, hours_ago=3)
    _hourly(tenants["org"], key, start, [15, 5])  # 5 over, then 5 more
    original = metering._send
    first_hour = metering.identifier(tenants["org"].pk, start)

    def refuse_the_first(account, report):
        if report.identifier == first_hour:
            raise stripe.InvalidRequestError("No such customer", "payload")
        original(account, report)

    monkeypatch.setattr(metering, "_send", refuse_the_first)
    assert metering.report_overage(now=now) == 1  # the second hour went
    refused = MeterReport.objects.get(identifier=first_hour)
    assert refused.reported_at is None and "No such customer" in refused.last_error
    monkeypatch.setattr(metering, "_send", original)
    assert metering.report_overage(now=now) == 1  # retried, and sent
    refused.refresh_from_db()
    assert refused.reported_at is not None and refused.last_error == ""
    assert stripe_double.meter_usage(account.stripe_customer_id) == 10


@pytest.mark.redis
def test_a_lost_plan_hash_is_republished_and_every_hash_expires(tenants):
    runtime.reset()
    create_key(tenants["org"], name="desk")
    services.set_plan(tenants["org"], "pro")
    client = runtime.throttle().client  # type: ignore[union-attr]
    name = f"{PLAN_PREFIX}{tenants['org'].pk}"
    client.delete(name)  # as if Redis restarted, or the publish after the commit was lost
    assert republish_limits() >= 1
    assert client.hget(name, "plan") == b"pro"
    assert 0 < client.ttl(name) <= PLAN_TTL_SECONDS
    client.delete(name)


def test_browsing_the_product_signed_in_does_not_count_as_api_volume(client, tenants,
                                                                     settings):
    settings.OP_TIER_LIMITS = {"free": {"included_requests_per_month": 2}}
    runtime.reset()
    client.force_login(tenants["owner"])
    assert all(client.get("/api/v1/pairs").status_code == 200 for _ in range(3))
    _, raw = create_key(tenants["org"], name="desk")
    answers = [client.get("/api/v1/pairs", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code
               for _ in range(3)]
    assert answers == [200, 200, 429]  # the key's calls are the volume
    runtime.reset()


def test_members_over_the_seats_after_a_downgrade_are_flagged_not_removed(client, tenants):
    from tests.factories import MembershipFactory

    services.set_plan(tenants["org"], "pro")
    for n in range(3):  # 5 members on a plan of 3 seats after the downgrade
        MembershipFactory(organization=tenants["org"], role="member",
                          user__email=f"m{n}@example.com")
    services.set_plan(tenants["org"], "free")
    client.force_login(tenants["owner"])
    settings_page = client.get(reverse("organization_settings", args=[tenants["org"].slug]))
    assert b'id="over-seats"' in settings_page.content
    billing = client.get(reverse("billing", args=[tenants["org"].slug])).content.decode()
    assert "nobody was removed" in billing
    assert tenants["org"].memberships.count() >= 5

