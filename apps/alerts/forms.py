"""The alerts pages' forms (webhook endpoints, channels, rules). They only check shapes
(lengths, known choices, a list of slugs, the fields a kind needs); the services decide what is
acceptable (`create_endpoint` a public URL, at least one event, existing pairs; `create_channel`
the transport's config checks; `create_rule` decimals, an existing target, the organization's
own channels; `set_escalation`, `mute_rule` and `create_maintenance_window` their bounds), and
the views put the services' field errors on these forms. Date-times are typed in UTC."""
from __future__ import annotations

import re
from datetime import UTC, datetime

from django import forms
from django.utils import timezone

from .models import Channel, Event, Rule
from .services import MAX_SECONDS, STATUSES, SUBSCRIBABLE

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
    def for_endpoint(cls, endpoint) -> EditWebhookEndpointForm:
        return cls(initial={
            "url": endpoint.url, "description": endpoint.description,
            "events": list(endpoint.events), "pairs": ", ".join(endpoint.pairs),
            "enabled": endpoint.enabled,
        })


# --- alert channels ------------------------------------------------------------------------------

# Each channel kind's config keys, and the form field each is typed into (the generic webhook's
# `url` and `secret` are named apart from Slack's `url`, since one create form has them all).
CHANNEL_FIELDS: dict[str, dict[str, str]] = {
    "email": {"to": "to"},
    "telegram": {"bot_token": "bot_token", "chat_id": "chat_id"},
    "slack": {"url": "slack_url"},
    "pagerduty": {"routing_key": "routing_key"},
    "webhook": {"url": "webhook_url", "secret": "webhook_secret"},
}
# Never put back into a page, not even the value just typed into a refused form.
SECRET_FIELDS = ("bot_token", "slack_url", "routing_key", "webhook_secret")


def _secret(label: str, help_text: str = "", max_length: int = 500) -> forms.CharField:
    return forms.CharField(label=label, required=False, max_length=max_length,
                           help_text=help_text, strip=True,
                           widget=forms.PasswordInput(attrs={"autocomplete": "off"}))


class ChannelConfigFields(forms.Form):
    """The settings of every kind; only the chosen kind's are used. Which values are valid is
    the transport's call (`TRANSPORTS[kind].validate_config`, through the services)."""

    to = forms.CharField(label="Email recipients", required=False, max_length=2000,
                         help_text="Up to 10 addresses, separated by commas or spaces.")
    bot_token = _secret("Telegram bot token", "The token @BotFather gave you (123456:AAE…).")
    chat_id = forms.CharField(label="Telegram chat id", required=False, max_length=40,
                              help_text="A number such as -1001234567890, or @channelname.")
    slack_url = _secret("Slack webhook URL", "https://hooks.slack.com/services/…")
    routing_key = _secret("PagerDuty routing key",
                          "The 32-character integration key of an Events API v2 integration.",
                          max_length=100)
    webhook_url = forms.CharField(label="Webhook URL", required=False, max_length=500,
                                  help_text="Public http(s) address; signed per Standard "
                                            "Webhooks.")
    webhook_secret = _secret("Webhook signing secret",
                             "Optional whsec_… secret; one is generated when left empty.")

    def config_fields(self, kind: str) -> dict[str, str]:
        """Config key → form field name, for `kind`."""
        return CHANNEL_FIELDS.get(kind, {})

    def typed_config(self, kind: str) -> dict[str, str]:
        """What was typed for `kind`, by config key (empty fields included)."""
        return {key: self.cleaned_data.get(field) or ""
                for key, field in self.config_fields(kind).items()}

    def field_for(self, kind: str, key: str) -> str | None:
        """The form field a service error about `key` belongs on."""
        if key in self.fields:
            return key
        return self.config_fields(kind).get(key)


class ChannelForm(ChannelConfigFields):
    field_order = ["name", "kind"]

    name = forms.CharField(max_length=100,
                           error_messages={"required": "A channel needs a name."})
    kind = forms.ChoiceField(choices=Channel.Kind.choices)

    def config(self) -> dict:
        kind = self.cleaned_data["kind"]
        return {key: value for key, value in self.typed_config(kind).items()
                if value or key != "secret"}  # an empty webhook secret: generate one


