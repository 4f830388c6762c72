import pytest
from django.conf import settings

from apps.api_keys import runtime
from apps.api_keys.services import create_key


@pytest.fixture(autouse=True)
def _fresh_api_state():
    """Each test starts with empty rate-limit counters, usage and key cache."""
    runtime.reset()
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        for pattern in ("op:rl:*", "op:usage:*", "op:apikey:*"):
            for name in client.scan_iter(match=pattern):
                client.delete(name)
    yield
    runtime.reset()


@pytest.fixture
def api_key(tenants):
    """A read-only key of the owner's organization, as (ApiKey, plaintext)."""
    return create_key(tenants["org"], name="reader", created_by=tenants["owner"])


@pytest.fixture
def write_key(tenants):
    return create_key(tenants["org"], name="writer", scope="read_write",
                      created_by=tenants["owner"])


def bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
