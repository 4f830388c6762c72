"""Webhooks: the outbox, signed delivery at least once, retries, leases, disabling."""
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from apps.alerts import signing
from apps.alerts.models import Event, WebhookEndpoint, WebhookMessage
from apps.alerts.services.delivery import (
    SEND_CONCURRENCY,
    WEBHOOKS,
    deliver_webhooks,
    record_attempt,
)
from apps.alerts.services.outbox import lease_for
from apps.alerts.services.webhooks import create_endpoint, publish, redeliver, rotate_secret
from tests.factories import AssetFactory, PairFactory

from .receiver import Receiver


@pytest.fixture
def receiver(settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def endpoint(tenants, receiver):
    PairFactory(base=AssetFactory(symbol="ETH"))
    return create_endpoint(
        tenants["org"], url=f"{receiver.url}/hooks?src=op",
        events=[Event.PRICE_UPDATED, Event.ALERT_OPENED], pairs=["ETH-USD"])


def publish_one(endpoint, event=Event.ALERT_OPENED, **data):
    with transaction.atomic():
        return publish(endpoint.organization_id, event, data or {"incident": 1})


def test_events_reach_only_the_endpoints_subscribed_to_them(tenants, endpoint, receiver):
    other_org = create_endpoint(tenants["outsider_org"], url=f"{receiver.url}/x",
                                events=[Event.ALERT_OPENED])
    assert [m.endpoint for m in publish_one(endpoint)] == [endpoint]
    assert other_org.messages.count() == 0
    with transaction.atomic():
        assert publish(endpoint.organization_id, Event.PRICE_UPDATED, {},
                       pair="BTC-USD") == []
        assert len(publish(endpoint.organization_id, Event.PRICE_UPDATED, {},
                           pair="ETH-USD")) == 1
        assert publish(endpoint.organization_id, Event.FEED_STATUS_CHANGED, {}) == []


def test_a_message_is_posted_signed_and_recorded(endpoint, receiver):
    [message] = publish_one(endpoint, incident=42)
    assert deliver_webhooks() == 1
    [request] = receiver.requests
    assert request.method == "POST" and request.path == "/hooks?src=op"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == message.msg_id
    signing.verify(endpoint.secret, request.headers, request.body)
    assert request.body == message.body.encode()
    assert b'"type":"alert.opened"' in request.body and b'"incident":42' in request.body
    message.refresh_from_db()
    assert message.status == "delivered" and message.attempts == 1
    [attempt] = message.delivery_attempts.all()
    assert attempt.status_code == 200 and attempt.response_snippet == "ok"


def test_a_receiver_down_for_a_while_still_gets_every_message_once(endpoint, receiver):
    receiver.statuses = [500, 503, 502]
    messages = [publish_one(endpoint, incident=n)[0] for n in range(3)]
    now = timezone.now()
    for step in range(8):  # well past the first retries
        deliver_webhooks(now=now + timedelta(minutes=40 * step))
    delivered_ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert set(delivered_ids) == {m.msg_id for m in messages}
    assert all(WebhookMessage.objects.get(pk=m.pk).status == "delivered" for m in messages)
    ok = [r.headers["webhook-id"] for r, status in zip(
        receiver.requests, [500, 503, 502] + [200] * 10, strict=False) if status == 200]
    assert sorted(ok) == sorted(m.msg_id for m in messages)  # each id succeeded once


def test_a_worker_killed_mid_delivery_leaves_the_message_to_a_later_attempt(endpoint, receiver):
    [message] = publish_one(endpoint)
    now = timezone.now()
    claimed = WEBHOOKS.claim(now, 10)  # claimed, then the worker dies before sending
    assert [m.pk for m in claimed] == [message.pk]
    assert deliver_webhooks(now=now + timedelta(seconds=30)) == 0  # still leased
    assert deliver_webhooks(now=now + lease_for(1, 16) + timedelta(seconds=1)) == 1
    assert [r.headers["webhook-id"] for r in receiver.requests] == [message.msg_id]
    message.refresh_from_db()
    assert message.status == "delivered"


def test_retries_back_off_and_honour_retry_after(endpoint, receiver):
    receiver.statuses = [500, 429]
    [message] = publish_one(endpoint)
    deliver_webhooks()
    message.refresh_from_db()
    first_wait = message.next_attempt_at - timezone.now()
    assert timedelta(seconds=1) < first_wait < timedelta(seconds=10)  # 5 s ± jitter
    receiver.extra_headers = {"Retry-After": "120"}
    deliver_webhooks(now=message.next_attempt_at)
    message.refresh_from_db()
    assert message.next_attempt_at - timezone.now() >= timedelta(seconds=115)
    assert message.attempts == 2 and message.status == "pending"


def test_410_gone_disables_the_endpoint_and_tells_the_org(endpoint, receiver, tenants,
                                                            django_capture_on_commit_callbacks):
    receiver.statuses = [410]
    [message] = publish_one(endpoint)
    with django_capture_on_commit_callbacks(execute=True):
        deliver_webhooks()
    endpoint.refresh_from_db()
    message.refresh_from_db()
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    assert message.status == "failed"
    assert mail.outbox and tenants["owner"].email in mail.outbox[0].to
    assert tenants["member"].email not in mail.outbox[0].to


def test_an_endpoint_failing_for_a_day_is_disabled(endpoint, receiver):
    receiver.statuses = [500] * 20
    [message] = publish_one(endpoint)
    deliver_webhooks()
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.failing_since is not None
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(hours=24, minutes=1))
    WebhookMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    deliver_webhooks()
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "failing since" in endpoint.disabled_reason


