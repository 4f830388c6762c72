"""Rules → incidents: scopes, durations, hysteresis, grouping, the outbox, the channels."""
import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.alerts.models import Channel, Incident, Notice, Rule, WebhookMessage
from apps.alerts.services.delivery import deliver_notices
from apps.alerts.services.evaluation import evaluate
from apps.alerts.services.webhooks import create_endpoint
from apps.alerts.tasks import delivery as delivery_tasks
from tests.factories import AssetFactory, PairFactory, priced

T0 = timezone.now().replace(microsecond=0)


def row(key, protocol="chainlink", price="3400", status="fresh", deviation="0.00", reason=""):
    return {"feed": 1, "key": key, "protocol": protocol, "heartbeat": 3600, "status": status,
            "reason": reason, "age": 5.0, "price": price, "source_ts": T0.isoformat(),
            "verified": None, "converted_from": None, "deviation_bps": deviation,
            "outlier": False}


def state(pair="ETH-USD", consensus="3400", feeds=(), reason=""):
    return {"pair": pair, "computed_at": T0.isoformat(), "consensus": consensus,
            "reason": reason, "votes": 2, "feeds": list(feeds)}


@pytest.fixture
def rule(tenants):
    def make(**fields):
        fields.setdefault("name", "r")
        fields.setdefault("resolve_after_seconds", 0)
        return Rule.objects.create(organization=tenants["org"], **fields)
    return make


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def test_a_stale_feed_opens_one_incident_while_it_stays_stale(rule):
    r = rule(kind="status", scope="protocol", target="chainlink")
    stale = [state(feeds=[row("cl-eth", status="stale", reason="no update for 2 h")])]
    assert len(evaluate(stale, now=at(0))["opened"]) == 1
    assert evaluate(stale, now=at(10))["opened"] == []  # still one incident
    incident = Incident.objects.get(rule=r)
    assert incident.subject == "cl-eth" and "no update for 2 h" in incident.summary
    assert [e.kind for e in incident.events.all()] == ["opened"]


def test_the_condition_must_hold_for_its_duration_before_opening(rule):
    rule(kind="deviation", scope="pair", target="ETH-USD", params={"bps": "50"},
         for_seconds=30)
    far = [state(feeds=[row("cl-eth", deviation="-80.00")])]
    assert evaluate(far, now=at(0))["opened"] == []
    assert evaluate(far, now=at(29))["opened"] == []
    assert len(evaluate(far, now=at(30))["opened"]) == 1


def test_a_blip_shorter_than_the_duration_never_opens(rule):
    rule(kind="deviation", scope="all", params={"bps": "50"}, for_seconds=30)
    evaluate([state(feeds=[row("cl-eth", deviation="80.00")])], now=at(0))
    evaluate([state(feeds=[row("cl-eth", deviation="10.00")])], now=at(20))  # back in band
    assert evaluate([state(feeds=[row("cl-eth", deviation="80.00")])],
                    now=at(40))["opened"] == []  # the clock started again at 40
    assert Incident.objects.count() == 0


def test_resolution_waits_until_clear_for_long_enough(rule):
    rule(kind="status", scope="all", resolve_after_seconds=60)
    evaluate([state(feeds=[row("cl-eth", status="down")])], now=at(0))
    fresh = [state(feeds=[row("cl-eth", status="fresh")])]
    assert evaluate(fresh, now=at(10))["resolved"] == []
    evaluate([state(feeds=[row("cl-eth", status="down")])], now=at(30))  # flaps back
    assert evaluate(fresh, now=at(80))["resolved"] == []  # clear since 80 only
    [resolved] = evaluate(fresh, now=at(140))["resolved"]
    assert resolved.state == "resolved" and resolved.resolved_at == at(140)


