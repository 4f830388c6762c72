"""The two registries — channel kinds (apps/alerts/transports) and rule kinds
(apps/alerts/rule_kinds) — and what every kind in them declares: a channel kind its transport
class with its config fields, secrets and summaries; a rule kind its params (which the form
shows and the service checks), its readings and its summary. Adding a kind is one module: these
tests hold it to the contract without naming it."""
import json

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.alerts import rule_kinds, serializers, transports
from apps.alerts.forms import ChannelForm, EditChannelForm, EditRuleForm, RuleForm, param_groups
from apps.alerts.models import Channel, Rule
from apps.alerts.rule_kinds.base import (
    ChoicesParam,
    CodesParam,
    Context,
    DecimalParam,
    Param,
    Reading,
    RuleKind,
    WholeParam,
)
from apps.alerts.services.rules import create_rule
from apps.alerts.transports.base import ConfigField, Transport
from tests.factories import AssetFactory, FeedFactory, PairFactory

CHANNEL_KINDS = list(transports.TRANSPORTS)
RULE_KINDS = list(rule_kinds.RULE_KINDS)


# --- channel kinds ------------------------------------------------------------------------------

def test_the_channel_model_choices_are_the_registry_s_kinds_and_labels():
    assert Channel.Kind.choices == transports.choices()
    assert transports.choices() == serializers.CHANNEL_KINDS


@pytest.mark.parametrize("kind", CHANNEL_KINDS)
def test_every_channel_kind_has_a_transport_declaring_its_config_secrets_and_summary(kind):
    cls = transports.transport_class(kind)
    assert issubclass(cls, Transport) and cls.kind == kind and cls.label
    assert cls.config_fields and all(isinstance(f, ConfigField) for f in cls.config_fields)
    assert all(f.label and f.help_text for f in cls.config_fields)
    assert set(cls.secret_fields()) <= set(cls.config_fields)
    assert cls.config_summary_fields and isinstance(cls.per_incident, bool)
    for name, (shape, help_text) in cls.config_summary_fields.items():
        assert shape in (str, list) and help_text, name
    for method in ("notify", "validate_config", "summary", "config_summary"):
        assert any(method in vars(c) for c in cls.__mro__[:cls.__mro__.index(Transport)]), \
            f"{kind} does not implement {method}"


@pytest.mark.parametrize("kind", CHANNEL_KINDS)
def test_no_channel_summary_shows_a_secret(kind, tenants):
    cls = transports.transport_class(kind)
    secret = "https://h.example/Sup3rS3cretPathAndToken0123456789"
    config = {f.key: secret if f.secret else f"visible-{f.key}" for f in cls.config_fields}
    channel = Channel.objects.create(organization=tenants["org"], kind=kind, name="c",
                                     config=json.dumps(config))
    rows = transports.channel_summary(channel)
    api = transports.channel_config_summary(channel)
    assert rows and all(isinstance(label, str) and isinstance(value, str)
                        for label, value in rows)
    assert set(api) <= set(cls.config_summary_fields)
    shown = json.dumps([rows, api])
    if cls.secret_fields():
        assert secret not in shown and "Sup3rS3cret" not in shown


@pytest.mark.parametrize("kind", CHANNEL_KINDS)
def test_an_unreadable_config_summarises_without_failing(kind, tenants):
    channel = Channel(organization=tenants["org"], kind=kind, name="c", config="not json")
    assert isinstance(transports.channel_summary(channel), list)
    assert isinstance(transports.channel_config_summary(channel), dict)


def test_the_channel_forms_have_every_kind_s_fields_and_hide_its_secrets():
    form = ChannelForm()
    assert [kind for kind, _, _ in form.kind_fieldsets()] == CHANNEL_KINDS
    for cls in transports.transport_classes():
        for field in cls.config_fields:
            widget = form.fields[field.field_name].widget
            assert (widget.input_type == "password") is field.secret, field.field_name
        edit = EditChannelForm(kind=cls.kind)
        assert set(edit.fields) == {"name", "enabled"} | {
            f.field_name for f in cls.config_fields}


def test_the_api_documents_every_kind_s_summary_and_config():
    documented = serializers.ChannelConfigSummarySerializer().fields
    for cls in transports.transport_classes():
        assert set(cls.config_summary_fields) <= set(documented)
        assert cls.kind in serializers.CONFIG_HELP


# --- rule kinds ---------------------------------------------------------------------------------

def valid_value(param: Param) -> object:
    """A value each param type accepts, chosen from its declaration alone."""
    if isinstance(param, DecimalParam):
        return param.high or "3000"
    if isinstance(param, WholeParam):
        return param.low
    if isinstance(param, ChoicesParam):
        return [param.choices[-1]]
    if isinstance(param, CodesParam):
        return [param.example or "code"]
    raise AssertionError(f"no valid value for {type(param).__name__}")


