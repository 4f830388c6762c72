"""The status app's fixtures: a fresh cache and daily rollup rows written directly (the live
ASGI server the probe calls is tests/conftest.py's `live_server_url`)."""
from datetime import UTC, date, datetime

import pytest
from django.core.cache import cache

from apps.status.models import ComponentDay


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # sync stamps, breakers
    yield
    cache.clear()


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