def test_price_thresholds_have_a_hysteresis_band(rule):
    rule(kind="price_above", scope="pair", target="ETH-USD",
         params={"price": "3500", "hysteresis_bps": "100"})  # band: 3465 .. 3500
    assert len(evaluate([state(consensus="3501")], now=at(0))["opened"]) == 1
    assert evaluate([state(consensus="3480")], now=at(5))["resolved"] == []  # in the band
    assert len(evaluate([state(consensus="3460")], now=at(10))["resolved"]) == 1
    assert evaluate([state(consensus="3480")], now=at(15))["opened"] == []  # not above


def test_scopes_pick_their_subjects(rule):
    states = [state(feeds=[row("cl-eth", status="stale"), row("py-eth", "pyth", status="stale")]),
              state("BTC-USD", feeds=[row("cl-btc", status="stale")])]
    cases = {("feed", "py-eth"): {"py-eth"}, ("pair", "BTC-USD"): {"cl-btc"},
             ("protocol", "chainlink"): {"cl-eth", "cl-btc"},
             ("all", ""): {"cl-eth", "py-eth", "cl-btc"}}
    for (scope, target), expected in cases.items():
        r = rule(kind="status", scope=scope, target=target)
        assert {i.subject for i in evaluate(states, now=at(0), rules=[r])["opened"]} == expected


def test_ingestion_delays_keep_staleness_rules_quiet(rule):
    rule(kind="status", scope="all", params={"statuses": ["late", "stale", "down"]})
    delayed = [state(feeds=[row("cl-eth", status="unknown", reason="ingestion delayed")])]
    assert evaluate(delayed, now=at(0))["opened"] == []


def test_consensus_unavailable(rule):
    rule(kind="consensus_unavailable", scope="all")
    [incident] = evaluate([state(consensus=None, reason="no fresh votes")], now=at(0))["opened"]
    assert incident.subject == "ETH-USD" and "no fresh votes" in incident.summary


