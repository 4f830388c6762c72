"""The API for webhook endpoints: create (the secret is returned once), change, delete,
rotate the secret, send a test event, list messages with their attempts, redeliver. And for
alerts: channels (their credentials never leave: a summary only), rules (with their escalation
and mute), incidents with their timeline and acknowledgement, maintenance windows. Always
within the caller's organization; writes need a read-write key or a member's session."""
from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Organization, User
from apps.api_keys.authentication import principal_of
from apps.api_keys.models import ApiKey
from apps.common.api import NewestFirst, documented

from . import selectors
from . import serializers as s
from .models import Channel, Incident, MaintenanceWindow, Rule, WebhookEndpoint, WebhookMessage
from .services import channels as channel_services
from .services import incidents as incident_services
from .services import maintenance, webhooks
from .services import rules as rule_services
from .transports import stored_config, transport_class


def _organization(request: Request) -> Organization:
    return Organization.objects.get(pk=principal_of(request).organization_id)


EXAMPLE = {"id": 3, "url": "https://risk.example.com/hooks/oracles", "description": "risk desk",
           "events": ["alert.opened", "alert.resolved"], "pairs": [], "enabled": True,
           "disabled_reason": "", "paused_reason": "", "failing_since": None,
           "created_at": "2026-11-26T18:00:00Z"}
