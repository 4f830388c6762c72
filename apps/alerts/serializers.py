"""The alerts API's serializers. A channel kind's config and summary, and a rule kind's params,
are documented from the transports' and the rule kinds' own declarations."""
from collections.abc import Callable
from typing import TypeVar, cast

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.api_keys.serializers import TextField, paused_reason_field
from apps.common.api import ZonedDateTimeField

from . import rule_kinds, transports
from .models import (
    Channel,
    DeliveryAttempt,
    Incident,
    IncidentEvent,
    MaintenanceWindow,
    Rule,
    WebhookEndpoint,
    WebhookMessage,
)
from .notifications import SEVERITIES
from .services.maintenance import MAX_ESCALATE_MINUTES
from .services.rules import MAX_SECONDS as MAX_RULE_SECONDS
from .services.webhooks import SUBSCRIBABLE


class WebhookEndpointSerializer(serializers.ModelSerializer):
    paused_reason = paused_reason_field("no new messages; those queued wait")

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "events", "pairs", "enabled", "disabled_reason",
                  "paused_reason", "failing_since", "created_at"]


class NewWebhookEndpointSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="whsec_…: verify signatures with it. Shown on "
                                             "creation and rotation only")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookEndpointInputSerializer(serializers.Serializer):
    url = TextField(max_length=500)
    description = TextField(max_length=200, required=False, default="", allow_blank=True)
    events = serializers.ListField(child=serializers.ChoiceField(choices=SUBSCRIBABLE),
                                   allow_empty=False, max_length=len(SUBSCRIBABLE))
    pairs = serializers.ListField(child=TextField(max_length=41), required=False, default=list,
                                  max_length=200)
    enabled = serializers.BooleanField(required=False, default=True)


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["started_at", "status_code", "latency_ms", "response_snippet", "error"]


class WebhookMessageSerializer(serializers.ModelSerializer):
    attempts_made = serializers.IntegerField(source="attempts")
    recent_attempts = serializers.SerializerMethodField()

    class Meta:
        model = WebhookMessage
        fields = ["msg_id", "event_type", "body", "status", "created_at", "attempts_made",
                  "next_attempt_at", "delivered_at", "recent_attempts"]

    def get_recent_attempts(self, message: WebhookMessage) -> list[dict]:
        # many=True: DRF's Serializer.__new__ returns a ListSerializer of them.
        attempts = cast(serializers.ListSerializer, DeliveryAttemptSerializer(
            list(message.delivery_attempts.all())[:5], many=True))
        return attempts.data


# --- alert channels, rules and incidents ------------------------------------------------------

_FieldClass = TypeVar("_FieldClass", bound=type[serializers.ChoiceField])


def _enum_component(component: str, choices: list[tuple[str, str]]
                    ) -> Callable[[_FieldClass], _FieldClass]:
    """Documents a ChoiceField as an enum component of its own: names such as `kind` and
    `scope` already stand for other choice sets in the schema (Asset.kind, ApiKey.scope), and
    drf-spectacular would warn about the collision."""
    schema = {"type": "string", "enum": [value for value, _ in choices]}
    return extend_schema_field(schema, component_name=component)


def _named_enum(component: str, choices: list[tuple[str, str]]) -> type[serializers.ChoiceField]:
    """A ChoiceField class documented as the enum component `component`."""
    field = type(f"{component}Field", (serializers.ChoiceField,), {"__module__": __name__})
    return _enum_component(component, choices)(field)


CHANNEL_KINDS = transports.choices()
RULE_KINDS = rule_kinds.choices()
ChannelKindField = _named_enum("ChannelKind", CHANNEL_KINDS)
RuleKindField = _named_enum("RuleKind", RULE_KINDS)
RuleScopeField = _named_enum("RuleScope", Rule.Scope.choices)
SeverityField = _named_enum("Severity", [(s, s) for s in SEVERITIES])
IncidentStateField = _named_enum("IncidentState", Incident.State.choices)
MAX_ID = 2**31 - 1