def test_a_private_address_is_refused_at_delivery_and_disables_the_endpoint(endpoint, settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = []  # the receiver is on loopback
    [message] = publish_one(endpoint)
    deliver_webhooks()
    endpoint.refresh_from_db()
    message.refresh_from_db()
    assert not endpoint.enabled and "blocked" in endpoint.disabled_reason.lower()
    assert message.delivery_attempts.get().error.startswith("blocked")


def test_after_a_secret_rotation_messages_carry_both_signatures(endpoint, receiver):
    old = endpoint.secret
    rotate_secret(endpoint)
    publish_one(endpoint)
    deliver_webhooks()
    request = receiver.requests[0]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    signing.verify(old, request.headers, request.body)
    signing.verify(endpoint.secret, request.headers, request.body)


def test_the_secret_is_encrypted_at_rest(endpoint):
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM alerts_webhookendpoint WHERE id = %s", [endpoint.pk])
        stored = cursor.fetchone()[0]
    assert endpoint.secret.startswith("whsec_") and endpoint.secret not in stored


def test_endpoints_refuse_bad_urls_events_and_pairs(tenants, receiver, settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = []
    with pytest.raises(Exception) as error:
        create_endpoint(tenants["org"], url="file:///etc/passwd",
                        events=["nope"], pairs=["NOPE-USD"])
    assert set(error.value.message_dict) == {"url", "events", "pairs"}


def test_redelivery_sends_the_same_message_again(endpoint, receiver):
    [message] = publish_one(endpoint)
    deliver_webhooks()
    redeliver(message)
    deliver_webhooks()
    assert [r.headers["webhook-id"] for r in receiver.requests] == [message.msg_id] * 2


def test_an_outcome_from_an_expired_claim_does_not_overwrite_a_later_delivery(endpoint,
                                                                                receiver):
    from apps.alerts import outbound

    [message] = publish_one(endpoint)
    now = timezone.now()
    [stale] = WEBHOOKS.claim(now, 10)  # worker A claims, then stalls past its lease
    later = now + lease_for(1, SEND_CONCURRENCY) + timedelta(seconds=1)
    assert deliver_webhooks(now=later) == 1  # worker B delivers it
    failed = outbound.OutboundResult(status=503, latency_ms=5.0, snippet="", headers={})
    record_attempt(stale, now, failed, permanent=None)  # A finally reports its attempt
    message.refresh_from_db()
    assert message.status == "delivered" and message.attempts == 1
    assert message.delivery_attempts.count() == 2  # both attempts are still on record
