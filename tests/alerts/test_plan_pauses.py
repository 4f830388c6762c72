"""Going down a plan pauses (never deletes) rules, webhook endpoints and channels: a paused rule
closes its open incidents exactly as a disabled one does and starts afresh when it resumes; the
API and the pages say why each one is paused."""
import json
import threading
from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.alerts.models import Condition, Incident, Notice, Rule, WebhookMessage
from apps.alerts.services.channels import create_channel
from apps.alerts.services.evaluation import evaluate
from apps.alerts.services.rules import create_rule, update_rule
from apps.alerts.services.webhooks import create_endpoint
from apps.api_keys.services import create_key
from apps.billing.services import set_plan
from tests.alerts.paused import paused_reasons
from tests.api.conftest import _fresh_api_state, bearer  # noqa: F401 (autouse: no rate limits)
from tests.threads import Racer, race

T0 = timezone.now().replace(microsecond=0)
BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9"
RULES_PAUSED = "Paused: the Free plan allows 5 alert rules."
CLOSED_BY_PLAN = "rule paused by the plan (the Free plan allows 5 alert rules)"


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]


def down(at_seconds: int = 0) -> list[dict]:
    """One pair's state with its one feed down: every status rule of scope `all` breaches."""
    at = (T0 + timedelta(seconds=at_seconds)).isoformat()
    return [{"pair": "ETH-USD", "computed_at": at, "consensus": "3400", "reason": "", "votes": 1,
             "feeds": [{"feed": 1, "key": "cl-eth", "protocol": "chainlink", "heartbeat": 3600,
                        "status": "down", "reason": "no answer", "age": 5.0, "price": "3400",
                        "source_ts": at, "verified": None, "converted_from": None,
                        "deviation_bps": "0.00", "outlier": False}]}]


@pytest.fixture
def six_rules(tenants):
    """On Pro (tests/alerts/conftest.py): six rules, each with an open incident notified to an
    email channel (Free keeps email), and an endpoint subscribed to the alerts."""
    org = tenants["org"]
    channel = create_channel(org, kind="email", name="desk", config={"to": ["d@example.com"]})
    create_endpoint(org, url="http://127.0.0.1:9/in", events=["alert.opened", "alert.resolved"])
    rules = [create_rule(org, name=f"r{n}", kind="status", scope="all",
                         resolve_after_seconds=0, channels=[channel.pk]) for n in range(6)]
    assert len(evaluate(down(), now=T0)["opened"]) == 6
    return rules


def effects(rule: Rule) -> dict:
    """What closing a rule's incident left behind, whatever the reason it was closed for."""
    incident = Incident.objects.get(rule=rule)
    messages = [json.loads(m.body) for m in WebhookMessage.objects.order_by("created_at", "pk")
                if json.loads(m.body)["data"].get("incident") == incident.pk]
    return {"state": incident.state, "resolved": incident.resolved_at is not None,
            "timeline": [e.kind for e in incident.events.order_by("at", "pk")],
            "webhooks": [m["type"] for m in messages],
            "notices": Notice.objects.filter(incidents=incident).count(),
            "conditions": Condition.objects.filter(rule=rule).count()}


def test_a_downgrade_closes_the_open_incident_of_the_rule_it_pauses_and_an_upgrade_resumes_it(
        tenants, six_rules):
    sixth = six_rules[5]
    set_plan(tenants["org"], "free")  # five rules: the newest is paused, not deleted
    sixth.refresh_from_db()
    assert sixth.paused_reason == RULES_PAUSED
    incident = Incident.objects.get(rule=sixth)
    assert incident.state == Incident.State.RESOLVED and incident.resolved_at is not None
    assert incident.events.order_by("at", "pk").last().detail == CLOSED_BY_PLAN
    [resolved] = [json.loads(m.body) for m in WebhookMessage.objects.all()
                  if json.loads(m.body)["type"] == "alert.resolved"]
    assert resolved["data"]["incident"] == incident.pk
    assert resolved["data"]["summary"].endswith(f"— closed: {CLOSED_BY_PLAN}")
    # the five rules the plan keeps keep their incidents open
    assert Incident.objects.filter(rule__in=six_rules[:5], state="open").count() == 5

    assert evaluate(down(10), now=T0 + timedelta(seconds=10))["opened"] == []  # not evaluated

    set_plan(tenants["org"], "pro")
    sixth.refresh_from_db()
    assert sixth.paused_reason == ""
    [reopened] = evaluate(down(20), now=T0 + timedelta(seconds=20))["opened"]
    assert reopened.rule_id == sixth.pk and reopened.pk != incident.pk  # afresh: a new one
    assert list(Incident.objects.filter(rule=sixth).order_by("pk")
                .values_list("state", flat=True)) == ["resolved", "open"]


