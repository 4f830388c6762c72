"""Paid plans end to end against the local Stripe double: checkout, webhooks (verified,
deduplicated, order-proof), dunning, downgrades that pause, overage reported once, and the
limits reaching the API's throttle at once."""
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from apps.alerts.models import Rule
from apps.alerts.services.rules import create_rule
from apps.api_keys.models import ApiKey, ApiUsage
from apps.api_keys.services import create_key
from apps.api_keys.throttle import Caller, RedisThrottle, plan_fields, plan_limits
from apps.api_keys.usage import UsageBuffer
from apps.audit.models import AuditEvent
from apps.billing import metering, services
from apps.billing.models import BillingAccount, MeterReport, StripeEvent
from apps.billing.plans import get_plan
from apps.devnet.stripe.objects import add_interval
from tests.factories import MembershipFactory

WEBHOOK = "/billing/stripe/webhook/"


def signed(payload: dict, *, secret: str | None = None, at: int | None = None) -> dict:
    body = json.dumps(payload)
    t = int(time.time()) if at is None else at
    mac = hmac.new((secret or settings.OP_STRIPE_WEBHOOK_SECRET).encode(),
                   f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return {"data": body, "content_type": "application/json",
            "HTTP_STRIPE_SIGNATURE": f"t={t},v1={mac}"}


EVENT = {"id": "evt_test_1", "object": "event", "type": "invoice.paid", "created": 1_800_000_000,
         "api_version": "2026-10-28.endive", "livemode": False, "pending_webhooks": 1,
         "request": {"id": None, "idempotency_key": None},
         "data": {"object": {"id": "in_1", "object": "invoice", "customer": "cus_unknown"}}}


@pytest.mark.parametrize("headers", [
    {},  # unsigned
    {"secret": "whsec_wrong"},  # signed with another secret
    {"at": int(time.time()) - 3600},  # a replay from an hour ago: past the 300 s tolerance
], ids=["unsigned", "bad_secret", "stale"])
def test_a_bad_or_stale_signature_gets_400_and_nothing_is_stored(client, db, headers):
    request = signed(EVENT, **headers)
    if not headers:
        del request["HTTP_STRIPE_SIGNATURE"]
    response = client.post(WEBHOOK, **request)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_signature"
    assert not StripeEvent.objects.exists()


def test_a_valid_event_is_stored_once_and_a_redelivery_is_a_200_no_op(client, db):
    first = client.post(WEBHOOK, **signed(EVENT))
    again = client.post(WEBHOOK, **signed(EVENT))
    assert first.status_code == again.status_code == 200
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    assert StripeEvent.objects.count() == 1
    # about no organization here: processed (and logged), not retried forever
    assert StripeEvent.objects.get().processed_at is not None


def test_a_body_that_is_not_an_event_gets_400(client, db):
    response = client.post(WEBHOOK, **signed({"hello": "world"}))
    assert response.status_code == 400 and not StripeEvent.objects.exists()


def _checkout(client, tenants, plan="pro", interval="monthly"):
    client.force_login(tenants["owner"])
    response = client.post(reverse("billing_checkout", args=[tenants["org"].slug]),
                           {"plan": plan, "interval": interval})
    assert response.status_code == 302, response.content
    return urlparse(response["Location"]).path.rstrip("/").rsplit("/", 1)[-1]


def _subscribed(client, tenants, stripe_double) -> BillingAccount:
    """The tenants' organization subscribed to Pro through Checkout on the double."""
    stripe_double.complete_checkout(_checkout(client, tenants))
    stripe_double.flush()
    return BillingAccount.objects.get(organization=tenants["org"])


def test_upgrading_through_checkout_gives_pro_and_the_api_its_limit_at_once(
        client, tenants, stripe_double, django_capture_on_commit_callbacks):
    _, raw = create_key(tenants["org"], name="desk")
    before = client.get("/api/v1/pairs", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert before["X-RateLimit-Limit"] == str(get_plan("free").limits.requests_per_minute)
    session_id = _checkout(client, tenants)
    session = stripe_double.checkout_sessions[session_id]
    assert session["client_reference_id"] == str(tenants["org"].pk)
    assert session["mode"] == "subscription"
    success = stripe_double.complete_checkout(session_id)
    with django_capture_on_commit_callbacks(execute=True):  # the publish follows the commit
        stripe_double.flush()
    tenants["org"].refresh_from_db()
    assert tenants["org"].plan == "pro"
    account = BillingAccount.objects.get(organization=tenants["org"])
    assert account.status == "trialing" and account.had_trial  # Pro's 14-day trial
    assert account.current_period_end is not None
    back = client.get(urlparse(success).path + "?" + urlparse(success).query)
    assert back.status_code == 200 and b"Pro" in back.content
    # the cached principal still says free; the throttle's plan hash says pro
    after = client.get("/api/v1/pairs", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert after["X-RateLimit-Limit"] == str(get_plan("pro").limits.requests_per_minute)
    changed = AuditEvent.objects.get(organization=tenants["org"], action="billing.plan_changed")
    assert (changed.before, changed.after["plan"]) == ({"plan": "free"}, "pro")


def test_one_stripe_customer_per_organization_created_once(client, tenants, stripe_double):
    _checkout(client, tenants)
    _checkout(client, tenants, interval="yearly")
    assert len(stripe_double.customers) == 1
    customer = next(iter(stripe_double.customers.values()))
    assert customer["metadata"]["organization_id"] == str(tenants["org"].pk)


def test_events_in_any_order_or_twice_end_in_the_state_stripe_holds(client, tenants,
                                                                     stripe_double):
    session_id = _checkout(client, tenants)
    stripe_double.complete_checkout(session_id)
    events = [e["id"] for e in stripe_double.events]
    stripe_double.redeliver(events, shuffle=True, seed=3)
    stripe_double.flush(shuffle=True, seed=5)
    stripe_double.redeliver(events)  # and all again
    stripe_double.flush()
    tenants["org"].refresh_from_db()
    assert tenants["org"].plan == "pro"
    assert StripeEvent.objects.count() == len(set(events))


def test_payment_failure_keeps_the_plan_for_the_grace_then_free_then_paid_again(
        client, tenants, stripe_double, mailoutbox, django_capture_on_commit_callbacks):
    account = _subscribed(client, tenants, stripe_double)
    stripe_double.end_trial(account.stripe_subscription_id, succeed=False)
    with django_capture_on_commit_callbacks(execute=True):  # the owners' email
        stripe_double.flush()
    account.refresh_from_db()
    tenants["org"].refresh_from_db()
    assert account.status == "past_due" and tenants["org"].plan == "pro"  # in the grace
    assert any("Payment failed" in m.subject for m in mailoutbox)
    client.post(reverse("switch_organization"), {"organization": tenants["org"].slug})
    page = client.get(reverse("billing", args=[tenants["org"].slug])).content.decode()
    assert "billing-notice" in page and "failed" in page
    later = timezone.now() + timedelta(days=settings.OP_BILLING_GRACE_DAYS, minutes=1)
    assert services.expire_grace(now=later) == 1
    tenants["org"].refresh_from_db()
    assert tenants["org"].plan == "free"
    stripe_double.pay_open_invoice(account.stripe_subscription_id)
    stripe_double.flush()
    tenants["org"].refresh_from_db()
    account.refresh_from_db()
    assert tenants["org"].plan == "pro" and account.status == "active"


def test_cancel_at_period_end_keeps_pro_until_the_subscription_ends(client, tenants,
                                                                    stripe_double):
    _subscribed(client, tenants, stripe_double)
    response = client.post(reverse("billing_cancel", args=[tenants["org"].slug]))
    assert response.status_code == 302
    account = BillingAccount.objects.get(organization=tenants["org"])
    assert account.cancel_at_period_end
    tenants["org"].refresh_from_db()
    assert tenants["org"].plan == "pro"
    stripe_double.cancel_now(account.stripe_subscription_id)
    stripe_double.flush()
    tenants["org"].refresh_from_db()
    assert tenants["org"].plan == "free"


def test_an_upgrade_to_enterprise_is_a_prorated_change_of_the_subscription(
        client, tenants, stripe_double):
    _subscribed(client, tenants, stripe_double)
    response = client.post(reverse("billing_change", args=[tenants["org"].slug]),
                           {"plan": "enterprise", "interval": "yearly"})
    assert response.status_code == 302
    tenants["org"].refresh_from_db()
    assert tenants["org"].plan == "enterprise"
    account = BillingAccount.objects.get(organization=tenants["org"])
    assert (account.subscribed_plan, account.interval) == ("enterprise", "yearly")


def test_a_downgrade_pauses_the_newest_rules_and_keys_and_an_upgrade_resumes_them(tenants):
    org = tenants["org"]
    services.set_plan(org, "pro")
    rules = [create_rule(org, name=f"r{n}", kind="status", scope="all")
             for n in range(7)]
    keys = [create_key(org, name=f"k{n}")[0] for n in range(3)]
    services.set_plan(org, "free")  # Free: 5 rules, 2 keys
    paused = set(Rule.objects.exclude(paused_reason="").values_list("pk", flat=True))
    assert paused == {rules[5].pk, rules[6].pk}
    assert Rule.objects.count() == 7  # nothing deleted
    assert "Free plan allows 5" in Rule.objects.get(pk=rules[6].pk).paused_reason
    assert list(ApiKey.objects.exclude(paused_reason="")) == [keys[2]]
    services.set_plan(org, "enterprise")
    assert not Rule.objects.exclude(paused_reason="").exists()
    assert not ApiKey.objects.exclude(paused_reason="").exists()


def test_a_paused_key_is_refused_with_the_reason(client, tenants,
                                                django_capture_on_commit_callbacks):
    org = tenants["org"]
    services.set_plan(org, "pro")
    raws = [create_key(org, name=f"k{n}")[1] for n in range(3)]
    assert client.get("/api/v1/pairs", HTTP_AUTHORIZATION=f"Bearer {raws[2]}").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        services.set_plan(org, "free")
    refused = client.get("/api/v1/pairs", HTTP_AUTHORIZATION=f"Bearer {raws[2]}")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "key_paused"
    assert client.get("/api/v1/pairs", HTTP_AUTHORIZATION=f"Bearer {raws[0]}").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        services.set_plan(org, "pro")
    assert client.get("/api/v1/pairs", HTTP_AUTHORIZATION=f"Bearer {raws[2]}").status_code == 200


def test_free_refuses_a_channel_kind_that_pro_allows(tenants):
    from django.core.exceptions import ValidationError

    from apps.alerts.services.channels import create_channel

    config = {"bot_token": "123456789:AAE" + "x" * 32, "chat_id": "42"}
    with pytest.raises(ValidationError, match="not part of the Free plan"):
        create_channel(tenants["org"], kind="telegram", name="desk", config=config)
    services.set_plan(tenants["org"], "pro")
    assert create_channel(tenants["org"], kind="telegram", name="desk", config=config).pk


def test_seats_are_limited_by_the_plan(client, tenants):
    from django.core.exceptions import ValidationError

    from apps.accounts.services import invite_member

    owner = tenants["org"].memberships.get(role="owner")
    invite_member(owner, "third@example.com", "member", accept_url="/x/{token}")  # 3 of 3
    with pytest.raises(ValidationError, match="allows 3 members"):
        invite_member(owner, "fourth@example.com", "member", accept_url="/x/{token}")
    services.set_plan(tenants["org"], "pro")
    invite_member(owner, "fourth@example.com", "member", accept_url="/x/{token}")


@pytest.mark.redis
def test_a_plan_change_reaches_a_second_throttle_sharing_one_redis(tenants):
    org = tenants["org"]
    first = RedisThrottle(settings.REDIS_URL, UsageBuffer())
    second = RedisThrottle(settings.REDIS_URL, UsageBuffer())
    caller = Caller((f"key:plan{org.pk}", f"org:{org.pk}"), plan_limits("free"), None, "",
                    organization_id=org.pk)
    first.publish_plan(org.pk, plan_fields("free"))
    assert second.hit(caller).tightest.limit.quota == get_plan("free").limits.requests_per_minute
    first.publish_plan(org.pk, plan_fields("enterprise"))  # as billing does on a change
    decision = second.hit(caller)  # the caller still brings free's quotas
    assert decision.plan == "enterprise"
    assert decision.tightest.limit.quota == get_plan("enterprise").limits.requests_per_minute
    first.client.delete(f"op:plan:{org.pk}")


def test_free_refuses_past_the_monthly_volume_and_pro_meters_it(tenants, settings):
    from apps.api_keys.throttle import LocalThrottle

    settings.OP_TIER_LIMITS = {"free": {"included_requests_per_month": 2},
                               "pro": {"included_requests_per_month": 2}}
    throttle = LocalThrottle(UsageBuffer())
    org = tenants["org"]
    caller = Caller(("key:1", f"org:{org.pk}"), plan_limits("free"), None, "",
                    organization_id=org.pk)
    throttle.publish_plan(org.pk, plan_fields("free"))
    assert [throttle.hit(caller).allowed for _ in range(3)] == [True, True, False]
    throttle.publish_plan(org.pk, plan_fields("pro"))
    assert throttle.hit(caller).allowed  # past the included volume, metered, not refused


def _hourly(org, key, start: datetime, calls: list[int]) -> None:
    for n, count in enumerate(calls):
        ApiUsage.objects.create(key=key, organization=org, hour=start + timedelta(hours=n),
                                calls=count, response_bytes=0)


def _metered(client, tenants, stripe_double, settings, *, included: int, hours_ago: int):
    """Pro through Checkout with `included` calls a month, a key, and a billing period that
    began `hours_ago` hours ago on the hour: (account, key, now, the period's start)."""
    settings.OP_TIER_LIMITS = {"pro": {"included_requests_per_month": included}}
    account = _subscribed(client, tenants, stripe_double)
    key, _ = create_key(tenants["org"], name="desk")
    now = timezone.now()
    start = metering.floor_hour(now) - timedelta(hours=hours_ago)
    account.current_period_start = start
    account.save()
    return account, key, now, start


def test_overage_is_reported_once_per_closed_hour_even_when_the_task_runs_twice(
        client, tenants, stripe_double, settings):
    account, key, now, start = _metered(client, tenants, stripe_double, settings,
                                        included=100, hours_ago=5)
    _hourly(tenants["org"], key, start, [60, 30, 40, 50])  # 100 included: 30 + 50 over
    assert metering.report_overage(now=now) == 2
    assert metering.report_overage(now=now) == 0  # again: nothing new
    reports = MeterReport.objects.filter(organization=tenants["org"]).order_by("hour")
    assert [(r.calls, r.overage) for r in reports] == [(60, 0), (30, 0), (40, 30), (50, 50)]
    assert stripe_double.meter_usage(account.stripe_customer_id) == 80


def test_a_report_that_died_after_sending_is_resent_with_the_same_identifier(
        client, tenants, stripe_double, settings):
    account, key, now, start = _metered(client, tenants, stripe_double, settings,
                                        included=10, hours_ago=2)
    _hourly(tenants["org"], key, start, [25])
    metering.report_overage(now=now)
    MeterReport.objects.update(reported_at=None)  # as if the run died before marking it
    metering.report_overage(now=now)
    assert stripe_double.meter_usage(account.stripe_customer_id) == 15  # Stripe deduplicated


def test_reconcile_repairs_state_after_missed_webhooks(client, tenants, stripe_double):
    from django.core.management import call_command

    session_id = _checkout(client, tenants)
    stripe_double.complete_checkout(session_id)
    # the events never arrive (not flushed); the session's customer is linked already
    call_command("billing_reconcile")
    tenants["org"].refresh_from_db()
    assert tenants["org"].plan == "pro"


@pytest.mark.parametrize("role,status", [("owner", 200), ("admin", 200), ("member", 403),
                                         ("viewer", 403)])
def test_the_billing_page_is_for_owners_and_admins(client, tenants, role, status):
    user = tenants["owner"] if role == "owner" else MembershipFactory(
        organization=tenants["org"], role=role).user
    client.force_login(user)
    assert client.get(reverse("billing", args=[tenants["org"].slug])).status_code == status


def test_only_owners_start_checkout_and_outsiders_get_404(client, tenants):
    admin = MembershipFactory(organization=tenants["org"], role="admin").user
    client.force_login(admin)
    url = reverse("billing_checkout", args=[tenants["org"].slug])
    assert client.post(url, {"plan": "pro", "interval": "monthly"}).status_code == 403
    client.force_login(tenants["outsider"])
    for name in ("billing", "billing_success", "billing_cancelled"):
        assert client.get(reverse(name, args=[tenants["org"].slug])).status_code == 404
    for name in ("billing_checkout", "billing_change", "billing_cancel", "billing_portal"):
        assert client.post(reverse(name, args=[tenants["org"].slug])).status_code == 404


def test_the_pricing_page_compares_every_plan_and_hides_without_billing(client, settings, db):
    page = client.get("/pricing/?interval=yearly").content.decode()
    for plan in ("Free", "Pro", "Enterprise"):
        assert plan in page
    assert "$490" in page and "14-day free trial" in page
    settings.OP_BILLING_ENABLED = False
    assert client.get("/pricing/").status_code == 404


def test_the_operator_assigns_plans_with_a_command(tenants):
    from django.core.management import call_command

    call_command("set_plan", tenants["org"].slug, "enterprise")
    tenants["org"].refresh_from_db()
    assert tenants["org"].plan == "enterprise"
    event = AuditEvent.objects.get(organization=tenants["org"], action="billing.plan_changed")
    assert event.via == "system" and event.after["plan"] == "enterprise"


def test_tier_limit_overrides_apply_and_reject_unknown_keys(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.OP_TIER_LIMITS = {"pro": {"alert_rules": None, "members": 40}}
    assert get_plan("pro").limits.alert_rules is None and get_plan("pro").limits.members == 40
    settings.OP_TIER_LIMITS = {"pro": {"requests_per_day": 5}}
    with pytest.raises(ImproperlyConfigured, match="requests_per_day"):
        get_plan("pro")


def test_hours_are_floored_in_utc():
    assert metering.floor_hour(datetime(2026, 12, 7, 13, 45, tzinfo=UTC)) == datetime(
        2026, 12, 7, 13, tzinfo=UTC)


def test_revoking_a_key_resumes_the_oldest_paused_one_and_a_paused_key_cannot_rotate(tenants):
    from django.core.exceptions import ValidationError

    from apps.api_keys.services import revoke_key, rotate_key

    org = tenants["org"]
    services.set_plan(org, "pro")
    keys = [create_key(org, name=f"k{n}")[0] for n in range(3)]
    services.set_plan(org, "free")
    keys[2].refresh_from_db()
    with pytest.raises(ValidationError, match="Paused"):
        rotate_key(keys[2])  # its replacement would not count against the plan
    revoke_key(keys[0])
    keys[2].refresh_from_db()
    assert keys[2].paused_reason == ""


def test_deleting_a_rule_resumes_a_paused_one(tenants):
    from apps.alerts.services.rules import delete_rule

    org = tenants["org"]
    services.set_plan(org, "pro")
    rules = [create_rule(org, name=f"r{n}", kind="status", scope="all") for n in range(6)]
    services.set_plan(org, "free")
    assert Rule.objects.get(pk=rules[5].pk).paused_reason
    delete_rule(rules[0])
    assert Rule.objects.get(pk=rules[5].pk).paused_reason == ""


def test_calls_counted_late_for_a_reported_hour_are_billed_with_the_next(
        client, tenants, stripe_double, settings):
    account, key, now, start = _metered(client, tenants, stripe_double, settings,
                                        included=10, hours_ago=3)
    _hourly(tenants["org"], key, start, [15])
    metering.report_overage(now=now - timedelta(hours=1))  # reports hour one: 5 over
    ApiUsage.objects.filter(hour=start).update(calls=20)  # five more arrive for it, late
    _hourly(tenants["org"], key, start + timedelta(hours=1), [3])
    metering.report_overage(now=now)
    assert stripe_double.meter_usage(account.stripe_customer_id) == 13  # 23 calls, 10 included


def test_a_yearly_plans_included_volume_is_per_month_from_the_anniversary():
    anchor = datetime(2026, 1, 31, 10, tzinfo=UTC)
    assert metering.usage_month_start(anchor, datetime(2026, 3, 5, tzinfo=UTC)) == datetime(
        2026, 2, 28, 10, tzinfo=UTC)
    assert metering.usage_month_start(anchor, datetime(2026, 3, 31, 11, tzinfo=UTC)) == \
        datetime(2026, 3, 31, 10, tzinfo=UTC)
    assert metering.usage_month_start(anchor, anchor) == anchor


# --- yearly plans: a yearly fee and the monthly metered overage on one subscription ----------
def _yearly_subscribed(client, tenants, stripe_double, stripe_clock, *,
                       hours_ago: int = 0) -> tuple[BillingAccount, dict]:
    """Pro yearly through Checkout on the double, its trial over: every item's period began
    `hours_ago` hours ago, on the hour. Returns the mirrored account and the double's own
    subscription (it changes in place as the double acts)."""
    start = metering.floor_hour(timezone.now()) - timedelta(hours=hours_ago)
    stripe_clock.at = start.timestamp()
    session_id = _checkout(client, tenants, interval="yearly")
    stripe_double.complete_checkout(session_id)
    subscription = stripe_double.subscriptions[
        stripe_double.checkout_sessions[session_id]["subscription"]]
    stripe_double.end_trial(subscription["id"])
    stripe_clock.at = None  # events are signed with the double's time: now again
    stripe_double.flush()
    return BillingAccount.objects.get(organization=tenants["org"]), subscription


def _items(subscription: dict) -> tuple[dict, dict]:
    """(the licensed item, the metered item)."""
    items = subscription["items"]["data"]
    licensed = [i for i in items if i["price"]["recurring"]["usage_type"] == "licensed"]
    metered = [i for i in items if i["price"]["recurring"]["usage_type"] == "metered"]
    assert len(licensed) == len(metered) == 1, items
    return licensed[0], metered[0]


def test_a_yearly_pro_checkout_gets_a_yearly_fee_and_a_monthly_metered_item(
        client, tenants, stripe_double, stripe_clock):
    account, subscription = _yearly_subscribed(client, tenants, stripe_double, stripe_clock)
    session = next(iter(stripe_double._checkout.values()))
    assert session.billing_mode == "flexible"  # asked for explicitly
    assert [price for price, _ in session.line_items] == [
        settings.OP_STRIPE_PRICES["pro_yearly"], settings.OP_STRIPE_PRICES["pro_overage"]]
    assert subscription["billing_mode"]["type"] == "flexible"
    fee, metered = _items(subscription)
    assert fee["price"]["id"] == settings.OP_STRIPE_PRICES["pro_yearly"]
    assert fee["current_period_end"] == add_interval(fee["current_period_start"], "year")
    assert metered["price"]["id"] == settings.OP_STRIPE_PRICES["pro_overage"]
    assert metered["current_period_end"] == add_interval(metered["current_period_start"],
                                                         "month")
    tenants["org"].refresh_from_db()
    assert tenants["org"].plan == "pro" and get_plan("pro").metered
    assert (account.subscribed_plan, account.interval, account.status) == ("pro", "yearly",
                                                                          "active")
    # the billing page's period is the plan's (the year), not the metered item's month
    assert account.current_period_end == datetime.fromtimestamp(fee["current_period_end"],
                                                                tz=UTC)


def test_overage_on_a_yearly_plan_is_reported_as_meter_events_its_metered_item_bills(
        client, tenants, stripe_double, settings):
    settings.OP_TIER_LIMITS = {"pro": {"included_requests_per_month": 100}}
    stripe_double.complete_checkout(_checkout(client, tenants, interval="yearly"))
    stripe_double.flush()
    account = BillingAccount.objects.get(organization=tenants["org"])
    assert account.interval == "yearly"
    key, _ = create_key(tenants["org"], name="desk")
    now = timezone.now()
    start = metering.floor_hour(now) - timedelta(hours=5)
    account.current_period_start = start
    account.save()
    _hourly(tenants["org"], key, start, [60, 30, 40, 50])  # 100 included: 30 + 50 over
    assert metering.report_overage(now=now) == 2
    assert stripe_double.meter_usage(account.stripe_customer_id) == 80
    # and the subscription has the item that bills that meter's usage
    _, metered = _items(stripe_double.subscriptions[account.stripe_subscription_id])
    event = stripe_double.meter_events[0]["event_name"]
    assert stripe_double.specs[metered["price"]["id"]].meter_event == event


def test_a_yearly_plans_overage_is_invoiced_at_the_monthly_renewal_and_its_year_goes_on(
        client, tenants, stripe_double, stripe_clock, settings):
    settings.OP_TIER_LIMITS = {"pro": {"included_requests_per_month": 100}}
    account, subscription = _yearly_subscribed(client, tenants, stripe_double, stripe_clock,
                                               hours_ago=3)
    key, _ = create_key(tenants["org"], name="desk")
    assert account.current_period_start is not None
    _hourly(tenants["org"], key, account.current_period_start, [60, 30, 5010])  # 5,000 over
    assert metering.report_overage(
        now=metering.floor_hour(timezone.now()) + timedelta(minutes=10)) == 1
    fee, metered = _items(subscription)
    year = (fee["current_period_start"], fee["current_period_end"])
    month_end = metered["current_period_end"]
    stripe_double.renew(subscription["id"])  # the metered item's month ends first
    stripe_double.flush()
    invoice = stripe_double.invoices[subscription["latest_invoice"]]
    lines = [(line["parent"]["subscription_item_details"]["subscription_item"], line["amount"])
             for line in invoice["lines"]["data"]]
    assert lines == [(metered["id"], 100)]  # 5,000 calls at 0.02 cents; no yearly fee again
    assert invoice["status"] == "paid" and invoice["billing_reason"] == "subscription_cycle"
    assert (fee["current_period_start"], fee["current_period_end"]) == year
    assert (metered["current_period_start"], metered["current_period_end"]) == (
        month_end, add_interval(month_end, "month"))
    account.refresh_from_db()
    assert account.status == "active" and account.interval == "yearly"
    assert account.current_period_end == datetime.fromtimestamp(year[1], tz=UTC)


def test_cancelling_a_yearly_subscription_at_period_end_keeps_it_until_the_years_end(
        client, tenants, stripe_double, stripe_clock):
    account, subscription = _yearly_subscribed(client, tenants, stripe_double, stripe_clock)
    fee, metered = _items(subscription)
    year_end = fee["current_period_end"]
    assert metered["current_period_end"] < year_end
    url = reverse("billing_cancel", args=[tenants["org"].slug])
    client.post(url)
    assert subscription["cancel_at"] == year_end  # max_period_end, not the metered month's end
    assert not subscription["cancel_at_period_end"]
    account.refresh_from_db()
    assert account.cancel_at_period_end  # mirrored from cancel_at
    assert account.current_period_end == datetime.fromtimestamp(year_end, tz=UTC)
    client.post(url, {"undo": "1"})
    account.refresh_from_db()
    assert subscription["cancel_at"] is None and not account.cancel_at_period_end
    client.post(url)
    renewals = 0
    while subscription["status"] != "canceled":
        stripe_double.renew(subscription["id"])
        renewals += 1
        stripe_double.flush()
        tenants["org"].refresh_from_db()
        assert tenants["org"].plan == ("pro" if renewals < 12 else "free"), renewals
    assert renewals == 12  # eleven monthly renewals of the metered item, then the year ends
    assert subscription["ended_at"] == year_end


def test_a_yearly_subscription_cancelled_in_the_portal_also_ends_with_the_year(
        client, tenants, stripe_double, stripe_clock):
    account, subscription = _yearly_subscribed(client, tenants, stripe_double, stripe_clock)
    fee, _ = _items(subscription)
    # the portal's "cancel at period end": on mixed intervals Stripe would end it in a month
    stripe_double._update(subscription, {"cancel_at_period_end": "true"})
    stripe_double.flush()  # the update's webhook: the app re-reads and corrects it
    assert subscription["cancel_at"] == fee["current_period_end"]
    assert not subscription["cancel_at_period_end"]
    account.refresh_from_db()
    assert account.cancel_at_period_end


def test_a_refused_move_of_the_portals_cancellation_still_mirrors_it(
        client, tenants, stripe_double, stripe_clock):
    from unittest import mock

    import stripe

    account, subscription = _yearly_subscribed(client, tenants, stripe_double, stripe_clock)
    with mock.patch("stripe._subscription_service.SubscriptionService.update",
                    side_effect=stripe.InvalidRequestError("refused", "cancel_at")):
        stripe_double._update(subscription, {"cancel_at_period_end": "true"})
        stripe_double.flush()
    account.refresh_from_db()
    assert account.cancel_at_period_end  # Stripe's state, mirrored although the fix-up failed
    assert subscription["cancel_at_period_end"]  # not moved: it ends with the metered month
    assert not StripeEvent.objects.filter(processed_at__isnull=True).exists()


def test_change_plan_from_monthly_to_yearly_keeps_the_metered_item(client, tenants,
                                                                    stripe_double):
    account = _subscribed(client, tenants, stripe_double)  # Pro, monthly
    subscription = stripe_double.subscriptions[account.stripe_subscription_id]
    _, metered = _items(subscription)
    client.post(reverse("billing_change", args=[tenants["org"].slug]),
                {"plan": "pro", "interval": "yearly"})
    fee, kept = _items(subscription)
    assert fee["price"]["id"] == settings.OP_STRIPE_PRICES["pro_yearly"]
    assert (kept["id"], kept["price"]["id"]) == (metered["id"],
                                                 settings.OP_STRIPE_PRICES["pro_overage"])
    assert fee["current_period_end"] == add_interval(fee["current_period_start"], "year")
    assert kept["current_period_end"] == add_interval(kept["current_period_start"], "month")
    client.post(reverse("billing_change", args=[tenants["org"].slug]),
                {"plan": "enterprise", "interval": "yearly"})
    fee, moved = _items(subscription)
    assert (moved["id"], moved["price"]["id"]) == (
        metered["id"], settings.OP_STRIPE_PRICES["enterprise_overage"])
    account.refresh_from_db()
    assert (account.subscribed_plan, account.interval) == ("enterprise", "yearly")


def test_a_change_to_a_plan_without_an_overage_price_drops_the_metered_item(
        client, tenants, stripe_double, settings):
    account = _subscribed(client, tenants, stripe_double)
    settings.OP_STRIPE_PRICES = {**settings.OP_STRIPE_PRICES, "enterprise_overage": ""}
    services.change_plan(tenants["org"], "enterprise", "yearly")
    items = stripe_double.subscriptions[account.stripe_subscription_id]["items"]["data"]
    assert [i["price"]["id"] for i in items] == [settings.OP_STRIPE_PRICES["enterprise_yearly"]]


def test_a_classic_yearly_subscription_without_the_metered_item_gets_it_on_a_change(
        client, tenants, stripe_double):
    from apps.billing import stripe_api

    # as subscriptions made before the metered item was added to yearly plans: classic mode
    customer = services.ensure_customer(tenants["org"], tenants["owner"])
    session = stripe_api.client().v1.checkout.sessions.create(params={
        "mode": "subscription", "customer": customer,
        "client_reference_id": str(tenants["org"].pk), "success_url": "http://testserver/ok",
        "line_items": [{"price": settings.OP_STRIPE_PRICES["pro_yearly"], "quantity": 1}],
        "subscription_data": {"billing_mode": {"type": "classic"}}})
    stripe_double.complete_checkout(session.id)
    stripe_double.flush()
    account = BillingAccount.objects.get(organization=tenants["org"])
    subscription = stripe_double.subscriptions[account.stripe_subscription_id]
    assert subscription["billing_mode"]["type"] == "classic"
    services.change_plan(tenants["org"], "enterprise", "yearly")
    assert subscription["billing_mode"]["type"] == "flexible"  # migrated: classic refuses
    fee, metered = _items(subscription)
    assert (fee["price"]["id"], metered["price"]["id"]) == (
        settings.OP_STRIPE_PRICES["enterprise_yearly"],
        settings.OP_STRIPE_PRICES["enterprise_overage"])
    account.refresh_from_db()
    assert (account.subscribed_plan, account.interval) == ("enterprise", "yearly")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_overlapping_overage_runs_bill_each_call_once(client, tenants, stripe_double,
                                                          settings):
    """Beat queues the task every few minutes whatever the last run is doing: a second run that
    starts while the first is writing its hours waits for it, rather than billing from a list
    read before the first run's rows existed."""
    import threading
    from unittest import mock

    from tests.threads import Racer, race

    account, key, now, start = _metered(client, tenants, stripe_double, settings,
                                        included=100, hours_ago=5)
    _hourly(tenants["org"], key, start, [60, 30, 40, 50])  # 100 included: 30 + 50 over
    real, recorded = metering._record_hours, threading.Event()

    def slow_record(*args, **kwargs):
        reports = real(*args, **kwargs)
        if threading.current_thread().name == "first":
            recorded.set()
            threading.Event().wait(0.5)  # rows written, not committed: the second run starts
        return reports

    def run() -> None:
        metering.report_overage(now=now)

    with mock.patch.object(metering, "_record_hours", slow_record):
        race(Racer(run, name="first"), Racer(run, name="second"), started=recorded)
    reports = MeterReport.objects.filter(organization=tenants["org"]).order_by("hour")
    assert [(r.calls, r.overage) for r in reports] == [(60, 0), (30, 0), (40, 30), (50, 50)]
    assert stripe_double.meter_usage(account.stripe_customer_id) == 80
