"""Creating rules and channels: what is refused, and with which field errors."""
import json

import pytest
from django.core.exceptions import ValidationError

from apps.alerts.models import Channel, Incident, Rule
from apps.alerts.services.channels import create_channel, update_channel
from apps.alerts.services.incidents import ack_token, acknowledge, incident_for_ack_token
from apps.alerts.services.maintenance import create_maintenance_window, mute_rule, set_escalation
from apps.alerts.services.rules import create_rule, update_rule
from tests.factories import AssetFactory, FeedFactory, PairFactory


@pytest.fixture
def eth(db):
    return PairFactory(base=AssetFactory(symbol="ETH"))


def errors(call) -> set[str]:
    with pytest.raises(ValidationError) as error:
        call()
    return set(error.value.message_dict)


def test_a_valid_rule_is_stored_with_clean_params(tenants, eth):
    channel = create_channel(tenants["org"], kind="email", name="desk",
                             config={"to": ["desk@example.com"]})
    rule = create_rule(tenants["org"], name="ETH above 4k", kind="price_above",
                       scope="pair", target="ETH-USD", params={"price": "4000.50"},
                       channels=[channel.pk])
    assert rule.params == {"price": "4000.50"} and list(rule.channels.all()) == [channel]


def test_rules_refuse_what_cannot_work(tenants, eth):
    org = tenants["org"]
    assert errors(lambda: create_rule(org, name="", kind="x", scope="y")) == {"name"}
    assert errors(lambda: create_rule(org, name="a", kind="x", scope="y")) == {
        "kind", "scope"}
    assert errors(lambda: create_rule(
        org, name="a", kind="price_above", scope="all", params={"price": "1"})) == {"scope"}
    assert errors(lambda: create_rule(
        org, name="a", kind="price_below", scope="pair", target="NOPE-USD",
        params={"price": "-3"})) == {"target", "params.price"}
    assert errors(lambda: create_rule(
        org, name="a", kind="deviation", scope="feed", target="nope",
        params={"bps": "lots", "dynamic_k": "-1"})) == {"target", "params.bps",
                                                         "params.dynamic_k"}
    assert errors(lambda: create_rule(
        org, name="a", kind="price_move", scope="all", params={"window_seconds": 5})) == {
        "scope", "params.percent", "params.window_seconds"}
    assert errors(lambda: create_rule(
        org, name="a", kind="quarantine", scope="all",
        params={"count": 0, "reasons": "bad"})) == {"params.count", "params.reasons"}
    assert errors(lambda: create_rule(
        org, name="a", kind="status", scope="all", params={"statuses": ["sleepy"]},
        for_seconds=-1)) == {"params.statuses", "for_seconds"}
    assert errors(lambda: create_rule(
        org, name="a", kind="consensus_unavailable", scope="protocol",
        target="chainlink")) == {"scope", "target"}


def test_a_rule_may_not_use_another_organizations_channel(tenants, eth):
    theirs = create_channel(tenants["outsider_org"], kind="email", name="theirs",
                            config={"to": ["x@example.com"]})
    assert errors(lambda: create_rule(
        tenants["org"], name="a", kind="status", scope="all", channels=[theirs.pk])) == {
        "channels"}


def test_status_rules_default_to_stale_and_down(tenants):
    rule = create_rule(tenants["org"], name="s", kind="status", scope="all")
    assert rule.params == {"statuses": ["stale", "down"]} and rule.target == ""


def test_updating_a_rule_revalidates_it(tenants, eth):
    feed = FeedFactory(pair=eth)
    rule = create_rule(tenants["org"], name="d", kind="deviation", scope="feed",
                       target=feed.key, params={"bps": "50"})
    update_rule(rule, name="d2", kind="deviation", scope="feed", target=feed.key,
                params={"bps": "75"}, enabled=False)
    rule.refresh_from_db()
    assert (rule.name, rule.params, rule.enabled) == ("d2", {"bps": "75"}, False)
    assert errors(lambda: update_rule(rule, name="d2", kind="deviation",
                                      scope="feed", target=feed.key,
                                      params={"bps": "abc"})) == {"params.bps"}