def test_an_incident_writes_its_webhook_in_the_same_transaction(rule, tenants, settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    endpoint = create_endpoint(tenants["org"], url="http://127.0.0.1:9/in",
                               events=["alert.opened", "alert.resolved"])
    rule(kind="status", scope="all")
    evaluate([state(feeds=[row("cl-eth", status="down")])], now=at(0))
    evaluate([state(feeds=[row("cl-eth", status="fresh")])], now=at(5))
    bodies = [json.loads(m.body) for m in WebhookMessage.objects.filter(endpoint=endpoint)
              .order_by("created_at")]
    assert [b["type"] for b in bodies] == ["alert.opened", "alert.resolved"]
    assert bodies[0]["data"]["subject"] == "cl-eth" and bodies[1]["data"]["state"] == "resolved"


def test_many_subjects_failing_together_make_one_notification(
        rule, tenants, django_capture_on_commit_callbacks):
    channel = Channel.objects.create(organization=tenants["org"], kind="email", name="desk",
                                     config=json.dumps({"to": ["desk@example.com"]}))
    r = rule(kind="status", scope="protocol", target="chainlink", severity="critical")
    r.channels.add(channel)
    down = [state(feeds=[row(f"cl-{n}", status="down") for n in range(40)])]
    assert len(evaluate(down, now=at(0))["opened"]) == 40
    assert Notice.objects.count() == 1  # written with the incidents
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_notices() == 1
    assert len(mail.outbox) == 1 and "40 subjects" in mail.outbox[0].subject
    incident = Incident.objects.filter(rule=r).first()
    assert [e.kind for e in incident.events.all()] == ["opened", "notified"]


def test_other_organizations_rules_do_not_see_each_others_incidents(rule, tenants):
    mine = rule(kind="status", scope="all")
    theirs = Rule.objects.create(organization=tenants["outsider_org"], name="t",
                                 kind="status", scope="all")
    evaluate([state(feeds=[row("cl-eth", status="down")])], now=at(0))
    assert Incident.objects.get(rule=mine).organization == tenants["org"]
    assert Incident.objects.get(rule=theirs).organization == tenants["outsider_org"]


def test_stored_prices_drive_the_rules_end_to_end(rule, django_capture_on_commit_callbacks):
    rule(kind="price_above", scope="pair", target="ETH-USD", params={"price": "3000"})
    eth = PairFactory(base=AssetFactory(symbol="ETH"))
    with django_capture_on_commit_callbacks(execute=True):
        priced(eth, "chainlink", "3400")
    with django_capture_on_commit_callbacks(execute=True):
        priced(eth, "pyth", "3402")  # two votes: a consensus of 3401
    incident = Incident.objects.get()
    assert incident.subject == "ETH-USD" and incident.value == "3401.00000000"


def test_unknown_is_neither_a_breach_nor_a_recovery(rule):
    rule(kind="deviation", scope="all", params={"bps": "50"})
    rule(kind="status", scope="all", name="s")
    evaluate([state(feeds=[row("cl-eth", deviation="-227.60", status="stale")])], now=at(0))
    assert Incident.objects.filter(state="open").count() == 2
    unknown = [state(consensus=None, feeds=[row("cl-eth", deviation=None, status="unknown",
                                                reason="ingestion delayed")])]
    assert evaluate(unknown, now=at(5))["resolved"] == []  # no consensus, no sync: hold
    assert Incident.objects.filter(state="open").count() == 2


def test_quarantined_reads_open_an_incident(rule):
    from apps.feeds.models import QuarantinedRead
    from tests.factories import FeedFactory

    feed = FeedFactory()
    rule(kind="quarantine", scope="all", params={"count": 2, "window_seconds": 300,
                                                 "reasons": ["bad_signature"]})
    feed_row = {**row(feed.key), "feed": feed.pk}
    for reason in ("bad_signature", "non_positive", "bad_signature"):
        QuarantinedRead.objects.create(feed=feed, raw_value="x", reason=reason)
    [incident] = evaluate([state(feeds=[feed_row])], now=timezone.now())["opened"]
    assert incident.value == "2" and "bad_signature" in incident.summary


def test_a_deviation_rule_without_bps_uses_twice_the_feeds_own_band(rule):
    from tests.factories import FeedFactory

    feed = FeedFactory(deviation_threshold_bps=50)  # Chainlink's 0.5 %: alert beyond 100 bps
    rule(kind="deviation", scope="all")
    near = [state(feeds=[{**row(feed.key, deviation="-90.00"), "feed": feed.pk}])]
    assert evaluate(near, now=at(0))["opened"] == []
    far = [state(feeds=[{**row(feed.key, deviation="-120.00"), "feed": feed.pk}])]
    [incident] = evaluate(far, now=at(1))["opened"]
    assert "limit 100" in incident.summary


def test_a_dynamic_deviation_threshold_follows_the_feeds_usual_spread(rule):
    from datetime import UTC, datetime
    from decimal import Decimal

    from apps.feeds.models import ConsensusBar, FeedBar
    from tests.factories import FeedFactory

    feed = FeedFactory(deviation_threshold_bps=5)
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    for minute in range(30):  # a feed that usually sits ±30 bps around consensus
        start = now - timedelta(minutes=30 - minute)
        close = Decimal("3000") * (1 + Decimal(30 if minute % 2 else -30) / 10_000)
        FeedBar.objects.create(feed=feed, resolution=60, start=start, open=close, high=close,
                               low=close, close=close, count=1, first_ts=start, last_ts=start)
        ConsensusBar.objects.create(pair=feed.pair, resolution=60, start=start,
                                    open=Decimal(3000), high=Decimal(3000), low=Decimal(3000),
                                    close=Decimal(3000), count=1, first_ts=start,
                                    last_ts=start)
    rule(kind="deviation", scope="all", params={"bps": "20", "dynamic_k": "3"})
    usual = [state(feed.pair.slug, feeds=[{**row(feed.key, deviation="45.00"),
                                           "feed": feed.pk}])]
    assert evaluate(usual, now=now)["opened"] == []  # above 20 bps, but usual for this feed
    unusual = [state(feed.pair.slug, feeds=[{**row(feed.key, deviation="120.00"),
                                             "feed": feed.pk}])]
    assert len(evaluate(unusual, now=now)["opened"]) == 1


def test_a_percent_move_within_the_window(rule):
    from decimal import Decimal

    from apps.feeds.models import ConsensusBar

    eth = PairFactory(base=AssetFactory(symbol="ETH"))
    now = timezone.now().replace(second=0, microsecond=0)
    hour_ago = now - timedelta(minutes=61)
    ConsensusBar.objects.create(pair=eth, resolution=60, start=hour_ago,
                                open=Decimal(3000), high=Decimal(3000), low=Decimal(3000),
                                close=Decimal(3000), count=1, first_ts=hour_ago,
                                last_ts=hour_ago)
    rule(kind="price_move", scope="pair", target="ETH-USD",
         params={"percent": "5", "window_seconds": 3600})
    assert evaluate([state(consensus="3100")], now=now)["opened"] == []  # +3.33 %
    [incident] = evaluate([state(consensus="3180")], now=now)["opened"]  # +6 %
    assert incident.value == "6.00" and "+6.00 %" in incident.summary


def test_a_feed_whose_health_drops_below_the_limit(rule):
    from tests.factories import FeedFactory

    healthy, failing = FeedFactory(), FeedFactory()
    rule(kind="health_below", scope="all", params={"score": 60})
    rows = [{**row(healthy.key, status="fresh"), "feed": healthy.pk},
            {**row(failing.key, status="down", deviation="-400.00"), "feed": failing.pk}]
    [incident] = evaluate([state(feeds=rows)], now=timezone.now())["opened"]
    assert incident.subject == failing.key and int(incident.value) < 60


def test_fifty_rules_opening_and_resolving_together_cost_a_bounded_number_of_queries(
        tenants, django_assert_max_num_queries):
    channel = Channel.objects.create(organization=tenants["org"], kind="email", name="d",
                                     config=json.dumps({"to": ["desk@example.com"]}))
    for n in range(50):
        r = Rule.objects.create(organization=tenants["org"], name=f"r{n}", kind="status",
                                scope="feed", target=f"f{n}", resolve_after_seconds=0)
        r.channels.add(channel)
    down = [state(feeds=[row(f"f{n}", status="down") for n in range(50)])]
    up = [state(feeds=[row(f"f{n}", status="fresh") for n in range(50)])]
    with django_assert_max_num_queries(130):  # ~2 a rule: its notice and the link rows
        assert len(evaluate(down, now=at(0))["opened"]) == 50
    with django_assert_max_num_queries(130):
        assert len(evaluate(up, now=at(5))["resolved"]) == 50


def test_incidents_are_sent_by_the_delivery_task_after_the_evaluation_commits(
        rule, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(delivery_tasks.delivery, "drain", lambda: sent.append("drained"))
    r = rule(kind="status", scope="protocol", target="chainlink")
    stale = [state(feeds=[row("cl-eth", status="stale")])]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        opened = evaluate(stale, now=at(0))["opened"]
    assert sent == []  # nothing is sent before the commit
    for callback in callbacks:
        callback()
    assert sent == ["drained"] and [i.rule_id for i in opened] == [r.pk]


def test_a_failing_delivery_never_fails_the_evaluation_that_queued_it(
        rule, monkeypatch, django_capture_on_commit_callbacks, caplog):
    def broken() -> None:
        raise RuntimeError("receiver exploded")

    monkeypatch.setattr(delivery_tasks.delivery, "drain", broken)
    rule(kind="status", scope="protocol", target="chainlink")
    stale = [state(feeds=[row("cl-eth", status="stale")])]
    with django_capture_on_commit_callbacks(execute=True):
        opened = evaluate(stale, now=at(0))["opened"]
    assert len(opened) == 1 and Incident.objects.count() == 1
    assert "receiver exploded" in caplog.text
