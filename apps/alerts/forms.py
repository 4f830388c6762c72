"""The alerts pages' forms (webhook endpoints, channels, rules). They only check shapes
(lengths, known choices, a list of slugs, the fields a kind needs); the services decide what is
acceptable (apps/alerts/services: `webhooks.create_endpoint` a public URL, at least one event,
existing pairs; `channels.create_channel` the transport's config checks; `rules.create_rule`
the kind's params, an existing target, the organization's own channels;
`maintenance.set_escalation`, `mute_rule` and `create_maintenance_window` their bounds), and
the views put the services' field errors on these forms. Date-times are typed in UTC.

A channel kind's fields come from its transport's `config_fields`, a rule kind's from its
`params` (apps/alerts/transports, apps/alerts/rule_kinds): a new kind needs nothing here."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any, cast

from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from apps.accounts.models import Organization

from . import rule_kinds, selectors, transports
from .models import Channel, Event, Rule, WebhookEndpoint
from .notifications import SEVERITIES
from .rule_kinds.base import ChoicesParam, CodesParam, DecimalParam, Param, WholeParam
from .services.maintenance import MAX_ESCALATE_MINUTES
from .services.rules import MAX_SECONDS
from .services.webhooks import SUBSCRIBABLE
from .transports.base import ConfigField

MAX_PAIRS = 200
_SEPARATORS = re.compile(r"[\s,]+")


def event_choices() -> list[tuple[str, str]]:
    return [(value, f"{value} — {Event(value).label}") for value in SUBSCRIBABLE]


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(
        label="URL", max_length=500, error_messages={"required": "An endpoint needs a URL."},
        help_text="Public http(s) address; private, loopback and link-local addresses are refused.",
    )
    description = forms.CharField(max_length=200, required=False)
    # Not required here: the service says which events exist when none is chosen.
    events = forms.MultipleChoiceField(choices=event_choices, required=False,
                                       widget=forms.CheckboxSelectMultiple)
    pairs = forms.CharField(
        required=False, max_length=5000,
        help_text="Pair slugs such as ETH-USD, separated by commas or spaces. "
                  "Needed for price.updated.",
    )

    def clean_pairs(self) -> list[str]:
        slugs = [slug for slug in _SEPARATORS.split(self.cleaned_data.get("pairs") or "") if slug]
        slugs = list(dict.fromkeys(slugs))
        if len(slugs) > MAX_PAIRS:
            raise forms.ValidationError(f"At most {MAX_PAIRS} pairs.")
        return slugs


class EditWebhookEndpointForm(WebhookEndpointForm):
    enabled = forms.BooleanField(required=False, label="Enabled")

    @classmethod
    def for_endpoint(cls, endpoint: WebhookEndpoint) -> EditWebhookEndpointForm:
        return cls(initial={
            "url": endpoint.url, "description": endpoint.description,
            "events": list(endpoint.events), "pairs": ", ".join(endpoint.pairs),
            "enabled": endpoint.enabled,
        })


# --- alert channels ------------------------------------------------------------------------------

def _config_field(field: ConfigField) -> forms.CharField:
    if field.secret:  # never put back into a page, not even into a refused form
        return forms.CharField(label=field.label, required=False, max_length=field.max_length,
                               help_text=field.help_text, strip=True,
                               widget=forms.PasswordInput(attrs={"autocomplete": "off"}))
    return forms.CharField(label=field.label, required=False, max_length=field.max_length,
                           help_text=field.help_text)


def secret_field_names() -> tuple[str, ...]:
    """The form fields of every kind's secrets (dropped from a refused form's data)."""
    return tuple(field.field_name for cls in transports.transport_classes()
                 for field in cls.secret_fields())


class ChannelConfigFields(forms.Form):
    """The settings of every kind (or of `kinds`), from their transports' `config_fields`;
    only the chosen kind's are used. Which values are valid is the transport's call
    (`validate_config`, through the channels service)."""

    def __init__(self, *args: Any, kinds: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in kinds if kinds is not None else list(transports.TRANSPORTS):
            for field in self._kind_fields(kind):
                self.fields[field.field_name] = _config_field(field)

    @staticmethod
    def _kind_fields(kind: str) -> tuple[ConfigField, ...]:
        if kind not in transports.TRANSPORTS:
            return ()
        return transports.transport_class(kind).config_fields

    def config_fields(self, kind: str) -> dict[str, str]:
        """Config key → form field name, for `kind`."""
        return {f.key: f.field_name for f in self._kind_fields(kind)}

    def typed_config(self, kind: str) -> dict[str, str]:
        """What was typed for `kind`, by config key (empty fields included)."""
        return {key: self.cleaned_data.get(field) or ""
                for key, field in self.config_fields(kind).items()}

    def field_for(self, kind: str, key: str) -> str | None:
        """The form field a service error about `key` belongs on."""
        if key in self.fields:
            return key
        return self.config_fields(kind).get(key)

    def kind_fieldsets(self) -> list[tuple[str, str, list[forms.BoundField]]]:
        """(kind, label, its bound fields) for each kind, in the registry's order."""
        return [(cls.kind, cls.label, [self[f.field_name] for f in cls.config_fields
                                       if f.field_name in self.fields])
                for cls in transports.transport_classes()]


