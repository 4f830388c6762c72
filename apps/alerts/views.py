"""The organization's alerts pages.

Webhooks: the endpoints with a create form, and each endpoint's detail (edit, rotate the secret,
send a test event, delete, its recent messages with their attempts and a redeliver button).
A signing secret is rendered once, straight into the response to the POST that made it
(creation or rotation); it is never put in the session, a message or a log. Delivery itself is
the periodic task's job: these pages only queue.

Channels, rules and incidents: lists with create forms, and each one's detail (edit, delete; a
channel's test notification; a rule's escalation and mute; an incident's timeline and its
Acknowledge button). Maintenance windows: current, upcoming and past, with a create form and
delete. Date-times are typed and shown in UTC. A channel's stored credentials are never
rendered: the pages show what identifies it (recipients, a chat id, a host, the last
characters of a token).

Everyone in the organization sees these pages; owners, admins and members change things, by
POST only. Others get 404, also for another organization's object through their own slug.

The acknowledge link of notifications (`incident_ack`) needs no login: its signed token is the
authority. Its GET only shows what would be acknowledged (mail scanners fetch links); the
POST, with its CSRF token, acknowledges.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts import selectors as accounts
from apps.accounts.http import AuthenticatedRequest
from apps.accounts.models import Membership
from apps.accounts.permissions import Action, can, require
from apps.accounts.views import organization_member_required
from apps.billing.limits import allowed

from . import selectors
from .forms import (
    ChannelConfigFields,
    ChannelForm,
    EditChannelForm,
    EditRuleForm,
    EditWebhookEndpointForm,
    EscalationForm,
    IncidentFilterForm,
    MaintenanceWindowForm,
    MuteForm,
    RuleForm,
    WebhookEndpointForm,
    secret_field_names,
)
from .models import (
    Channel,
    Event,
    Incident,
    Rule,
    WebhookEndpoint,
    WebhookMessage,
)
from .rule_kinds import RULE_KINDS, rule_kind
from .services import channels as channel_services
from .services import incidents as incident_services
from .services import maintenance
from .services import rules as rule_services
from .services import webhooks as webhook_services
from .transports import channel_summary, stored_config

RECENT_MESSAGES = 50
ATTEMPTS_SHOWN = 5
ROTATION_OVERLAP_HOURS = int(webhook_services.ROTATION_OVERLAP.total_seconds() // 3600)
_FORM_FIELDS = {"url": "url", "description": "description", "events": "events",
                "pairs": "pairs", "enabled": "enabled"}


def _own_endpoint(membership: Membership, endpoint_id: int) -> WebhookEndpoint:
    """Only an endpoint of the organization in the URL, which the user is a member of; else
    404, so other tenants' endpoints cannot even be discovered."""
    return get_object_or_404(selectors.endpoints_of(membership.organization_id), pk=endpoint_id)


def _to_detail(membership: Membership, endpoint: WebhookEndpoint) -> HttpResponse:
    return redirect("webhook", slug=membership.organization.slug, endpoint_id=endpoint.pk)


def _event_labels() -> dict[str, str]:
    return {value: label for value, label in Event.choices}


