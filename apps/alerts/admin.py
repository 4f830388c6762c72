"""Alerts and webhooks in the admin.

Secrets are never shown: a channel's `config` (tokens, routing keys, webhook URLs and signing
secrets) and an endpoint's signing secrets are left out of every form and list, and deferred so a
list does not even decrypt them; the admin shows "set" / "not set" and the channel's
secret-free destination summary instead. Tenants create channels, endpoints and rules in the app,
which validates them (URLs against SSRF, rule parameters, per-kind channel config), so the admin
adds none of them and changes only what needs no such validation. Messages, attempts, notices,
incidents, their events, conditions and published states are records the alerting machinery
writes: read-only here.
"""
import json

from django.contrib import admin
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from .models import (
    Channel,
    Condition,
    DeliveryAttempt,
    Incident,
    IncidentEvent,
    MaintenanceWindow,
    Notice,
    PublishedState,
    Rule,
    WebhookEndpoint,
    WebhookMessage,
)
from .transports import channel_summary

ENDPOINT_SECRETS = ["secret", "previous_secret"]


def _set(length: int | None) -> str:
    return "set" if length else "not set"


class _RecordAdmin(admin.ModelAdmin):
    """Written by the alerting machinery, never by hand: viewable, not addable or editable."""

    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class _RecordInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# --- channels and webhook endpoints (configuration, with secrets) ------------------------------

@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "kind", "enabled", "disabled_reason", "config_status",
                    "created_at"]
    list_filter = ["kind", "enabled"]
    list_select_related = ["organization"]
    search_fields = ["name", "organization__name", "organization__slug"]
    # `config` is not among the fields: it is never rendered, never resubmitted.
    fields = ["organization", "kind", "name", "enabled", "disabled_reason", "config_status",
              "destination", "created_at"]
    readonly_fields = ["organization", "kind", "disabled_reason", "config_status", "destination",
                       "created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("config").annotate(
            config_length=Length("config"))

    def has_add_permission(self, request) -> bool:
        return False  # the app validates each kind's config (and its URLs) on creation

    @admin.display(description="config")
    def config_status(self, channel: Channel) -> str:
        return _set(getattr(channel, "config_length", None))

    @admin.display(description="destination")
    def destination(self, channel: Channel) -> str:
        """What the app shows tenants: recipients, chat id or host, never a token or secret."""
        return format_html_join(mark_safe("<br>"), "{}: {}", channel_summary(channel)) or "—"

    def save_model(self, request, obj: Channel, form, change: bool) -> None:
        if "enabled" in form.changed_data and obj.enabled:
            obj.disabled_reason = ""  # as services.channels.update_channel does
        super().save_model(request, obj, form, change)


# The signing secrets are not among the fields. URL, events and pairs are validated by the app
# (the URL against SSRF), so only the description and the switch are edited here.
ENDPOINT_FIELDS = ("organization", "url", "description", "events", "pairs", "enabled",
                   "disabled_reason", "failing_since", "secret_status", "previous_secret_status",
                   "created_at")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "organization", "event_types", "enabled", "failing_since",
                    "secret_status", "previous_secret_status", "created_at"]
    list_filter = ["enabled", ("failing_since", admin.EmptyFieldListFilter)]
    list_select_related = ["organization"]
    search_fields = ["url", "description", "organization__name", "organization__slug"]
    date_hierarchy = "created_at"
    fields = ENDPOINT_FIELDS
    readonly_fields = [f for f in ENDPOINT_FIELDS if f not in {"description", "enabled"}]

    def get_queryset(self, request):
        return super().get_queryset(request).defer(*ENDPOINT_SECRETS).annotate(
            secret_length=Length("secret"), previous_secret_length=Length("previous_secret"))

    def has_add_permission(self, request) -> bool:
        return False  # the app checks the URL and generates the signing secret

    @admin.display(description="events")
    def event_types(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.events)

    @admin.display(description="signing secret")
    def secret_status(self, endpoint: WebhookEndpoint) -> str:
        return _set(getattr(endpoint, "secret_length", None))

    @admin.display(description="previous secret")
    def previous_secret_status(self, endpoint: WebhookEndpoint) -> str:
        if not getattr(endpoint, "previous_secret_length", None):
            return "not set"
        until = endpoint.previous_secret_until
        if until and until > timezone.now():
            return f"set, valid until {until:%Y-%m-%d %H:%M} UTC"
        return "set, expired"

    def save_model(self, request, obj: WebhookEndpoint, form, change: bool) -> None:
        if "enabled" in form.changed_data and obj.enabled:
            # As services.webhooks.update_endpoint does.
            obj.disabled_reason, obj.failing_since = "", None
        super().save_model(request, obj, form, change)


# --- the webhook outbox (records) ---------------------------------------------------------------

ATTEMPT_FIELDS = ("started_at", "status_code", "latency_ms", "error")


class DeliveryAttemptInline(_RecordInline):
    model = DeliveryAttempt
    fields = readonly_fields = ATTEMPT_FIELDS