class ChannelForm(ChannelConfigFields):
    field_order = ["name", "kind"]

    name = forms.CharField(max_length=100,
                           error_messages={"required": "A channel needs a name."})
    kind = forms.ChoiceField(choices=transports.choices)

    def config(self) -> dict:
        """What was typed for the chosen kind; a generated value (the webhook's signing secret)
        left empty is left out, for the transport to generate."""
        kind = self.cleaned_data["kind"]
        generated = {f.key for f in self._kind_fields(kind) if f.generated}
        return {key: value for key, value in self.typed_config(kind).items()
                if value or key not in generated}

    def left_to_generate(self) -> list[str]:
        """The config keys the transport generated because they were left empty."""
        return [f.key for f in self._kind_fields(self.cleaned_data["kind"])
                if f.generated and not self.cleaned_data.get(f.field_name)]


class EditChannelForm(ChannelConfigFields):
    """Rename, enable or disable, and replace settings: an empty field keeps what is stored."""

    field_order = ["name", "enabled"]

    name = forms.CharField(max_length=100,
                           error_messages={"required": "A channel needs a name."})
    enabled = forms.BooleanField(required=False, label="Enabled")

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, kinds=[kind], **kwargs)
        self.kind = kind
        for name in self.config_fields(kind).values():
            self.fields[name].help_text = "Leave empty to keep the current value."

    @classmethod
    def for_channel(cls, channel: Channel) -> EditChannelForm:
        return cls(kind=channel.kind,
                   initial={"name": channel.name, "enabled": channel.enabled})

    def config(self, stored: dict) -> dict | None:
        """None when nothing new was typed (the stored config stays as it is); otherwise the
        stored config with the typed fields replaced, for the transport to validate."""
        typed = {key: value for key, value in self.typed_config(self.kind).items() if value}
        if not typed:
            return None
        return {**stored, **typed}


# --- rules ---------------------------------------------------------------------------------------

SEVERITY_CHOICES = [(s, s) for s in SEVERITIES]


def _param_field(params: list[Param]) -> forms.Field:
    """The form field of a parameter (shared by the kinds that declare one of that name)."""
    first = params[0]
    if not all(first.same_field(other) for other in params[1:]):
        raise ImproperlyConfigured(f"rule kinds declare params.{first.name} differently")
    label = first.label
    help_text = " ".join(dict.fromkeys(p.help_text for p in params if p.help_text))
    if isinstance(first, WholeParam):
        return forms.IntegerField(min_value=first.low, max_value=first.high, required=False,
                                  label=label, help_text=help_text)
    if isinstance(first, ChoicesParam):
        return forms.MultipleChoiceField(choices=[(c, c) for c in first.choices],
                                         widget=forms.CheckboxSelectMultiple, required=False,
                                         label=label, help_text=help_text)
    if isinstance(first, DecimalParam | CodesParam):
        return forms.CharField(max_length=first.max_length, required=False, label=label,
                               help_text=help_text)
    raise ImproperlyConfigured(f"params.{first.name}: no form field for {type(first).__name__}")