class EditChannelForm(ChannelConfigFields):
    """Rename, enable or disable, and replace settings: an empty field keeps what is stored."""

    field_order = ["name", "enabled"]

    name = forms.CharField(max_length=100,
                           error_messages={"required": "A channel needs a name."})
    enabled = forms.BooleanField(required=False, label="Enabled")

    def __init__(self, *args, kind: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        keep = set(self.config_fields(kind).values())
        for name in list(self.fields):
            if name not in ("name", "enabled") and name not in keep:
                del self.fields[name]
            elif name in keep:
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

PRICE_KINDS = (Rule.Kind.PRICE_ABOVE, Rule.Kind.PRICE_BELOW)  # those with a price threshold
STATUS_CHOICES = [(s, s) for s in STATUSES]
SEVERITY_CHOICES = [(s, s) for s in ("critical", "warning", "info")]
# The services' field keys → this form's fields.
RULE_ERROR_FIELDS = {"params.price": "price", "params.hysteresis_bps": "hysteresis_bps",
                     "params.bps": "bps", "params.statuses": "statuses",
                     "params.dynamic_k": "dynamic_k", "params.percent": "percent",
                     "params.window_seconds": "window_seconds", "params.count": "count",
                     "params.reasons": "reasons", "params.score": "score"}


class RuleForm(forms.Form):
    """A rule as typed. Only the chosen kind's parameters are sent to the service, which judges
    them (decimals, a target that exists, the organization's own channels)."""

    name = forms.CharField(max_length=100, error_messages={"required": "A rule needs a name."})
    kind = forms.ChoiceField(choices=Rule.Kind.choices)
    scope = forms.ChoiceField(choices=Rule.Scope.choices)
    target = forms.CharField(required=False, max_length=120,
                             help_text="A feed key, pair slug (ETH-USD) or protocol slug; "
                                       "empty for scope all.")
    price = forms.CharField(required=False, max_length=40, label="Price",
                            help_text="Price rules: the threshold, e.g. 3000.5.")
    hysteresis_bps = forms.CharField(required=False, max_length=20, label="Hysteresis (bps)",
                                     help_text="Price rules: clears this far back past the "
                                               "threshold (default 10).")
    bps = forms.CharField(required=False, max_length=20, label="Deviation (bps)",
                          help_text="Deviation rules: |deviation from consensus| above this "
                                    "(empty: twice each feed's own deviation band).")
    dynamic_k = forms.CharField(required=False, max_length=10, label="Dynamic k",
                                help_text="Deviation rules, optional: raise the limit to k × "
                                          "the feed's last-hour spread.")
    percent = forms.CharField(required=False, max_length=20, label="Move (%)",
                              help_text="Move rules: a change of at least this percentage…")
    window_seconds = forms.IntegerField(required=False, min_value=60, max_value=86400,
                                        label="Window (seconds)",
                                        help_text="…within this window (move: 3600, "
                                                  "quarantine: 300 by default).")
    count = forms.IntegerField(required=False, min_value=1, max_value=10_000,
                               label="Quarantined reads",
                               help_text="Quarantine rules: this many reads (default 1).")
    reasons = forms.CharField(required=False, max_length=200, label="Reasons",
                              help_text="Quarantine rules, optional: reason codes separated "
                                        "by spaces, e.g. bad_signature.")
    score = forms.IntegerField(required=False, min_value=1, max_value=100,
                               label="Health score below",
                               help_text="Health rules: 0–100.")
    statuses = forms.MultipleChoiceField(choices=STATUS_CHOICES, required=False,
                                         widget=forms.CheckboxSelectMultiple,
                                         help_text="Status rules (default: stale, down).")
    for_seconds = forms.IntegerField(required=False, min_value=0, max_value=MAX_SECONDS,
                                     initial=0, label="For (seconds)",
                                     help_text="The condition must hold this long first.")
    resolve_after_seconds = forms.IntegerField(
        required=False, min_value=0, max_value=MAX_SECONDS, initial=60,
        label="Resolve after (seconds)", help_text="…and be clear this long to resolve.")
    severity = forms.ChoiceField(choices=SEVERITY_CHOICES, initial="warning")
    channels = forms.TypedMultipleChoiceField(coerce=int, required=False,
                                              widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channels"].choices = [
            (channel.pk, f"{channel.name} ({channel.get_kind_display()})")
            for channel in Channel.objects.filter(organization=organization)]

    def clean(self) -> dict:
        data = super().clean()
        kind = data.get("kind")
        if kind in PRICE_KINDS and not data.get("price"):
            self.add_error("price", "A price rule needs a price.")
        if kind == Rule.Kind.PRICE_MOVE and not data.get("percent"):
            self.add_error("percent", "A move rule needs a percentage.")
        if kind == Rule.Kind.HEALTH_BELOW and data.get("score") is None:
            self.add_error("score", "A health rule needs a score.")
        return data

    def params(self) -> dict:
        data, kind = self.cleaned_data, self.cleaned_data["kind"]
        if kind in PRICE_KINDS:
            params = {"price": data["price"]}
            if data.get("hysteresis_bps"):
                params["hysteresis_bps"] = data["hysteresis_bps"]
            return params
        if kind == Rule.Kind.DEVIATION:
            return {name: data[name] for name in ("bps", "dynamic_k") if data.get(name)}
        if kind == Rule.Kind.STATUS and data.get("statuses"):
            return {"statuses": data["statuses"]}
        if kind == Rule.Kind.PRICE_MOVE:
            return {"percent": data["percent"], "window_seconds": data.get("window_seconds")
                    or 3600}
        if kind == Rule.Kind.QUARANTINE:
            params = {"count": data.get("count") or 1,
                      "window_seconds": data.get("window_seconds") or 300}
            if data.get("reasons"):
                params["reasons"] = data["reasons"].split()
            return params
        if kind == Rule.Kind.HEALTH_BELOW:
            return {"score": data["score"]}
        return {}

    def rule_fields(self) -> dict:
        """The keyword arguments of `services.create_rule` / `update_rule`."""
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
            "price": params.get("price", ""), "hysteresis_bps": params.get("hysteresis_bps", ""),
            "bps": params.get("bps", ""), "statuses": params.get("statuses", []),
            "dynamic_k": params.get("dynamic_k", ""), "percent": params.get("percent", ""),
            "window_seconds": params.get("window_seconds"), "count": params.get("count"),
            "reasons": " ".join(params.get("reasons", [])), "score": params.get("score"),
            "for_seconds": rule.for_seconds, "resolve_after_seconds": rule.resolve_after_seconds,
            "severity": rule.severity, "channels": [c.pk for c in rule.channels.all()],
            "enabled": rule.enabled,
        })


