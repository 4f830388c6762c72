"""price.updated and feed.status_changed: derived by comparing with what was last announced."""
import json

import pytest
from django.db import transaction

from apps.alerts.models import WebhookMessage
from apps.alerts.services.state_events import publish_changes
from apps.alerts.services.webhooks import create_endpoint
from tests.factories import AssetFactory, PairFactory

from .test_evaluation import row, state


@pytest.fixture
def endpoint(tenants, settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    PairFactory(base=AssetFactory(symbol="ETH"))
    return create_endpoint(tenants["org"], url="http://127.0.0.1:9/in",
                           events=["price.updated", "feed.status_changed"],
                           pairs=["ETH-USD"])


def bodies():
    return [json.loads(m.body) for m in WebhookMessage.objects.order_by("created_at", "pk")]


def test_a_new_consensus_is_announced_once_per_change(endpoint):
    publish_changes([state(consensus="3400")])
    publish_changes([state(consensus="3400")])  # unchanged: nothing
    publish_changes([state(consensus="3401.5")])
    assert [(b["type"], b["data"]["price"]) for b in bodies()] == [
        ("price.updated", "3400"), ("price.updated", "3401.5")]


def test_only_subscribed_pairs_are_announced(endpoint):
    publish_changes([state("BTC-USD", consensus="95000")])
    assert bodies() == []


def test_a_status_change_is_announced_with_the_previous_status(endpoint):
    publish_changes([state(feeds=[row("cl-eth", status="fresh")])])  # the baseline
    publish_changes([state(feeds=[row("cl-eth", status="stale", reason="no update")])])
    changes = [b["data"] for b in bodies() if b["type"] == "feed.status_changed"]
    assert changes == [{"feed": "cl-eth", "pair": "ETH-USD", "protocol": "chainlink",
                        "status": "stale", "reason": "no update", "previous": "fresh"}]


def test_an_evaluation_lost_before_commit_is_made_up_by_the_next(endpoint):
    publish_changes([state(consensus="3400")])
    with pytest.raises(RuntimeError), transaction.atomic():
        publish_changes([state(consensus="3500")])
        raise RuntimeError("the worker died before committing")
    publish_changes([state(consensus="3500")])  # still a change against what was announced
    assert [b["data"]["price"] for b in bodies()] == ["3400", "3500"]


def test_nothing_is_tracked_without_subscribers(tenants):
    from apps.alerts.models import PublishedState

    publish_changes([state(consensus="3400", feeds=[row("cl-eth")])])
    assert PublishedState.objects.count() == 0
