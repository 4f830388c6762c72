from datetime import timedelta

from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from apps.protocols.models import SyncRun
from apps.protocols.selectors import last_sync_key
from tests.factories import FeedFactory


def run(feed, *, ago, failed=0, ms=20):
    SyncRun.objects.create(protocol=feed.protocol, chain=feed.chain,
                           started_at=timezone.now() - ago, duration_ms=ms, feeds_read=1,
                           ok=1 - failed, new=0, rejected=0, failed=failed)


def test_health_page_shows_each_sources_runs_and_delays(client, tenants):
    cache.clear()
    feed = FeedFactory()
    run(feed, ago=timedelta(minutes=5), ms=40)
    run(feed, ago=timedelta(minutes=4), failed=1, ms=60)
    cache.set(last_sync_key(feed.protocol_id, feed.chain_id),
              timezone.now() - timedelta(minutes=4))
    client.force_login(tenants["member"])
    body = client.get(reverse("health")).content.decode()
    assert "Chainlink" in body and "Ethereum" in body
    assert ">50<" in body and ">60<" in body  # average and max milliseconds
    assert "delayed: no recent sync" in body


def test_health_page_explains_an_empty_state(client, tenants):
    client.force_login(tenants["member"])
    assert "No sync runs in the last hour" in client.get(reverse("health")).content.decode()


def test_operators_see_a_banner_when_ingestion_is_delayed(client, admin_user, tenants):
    cache.clear()
    FeedFactory()  # a source that has never been synced
    client.force_login(admin_user)
    assert "Ingestion delayed for 1 source" in client.get(reverse("home")).content.decode()
    client.force_login(tenants["member"])  # not staff: no operator banner
    assert "Ingestion delayed" not in client.get(reverse("home")).content.decode()


def test_protocol_page_lists_feeds_latency_errors_and_quarantine(client, tenants):
    from decimal import Decimal

    from apps.feeds.models import QuarantinedRead
    from apps.feeds.services import store_observations
    from apps.protocols.models import FeedReadState
    from tests.factories import observation

    cache.clear()
    feed = FeedFactory()
    store_observations([observation(feed, int(Decimal("3400").scaleb(8)),
                                    timezone.now() - timedelta(seconds=3),
                                    fetched_at=timezone.now())])
    FeedReadState.objects.create(feed=feed, ok=False, reason="reverted", detail="x",
                                 since=timezone.now())
    QuarantinedRead.objects.create(feed=feed, raw_value="-1", reason="non_positive")
    client.force_login(tenants["member"])
    body = client.get(reverse("protocol", args=["chainlink"])).content.decode()
    assert feed.pair.slug in body and "p50 3.0 s" in body
    assert "health" in body
    assert "reverted" in body and "non_positive" in body


def test_pausing_our_sync_shows_ingestion_delayed_not_stale(client, admin_user, settings):
    from decimal import Decimal

    from apps.feeds.pair_state import refresh_pairs
    from apps.feeds.services import store_observations
    from apps.protocols.sync import is_paused, sync_chain
    from tests.factories import observation

    cache.clear()
    settings.OP_INGESTION_DELAY_SECONDS = 30
    feed = FeedFactory(heartbeat_seconds=60)
    store_observations([observation(feed, int(Decimal("3400").scaleb(8)),
                                    timezone.now() - timedelta(minutes=10))])
    client.force_login(admin_user)
    client.post(reverse("pause_sync"), {"paused": "1"})
    assert is_paused() and sync_chain("ethereum") is None  # nothing is read while paused
    cache.set(last_sync_key(feed.protocol_id, feed.chain_id),
              timezone.now() - timedelta(minutes=5))  # our last run, before the pause
    (row,) = refresh_pairs([feed.pair_id])[feed.pair_id]["feeds"]
    assert (row["status"], row["reason"]) == ("unknown", "ingestion delayed")
    client.post(reverse("pause_sync"), {"paused": "0"})
    assert not is_paused()


def test_only_staff_can_pause_the_sync(client, tenants):
    from apps.protocols.sync import is_paused

    cache.clear()
    client.force_login(tenants["member"])
    assert client.post(reverse("pause_sync"), {"paused": "1"}).status_code == 302  # to login
    assert not is_paused()
