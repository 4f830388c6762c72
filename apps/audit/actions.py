"""Every action the audit log records, with the label the pages show. `record()` refuses an
action that is not here, so a typo cannot start a group of its own. An action is
`<group>.<verb>`; the group is what the pages and the API filter on."""
from __future__ import annotations

GROUPS: dict[str, str] = {
    "organization": "Organization",
    "members": "Members",
    "invitations": "Invitations",
    "api_keys": "API keys",
    "alert_rules": "Alert rules",
    "channels": "Alert channels",
    "webhook_endpoints": "Webhook endpoints",
    "maintenance_windows": "Maintenance windows",
    "billing": "Billing",
}

ACTIONS: dict[str, str] = {
    "organization.created": "Organization created",
    "organization.renamed": "Organization renamed",
    "members.role_changed": "Member's role changed",
    "members.removed": "Member removed",
    "members.left": "Member left",
    "invitations.sent": "Invitation sent",
    "invitations.accepted": "Invitation accepted",
    "invitations.revoked": "Invitation revoked",
    "api_keys.created": "API key created",
    "api_keys.rotated": "API key rotated",
    "api_keys.revoked": "API key revoked",
    "api_keys.paused": "API key paused (over the plan's limit)",
    "api_keys.resumed": "API key resumed (within the plan's limit)",
    "alert_rules.created": "Alert rule created",
    "alert_rules.updated": "Alert rule changed",
    "alert_rules.deleted": "Alert rule deleted",
    "alert_rules.paused": "Alert rule paused",
    "alert_rules.resumed": "Alert rule resumed",
    "alert_rules.muted": "Alert rule muted",
    "alert_rules.unmuted": "Alert rule unmuted",
    "alert_rules.escalation_changed": "Alert rule's escalation changed",
    "channels.created": "Channel created",
    "channels.updated": "Channel changed",
    "channels.deleted": "Channel deleted",
    "channels.enabled": "Channel enabled",
    "channels.disabled": "Channel disabled",
    "webhook_endpoints.created": "Webhook endpoint created",
    "webhook_endpoints.updated": "Webhook endpoint changed",
    "webhook_endpoints.deleted": "Webhook endpoint deleted",
    "webhook_endpoints.enabled": "Webhook endpoint enabled",
    "webhook_endpoints.disabled": "Webhook endpoint disabled",
    "webhook_endpoints.secret_rotated": "Webhook signing secret rotated",
    "maintenance_windows.created": "Maintenance window created",
    "maintenance_windows.deleted": "Maintenance window deleted",
    "billing.customer_created": "Billing customer created",
    "billing.checkout_started": "Checkout started",
    "billing.plan_changed": "Plan changed",
    "billing.subscription_changed": "Subscription changed",
    "billing.cancel_at_period_end": "Subscription set to cancel at the period's end",
    "billing.cancel_undone": "Subscription cancellation undone",
    "billing.credit_applied": "Credit applied",
    "alert_rules.plan_paused": "Alert rule paused (over the plan's limit)",
    "alert_rules.plan_resumed": "Alert rule resumed (within the plan's limit)",
    "channels.plan_paused": "Channel paused (kind not in the plan)",
    "channels.plan_resumed": "Channel resumed (kind in the plan)",
    "webhook_endpoints.plan_paused": "Webhook endpoint paused (over the plan's limit)",
    "webhook_endpoints.plan_resumed": "Webhook endpoint resumed (within the plan's limit)",
}


def group_of(action: str) -> str:
    return action.partition(".")[0]


def label(action: str) -> str:
    return ACTIONS.get(action, action)
