"""With REDIS_URL set, the cache and the channel layer really go through Redis."""
import uuid

import pytest
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache

pytestmark = pytest.mark.redis


def test_cache_is_redis_and_round_trips():
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    key = f"test:{uuid.uuid4()}"
    cache.set(key, {"price": "3351.72810074"}, 5)
    assert cache.get(key) == {"price": "3351.72810074"}


async def test_group_message_crosses_channel_layer_instances():
    # Two layer objects stand for two app instances sharing one Redis.
    from channels_redis.core import RedisChannelLayer

    sender = RedisChannelLayer(hosts=[settings.REDIS_URL])
    receiver = get_channel_layer()
    assert type(receiver).__name__ == "RedisChannelLayer"
    channel = await receiver.new_channel()
    group = f"test-{uuid.uuid4().hex}"
    await receiver.group_add(group, channel)
    await sender.group_send(group, {"type": "price.update", "price": "1.00000000"})
    message = await receiver.receive(channel)
    assert message == {"type": "price.update", "price": "1.00000000"}
    await receiver.group_discard(group, channel)
    await sender.close_pools()
    await receiver.close_pools()