EXAMPLE_NEW = {**EXAMPLE, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
EXAMPLE_INPUT = {"url": "https://risk.example.com/hooks/oracles", "description": "risk desk",
                 "events": ["alert.opened", "alert.resolved"], "pairs": []}
EXAMPLE_MESSAGE = {
    "msg_id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "event_type": "alert.opened",
    "body": '{"type":"alert.opened","timestamp":"2026-11-26T18:00:00+00:00","data":{}}',
    "status": "delivered", "created_at": "2026-11-26T18:00:00Z", "attempts_made": 2,
    "next_attempt_at": "2026-11-26T18:00:05Z", "delivered_at": "2026-11-26T18:00:06Z",
    "recent_attempts": [{"started_at": "2026-11-26T18:00:06Z", "status_code": 200,
                         "latency_ms": 84, "response_snippet": "ok", "error": ""}]}


def _endpoint(request: Request, endpoint_id: int) -> WebhookEndpoint:
    return get_object_or_404(selectors.endpoints_of(principal_of(request).organization_id),
                             pk=endpoint_id)


def _with_secret(endpoint: WebhookEndpoint) -> dict:
    return {**s.WebhookEndpointSerializer(endpoint).data, "secret": endpoint.secret}


class WebhookList(generics.ListAPIView):
    serializer_class = s.WebhookEndpointSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return selectors.endpoints_of(principal_of(self.request).organization_id)

    @documented("Your organization's webhook endpoints.", EXAMPLE,
                response=s.WebhookEndpointSerializer(many=True))
    def get(self, request: Request) -> Response:
        return super().get(request)

    @documented("Add an endpoint. The response holds its signing secret (also after a "
                "rotation; never in lists). The URL must be public: private, loopback and "
                "link-local addresses are refused.", EXAMPLE_NEW, status=201,
                request=s.WebhookEndpointInputSerializer, request_example=EXAMPLE_INPUT,
                response=s.NewWebhookEndpointSerializer, errors=(400, 401, 403, 429))
    def post(self, request: Request) -> Response:
        form = s.WebhookEndpointInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        endpoint = webhooks.create_endpoint(
            _organization(request), url=data["url"],
            events=data["events"], pairs=data["pairs"], description=data["description"])
        return Response(_with_secret(endpoint), status=status.HTTP_201_CREATED)


class WebhookDetail(APIView):
    @documented("One endpoint.", EXAMPLE, response=s.WebhookEndpointSerializer)
    def get(self, request: Request, endpoint_id: int) -> Response:
        return Response(s.WebhookEndpointSerializer(_endpoint(request, endpoint_id)).data)

    @documented("Change an endpoint (all fields, as on creation). Enabling a disabled endpoint "
                "resumes its pending messages.", EXAMPLE, request=s.WebhookEndpointInputSerializer,
                request_example={**EXAMPLE_INPUT, "enabled": True},
                response=s.WebhookEndpointSerializer, errors=(400, 401, 403, 404, 429))
    def put(self, request: Request, endpoint_id: int) -> Response:
        endpoint = _endpoint(request, endpoint_id)
        form = s.WebhookEndpointInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        webhooks.update_endpoint(endpoint, **form.validated_data)
        return Response(s.WebhookEndpointSerializer(endpoint).data)

    @documented("Delete an endpoint and its message history.", None, status=204,
                errors=(401, 403, 404, 429))
    def delete(self, request: Request, endpoint_id: int) -> Response:
        webhooks.delete_endpoint(_endpoint(request, endpoint_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecret(APIView):
    @documented("A new signing secret. For 24 hours messages carry a signature under the old "
                "one too, so receivers can switch without missing any.", EXAMPLE_NEW,
                request=None, response=s.NewWebhookEndpointSerializer,
                errors=(401, 403, 404, 429))
    def post(self, request: Request, endpoint_id: int) -> Response:
        return Response(_with_secret(webhooks.rotate_secret(_endpoint(request, endpoint_id))))


class WebhookTest(APIView):
    @documented("Queue a `webhook.test` event to this endpoint now; see it under messages.",
                {**EXAMPLE_MESSAGE, "event_type": "webhook.test", "status": "pending",
                 "attempts_made": 0, "delivered_at": None, "recent_attempts": []},
                request=None, response=s.WebhookMessageSerializer, status=202,
                errors=(401, 403, 404, 429))
    def post(self, request: Request, endpoint_id: int) -> Response:
        message = webhooks.send_test(_endpoint(request, endpoint_id))
        return Response(s.WebhookMessageSerializer(message).data,
                        status=status.HTTP_202_ACCEPTED)


class WebhookMessages(generics.ListAPIView):
    serializer_class = s.WebhookMessageSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[WebhookMessage]:
        return selectors.messages_with_attempts(
            _endpoint(self.request, self.kwargs["endpoint_id"]))

    @documented("The endpoint's messages, newest first, each with its latest attempts (status, "
                "latency, the start of the response).", EXAMPLE_MESSAGE,
                response=s.WebhookMessageSerializer(many=True))
    def get(self, request: Request, endpoint_id: int) -> Response:
        return super().get(request, endpoint_id=endpoint_id)


class WebhookRedeliver(APIView):
    @documented("Send a message again now, with the same `webhook-id`.",
                {**EXAMPLE_MESSAGE, "status": "pending"}, request=None,
                response=s.WebhookMessageSerializer, status=202, errors=(401, 403, 404, 429))
    def post(self, request: Request, endpoint_id: int, msg_id: str) -> Response:
        message = get_object_or_404(_endpoint(request, endpoint_id).messages, msg_id=msg_id)
        return Response(s.WebhookMessageSerializer(webhooks.redeliver(message)).data,
                        status=status.HTTP_202_ACCEPTED)


# --- alert channels -----------------------------------------------------------------------------
# Channels never show their config (tokens, keys, secret URLs): only `config_summary`.

EXAMPLE_CHANNEL = {"id": 5, "kind": "telegram", "name": "desk chat", "enabled": True,
                   "disabled_reason": "", "paused_reason": "",
                   "config_summary": {"chat_id": "-1001234567890", "bot_token_last4": "x9Qa"},
                   "created_at": "2026-11-26T18:00:00Z"}
EXAMPLE_CHANNEL_INPUT = {"kind": "telegram", "name": "desk chat",
                         "config": {"bot_token": "123456789:AAH…", "chat_id": "-1001234567890"}}
EXAMPLE_RULE = {"id": 9, "name": "ETH above 3,500", "kind": "price_above", "scope": "pair",
                "target": "ETH-USD", "params": {"price": "3500", "hysteresis_bps": "10"},
                "for_seconds": 30, "resolve_after_seconds": 60, "severity": "warning",
                "channels": [5], "escalation_channels": [], "escalate_after_minutes": 0,
                "muted_until": None, "enabled": True, "paused_reason": "",
                "created_at": "2026-11-26T18:00:00Z"}
EXAMPLE_RULE_INPUT = {key: value for key, value in EXAMPLE_RULE.items()
                      if key not in ("id", "created_at", "escalation_channels",
                                     "escalate_after_minutes", "muted_until", "paused_reason")}
EXAMPLE_WINDOW = {"id": 4, "starts_at": "2026-11-28T02:00:00Z",
                  "ends_at": "2026-11-28T04:00:00Z", "reason": "node upgrade",
                  "state": "upcoming"}
EXAMPLE_INCIDENT = {"id": 42, "rule": 9, "rule_name": "ETH above 3,500", "subject": "ETH-USD",
                    "state": "open", "summary": "ETH-USD consensus 3512.4 is above 3500",
                    "value": "3512.4", "opened_at": "2026-11-26T18:00:30Z",
                    "acknowledged_at": None, "resolved_at": None}
EXAMPLE_INCIDENT_EVENTS = [
    {"at": "2026-11-26T18:00:30Z", "kind": "opened", "detail": "3512.4"},
    {"at": "2026-11-26T18:00:31Z", "kind": "notified", "detail": "via desk chat"}]
EXAMPLE_INCIDENT_DETAIL = {**EXAMPLE_INCIDENT, "events": EXAMPLE_INCIDENT_EVENTS}


def _config_errors(error: DjangoValidationError) -> DjangoValidationError:
    """A transport's config errors ("to", "bot_token"…) under `config.…` in the API's details."""
    if not hasattr(error, "error_dict"):
        return error
    return DjangoValidationError({
        name if name in ("kind", "name", "enabled") else f"config.{name}": messages
        for name, messages in error.message_dict.items()})


def _channel(request: Request, channel_id: int) -> Channel:
    return get_object_or_404(selectors.channels_of(principal_of(request).organization_id),
                             pk=channel_id)


class ChannelList(generics.ListAPIView):
    serializer_class = s.ChannelSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[Channel]:
        return selectors.channels_of(principal_of(self.request).organization_id)

    @documented("Your organization's alert channels, newest first. Their credentials are never "
                "shown: `config_summary` tells them apart.", EXAMPLE_CHANNEL,
                response=s.ChannelSerializer(many=True))
    def get(self, request: Request) -> Response:
        return super().get(request)

    @documented("Add a channel: email, telegram, slack, pagerduty or webhook, with its kind's "
                "config (checked as on the dashboard; errors under `config.<field>`).",
                EXAMPLE_CHANNEL, status=201, request=s.ChannelInputSerializer,
                request_example=EXAMPLE_CHANNEL_INPUT, response=s.ChannelSerializer,
                errors=(400, 401, 403, 429))
    def post(self, request: Request) -> Response:
        form = s.ChannelInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            channel = channel_services.create_channel(_organization(request),
                                                      **form.validated_data)
        except DjangoValidationError as error:
            raise _config_errors(error) from None
        body = s.ChannelSerializer(channel).data
        stored = stored_config(channel)
        for field in transport_class(channel.kind).config_fields:
            if field.generated:  # the webhook's signing secret, shown this once
                body[field.key] = stored[field.key]
        return Response(body, status=status.HTTP_201_CREATED)


class ChannelDetail(APIView):
    @documented("One channel.", EXAMPLE_CHANNEL, response=s.ChannelSerializer)
    def get(self, request: Request, channel_id: int) -> Response:
        return Response(s.ChannelSerializer(_channel(request, channel_id)).data)

    @documented("Rename, enable or disable a channel, and optionally replace its config (left "
                "out or null: the stored config, secrets included, is kept). Enabling clears "
                "the reason it was disabled.", EXAMPLE_CHANNEL,
                request=s.ChannelUpdateSerializer,
                request_example={"name": "desk chat", "enabled": True},
                response=s.ChannelSerializer, errors=(400, 401, 403, 404, 429))
    def put(self, request: Request, channel_id: int) -> Response:
        channel = _channel(request, channel_id)
        form = s.ChannelUpdateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            channel_services.update_channel(channel, **form.validated_data)
        except DjangoValidationError as error:
            raise _config_errors(error) from None
        return Response(s.ChannelSerializer(channel).data)

    @documented("Delete a channel (rules that used it keep their other channels).", None,
                status=204, errors=(401, 403, 404, 429))
    def delete(self, request: Request, channel_id: int) -> Response:
        channel_services.delete_channel(_channel(request, channel_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChannelTest(APIView):
    @documented("Send a test notification through this channel now (even when it is disabled) "
                "and say how it went. A permanent failure disables the channel.",
                {"ok": True, "permanent": False, "retry_after": None, "detail": ""},
                request=None, response=s.DeliverySerializer, errors=(401, 403, 404, 429))
    def post(self, request: Request, channel_id: int) -> Response:
        delivery = channel_services.send_test_notification(_channel(request, channel_id))
        return Response(s.DeliverySerializer(delivery).data)


# --- alert rules --------------------------------------------------------------------------------

def _rule(request: Request, rule_id: int) -> Rule:
    return get_object_or_404(
        selectors.rules_with_channel_ids(principal_of(request).organization_id), pk=rule_id)


class RuleList(generics.ListAPIView):
    serializer_class = s.RuleSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[Rule]:
        return selectors.rules_with_channel_ids(principal_of(self.request).organization_id)

    @documented("Your organization's alert rules, newest first; see docs/alerts.md for the "
                "kinds, scopes and params.", EXAMPLE_RULE, response=s.RuleSerializer(many=True))
    def get(self, request: Request) -> Response:
        return super().get(request)

    @documented("Add a rule. Errors name the field, params under `params.<name>` (e.g. "
                "`params.price`); `channels` are ids of your channels.", EXAMPLE_RULE,
                status=201, request=s.RuleInputSerializer, request_example=EXAMPLE_RULE_INPUT,
                response=s.RuleSerializer, errors=(400, 401, 403, 429))
    def post(self, request: Request) -> Response:
        form = s.RuleInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        rule = rule_services.create_rule(_organization(request), **form.validated_data)
        return Response(s.RuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class RuleDetail(APIView):
    @documented("One rule.", EXAMPLE_RULE, response=s.RuleSerializer)
    def get(self, request: Request, rule_id: int) -> Response:
        return Response(s.RuleSerializer(_rule(request, rule_id)).data)

    @documented("Change a rule (all fields, as on creation).", EXAMPLE_RULE,
                request=s.RuleInputSerializer, request_example=EXAMPLE_RULE_INPUT,
                response=s.RuleSerializer, errors=(400, 401, 403, 404, 429))
    def put(self, request: Request, rule_id: int) -> Response:
        rule = _rule(request, rule_id)
        form = s.RuleInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        rule_services.update_rule(rule, **form.validated_data)
        return Response(s.RuleSerializer(rule).data)

    @documented("Delete a rule and its incidents.", None, status=204,
                errors=(401, 403, 404, 429))
    def delete(self, request: Request, rule_id: int) -> Response:
        rule_services.delete_rule(_rule(request, rule_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RuleEscalation(APIView):
    @documented("Set who is told when one of the rule's incidents is still unacknowledged "
                "after `after_minutes` (told once; acknowledging stops it). `after_minutes` 0 "
                "turns escalation off; otherwise `channels` (ids of your channels) must name at "
                "least one.", {**EXAMPLE_RULE, "escalation_channels": [6],
                               "escalate_after_minutes": 15},
                request=s.EscalationInputSerializer,
                request_example={"channels": [6], "after_minutes": 15},
                response=s.RuleSerializer, errors=(400, 401, 403, 404, 429))
    def put(self, request: Request, rule_id: int) -> Response:
        rule = _rule(request, rule_id)
        form = s.EscalationInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        maintenance.set_escalation(rule, **form.validated_data)
        return Response(s.RuleSerializer(_rule(request, rule_id)).data)


class RuleMute(APIView):
    @documented("Mute the rule until `until` (a time with a zone, within the next 90 days), or "
                "unmute it with null. While muted, incidents still open and resolve but nobody "
                "is notified.", {**EXAMPLE_RULE, "muted_until": "2026-11-27T06:00:00Z"},
                request=s.MuteInputSerializer,
                request_example={"until": "2026-11-27T06:00:00Z"},
                response=s.RuleSerializer, errors=(400, 401, 403, 404, 429))
    def put(self, request: Request, rule_id: int) -> Response:
        rule = _rule(request, rule_id)
        form = s.MuteInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        maintenance.mute_rule(rule, until=form.validated_data["until"])
        return Response(s.RuleSerializer(_rule(request, rule_id)).data)


# --- maintenance windows ------------------------------------------------------------------------

class MaintenanceWindowList(generics.ListAPIView):
    serializer_class = s.MaintenanceWindowSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[MaintenanceWindow]:
        return selectors.windows_of(principal_of(self.request).organization_id)

    @documented("Your organization's maintenance windows (current, upcoming and past), newest "
                "first. During one, incidents still open and resolve but nobody is notified.",
                EXAMPLE_WINDOW, response=s.MaintenanceWindowSerializer(many=True))
    def get(self, request: Request) -> Response:
        return super().get(request)

    @documented("Plan a maintenance window: times with a zone, `ends_at` after `starts_at` and "
                "in the future, at most 30 days long.", EXAMPLE_WINDOW, status=201,
                request=s.MaintenanceWindowInputSerializer,
                request_example={"starts_at": "2026-11-28T02:00:00Z",
                                 "ends_at": "2026-11-28T04:00:00Z", "reason": "node upgrade"},
                response=s.MaintenanceWindowSerializer, errors=(400, 401, 403, 429))
    def post(self, request: Request) -> Response:
        form = s.MaintenanceWindowInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        window = maintenance.create_maintenance_window(_organization(request),
                                                       **form.validated_data)
        return Response(s.MaintenanceWindowSerializer(window).data,
                        status=status.HTTP_201_CREATED)


class MaintenanceWindowDetail(APIView):
    @documented("Delete a maintenance window (notifications are no longer held back for it).",
                None, status=204, errors=(401, 403, 404, 429))
    def delete(self, request: Request, window_id: int) -> Response:
        maintenance.delete_maintenance_window(
            get_object_or_404(selectors.windows_of(principal_of(request).organization_id),
                              pk=window_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- incidents ----------------------------------------------------------------------------------

def _incident(request: Request, incident_id: int) -> Incident:
    return get_object_or_404(selectors.incidents_of(principal_of(request).organization_id)
                             .prefetch_related("events"), pk=incident_id)


def _acknowledger(request: Request) -> str:
    """Who acknowledged, for the timeline: the key's prefix or the member's email."""
    principal = principal_of(request)
    if principal.key_id is not None:
        prefix = ApiKey.objects.filter(pk=principal.key_id).values_list("prefix", flat=True)
        return f"API key {prefix.first() or principal.key_id}"
    # A session's principal has its user (without one, nobody matches: "user None").
    email = (User.objects.filter(pk=principal.user_id).values_list("email", flat=True).first()
             if principal.user_id is not None else None)
    return email or f"user {principal.user_id}"


class IncidentList(generics.ListAPIView):
    serializer_class = s.IncidentSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[Incident]:
        params, errors = self.request.query_params, {}
        state, rule_id = params.get("state"), None
        if state is not None and state not in Incident.State.values:
            errors["state"] = f"One of: {', '.join(Incident.State.values)}."
        if (rule := params.get("rule")) is not None:
            if not rule.isdigit() or not 1 <= int(rule) <= s.MAX_ID:
                errors["rule"] = "A rule id."
            else:
                rule_id = int(rule)
        if errors:
            raise exceptions.ValidationError(errors)
        return selectors.incidents_of(principal_of(self.request).organization_id, state=state,
                                      rule_id=rule_id)

    @documented("Your organization's incidents, newest first.", EXAMPLE_INCIDENT,
                response=s.IncidentSerializer(many=True), parameters=[
                    OpenApiParameter("state", str, enum=Incident.State.values,
                                     description="Only incidents in this state"),
                    OpenApiParameter("rule", int, description="Only this rule's incidents")])
    def get(self, request: Request) -> Response:
        return super().get(request)


class IncidentDetail(APIView):
    @documented("One incident with its timeline (opened, notified, acknowledged, resolved).",
                EXAMPLE_INCIDENT_DETAIL, response=s.IncidentDetailSerializer)
    def get(self, request: Request, incident_id: int) -> Response:
        return Response(s.IncidentDetailSerializer(_incident(request, incident_id)).data)


class IncidentAcknowledge(APIView):
    @documented("Acknowledge an open incident: someone is on it (recorded on the timeline as "
                "by the key's prefix or the member's email). An incident that is not open is "
                "left as it is.",
                {**EXAMPLE_INCIDENT_DETAIL, "state": "acknowledged",
                 "acknowledged_at": "2026-11-26T18:02:00Z",
                 "events": [*EXAMPLE_INCIDENT_EVENTS,
                            {"at": "2026-11-26T18:02:00Z", "kind": "acknowledged",
                             "detail": "by API key op_live_ab12cd34"}]},
                request=None, response=s.IncidentDetailSerializer,
                errors=(401, 403, 404, 429))
    def post(self, request: Request, incident_id: int) -> Response:
        incident = _incident(request, incident_id)
        incident_services.acknowledge(incident, by=_acknowledger(request))
        return Response(s.IncidentDetailSerializer(_incident(request, incident_id)).data)