@admin.register(WebhookMessage)
class WebhookMessageAdmin(_RecordAdmin):
    list_display = ["msg_id", "endpoint", "event_type", "status", "attempts", "created_at",
                    "next_attempt_at", "delivered_at"]
    list_filter = ["status", "event_type"]
    list_select_related = ["endpoint"]
    search_fields = ["msg_id", "endpoint__url"]
    date_hierarchy = "created_at"
    inlines = [DeliveryAttemptInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("endpoint").defer(
            *(f"endpoint__{name}" for name in ENDPOINT_SECRETS))


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(_RecordAdmin):
    list_display = ["started_at", "message", "endpoint", "status_code", "latency_ms", "error"]
    list_select_related = ["message__endpoint"]
    search_fields = ["message__msg_id", "message__endpoint__url", "error"]
    date_hierarchy = "started_at"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("message__endpoint").defer(
            *(f"message__endpoint__{name}" for name in ENDPOINT_SECRETS))

    @admin.display(description="endpoint", ordering="message__endpoint__url")
    def endpoint(self, attempt: DeliveryAttempt) -> str:
        return attempt.message.endpoint.url


# --- rules and what they produce ---------------------------------------------------------------

# What the rule watches is validated (and its incidents closed on a change) by the app's
# services; the admin can rename it, change its severity, or mute it.
RULE_FIELDS = ("organization", "name", "kind", "scope", "target", "params", "for_seconds",
               "resolve_after_seconds", "severity", "channels", "escalation_channels",
               "escalate_after_minutes", "muted_until", "enabled", "created_at")


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "kind", "scope", "target", "severity", "enabled",
                    "muted_until", "created_at"]
    list_filter = ["kind", "scope", "severity", "enabled"]
    list_select_related = ["organization"]
    search_fields = ["name", "target", "organization__name", "organization__slug"]
    fields = RULE_FIELDS
    readonly_fields = [f for f in RULE_FIELDS if f not in {"name", "severity", "muted_until"}]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Condition)
class ConditionAdmin(_RecordAdmin):
    list_display = ["rule", "subject", "breaching_since", "clear_since"]
    list_select_related = ["rule"]
    search_fields = ["rule__name", "subject"]


INCIDENT_EVENT_FIELDS = ("at", "kind", "detail")


class IncidentEventInline(_RecordInline):
    model = IncidentEvent
    fields = readonly_fields = INCIDENT_EVENT_FIELDS
    show_change_link = False


@admin.register(Incident)
class IncidentAdmin(_RecordAdmin):
    list_display = ["opened_at", "rule", "organization", "subject", "state", "severity", "value",
                    "acknowledged_at", "resolved_at"]
    list_filter = ["state", "rule__severity", "rule__kind"]
    list_select_related = ["rule", "organization"]
    search_fields = ["subject", "summary", "rule__name", "organization__name"]
    date_hierarchy = "opened_at"
    inlines = [IncidentEventInline]

    @admin.display(description="severity", ordering="rule__severity")
    def severity(self, incident: Incident) -> str:
        return incident.rule.severity


@admin.register(IncidentEvent)
class IncidentEventAdmin(_RecordAdmin):
    list_display = ["at", "incident", "kind", "detail"]
    list_filter = ["kind"]
    list_select_related = ["incident__rule"]
    search_fields = ["incident__subject", "incident__rule__name", "detail"]
    date_hierarchy = "at"


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin):
    list_display = ["organization", "starts_at", "ends_at", "reason", "active"]
    list_select_related = ["organization"]
    search_fields = ["organization__name", "organization__slug", "reason"]
    raw_id_fields = ["organization"]
    date_hierarchy = "starts_at"

    @admin.display(boolean=True, description="active now")
    def active(self, window: MaintenanceWindow) -> bool:
        return window.starts_at <= timezone.now() < window.ends_at


# `notification` is shown without its ack_url: a signed link anyone holding can acknowledge the
# incident with.
NOTICE_FIELDS = ("channel", "incidents", "shown_notification", "status", "attempts",
                 "next_attempt_at", "detail", "created_at")


@admin.register(Notice)
class NoticeAdmin(_RecordAdmin):
    list_display = ["created_at", "channel", "organization", "kind", "status", "attempts",
                    "next_attempt_at", "detail"]
    list_filter = ["status", "channel__kind"]
    list_select_related = ["channel__organization"]
    search_fields = ["channel__name", "channel__organization__name", "detail"]
    date_hierarchy = "created_at"
    fields = readonly_fields = NOTICE_FIELDS

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("channel__organization").defer(
            "channel__config")

    @admin.display(description="organization", ordering="channel__organization__name")
    def organization(self, notice: Notice) -> str:
        return str(notice.channel.organization)

    @admin.display(description="kind")
    def kind(self, notice: Notice) -> str:
        return str((notice.notification or {}).get("kind", "—"))

    @admin.display(description="notification")
    def shown_notification(self, notice: Notice) -> str:
        shown = dict(notice.notification or {})
        if shown.get("ack_url"):
            shown["ack_url"] = "set (not shown)"
        return format_html("<pre>{}</pre>", json.dumps(shown, indent=2, sort_keys=True))


@admin.register(PublishedState)
class PublishedStateAdmin(_RecordAdmin):
    list_display = ["kind", "key", "value", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["key"]
