"""When our own ingestion is delayed, the operators are told (tenants' staleness rules stay
quiet meanwhile)."""
from datetime import timedelta

from django.core import mail
from django.core.cache import cache
from django.utils import timezone

from apps.alerts.operator import DELAYED_KEY, check_ingestion
from apps.protocols.selectors import last_sync_key
from tests.factories import FeedFactory, UserFactory


def test_operators_hear_once_when_a_source_is_delayed_and_once_when_it_recovers(db):
    cache.delete(DELAYED_KEY)
    operator = UserFactory(is_staff=True)
    UserFactory()  # not staff: not told
    feed = FeedFactory()
    now = timezone.now()
    cache.set(last_sync_key(feed.protocol_id, feed.chain_id), now - timedelta(minutes=5))
    assert len(check_ingestion(now)["started"]) == 1
    assert check_ingestion(now) == {"started": [], "recovered": []}  # once
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [operator.email]
    assert "Delayed" in mail.outbox[0].body and "no recent sync" in mail.outbox[0].body
    cache.set(last_sync_key(feed.protocol_id, feed.chain_id), now)
    assert len(check_ingestion(now)["recovered"]) == 1
    assert "Recovered" in mail.outbox[1].body