class IncidentFilterForm(forms.Form):
    state = forms.ChoiceField(choices=[("open", "Open"), ("all", "All")], required=False)


# --- escalation, mutes, maintenance windows --------------------------------------------------

MAX_ESCALATE_MINUTES = 7 * 24 * 60  # services.set_escalation's bound
_UTC_INPUT = "%Y-%m-%dT%H:%M"


class UTCDateTimeField(forms.DateTimeField):
    """A date-time typed in UTC (`2026-11-26T18:00`, a datetime-local input), whatever the
    site's time zone; a value with an explicit offset keeps it."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=_UTC_INPUT)

    def to_python(self, value):
        with timezone.override(UTC):
            return super().to_python(value)

    def prepare_value(self, value):
        if isinstance(value, datetime) and timezone.is_aware(value):
            return value.astimezone(UTC).strftime(_UTC_INPUT)
        return value


class EscalationForm(forms.Form):
    """Arguments of `services.set_escalation`, which judges them (channels of the rule's own
    organization, at least one when escalating)."""

    after_minutes = forms.IntegerField(
        min_value=0, max_value=MAX_ESCALATE_MINUTES, required=False, initial=0,
        label="After (minutes)",
        help_text="Tell the escalation channels once an incident is still unacknowledged this "
                  "long; 0: never.")
    channels = forms.TypedMultipleChoiceField(coerce=int, required=False,
                                              label="Escalation channels",
                                              widget=forms.SelectMultiple)

    def __init__(self, *args, organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channels"].choices = [
            (channel.pk, f"{channel.name} ({channel.get_kind_display()})")
            for channel in Channel.objects.filter(organization=organization)]

    @classmethod
    def for_rule(cls, rule: Rule) -> EscalationForm:
        return cls(organization=rule.organization, initial={
            "after_minutes": rule.escalate_after_minutes,
            "channels": [c.pk for c in rule.escalation_channels.all()]})

    def escalation(self) -> dict:
        """The keyword arguments of `services.set_escalation`."""
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