class WholeNumberField(serializers.IntegerField):
    """A JSON integer, not a string or a float that could be turned into one."""

    def to_internal_value(self, data: object) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false, not "yes", 1 or "on"."""

    def to_internal_value(self, data: object) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


def _config_summary_fields() -> dict[str, serializers.Field]:
    """The union of the kinds' `config_summary_fields`, each saying which kinds have it."""
    kinds: dict[str, list[str]] = {}
    declared: dict[str, tuple[type, str]] = {}
    for cls in transports.transport_classes():
        for name, declaration in cls.config_summary_fields.items():
            kinds.setdefault(name, []).append(cls.kind)
            declared.setdefault(name, declaration)
    fields: dict[str, serializers.Field] = {}
    for name, (shape, help_text) in declared.items():
        described = f"{', '.join(kinds[name])}: {help_text}"
        fields[name] = (serializers.ListField(child=serializers.CharField(), required=False,
                                              help_text=described) if shape is list
                        else serializers.CharField(required=False, help_text=described))
    return fields


ChannelConfigSummarySerializer = type(
    "ChannelConfigSummarySerializer", (serializers.Serializer,),
    {"__module__": __name__, **_config_summary_fields(),
     "__doc__": "What the channel's config may show: never a token, a key, a secret or a "
                "secret URL."})


def _by_kind(names: dict[str, list[str]]) -> str:
    return "; ".join(f"{kind} {{{', '.join(keys)}}}" for kind, keys in names.items())


CONFIG_HELP = _by_kind({cls.kind: [f'"{f.key}"' + (" (optional)" if f.generated else "")
                                   for f in cls.config_fields]
                        for cls in transports.transport_classes()})
PARAMS_HELP = _by_kind({kind.kind: [f'"{p.name}"' for p in kind.params]
                        for kind in rule_kinds.rule_kinds()})


class ChannelSerializer(serializers.ModelSerializer):
    kind = ChannelKindField(choices=CHANNEL_KINDS)
    config_summary = serializers.SerializerMethodField()
    paused_reason = paused_reason_field("its kind is not in the plan: no notices")

    class Meta:
        model = Channel
        fields = ["id", "kind", "name", "enabled", "disabled_reason", "paused_reason",
                  "config_summary", "created_at"]

    @extend_schema_field(ChannelConfigSummarySerializer)
    def get_config_summary(self, channel: Channel) -> dict:
        return transports.channel_config_summary(channel)


class ChannelInputSerializer(serializers.Serializer):
    kind = ChannelKindField(choices=CHANNEL_KINDS)
    name = TextField(max_length=100)
    config = serializers.DictField(help_text=CONFIG_HELP)


class ChannelUpdateSerializer(serializers.Serializer):
    name = TextField(max_length=100)
    enabled = StrictBooleanField(required=False, default=True)
    config = serializers.DictField(required=False, allow_null=True, help_text=(
        "A new config for the channel's kind; left out or null keeps the stored one"))


class DeliverySerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    permanent = serializers.BooleanField(help_text="Retrying cannot help (the channel is "
                                                   "disabled)")
    retry_after = serializers.FloatField(allow_null=True,
                                         help_text="Seconds the far end asked us to wait")
    detail = serializers.CharField(allow_blank=True)


class RuleSerializer(serializers.ModelSerializer):
    kind = RuleKindField(choices=RULE_KINDS)
    scope = RuleScopeField(choices=Rule.Scope.choices)
    severity = SeverityField(choices=[(s, s) for s in SEVERITIES])
    params = serializers.DictField()
    channels: serializers.PrimaryKeyRelatedField[Channel] = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True)
    escalation_channels: serializers.PrimaryKeyRelatedField[Channel] = (
        serializers.PrimaryKeyRelatedField(
            many=True, read_only=True, help_text="Told once when an incident is still "
                                                 "unacknowledged after escalate_after_minutes"))
    escalate_after_minutes = serializers.IntegerField(read_only=True, help_text="0: never")
    muted_until = serializers.DateTimeField(
        read_only=True, allow_null=True,
        help_text="Until then incidents still open and resolve but nobody is notified")
    paused_reason = paused_reason_field("not evaluated: its open incidents were closed")

    class Meta:
        model = Rule
        fields = ["id", "name", "kind", "scope", "target", "params", "for_seconds",
                  "resolve_after_seconds", "severity", "channels", "escalation_channels",
                  "escalate_after_minutes", "muted_until", "enabled", "paused_reason",
                  "created_at"]


