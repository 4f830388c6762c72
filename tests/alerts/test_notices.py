"""Channel notifications: written with the incident, sent at least once, retried, held back by
mutes and maintenance windows, escalated when nobody acknowledges."""
import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.alerts.models import Channel, Incident, MaintenanceWindow, Notice, Rule
from apps.alerts.services.delivery import NOTICES, deliver_notices
from apps.alerts.services.incidents import acknowledge, escalate_due, queue
from apps.alerts.services.outbox import lease_for

from .receiver import Receiver


@pytest.fixture
def email(tenants):
    return Channel.objects.create(organization=tenants["org"], kind="email", name="desk",
                                  config=json.dumps({"to": ["desk@example.com"]}))


@pytest.fixture
def rule(tenants, email):
    rule = Rule.objects.create(organization=tenants["org"], name="Chainlink down",
                               kind="status", scope="all", severity="critical")
    rule.channels.add(email)
    return rule


def open_incident(rule, subject="cl-eth", minutes_ago=0):
    return Incident.objects.create(
        rule=rule, organization=rule.organization, subject=subject,
        summary=f"{subject} is down", opened_at=timezone.now() - timedelta(minutes=minutes_ago))


def test_an_opened_incident_is_sent_once_with_links(rule):
    incident = open_incident(rule)
    [notice] = queue([incident], "opened")
    assert deliver_notices() == 1 and deliver_notices() == 0
    [message] = mail.outbox
    assert "Chainlink down" in message.subject
    body = message.body
    assert f"/alerts/incidents/{incident.pk}/" in body and "/alerts/ack/" in body
    notice.refresh_from_db()
    assert notice.status == "sent"
    assert [e.kind for e in incident.events.all()] == ["notified"]


def test_a_transient_failure_is_retried_and_a_worker_crash_loses_nothing(rule, tenants,
                                                                        settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    receiver = Receiver(statuses=[503])
    try:
        config = {"url": receiver.url, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
        hook = Channel.objects.create(organization=tenants["org"], kind="webhook", name="hook",
                                      config=json.dumps(config))
        [notice] = queue([open_incident(rule)], "opened", channels=[hook])
        now = timezone.now()
        NOTICES.claim(now, 10)  # claimed, then the worker dies
        assert deliver_notices(now=now + timedelta(seconds=30)) == 0  # leased
        deliver_notices(now=now + lease_for(1, 1) + timedelta(seconds=1))  # 503
        notice.refresh_from_db()
        assert notice.status == "pending" and notice.attempts == 1
        deliver_notices(now=notice.next_attempt_at)
        notice.refresh_from_db()
        assert notice.status == "sent" and len(receiver.requests) == 2
        ids = {r.headers["webhook-id"] for r in receiver.requests}
        assert len(ids) == 1  # the same message both times: the receiver can dedupe
    finally:
        receiver.close()


def test_muted_rules_and_maintenance_windows_hold_notifications_back(rule, tenants):
    rule.muted_until = timezone.now() + timedelta(hours=1)
    rule.save()
    incident = open_incident(rule)
    assert queue([incident], "opened") == []
    rule.muted_until = None
    rule.save()
    MaintenanceWindow.objects.create(organization=tenants["org"], reason="node upgrade",
                                     starts_at=timezone.now() - timedelta(minutes=5),
                                     ends_at=timezone.now() + timedelta(minutes=5))
    assert queue([incident], "opened") == []
    events = list(incident.events.all())
    assert [e.kind for e in events] == ["suppressed", "suppressed"]
    assert events[0].detail.startswith("opened: rule muted until")
    assert events[1].detail == "opened: maintenance window: node upgrade"
    assert Notice.objects.count() == 0


def test_unacknowledged_incidents_escalate_once(rule, tenants):
    boss = Channel.objects.create(organization=tenants["org"], kind="email", name="boss",
                                  config=json.dumps({"to": ["boss@example.com"]}))
    rule.escalation_channels.add(boss)
    rule.escalate_after_minutes = 15
    rule.save()
    late = open_incident(rule, "cl-eth", minutes_ago=20)
    open_incident(rule, "cl-btc", minutes_ago=5)  # not yet
    acked = open_incident(rule, "cl-sol", minutes_ago=30)
    acknowledge(acked, by="ana@example.com")
    assert escalate_due() == 1
    assert escalate_due() == 0  # once
    assert Notice.objects.filter(channel=boss).count() == 1
    assert "escalated" in [e.kind for e in late.events.all()]


def test_acknowledging_tells_the_channels(rule):
    incident = open_incident(rule)
    acknowledge(incident, by="ana@example.com")
    [notice] = Notice.objects.all()
    assert notice.notification["kind"] == "acknowledged"


def test_pagerduty_gets_one_event_per_incident_so_its_dedup_keys_match(rule, tenants):
    pagerduty = Channel.objects.create(
        organization=tenants["org"], kind="pagerduty", name="pd",
        config=json.dumps({"routing_key": "R" * 32}))
    rule.channels.add(pagerduty)
    incidents = [open_incident(rule, f"cl-{n}") for n in range(3)]
    queued = queue(incidents, "opened")
    pd = [n for n in queued if n.channel == pagerduty]
    assert sorted(n.notification["dedup_key"] for n in pd) == sorted(
        f"incident-{i.pk}" for i in incidents)
    assert len([n for n in queued if n.channel.kind == "email"]) == 1  # grouped
    resolved = queue([incidents[1]], "resolved")
    assert [n.notification["dedup_key"] for n in resolved if n.channel == pagerduty] == [
        f"incident-{incidents[1].pk}"]
