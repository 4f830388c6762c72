"""A stored observation reaches a subscribed browser through the channel layer."""
from datetime import timedelta
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.utils import timezone

from apps.dashboard.consumers import LiveConsumer
from apps.feeds.services import store_observations
from apps.protocols.selectors import last_sync_key
from tests.factories import AssetFactory, FeedFactory, PairFactory, ProtocolFactory, UserFactory
from tests.factories import observation as make_observation
from tests.websocket import WebsocketCommunicator

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def world():
    cache.clear()
    eth = PairFactory(base=AssetFactory(symbol="ETH"))
    feeds = []
    for protocol in ("chainlink", "pyth"):
        feed = FeedFactory(pair=eth, protocol=ProtocolFactory(slug=protocol, name=protocol))
        cache.set(last_sync_key(feed.protocol_id, feed.chain_id), timezone.now())
        feeds.append(feed)
    return UserFactory(), feeds


@database_sync_to_async
def publish(feed, value: str):
    store_observations([make_observation(feed, int(Decimal(value).scaleb(8)),
                                         timezone.now() - timedelta(seconds=1))])


async def connect(user):
    communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/live/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    return communicator, connected


async def test_a_stored_observation_reaches_a_subscribed_client():
    user, (chainlink, pyth) = await world()
    communicator, connected = await connect(user)
    assert connected
    await communicator.send_json_to({"subscribe": "pair", "pair": "ETH-USD"})
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot" and snapshot["state"]["pair"] == "ETH-USD"
    await publish(chainlink, "3400")
    await publish(pyth, "3402")
    messages = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
    assert messages[-1]["type"] == "pair"
    assert Decimal(messages[-1]["state"]["consensus"]) == Decimal("3401")
    await communicator.disconnect()


async def test_the_overview_gets_every_pairs_summary():
    user, (chainlink, _) = await world()
    communicator, _ = await connect(user)
    await communicator.send_json_to({"subscribe": "overview"})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "subscribed"
    await publish(chainlink, "3400")
    message = await communicator.receive_json_from(timeout=5)
    assert message["type"] == "overview" and "ETH-USD" in message["pairs"]
    await communicator.disconnect()


async def test_anonymous_visitors_are_refused():
    communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/live/")
    communicator.scope["user"] = AnonymousUser()
    connected, code = await communicator.connect()
    assert not connected and code == 4401


async def test_connections_per_user_are_capped(settings):
    settings.OP_WS_MAX_CONNECTIONS_PER_USER = 2
    user, _ = await world()
    first, second = (await connect(user))[0], (await connect(user))[0]
    _refused, connected = await connect(user)
    assert not connected
    await first.disconnect()
    fourth, connected = await connect(user)  # a slot was freed
    assert connected
    await second.disconnect()
    await fourth.disconnect()


async def test_a_bad_message_gets_a_clear_error():
    user, _ = await world()
    communicator, _ = await connect(user)
    await communicator.send_json_to({"subscribe": "everything"})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "error"
    await communicator.send_json_to({"subscribe": "pair", "pair": "NOPE-USD"})
    assert (await communicator.receive_json_from(timeout=5))["message"] == "no such pair"
    await communicator.disconnect()


async def test_the_snapshot_of_a_busy_pair_is_plain_json():
    user, (chainlink, pyth) = await world()
    await publish(chainlink, "3400")
    await publish(pyth, "3402")
    communicator, _ = await connect(user)
    await communicator.send_json_to({"subscribe": "pair", "pair": "ETH-USD"})
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["state"]["spread_bps"] == "5.9"
    await communicator.disconnect()