def param_groups() -> dict[str, list[Param]]:
    """Every kind's params by name (one form field each), in the registry's order."""
    groups: dict[str, list[Param]] = {}
    for kind in rule_kinds.rule_kinds():
        for param in kind.params:
            group = groups.setdefault(param.name, [])
            if param not in group:
                group.append(param)
    return groups


def _channel_choices(organization: Organization) -> list[tuple[int, str]]:
    return [(channel.pk, f"{channel.name} ({channel.get_kind_display()})")
            for channel in selectors.channels_of(organization.pk)]


class RuleForm(forms.Form):
    """A rule as typed. Only the chosen kind's parameters are sent to the service, which judges
    them (decimals, a target that exists, the organization's own channels)."""

    name = forms.CharField(max_length=100, error_messages={"required": "A rule needs a name."})
    kind = forms.ChoiceField(choices=rule_kinds.choices)
    scope = forms.ChoiceField(choices=Rule.Scope.choices)
    target = forms.CharField(required=False, max_length=120,
                             help_text="A feed key, pair slug (ETH-USD) or protocol slug; "
                                       "empty for scope all.")
    for_seconds = forms.IntegerField(required=False, min_value=0, max_value=MAX_SECONDS,
                                     initial=0, label="For (seconds)",
                                     help_text="The condition must hold this long first.")
    resolve_after_seconds = forms.IntegerField(
        required=False, min_value=0, max_value=MAX_SECONDS, initial=60,
        label="Resolve after (seconds)", help_text="…and be clear this long to resolve.")
    severity = forms.ChoiceField(choices=SEVERITY_CHOICES, initial="warning")
    channels = forms.TypedMultipleChoiceField(coerce=int, required=False,
                                              widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params_by_name = param_groups()
        for name, params in self.params_by_name.items():
            self.fields[name] = _param_field(params)
        self.order_fields(["name", "kind", "scope", "target", *self.params_by_name])
        # The `channels` declared above (self.fields holds copies of the declared fields).
        channels = cast(forms.TypedMultipleChoiceField, self.fields["channels"])
        channels.choices = _channel_choices(organization)

    def param_fields(self) -> list[forms.BoundField]:
        """The parameters' fields (every kind's; only the chosen kind's are used)."""
        return [self[name] for name in self.params_by_name]

    def field_for(self, key: str) -> str:
        """The field a service error about `key` (`params.<name>` for a parameter) belongs
        on."""
        name = key.removeprefix("params.")
        return name if key.startswith("params.") and name in self.params_by_name else key

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data is None:  # Form.clean returns cleaned_data; None would mean "keep cleaned_data"
            data = self.cleaned_data
        kind = data.get("kind")
        if kind in rule_kinds.RULE_KINDS:
            for param in rule_kinds.rule_kind(kind).params:
                if param.required and param.from_form(data.get(param.name)) is None:
                    self.add_error(param.name, param.required)
        return data

    def params(self) -> dict:
        """The chosen kind's parameters as typed; those left empty are left out (the service
        applies their defaults)."""
        data = self.cleaned_data
        typed = {param.name: param.from_form(data.get(param.name))
                 for param in rule_kinds.rule_kind(data["kind"]).params}
        return {name: value for name, value in typed.items() if value is not None}

    def rule_fields(self) -> dict:
        """The keyword arguments of `services.rules.create_rule` / `update_rule`."""
        data = self.cleaned_data
        return {
            "name": data["name"], "kind": data["kind"], "scope": data["scope"],
            "target": data.get("target") or "", "params": self.params(),
            "for_seconds": 0 if data.get("for_seconds") is None else data["for_seconds"],
            "resolve_after_seconds": 60 if data.get("resolve_after_seconds") is None
            else data["resolve_after_seconds"],
            "severity": data["severity"], "channels": data.get("channels") or [],
        }


class EditRuleForm(RuleForm):
    enabled = forms.BooleanField(required=False, label="Enabled")

    @classmethod
    def for_rule(cls, rule: Rule) -> EditRuleForm:
        params = rule.params or {}
        return cls(organization=rule.organization, initial={
            "name": rule.name, "kind": rule.kind, "scope": rule.scope, "target": rule.target,
            **{name: group[0].to_form(params.get(name))
               for name, group in param_groups().items()},
            "for_seconds": rule.for_seconds, "resolve_after_seconds": rule.resolve_after_seconds,
            "severity": rule.severity, "channels": [c.pk for c in rule.channels.all()],
            "enabled": rule.enabled,
        })


class IncidentFilterForm(forms.Form):
    state = forms.ChoiceField(choices=[("open", "Open"), ("all", "All")], required=False)


# --- escalation, mutes, maintenance windows --------------------------------------------------

_UTC_INPUT = "%Y-%m-%dT%H:%M"


class UTCDateTimeField(forms.DateTimeField):
    """A date-time typed in UTC (`2026-11-26T18:00`, a datetime-local input), whatever the
    site's time zone; a value with an explicit offset keeps it."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=_UTC_INPUT)

    def to_python(self, value: str | datetime | date | None) -> datetime | None:
        with timezone.override(UTC):
            return super().to_python(value)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, datetime) and timezone.is_aware(value):
            return value.astimezone(UTC).strftime(_UTC_INPUT)
        return value


class EscalationForm(forms.Form):
    """Arguments of `services.maintenance.set_escalation`, which judges them (channels of the
    rule's own organization, at least one when escalating)."""

    after_minutes = forms.IntegerField(
        min_value=0, max_value=MAX_ESCALATE_MINUTES, required=False, initial=0,
        label="After (minutes)",
        help_text="Tell the escalation channels once an incident is still unacknowledged this "
                  "long; 0: never.")
    channels = forms.TypedMultipleChoiceField(coerce=int, required=False,
                                              label="Escalation channels",
                                              widget=forms.SelectMultiple)

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The `channels` declared above (self.fields holds copies of the declared fields).
        channels = cast(forms.TypedMultipleChoiceField, self.fields["channels"])
        channels.choices = _channel_choices(organization)

    @classmethod
    def for_rule(cls, rule: Rule) -> EscalationForm:
        return cls(organization=rule.organization, initial={
            "after_minutes": rule.escalate_after_minutes,
            "channels": [c.pk for c in rule.escalation_channels.all()]})

    def escalation(self) -> dict:
        """The keyword arguments of `services.maintenance.set_escalation`."""
        data = self.cleaned_data
        return {"after_minutes": data.get("after_minutes") or 0,
                "channels": data.get("channels") or []}


class MuteForm(forms.Form):
    until = UTCDateTimeField(label="Muted until (UTC)",
                             error_messages={"required": "When the mute ends, in UTC."},
                             help_text="At most 90 days ahead. Incidents still open and "
                                       "resolve; nobody is notified.")


class MaintenanceWindowForm(forms.Form):
    starts_at = UTCDateTimeField(label="Starts (UTC)",
                                 error_messages={"required": "When the window starts, in UTC."})
    ends_at = UTCDateTimeField(label="Ends (UTC)",
                               error_messages={"required": "When the window ends, in UTC."},
                               help_text="In the future; a window lasts at most 30 days.")
    reason = forms.CharField(max_length=200, required=False)
