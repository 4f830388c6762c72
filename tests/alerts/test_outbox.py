"""The one lease both outboxes — webhook messages and channel notices — are claimed under
(apps/alerts/services/outbox.py); its guarantees end to end are in test_webhooks.py and
test_notices.py (a claimed row is not claimed again while leased, a stale outcome does not
overwrite a later one, nothing is sent twice)."""
import json
from datetime import timedelta

from django.utils import timezone

from apps.alerts.models import Channel, Incident, Notice, Rule, WebhookMessage
from apps.alerts.services import delivery
from apps.alerts.services.incidents import queue
from apps.alerts.services.outbox import Outbox, lease_for
from apps.alerts.services.webhooks import create_endpoint, send_test


def test_the_lease_is_sized_to_the_batch(settings):
    settings.OP_OUTBOUND_TIMEOUT = 10
    assert lease_for(16, 16) == timedelta(seconds=10 + 30)
    assert lease_for(17, 16) == timedelta(seconds=20 + 30)  # two rounds of sends
    assert lease_for(3, 1) == timedelta(seconds=30 + 30)  # notices: one after another


def test_both_outboxes_are_claimed_by_the_one_implementation():
    assert isinstance(delivery.WEBHOOKS, Outbox) and delivery.WEBHOOKS.model is WebhookMessage
    assert isinstance(delivery.NOTICES, Outbox) and delivery.NOTICES.model is Notice
    assert delivery.WEBHOOKS.concurrency == delivery.SEND_CONCURRENCY
    assert delivery.NOTICES.concurrency == 1


def test_a_claim_leases_its_rows_and_only_the_claim_s_token_settles_them(tenants, settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    endpoint = create_endpoint(tenants["org"], url="http://127.0.0.1:9/in",
                               events=["alert.opened"])
    message = send_test(endpoint)
    now = timezone.now()
    [claimed] = delivery.WEBHOOKS.claim(now, 10)
    assert claimed.pk == message.pk and claimed.next_attempt_at == now + lease_for(1, 16)
    assert delivery.WEBHOOKS.claim(now + timedelta(seconds=1), 10) == []  # leased
    assert not delivery.WEBHOOKS.settle(claimed, now, status="delivered")  # not its token
    assert delivery.WEBHOOKS.settle(claimed, claimed.next_attempt_at, status="delivered")
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("delivered", 1)
    assert not delivery.WEBHOOKS.settle(claimed, claimed.next_attempt_at, status="failed")


def test_a_notice_is_claimed_only_while_its_channel_is_enabled(tenants):
    channel = Channel.objects.create(organization=tenants["org"], kind="email", name="desk",
                                     config=json.dumps({"to": ["desk@example.com"]}))
    rule = Rule.objects.create(organization=tenants["org"], name="r", kind="status",
                               scope="all")
    rule.channels.add(channel)
    incident = Incident.objects.create(rule=rule, organization=tenants["org"], subject="x",
                                       summary="x is down", opened_at=timezone.now())
    [notice] = queue([incident], "opened")
    Channel.objects.filter(pk=channel.pk).update(enabled=False)
    assert delivery.NOTICES.claim(timezone.now(), 10) == []
    Channel.objects.filter(pk=channel.pk).update(enabled=True)
    assert [n.pk for n in delivery.NOTICES.claim(timezone.now(), 10)] == [notice.pk]