def _with_event_rows(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    labels = _event_labels()
    endpoint.event_rows = [(event, labels.get(event, "")) for event in endpoint.events]
    return endpoint


def _list_page(request: HttpRequest, membership: Membership, *,
               form: WebhookEndpointForm | None = None, new_endpoint: WebhookEndpoint | None = None,
               secret: str | None = None, status: int = 200) -> HttpResponse:
    organization = membership.organization
    return render(
        request,
        "alerts/webhooks.html",
        {
            "membership": membership,
            "organization": organization,
            "endpoints": [_with_event_rows(e)
                          for e in selectors.endpoints_of(membership.organization_id)],
            "can_manage": can(membership, Action.MANAGE_ALERTS),
            "form": form or WebhookEndpointForm(),
            "new_endpoint": new_endpoint,
            "secret": secret,
            "max_endpoints": allowed(organization, "webhook_endpoints"),
        },
        status=status,
    )


def _recent_messages(endpoint: WebhookEndpoint) -> list[WebhookMessage]:
    recent = list(selectors.messages_with_attempts(endpoint)
                  .order_by("-created_at", "-pk")[:RECENT_MESSAGES])
    for message in recent:
        message.latest_attempts = list(message.delivery_attempts.all())[:ATTEMPTS_SHOWN]
    return recent


def _detail_page(request: HttpRequest, membership: Membership, endpoint: WebhookEndpoint, *,
                 form: EditWebhookEndpointForm | None = None, secret: str | None = None,
                 status: int = 200) -> HttpResponse:
    return render(
        request,
        "alerts/webhook.html",
        {
            "membership": membership,
            "organization": membership.organization,
            "endpoint": _with_event_rows(endpoint),
            "can_manage": can(membership, Action.MANAGE_ALERTS),
            "form": form or EditWebhookEndpointForm.for_endpoint(endpoint),
            "secret": secret,
            "recent_messages": _recent_messages(endpoint),
            "recent_limit": RECENT_MESSAGES,
            "attempts_shown": ATTEMPTS_SHOWN,
            "overlap_hours": ROTATION_OVERLAP_HOURS,
            "now": timezone.now(),
        },
        status=status,
    )


@organization_member_required
@require_GET
@never_cache
def webhooks(request: AuthenticatedRequest, membership: Membership) -> HttpResponse:
    require(membership, Action.VIEW_ORGANIZATION)
    return _list_page(request, membership)


@organization_member_required
@require_POST
@never_cache
@sensitive_variables()
def create(request: AuthenticatedRequest, membership: Membership) -> HttpResponse:
    require(membership, Action.MANAGE_ALERTS)
    form = WebhookEndpointForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            endpoint = webhook_services.create_endpoint(
                membership.organization, url=data["url"], events=data["events"],
                pairs=data["pairs"], description=data["description"])
        except ValidationError as error:
            _put_errors(form, error, _FORM_FIELDS.get)
        else:
            messages.success(request, f"Added the endpoint {endpoint.url}.")
            return _list_page(request, membership, new_endpoint=endpoint, secret=endpoint.secret)
    return _list_page(request, membership, form=form, status=400)


@organization_member_required
@require_GET
@never_cache
def webhook(request: AuthenticatedRequest, membership: Membership,
            endpoint_id: int) -> HttpResponse:
    require(membership, Action.VIEW_ORGANIZATION)
    return _detail_page(request, membership, _own_endpoint(membership, endpoint_id))


@organization_member_required
@require_POST
@never_cache
def update(request: AuthenticatedRequest, membership: Membership, endpoint_id: int) -> HttpResponse:
    require(membership, Action.MANAGE_ALERTS)
    endpoint = _own_endpoint(membership, endpoint_id)
    form = EditWebhookEndpointForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            webhook_services.update_endpoint(
                endpoint, url=data["url"], events=data["events"], pairs=data["pairs"],
                description=data["description"], enabled=data["enabled"])
        except ValidationError as error:
            _put_errors(form, error, _FORM_FIELDS.get)  # it refuses before changing anything
        else:
            messages.success(request, "Saved the endpoint.")
            return _to_detail(membership, endpoint)
    return _detail_page(request, membership, endpoint, form=form, status=400)


@organization_member_required
@require_POST
@never_cache
@sensitive_variables()
def rotate(request: AuthenticatedRequest, membership: Membership, endpoint_id: int) -> HttpResponse:
    require(membership, Action.MANAGE_ALERTS)
    endpoint = webhook_services.rotate_secret(_own_endpoint(membership, endpoint_id))
    messages.success(
        request,
        f"Rotated the signing secret. Until {endpoint.previous_secret_until:%Y-%m-%d %H:%M} UTC "
        "every message is signed with both the old and the new secret.",
    )
    return _detail_page(request, membership, endpoint, secret=endpoint.secret)


@organization_member_required
@require_POST
def send_test(request: AuthenticatedRequest, membership: Membership,
              endpoint_id: int) -> HttpResponse:
    require(membership, Action.MANAGE_ALERTS)
    endpoint = _own_endpoint(membership, endpoint_id)
    message = webhook_services.send_test(endpoint)
    note = "" if endpoint.enabled else " It waits until the endpoint is enabled again."
    messages.success(request, f"Test event {message.msg_id} queued; it is sent within a "
                              f"minute.{note}")
    return _to_detail(membership, endpoint)


@organization_member_required
@require_POST
def delete(request: AuthenticatedRequest, membership: Membership, endpoint_id: int) -> HttpResponse:
    require(membership, Action.MANAGE_ALERTS)
    endpoint = _own_endpoint(membership, endpoint_id)
    url = endpoint.url
    webhook_services.delete_endpoint(endpoint)
    messages.success(request, f"Deleted the endpoint {url} and its message history.")
    return redirect("webhooks", slug=membership.organization.slug)


@organization_member_required
@require_POST
def redeliver(request: AuthenticatedRequest, membership: Membership, endpoint_id: int,
              msg_id: str) -> HttpResponse:
    require(membership, Action.MANAGE_ALERTS)
    endpoint = _own_endpoint(membership, endpoint_id)
    message = get_object_or_404(endpoint.messages, msg_id=msg_id)
    webhook_services.redeliver(message)
    note = "" if endpoint.enabled else " It waits until the endpoint is enabled again."
    messages.success(request, f"Message {message.msg_id} queued for redelivery.{note}")
    return _to_detail(membership, endpoint)


# --- shared by channels, rules and incidents ----------------------------------------------------

RECENT_INCIDENTS = 20
INCIDENTS_SHOWN = 200


def _put_errors(form: forms.Form, error: ValidationError,
                field_for: Callable[[str], str | None]) -> None:
    """A service's ValidationError onto `form`: each key on the field `field_for(key)` names,
    or on the form as a whole."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for key, errors in error.message_dict.items():
        name = field_for(key)
        form.add_error(name if name in form.fields else None, errors)


def _alerts_context(membership: Membership, section: str, **context: Any) -> dict[str, Any]:
    return {"membership": membership, "organization": membership.organization,
            "can_manage": can(membership, Action.MANAGE_ALERTS), "section": section, **context}


# --- channels -----------------------------------------------------------------------------------

def _own_channel(membership: Membership, channel_id: int) -> Channel:
    return get_object_or_404(selectors.channels_of(membership.organization_id), pk=channel_id)


def _with_summary(channel: Channel) -> Channel:
    channel.summary = channel_summary(channel)
    return channel


def _forget_secrets(form: ChannelConfigFields) -> None:
    """A refused form is shown again without the credentials that were typed into it."""
    if form.is_bound:
        data = cast(QueryDict, form.data).copy()  # these views bind it to request.POST
        for name in secret_field_names():
            data.pop(name, None)
        form.data = data


def _channels_page(request: HttpRequest, membership: Membership, *,
                   form: ChannelForm | None = None, new_channel: Channel | None = None,
                   secret: str | None = None, status: int = 200) -> HttpResponse:
    channels = selectors.channels_with_rule_counts(membership.organization_id)
    return render(request, "alerts/channels.html", _alerts_context(
        membership, "channels", channels=[_with_summary(c) for c in channels],
        form=form or ChannelForm(), new_channel=new_channel, secret=secret), status=status)


def _channel_page(request: HttpRequest, membership: Membership, channel: Channel, *,
                  form: EditChannelForm | None = None, status: int = 200) -> HttpResponse:
    return render(request, "alerts/channel.html", _alerts_context(
        membership, "channels", channel=_with_summary(channel),
        rules=channel.rules.order_by("name"),
        form=form or EditChannelForm.for_channel(channel)), status=status)


@organization_member_required
@require_GET
@never_cache
def channels(request: AuthenticatedRequest, membership: Membership) -> HttpResponse:
    require(membership, Action.VIEW_ORGANIZATION)
    return _channels_page(request, membership)


@organization_member_required
@require_POST
@never_cache
@sensitive_variables()
def channel_create(request: AuthenticatedRequest, membership: Membership) -> HttpResponse:
    require(membership, Action.MANAGE_ALERTS)
    form = ChannelForm(request.POST)
    if form.is_valid():
        kind = form.cleaned_data["kind"]
        try:
            channel = channel_services.create_channel(membership.organization, kind=kind,
                                                      name=form.cleaned_data["name"],
                                                      config=form.config())
        except ValidationError as error:
            _put_errors(form, error, lambda key: form.field_for(kind, key))
        else:
            messages.success(request, f"Added the channel {channel.name}.")
            # A signing secret we generated is shown once, in this response only.
            stored = stored_config(channel)
            generated = next((stored.get(key) for key in form.left_to_generate()), None)
            if generated:
                return _channels_page(request, membership, new_channel=channel,
                                      secret=generated)
            return redirect("alert_channel", slug=membership.organization.slug,
                            channel_id=channel.pk)
    _forget_secrets(form)
    return _channels_page(request, membership, form=form, status=400)


@organization_member_required
@require_GET
@never_cache
def channel(request: AuthenticatedRequest, membership: Membership, channel_id: int) -> HttpResponse:
    require(membership, Action.VIEW_ORGANIZATION)
    return _channel_page(request, membership, _own_channel(membership, channel_id))


@organization_member_required
@require_POST
@never_cache
@sensitive_variables()
def channel_update(request: AuthenticatedRequest, membership: Membership,
                   channel_id: int) -> HttpResponse:
    require(membership, Action.MANAGE_ALERTS)
    channel = _own_channel(membership, channel_id)
    form = EditChannelForm(request.POST, kind=channel.kind)
    if form.is_valid():
        try:
            channel_services.update_channel(channel, name=form.cleaned_data["name"],
                                            config=form.config(stored_config(channel)),
                                            enabled=form.cleaned_data["enabled"])
        except ValidationError as error:  # refused before anything changed
            _put_errors(form, error, lambda key: form.field_for(channel.kind, key))
        else:
            messages.success(request, "Saved the channel.")
            return redirect("alert_channel", slug=membership.organization.slug,
                            channel_id=channel.pk)
    _forget_secrets(form)
    return _channel_page(request, membership, channel, form=form, status=400)


@organization_member_required
@require_POST
def channel_test(request: AuthenticatedRequest, membership: Membership,
                 channel_id: int) -> HttpResponse:
    require(membership, Action.MANAGE_ALERTS)
    channel = _own_channel(membership, channel_id)
    delivery = channel_services.send_test_notification(channel)
    if delivery.ok:
        messages.success(request, "Test notification sent"
                                  + (f": {delivery.detail}" if delivery.detail else "."))
    else:
        note = (" The failure is permanent, so the channel was disabled: fix its settings, "
                "then enable it again." if delivery.permanent else " It may work on a retry.")
        messages.error(request, f"The test notification failed: "
                                f"{delivery.detail or 'no detail'}.{note}")
    return redirect("alert_channel", slug=membership.organization.slug, channel_id=channel.pk)


@organization_member_required
@require_POST
def channel_delete(request: AuthenticatedRequest, membership: Membership,
                   channel_id: int) -> HttpResponse:
    require(membership, Action.MANAGE_ALERTS)
    channel = _own_channel(membership, channel_id)
    name = channel.name
    channel_services.delete_channel(channel)
    messages.success(request, f"Deleted the channel {name}; its rules no longer notify it.")
    return redirect("alert_channels", slug=membership.organization.slug)


# --- rules --------------------------------------------------------------------------------------

def _own_rule(membership: Membership, rule_id: int) -> Rule:
    return get_object_or_404(selectors.rules_of(membership.organization_id)
                             .select_related("organization"), pk=rule_id)


def params_summary(rule: Rule) -> str:
    """The rule's condition in a few words: its kind's `summary`."""
    return rule_kind(rule.kind).summary(rule) if rule.kind in RULE_KINDS else "—"


def _with_params(rule: Rule) -> Rule:
    rule.params_summary = params_summary(rule)
    return rule


def _rules_page(request: HttpRequest, membership: Membership, *, form: RuleForm | None = None,
                status: int = 200) -> HttpResponse:
    rules = selectors.rules_with_open_incidents(membership.organization_id)
    return render(request, "alerts/rules.html", _alerts_context(
        membership, "rules", rules=[_with_params(r) for r in rules],
        form=form or RuleForm(organization=membership.organization),
        max_rules=allowed(membership.organization, "alert_rules")), status=status)


def _rule_page(request: HttpRequest, membership: Membership, rule: Rule, *,
               form: EditRuleForm | None = None, escalation_form: EscalationForm | None = None,
               mute_form: MuteForm | None = None, status: int = 200) -> HttpResponse:
    now = timezone.now()
    return render(request, "alerts/rule.html", _alerts_context(
        membership, "rules", rule=_with_params(rule),
        rule_channels=rule.channels.order_by("name"),
        escalation_channels=rule.escalation_channels.order_by("name"),
        muted=rule.muted_until is not None and rule.muted_until > now,
        incidents=rule.incidents.order_by("-opened_at", "-pk")[:RECENT_INCIDENTS],
        recent_limit=RECENT_INCIDENTS,
        form=form or EditRuleForm.for_rule(rule),
        escalation_form=escalation_form or EscalationForm.for_rule(rule),
        mute_form=mute_form or MuteForm(initial={"until": rule.muted_until}),
        current_windows=selectors.current_windows(membership.organization_id, now)),
        status=status)


@organization_member_required
@require_GET
@never_cache
def rules(request: AuthenticatedRequest, membership: Membership) -> HttpResponse:
    require(membership, Action.VIEW_ORGANIZATION)
    return _rules_page(request, membership)


@organization_member_required
@require_POST
@never_cache
def rule_create(request: AuthenticatedRequest, membership: Membership) -> HttpResponse:
    require(membership, Action.MANAGE_ALERTS)
    form = RuleForm(request.POST, organization=membership.organization)
    if form.is_valid():
        try:
            rule = rule_services.create_rule(membership.organization, **form.rule_fields())
        except ValidationError as error:
            _put_errors(form, error, form.field_for)
        else:
            messages.success(request, f"Added the rule {rule.name}.")
            return redirect("alert_rule", slug=membership.organization.slug, rule_id=rule.pk)
    return _rules_page(request, membership, form=form, status=400)


@organization_member_required
@require_GET
@never_cache
def rule(request: AuthenticatedRequest, membership: Membership, rule_id: int) -> HttpResponse:
    require(membership, Action.VIEW_ORGANIZATION)
    return _rule_page(request, membership, _own_rule(membership, rule_id))


@organization_member_required
@require_POST
@never_cache
def rule_update(request: AuthenticatedRequest, membership: Membership,
                rule_id: int) -> HttpResponse:
    require(membership, Action.MANAGE_ALERTS)
    rule = _own_rule(membership, rule_id)
    form = EditRuleForm(request.POST, organization=membership.organization)
    if form.is_valid():
        try:
            rule_services.update_rule(rule, **form.rule_fields(),
                                      enabled=form.cleaned_data["enabled"])
        except ValidationError as error:
            _put_errors(form, error, form.field_for)
        else:
            messages.success(request, "Saved the rule.")
            return redirect("alert_rule", slug=membership.organization.slug, rule_id=rule.pk)
    return _rule_page(request, membership, rule, form=form, status=400)


@organization_member_required
@require_POST
def rule_delete(request: AuthenticatedRequest, membership: Membership,
                rule_id: int) -> HttpResponse:
    require(membership, Action.MANAGE_ALERTS)
    rule = _own_rule(membership, rule_id)
    name = rule.name
    rule_services.delete_rule(rule)
    messages.success(request, f"Deleted the rule {name} and its incidents.")
    return redirect("alert_rules", slug=membership.organization.slug)


@organization_member_required
@require_POST
@never_cache
def rule_escalation(request: AuthenticatedRequest, membership: Membership,
                    rule_id: int) -> HttpResponse:
    require(membership, Action.MANAGE_ALERTS)
    rule = _own_rule(membership, rule_id)
    form = EscalationForm(request.POST, organization=membership.organization)
    if form.is_valid():
        try:
            maintenance.set_escalation(rule, **form.escalation())
        except ValidationError as error:  # refused before anything changed
            _put_errors(form, error, str)
        else:
            messages.success(request, "Saved the escalation." if rule.escalate_after_minutes
                             else "Escalation is off for this rule.")
            return redirect("alert_rule", slug=membership.organization.slug, rule_id=rule.pk)
    return _rule_page(request, membership, rule, escalation_form=form, status=400)


@organization_member_required
@require_POST
@never_cache
def rule_mute(request: AuthenticatedRequest, membership: Membership, rule_id: int) -> HttpResponse:
    """Mute until a time (typed in UTC), or unmute (the `unmute` button)."""
    require(membership, Action.MANAGE_ALERTS)
    rule = _own_rule(membership, rule_id)
    slug = membership.organization.slug
    if "unmute" in request.POST:
        maintenance.mute_rule(rule, until=None)
        messages.success(request, "Unmuted: the rule's channels are notified again.")
        return redirect("alert_rule", slug=slug, rule_id=rule.pk)
    form = MuteForm(request.POST)
    if form.is_valid():
        try:
            maintenance.mute_rule(rule, until=form.cleaned_data["until"])
        except ValidationError as error:
            _put_errors(form, error, str)
        else:
            messages.success(request, f"Muted until {rule.muted_until:%Y-%m-%d %H:%M} UTC: "
                                      "incidents still open and resolve, nobody is notified.")
            return redirect("alert_rule", slug=slug, rule_id=rule.pk)
    return _rule_page(request, membership, rule, mute_form=form, status=400)


# --- maintenance windows ------------------------------------------------------------------------

PAST_WINDOWS_SHOWN = 50


def _windows_page(request: HttpRequest, membership: Membership, *,
                  form: MaintenanceWindowForm | None = None, status: int = 200) -> HttpResponse:
    now, organization_id = timezone.now(), membership.organization_id
    return render(request, "alerts/maintenance.html", _alerts_context(
        membership, "maintenance",
        current=selectors.current_windows(organization_id, now).order_by("ends_at", "pk"),
        upcoming=selectors.upcoming_windows(organization_id, now).order_by("starts_at", "pk"),
        past=selectors.past_windows(organization_id, now)
        .order_by("-ends_at", "-pk")[:PAST_WINDOWS_SHOWN],
        past_limit=PAST_WINDOWS_SHOWN, form=form or MaintenanceWindowForm()), status=status)


@organization_member_required
@require_GET
@never_cache
def maintenance_windows(request: AuthenticatedRequest, membership: Membership) -> HttpResponse:
    require(membership, Action.VIEW_ORGANIZATION)
    return _windows_page(request, membership)


@organization_member_required
@require_POST
@never_cache
def maintenance_window_create(request: AuthenticatedRequest,
                              membership: Membership) -> HttpResponse:
    require(membership, Action.MANAGE_ALERTS)
    form = MaintenanceWindowForm(request.POST)
    if form.is_valid():
        try:
            window = maintenance.create_maintenance_window(membership.organization,
                                                           **form.cleaned_data)
        except ValidationError as error:
            _put_errors(form, error, str)
        else:
            messages.success(request, f"Added the maintenance window "
                                      f"{window.starts_at:%Y-%m-%d %H:%M}–"
                                      f"{window.ends_at:%Y-%m-%d %H:%M} UTC.")
            return redirect("maintenance_windows", slug=membership.organization.slug)
    return _windows_page(request, membership, form=form, status=400)


@organization_member_required
@require_POST
def maintenance_window_delete(request: AuthenticatedRequest, membership: Membership,
                              window_id: int) -> HttpResponse:
    require(membership, Action.MANAGE_ALERTS)
    window = get_object_or_404(selectors.windows_of(membership.organization_id), pk=window_id)
    maintenance.delete_maintenance_window(window)
    messages.success(request, "Deleted the maintenance window: notifications are no longer "
                              "held back for it.")
    return redirect("maintenance_windows", slug=membership.organization.slug)


# --- incidents ----------------------------------------------------------------------------------

def _own_incident(membership: Membership, incident_id: int) -> Incident:
    return get_object_or_404(selectors.incidents_of(membership.organization_id),
                             pk=incident_id)


@organization_member_required
@require_GET
@never_cache
def incidents(request: AuthenticatedRequest, membership: Membership) -> HttpResponse:
    require(membership, Action.VIEW_ORGANIZATION)
    form = IncidentFilterForm(request.GET)
    state = (form.cleaned_data.get("state") if form.is_valid() else "") or "open"
    shown = selectors.incidents_of(membership.organization_id, unresolved=state == "open")
    shown = shown.order_by("-opened_at", "-pk")
    return render(request, "alerts/incidents.html", _alerts_context(
        membership, "incidents", incidents=shown[:INCIDENTS_SHOWN], state=state,
        limit=INCIDENTS_SHOWN))


@organization_member_required
@require_GET
@never_cache
def incident(request: AuthenticatedRequest, membership: Membership,
             incident_id: int) -> HttpResponse:
    require(membership, Action.VIEW_ORGANIZATION)
    incident = _own_incident(membership, incident_id)
    return render(request, "alerts/incident.html", _alerts_context(
        membership, "incidents", incident=incident,
        events=incident.events.order_by("at", "pk")))


@organization_member_required
@require_POST
def incident_acknowledge(request: AuthenticatedRequest, membership: Membership,
                         incident_id: int) -> HttpResponse:
    require(membership, Action.MANAGE_ALERTS)
    incident = _own_incident(membership, incident_id)
    if incident.state == Incident.State.OPEN:
        incident_services.acknowledge(incident, by=request.user.email)
        messages.success(request, "Acknowledged: the timeline records that you are on it.")
    else:
        messages.info(request, f"Nothing to do: the incident is already {incident.state}.")
    return redirect("incident", slug=membership.organization.slug, incident_id=incident.pk)


@require_http_methods(["GET", "POST"])
@never_cache
def incident_ack(request: HttpRequest, token: str) -> HttpResponse:
    """The one-click acknowledge link of notifications. No login: the signed token is the
    authority. GET changes nothing (mail scanners prefetch links); POST acknowledges."""
    incident = incident_services.incident_for_ack_token(token)
    if incident is None:
        raise Http404("This acknowledge link is invalid or has expired.")
    done = None
    if request.method == "POST":
        was_open = incident.state == Incident.State.OPEN
        by = request.user.email if request.user.is_authenticated else "link in a notification"
        incident = incident_services.acknowledge(incident, by=by)
        done = "acknowledged" if was_open else "unchanged"
    member = (request.user.is_authenticated
              and accounts.membership_in(request.user, incident.organization.slug) is not None)
    response = render(request, "alerts/ack.html", {
        "incident": incident, "organization": incident.organization, "token": token,
        "done": done, "is_member": member})
    response["Referrer-Policy"] = "no-referrer"  # the token is in this page's URL
    response["X-Robots-Tag"] = "noindex"
    return response