def test_channels_validate_their_config_and_keep_it_encrypted(tenants):
    assert errors(lambda: create_channel(tenants["org"], kind="sms", name="x",
                                         config={})) == {"kind"}
    with pytest.raises(ValidationError):
        create_channel(tenants["org"], kind="telegram", name="t", config={})
    token = "123456789:AAEhBP0av28Gx0KGlYk3pBBJ1b9QDaXHzs9"
    channel = create_channel(tenants["org"], kind="telegram", name="t",
                             config={"bot_token": token, "chat_id": "-1001"})
    assert json.loads(Channel.objects.get(pk=channel.pk).config)["chat_id"] == "-1001"
    update_channel(channel, name="t2", enabled=False)  # config kept as it was
    channel.refresh_from_db()
    assert channel.name == "t2" and json.loads(channel.config)["chat_id"] == "-1001"


def test_acknowledge_links_are_signed_and_acknowledging_is_on_the_timeline(tenants):
    from django.utils import timezone

    rule = Rule.objects.create(organization=tenants["org"], name="r", kind="status",
                               scope="all")
    incident = Incident.objects.create(rule=rule, organization=tenants["org"], subject="x",
                                       summary="x is down", opened_at=timezone.now())
    token = ack_token(incident)
    assert incident_for_ack_token(token) == incident
    assert incident_for_ack_token(token[:-2] + "xx") is None
    acknowledge(incident, by="ana@example.com")
    acknowledge(incident, by="bob@example.com")  # once is enough
    assert incident.state == "acknowledged"
    assert [(e.kind, e.detail) for e in incident.events.all()] == [
        ("acknowledged", "by ana@example.com")]


def test_escalation_mutes_and_maintenance_windows_are_validated(tenants):
    from datetime import timedelta

    from django.utils import timezone

    org, now = tenants["org"], timezone.now()
    rule = create_rule(org, name="s", kind="status", scope="all")
    mine = create_channel(org, kind="email", name="boss", config={"to": ["b@x.io"]})
    theirs = create_channel(tenants["outsider_org"], kind="email", name="t",
                            config={"to": ["t@x.io"]})
    assert errors(lambda: set_escalation(rule, channels=[theirs.pk],
                                         after_minutes=15)) == {"channels"}
    assert errors(lambda: set_escalation(rule, channels=[],
                                         after_minutes=15)) == {"channels"}
    set_escalation(rule, channels=[mine.pk], after_minutes=15)
    assert list(rule.escalation_channels.all()) == [mine] and rule.escalate_after_minutes == 15
    assert errors(lambda: mute_rule(rule, until=now - timedelta(hours=1))) == {"until"}
    mute_rule(rule, until=now + timedelta(hours=2))
    mute_rule(rule, until=None)
    assert rule.muted_until is None
    assert errors(lambda: create_maintenance_window(
        org, starts_at=now, ends_at=now - timedelta(hours=1))) == {"ends_at"}
    window = create_maintenance_window(org, starts_at=now,
                                       ends_at=now + timedelta(hours=1),
                                       reason="node upgrade")
    assert window.organization == org


def test_changing_or_disabling_a_rule_closes_what_it_opened(tenants, eth):
    from django.utils import timezone

    rule = create_rule(tenants["org"], name="s", kind="status", scope="all")
    incident = Incident.objects.create(rule=rule, organization=tenants["org"], subject="cl",
                                       summary="cl is down", opened_at=timezone.now())
    update_rule(rule, name="s", kind="status", scope="all", enabled=False)
    incident.refresh_from_db()
    assert incident.state == "resolved"
    assert incident.events.get().detail == "rule disabled"
