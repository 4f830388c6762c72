"""The status app's fixtures: a live ASGI server (HTTP and WebSocket, as uvicorn serves
production) for the probe to call, and daily rollup rows written directly."""
import socket
import threading
import time
from datetime import UTC, date, datetime

import pytest
import uvicorn
from django.core.cache import cache

from apps.status.models import ComponentDay


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # sync stamps, breakers
    yield
    cache.clear()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def live_server_url(transactional_db):
    from oracle_platform.asgi import application

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off",
                                           ws="websockets-sansio"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the live server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


def component_days(component: str, first: date, count: int, *, minutes: int = 1440,
                   ok_minutes: int | None = None, since: datetime | None = None) -> None:
    """`count` days of one component from `first`, each `minutes` probed and `ok_minutes`
    available; `since` is the first day's first minute (midnight by default)."""
    ComponentDay.objects.bulk_create([
        ComponentDay(component=component, day=date.fromordinal(first.toordinal() + n),
                     minutes=minutes, ok_minutes=minutes if ok_minutes is None else ok_minutes,
                     since=since if n == 0 and since else datetime.combine(
                         date.fromordinal(first.toordinal() + n), datetime.min.time(), UTC))
        for n in range(count)])