def valid_params(kind: RuleKind) -> dict:
    return {param.name: valid_value(param) for param in kind.params}


@pytest.fixture
def eth(db):
    return PairFactory(base=AssetFactory(symbol="ETH"))


def test_the_rule_model_choices_are_the_registry_s_kinds_and_labels():
    assert Rule.Kind.choices == rule_kinds.choices()
    assert rule_kinds.choices() == serializers.RULE_KINDS


@pytest.mark.parametrize("name", RULE_KINDS)
def test_every_rule_kind_declares_its_params_scopes_and_summary(name):
    kind = rule_kinds.rule_kind(name)
    assert isinstance(kind, RuleKind) and kind.kind == name and kind.label
    assert set(kind.scopes) <= set(Rule.Scope.values)
    assert kind.scope_error or set(kind.scopes) == set(Rule.Scope.values)
    for param in kind.params:
        assert isinstance(param, Param) and param.label and param.help_text, param.name
    assert len({p.name for p in kind.params}) == len(kind.params)
    assert isinstance(kind.summary(Rule(kind=name, params=valid_params(kind))), str)


@pytest.mark.parametrize("name", RULE_KINDS)
def test_every_rule_kind_validates_its_params(name):
    kind = rule_kinds.rule_kind(name)
    errors: dict[str, str] = {}
    cleaned = kind.clean_params(valid_params(kind), errors)
    assert errors == {} and set(cleaned) <= {p.name for p in kind.params}
    errors = {}
    kind.clean_params({p.name: {"not": "valid"} for p in kind.params}, errors)
    assert set(errors) == {p.key for p in kind.params}
    errors = {}
    kind.clean_params({}, errors)  # what is left out: a default, or refused when required
    assert set(errors) == {p.key for p in kind.params if p.required}


@pytest.mark.parametrize("name", RULE_KINDS)
def test_every_rule_kind_reads_its_subjects(name, eth):
    feed = FeedFactory(pair=eth)
    kind = rule_kinds.rule_kind(name)
    scope = Rule.Scope.PAIR if Rule.Scope.PAIR in kind.scopes else kind.scopes[0]
    rule = Rule(kind=name, scope=scope, target="ETH-USD",
                params=kind.clean_params(valid_params(kind), {}))
    now = timezone.now()
    row = {"feed": feed.pk, "key": feed.key, "protocol": feed.protocol.slug, "status": "down",
           "reason": "", "price": "3400", "converted_from": None, "deviation_bps": "80.00"}
    state = {"pair": "ETH-USD", "consensus": None, "reason": "no fresh votes", "votes": 0,
             "computed_at": now.isoformat(), "feeds": [row]}
    found = kind.readings(rule, [state], Context(now))
    assert all(isinstance(r, Reading) for r in found)
    elsewhere = {**state, "pair": "BTC-USD"}
    assert kind.readings(rule, [elsewhere], Context(now)) == []  # not in the rule's scope


@pytest.mark.parametrize("name", RULE_KINDS)
def test_the_rule_form_round_trips_every_kind_s_params_through_the_service(name, tenants, eth):
    kind = rule_kinds.rule_kind(name)
    scope = Rule.Scope.PAIR if Rule.Scope.PAIR in kind.scopes else kind.scopes[0]
    rule = create_rule(tenants["org"], name="r", kind=name, scope=scope, target="ETH-USD",
                       params=valid_params(kind))
    shown = EditRuleForm.for_rule(rule)
    data = {key: value for key, value in shown.initial.items()
            if value not in (None, "", []) and key != "channels"}
    posted = RuleForm(data, organization=tenants["org"])
    assert posted.is_valid(), posted.errors
    assert create_rule(tenants["org"], **posted.rule_fields()).params == rule.params


def test_a_param_shared_by_kinds_is_one_form_field_with_one_type_and_bounds(tenants):
    form = RuleForm(organization=tenants["org"])
    for name, params in param_groups().items():
        assert all(params[0].same_field(p) for p in params), name
        assert name in form.fields and form.field_for(f"params.{name}") == name
    assert form.field_for("params.nope") == "params.nope" and form.field_for("target") == "target"


def test_a_required_param_left_empty_is_named_on_the_form(tenants):
    for kind in rule_kinds.rule_kinds():
        data = {"name": "r", "kind": kind.kind, "scope": "pair", "target": "ETH-USD",
                "severity": "warning"}
        form = RuleForm(data, organization=tenants["org"])
        assert not form.is_valid() if any(p.required for p in kind.params) else form.is_valid()
        for param in kind.params:
            if param.required:
                assert param.required in form.errors[param.name]


def test_an_unknown_kind_is_refused_by_the_service(tenants, eth):
    with pytest.raises(ValidationError) as error:
        create_rule(tenants["org"], name="r", kind="sunspots", scope="all")
    assert ", ".join(RULE_KINDS) in error.value.message_dict["kind"][0]
