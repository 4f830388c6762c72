"""Shared fixtures. Tests that need PostgreSQL, Redis or Chromium are marked; without the
service they skip with a reason on a laptop and fail under CI=true."""
import os
import shutil
import threading
import time

import pytest
from django.conf import settings

from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytest_plugins = ["tests.devnet_fixtures"]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _redis_available() -> str | None:
    if not settings.REDIS_URL:
        return "REDIS_URL is not set"
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        return f"Redis at REDIS_URL does not answer ({error})"
    return None


def _missing(marker: str) -> str | None:
    if marker == "postgres":
        engine = settings.DATABASES["default"]["ENGINE"]
        return None if engine.endswith("postgresql") else "DATABASE_URL is not PostgreSQL"
    if marker == "redis":
        return _redis_available()
    if marker == "browser":
        return None if shutil.which("chromium") else "Debian's chromium is not installed"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in ("postgres", "redis", "browser"):
        if item.get_closest_marker(marker) is None:
            continue
        reason = _missing(marker)
        if reason and IN_CI:
            pytest.fail(f"CI=true but this {marker} test cannot run: {reason}", pytrace=False)
        if reason:
            pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.OP_RUN_TASKS_INLINE = True  # no Celery worker runs during tests


@pytest.fixture(autouse=True)
def _forget_faked_commits():
    yield
    from apps.feeds.services import forget_session_state

    forget_session_state()


@pytest.fixture
def tenants(db):
    """Three people: an org owner, a plain member of the same org, and an outsider who
    owns another org. Every view test can prove isolation with them."""
    org = OrganizationFactory(name="Acme Risk")
    owner = MembershipFactory(organization=org, role="owner").user
    member = MembershipFactory(organization=org, role="member").user
    outsider_org = OrganizationFactory(name="Other Desk")
    outsider = MembershipFactory(organization=outsider_org, role="owner").user
    return {
        "org": org, "owner": owner, "member": member,
        "outsider": outsider, "outsider_org": outsider_org,
    }


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def live_server_url(transactional_db):
    """The ASGI application served by uvicorn in a thread on a free loopback port (HTTP and
    WebSocket, as production serves them); its base URL. The server's requests run in other
    threads, so the database is a transactional one (committed rows are visible to them)."""
    import uvicorn

    from apps.devnet.chain import free_port
    from oracle_platform.asgi import application

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off",
                                           ws="websockets-sansio"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, \
            "the live server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)
