"""What the alert channels are told, and telling them.

A `Notification` is a transport-neutral message about one incident (opened, acknowledged,
resolved) or a test. Incidents build one and hand it to `notify_channel` for each of their
organization's channels; `send_test_notification` is the "Send a test" button.

Delivery failures never raise: the caller gets a `Delivery` (ok / transient with an optional
`retry_after` / permanent). A permanent failure — a revoked bot token, a deleted Slack channel,
a URL that is now blocked — disables the channel and emails the organization's owners and admins,
as a failing webhook endpoint does (`apps.alerts.services._disable`).
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Membership, Role

from .models import Channel
from .transports import ConfigError, Delivery, transport_for

logger = logging.getLogger(__name__)

Kind = Literal["opened", "acknowledged", "resolved", "test"]
Severity = Literal["critical", "warning", "info"]
KINDS: tuple[str, ...] = ("opened", "acknowledged", "resolved", "test")
SEVERITIES: tuple[str, ...] = ("critical", "warning", "info")


@dataclass(frozen=True)
class Notification:
    """One message to every channel of an organization.

    `dedup_key` is stable for one incident (e.g. "incident-42"): PagerDuty groups trigger,
    acknowledge and resolve by it, email threads by it, webhooks carry it. `details` are short
    label → value strings (prices as strings, never floats). `ack_url` is a signed one-click
    acknowledge link built by the caller; `incident_url` the incident's page.
    """

    kind: Kind
    title: str
    summary: str
    severity: Severity
    organization: str
    subject: str
    dedup_key: str
    occurred_at: datetime
    details: dict[str, str] = field(default_factory=dict)
    incident_url: str | None = None
    ack_url: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(
                f"severity must be one of {', '.join(SEVERITIES)}, not {self.severity!r}")
        if timezone.is_naive(self.occurred_at):
            raise ValueError("occurred_at must be an aware datetime")
        if not self.dedup_key:
            raise ValueError("dedup_key is required")

    @property
    def status_label(self) -> str:
        return {"opened": "Opened", "acknowledged": "Acknowledged", "resolved": "Resolved",
                "test": "Test"}[self.kind]

    @property
    def headline(self) -> str:
        """One line: the subject of an email, the header of a Slack message."""
        if self.kind == "opened":
            return f"[{self.severity.upper()}] {self.title}"
        if self.kind == "test":
            return self.title
        return f"{self.status_label}: {self.title}"

    @property
    def emoji(self) -> str:
        if self.kind == "resolved":
            return "✅"
        if self.kind == "acknowledged":
            return "👀"
        if self.kind == "test":
            return "🔔"
        return {"critical": "🔴", "warning": "🟠", "info": "🔵"}[self.severity]


def test_notification(organization_name: str) -> Notification:
    """The message the "Send a test" button sends (a fresh dedup key each time)."""
    return Notification(
        kind="test",
        title="Test notification from Oracle Platform",
        summary=(f"This is a test sent on request for {organization_name}. If you can read it, "
                 "this channel will receive the organization's alerts."),
        severity="info",
        organization=organization_name,
        subject="channel-test",
        dedup_key=f"test-{secrets.token_hex(8)}",
        occurred_at=timezone.now(),
    )


test_notification.__test__ = False  # not a pytest test, despite its name


def send_test_notification(channel: Channel) -> Delivery:
    """Send a test to `channel` now, even when it is disabled (to check a fixed config)."""
    return _deliver(channel, test_notification(channel.organization.name))


def notify_channel(channel: Channel, notification: Notification) -> Delivery:
    """Deliver `notification` to an enabled channel; never raises for a delivery failure.
    A permanent failure disables the channel and tells the organization's owners and admins."""
    if not channel.enabled:
        return Delivery(ok=False, detail=f"channel disabled: {channel.disabled_reason}")
    return _deliver(channel, notification)


def _deliver(channel: Channel, notification: Notification) -> Delivery:
    try:
        delivery = transport_for(channel).notify(notification)
    except ConfigError as error:
        delivery = Delivery(ok=False, permanent=True, detail=f"unusable configuration: {error}")
    except Exception:  # a bug in a transport must not stop the other channels
        logger.exception("alert channel %s (%s): transport failed", channel.pk, channel.kind)
        delivery = Delivery(ok=False, detail="internal error while sending")
    if delivery.ok:
        logger.info("alert channel %s (%s): %s delivered", channel.pk, channel.kind,
                    notification.dedup_key)
    else:
        logger.warning("alert channel %s (%s): %s not delivered (%s): %s", channel.pk,
                       channel.kind, notification.dedup_key,
                       "permanent" if delivery.permanent else "transient", delivery.detail)
    if delivery.permanent:
        disable_channel(channel, delivery.detail or "permanent delivery failure")
    return delivery


def disable_channel(channel: Channel, reason: str) -> bool:
    """Disable the channel (once: concurrent callers email once) and, after commit, email the
    organization's owners and admins. Returns whether this call disabled it."""
    reason = reason[:200]
    changed = Channel.objects.filter(pk=channel.pk, enabled=True).update(
        enabled=False, disabled_reason=reason)
    channel.enabled, channel.disabled_reason = False, reason
    if not changed:
        return False
    recipients = list(Membership.objects.filter(
        organization_id=channel.organization_id, role__in=[Role.OWNER, Role.ADMIN])
        .values_list("user__email", flat=True))
    name, kind = channel.name, channel.get_kind_display()
    if recipients:
        transaction.on_commit(lambda: send_mail(
            f"Alert channel disabled: {name}",
            f"We stopped sending alerts to the {kind} channel \"{name}\": {reason}.\n"
            "Fix the channel's settings, send a test, then enable it again.",
            None, recipients, fail_silently=True))
    return True
