"""Alert channels — their config checked by their kind's transport and stored encrypted — and
telling one channel.

Telling a channel never raises for a delivery failure: the caller gets a `Delivery` (ok /
transient with an optional `retry_after` / permanent). A permanent failure — a revoked bot token,
a deleted Slack channel, a URL that is now blocked, a config that cannot be used — disables the
channel and emails the organization's owners and admins, as a failing webhook endpoint does
(apps/alerts/services/delivery.py).
"""
from __future__ import annotations

import json
import logging

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction

from apps.accounts.models import Membership, Organization, Role
from apps.alerts.models import Channel
from apps.alerts.notifications import Notification, test_notification
from apps.alerts.transports import TRANSPORTS, stored_config, transport_class, transport_for
from apps.alerts.transports.base import ConfigError, Delivery
from apps.audit.services import diff, record
from apps.billing.limits import LimitReached, check_channel_kind

logger = logging.getLogger(__name__)


# --- channels -----------------------------------------------------------------------------------

def _snapshot(channel: Channel) -> dict:
    """What the audit log shows of a channel: never its secrets (tokens, keys, secret URLs)."""
    config = stored_config(channel)
    return {"name": channel.name, "kind": channel.kind, "enabled": channel.enabled,
            **{f.key: config.get(f.key) for f in transport_class(channel.kind).config_fields
               if not f.secret}}


def _changed_secrets(channel: Channel, before: dict) -> list[str]:
    """The secret fields whose value differs from the config `before` (names only)."""
    after = stored_config(channel)
    return [f.key for f in transport_class(channel.kind).config_fields
            if f.secret and before.get(f.key) != after.get(f.key)]


@transaction.atomic
def create_channel(organization: Organization, *, kind: str, name: str,
                   config: dict) -> Channel:
    errors = {}
    if kind not in TRANSPORTS:
        errors["kind"] = f"One of: {', '.join(TRANSPORTS)}."
    if not name.strip():
        errors["name"] = "A channel needs a name."
    if kind in TRANSPORTS:
        try:
            check_channel_kind(organization, kind)
        except LimitReached as error:
            errors["kind"] = str(error)
    if errors:
        raise ValidationError(errors)
    cleaned = transport_class(kind).validate_config(config)
    channel = Channel.objects.create(organization=organization, kind=kind,
                                     name=name.strip()[:100], config=json.dumps(cleaned))
    record(organization.pk, "channels.created", target=channel, after=_snapshot(channel))
    return channel


@transaction.atomic
def update_channel(channel: Channel, *, name: str, config: dict | None = None,
                   enabled: bool = True) -> Channel:
    """A new name, and a new config if given (kept as is otherwise: its secrets are never sent
    back to browsers to be resubmitted); enabling clears the reason it was disabled."""
    if not name.strip():
        raise ValidationError({"name": "A channel needs a name."})
    audited, stored = _snapshot(channel), stored_config(channel)
    if config is not None:
        transport = transport_class(channel.kind)
        kept = [f.key for f in transport.config_fields if f.generated and not config.get(f.key)]
        if kept:  # a new URL is not a new signing secret: keep the one the receiver verifies with
            stored = json.loads(channel.config)
            config = {**config, **{key: stored.get(key) for key in kept}}
        channel.config = json.dumps(transport.validate_config(config))
    channel.name = name.strip()[:100]
    if enabled and not channel.enabled:
        channel.disabled_reason = ""
    action = "channels.enabled" if enabled and not audited["enabled"] else \
        "channels.disabled" if audited["enabled"] and not enabled else "channels.updated"
    channel.enabled = enabled
    channel.save()
    old, new = diff(audited, _snapshot(channel))
    changed_secrets = _changed_secrets(channel, stored)
    if changed_secrets:  # that they changed, never their values
        new["secrets_changed"] = changed_secrets
    if new:
        record(channel.organization_id, action, target=channel, before=old, after=new)
    return channel


def delete_channel(channel: Channel) -> None:
    """The channel (rules that used it keep their other channels)."""
    with transaction.atomic():
        record(channel.organization_id, "channels.deleted", target=channel,
               before=_snapshot(channel))
        channel.delete()


@transaction.atomic
def disable_channel(channel: Channel, reason: str) -> bool:
    """Disable the channel (once: concurrent callers email once) and, after commit, email the
    organization's owners and admins. Returns whether this call disabled it."""
    reason = reason[:200]
    changed = Channel.objects.filter(pk=channel.pk, enabled=True).update(
        enabled=False, disabled_reason=reason)
    channel.enabled, channel.disabled_reason = False, reason
    if not changed:
        return False
    record(channel.organization_id, "channels.disabled", target=channel,
           before={"enabled": True}, after={"enabled": False, "disabled_reason": reason})
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


# --- telling a channel --------------------------------------------------------------------------

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