def test_pausing_a_rule_closes_its_incidents_exactly_as_disabling_it_does(tenants, six_rules):
    """Same timeline, same `alert.resolved` webhook, no channel notice, conditions afresh: the
    pause goes through the disable path, only its reason differs."""
    first, sixth = six_rules[0], six_rules[5]
    update_rule(first, name=first.name, kind="status", scope="all", resolve_after_seconds=0,
                channels=[c.pk for c in first.channels.all()], enabled=False)
    set_plan(tenants["org"], "free")
    assert effects(sixth) == effects(first) == {
        "state": "resolved", "resolved": True, "timeline": ["opened", "resolved"],
        "webhooks": ["alert.opened", "alert.resolved"], "notices": 1, "conditions": 0}
    assert Incident.objects.get(rule=first).events.last().detail == "rule disabled"
    assert Incident.objects.get(rule=sixth).events.last().detail == CLOSED_BY_PLAN


def test_the_api_shows_why_the_plan_paused_a_rule_an_endpoint_and_a_channel(client, tenants):
    org = tenants["org"]
    _, raw = create_key(org, name="reader")  # the oldest key: Free keeps it running
    rules = [create_rule(org, name=f"r{n}", kind="status", scope="all") for n in range(6)]
    kept, paused = (create_endpoint(org, url=f"http://127.0.0.1:9/{n}", events=["alert.opened"])
                    for n in range(2))
    email = create_channel(org, kind="email", name="desk", config={"to": ["d@example.com"]})
    telegram = create_channel(org, kind="telegram", name="chat",
                              config={"bot_token": BOT_TOKEN, "chat_id": "-100123"})
    set_plan(org, "free")

    def reasons(path: str) -> dict[int, str]:
        response = client.get(f"/api/v1/{path}", **bearer(raw))
        assert response.status_code == 200, response.content
        return {item["id"]: item["paused_reason"] for item in response.json()["results"]}

    assert reasons("alerts/rules") == {**{r.pk: "" for r in rules[:5]}, rules[5].pk: RULES_PAUSED}
    assert reasons("webhooks") == {kept.pk: "",
                                   paused.pk: "Paused: the Free plan allows 1 webhook endpoints."}
    assert reasons("alerts/channels") == {
        email.pk: "", telegram.pk: "Paused: Telegram channels are not part of the Free plan."}
    for path in (f"alerts/rules/{rules[5].pk}", f"webhooks/{paused.pk}",
                 f"alerts/channels/{telegram.pk}"):
        assert client.get(f"/api/v1/{path}", **bearer(raw)).json()["paused_reason"].startswith(
            "Paused: ")

    set_plan(org, "pro")
    assert set(reasons("alerts/rules").values()) == set(reasons("alerts/channels").values()) == \
        set(reasons("webhooks").values()) == {""}


@pytest.mark.parametrize(("page", "reason"), [
    ("alert_rules", RULES_PAUSED),
    ("webhooks", "Paused: the Free plan allows 1 webhook endpoints."),
    ("alert_channels", "Paused: Telegram channels are not part of the Free plan."),
])
def test_the_list_pages_show_why_the_plan_paused_each_one(client, tenants, page, reason):
    org = tenants["org"]
    for n in range(6):
        create_rule(org, name=f"r{n}", kind="status", scope="all")
    for n in range(2):
        create_endpoint(org, url=f"http://127.0.0.1:9/{n}", events=["alert.opened"])
    create_channel(org, kind="email", name="desk", config={"to": ["d@example.com"]})
    create_channel(org, kind="telegram", name="chat",
                   config={"bot_token": BOT_TOKEN, "chat_id": "-100123"})
    set_plan(org, "free")
    client.force_login(tenants["owner"])
    response = client.get(reverse(page, args=[org.slug]))
    assert response.status_code == 200
    assert paused_reasons(response.content.decode()) == [reason]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_downgrade_during_an_evaluation_waits_for_it_and_closes_what_it_opened(tenants):
    """The evaluation holds its lock and is about to open incidents when the plan goes down: the
    downgrade (holding the organization's row) waits for it instead of deadlocking with it or
    pausing the rule before its incident exists — which would leave that incident open forever."""
    from apps.alerts.services.evaluation import hold_evaluation_lock

    org = tenants["org"]
    rules = [create_rule(org, name=f"r{n}", kind="status", scope="all") for n in range(6)]
    locked = threading.Event()

    def evaluation() -> None:
        with transaction.atomic():
            hold_evaluation_lock()
            running = list(Rule.objects.filter(paused_reason="").select_related(
                "organization"))  # read before the downgrade, as a running evaluation has
            locked.set()
            threading.Event().wait(0.5)  # the downgrade now holds the organization's row
            assert len(evaluate(down(), now=T0, rules=running)["opened"]) == 6

    race(Racer(evaluation), Racer(lambda: set_plan(org, "free")), started=locked)
    sixth = Incident.objects.get(rule=rules[5])
    assert sixth.state == Incident.State.RESOLVED
    assert sixth.events.order_by("at", "pk").last().detail == CLOSED_BY_PLAN
    assert Incident.objects.exclude(state=Incident.State.RESOLVED).count() == 5
