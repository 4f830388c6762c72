"""What a plan change means for alerts: rules and webhook endpoints past the plan's count are
paused (the newest first; kept, with the reason shown), channels of kinds the plan leaves out
are paused, and all of them resume when the plan allows them again. Nothing is deleted."""
from __future__ import annotations

from django.db.models import Model

from apps.accounts.models import Organization
from apps.alerts.models import Channel, Rule, WebhookEndpoint
from apps.audit.services import record
from apps.billing.limits import enforce_count
from apps.billing.plans import get_plan


def enforce_plan(organization: Organization) -> list[Model]:
    """Pause and resume to fit the organization's current plan; returns what changed."""
    return [*enforce_rules(organization), *enforce_endpoints(organization),
            *enforce_channels(organization)]


def enforce_rules(organization: Organization) -> list[Rule]:
    rules = enforce_count(organization, "alert_rules", Rule.objects.filter(
        organization=organization).order_by("created_at", "pk"))
    for rule in rules:
        _record(organization, "alert_rules", rule)
    return rules


def enforce_endpoints(organization: Organization) -> list[WebhookEndpoint]:
    endpoints = enforce_count(organization, "webhook_endpoints", WebhookEndpoint.objects.filter(
        organization=organization).order_by("created_at", "pk"))
    for endpoint in endpoints:
        _record(organization, "webhook_endpoints", endpoint)
    return endpoints


def enforce_channels(organization: Organization) -> list[Channel]:
    plan = get_plan(organization.plan)
    changed = []
    for channel in Channel.objects.filter(organization=organization):
        wanted = "" if channel.kind in plan.limits.channel_kinds else (
            f"Paused: {channel.kind.capitalize()} channels are not part of the {plan.name} plan.")
        if channel.paused_reason != wanted:
            channel.paused_reason = wanted
            channel.save(update_fields=["paused_reason"])
            _record(organization, "channels", channel)
            changed.append(channel)
    return changed


def _record(organization: Organization, group: str, obj: Rule | WebhookEndpoint | Channel
            ) -> None:
    action = f"{group}.plan_paused" if obj.paused_reason else f"{group}.plan_resumed"
    record(organization.pk, action, target=obj, after={"paused_reason": obj.paused_reason})