class RuleInputSerializer(serializers.Serializer):
    name = TextField(max_length=100)
    kind = RuleKindField(choices=RULE_KINDS)
    scope = RuleScopeField(choices=Rule.Scope.choices)
    target = TextField(max_length=120, required=False, default="", allow_blank=True,
                       help_text="Feed key, pair slug or protocol slug; empty for scope all")
    params = serializers.DictField(required=False, default=dict,
                                   help_text=f"By kind (docs/alerts.md): {PARAMS_HELP}")
    for_seconds = WholeNumberField(min_value=0, max_value=MAX_RULE_SECONDS, required=False,
                                   default=0)
    resolve_after_seconds = WholeNumberField(min_value=0, max_value=MAX_RULE_SECONDS,
                                             required=False, default=60)
    severity = SeverityField(choices=[(s, s) for s in SEVERITIES], required=False,
                             default="warning")
    channels = serializers.ListField(child=WholeNumberField(min_value=1, max_value=MAX_ID),
                                     required=False, default=list, max_length=50)
    enabled = StrictBooleanField(required=False, default=True)



class EscalationInputSerializer(serializers.Serializer):
    channels = serializers.ListField(
        child=WholeNumberField(min_value=1, max_value=MAX_ID), max_length=50,
        help_text="Ids of your channels to tell; at least one when after_minutes is not 0")
    after_minutes = WholeNumberField(min_value=0, max_value=MAX_ESCALATE_MINUTES,
                                     help_text="Minutes unacknowledged before escalating; "
                                               "0: never")


class MuteInputSerializer(serializers.Serializer):
    until = ZonedDateTimeField(allow_null=True, help_text=(
        "Mute until then (with a zone, within the next 90 days); null unmutes"))


WINDOW_STATES = [(state, state) for state in ("current", "upcoming", "past")]


@_enum_component("MaintenanceWindowState", WINDOW_STATES)
class WindowStateField(serializers.ChoiceField):
    """Whether the window is on now, still to come or over."""

    def to_representation(self, value: object) -> str:
        window = cast(MaintenanceWindow, value)  # source="*": DRF hands it the window itself
        now = timezone.now()
        if window.ends_at <= now:
            return "past"
        return "current" if window.starts_at <= now else "upcoming"


class MaintenanceWindowSerializer(serializers.ModelSerializer):
    state = WindowStateField(choices=WINDOW_STATES, source="*", read_only=True)

    class Meta:
        model = MaintenanceWindow
        fields = ["id", "starts_at", "ends_at", "reason", "state"]


class MaintenanceWindowInputSerializer(serializers.Serializer):
    starts_at = ZonedDateTimeField()
    ends_at = ZonedDateTimeField(help_text="After starts_at and in the future; a window lasts "
                                           "at most 30 days")
    reason = TextField(max_length=200, required=False, default="", allow_blank=True)


class IncidentEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = IncidentEvent
        fields = ["at", "kind", "detail"]


class IncidentSerializer(serializers.ModelSerializer):
    state = IncidentStateField(choices=Incident.State.choices)
    rule_name = serializers.CharField(source="rule.name")

    class Meta:
        model = Incident
        fields = ["id", "rule", "rule_name", "subject", "state", "summary", "value",
                  "opened_at", "acknowledged_at", "resolved_at"]


class IncidentDetailSerializer(IncidentSerializer):
    events = IncidentEventSerializer(many=True, read_only=True,
                                     help_text="The timeline, oldest first")

    class Meta(IncidentSerializer.Meta):
        fields = [*IncidentSerializer.Meta.fields, "events"]
