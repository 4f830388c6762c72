"""What a plan change means for alerts: rules and webhook endpoints past the plan's count are
paused (the newest first; kept, with the reason shown), channels of kinds the plan leaves out
are paused, and all of them resume when the plan allows them again. Nothing is deleted.

Endpoints and channels are fitted here; rules in services/rules.py (`enforce_rules`), because a
paused rule closes the incidents it opened exactly as a disabled one does, and that path is
the rules' own. apps/alerts/receivers.py runs all three on a plan change."""
from __future__ import annotations

from apps.accounts.models import Organization
from apps.alerts.models import Channel, Rule, WebhookEndpoint
from apps.audit.services import record
from apps.billing.limits import enforce_count
from apps.billing.plans import get_plan


def enforce_endpoints(organization: Organization) -> list[WebhookEndpoint]:
    endpoints = enforce_count(organization, "webhook_endpoints", WebhookEndpoint.objects.filter(
        organization=organization).order_by("created_at", "pk"))
    for endpoint in endpoints:
        record_fit(organization, "webhook_endpoints", endpoint)
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
            record_fit(organization, "channels", channel)
            changed.append(channel)
    return changed


def record_fit(organization: Organization, group: str, obj: Rule | WebhookEndpoint | Channel
               ) -> None:
    """The audit entry of an object paused or resumed by the plan."""
    action = f"{group}.plan_paused" if obj.paused_reason else f"{group}.plan_resumed"
    record(organization.pk, action, target=obj, after={"paused_reason": obj.paused_reason})
