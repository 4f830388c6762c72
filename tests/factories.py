from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory

from apps.accounts.models import Membership, Organization, User
from apps.feeds.models import Asset, Chain, Feed, Pair, PriceObservation
from apps.protocols.models import Protocol

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.LazyAttribute(lambda o: o.name.lower().replace(" ", "-"))


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = "member"


class AssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Asset
        django_get_or_create = ["symbol"]

    symbol = factory.Sequence(lambda n: f"TK{n}")
    name = factory.LazyAttribute(lambda o: o.symbol)


class PairFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pair

    base = factory.SubFactory(AssetFactory)
    quote = factory.SubFactory(AssetFactory, symbol="USD", kind="fiat")


class ChainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Chain
        django_get_or_create = ["slug"]

    slug = "ethereum"
    name = "Ethereum"
    chain_id = 1


class ProtocolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Protocol
        django_get_or_create = ["slug"]

    slug = "chainlink"
    name = "Chainlink"


class FeedFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Feed

    key = factory.Sequence(lambda n: f"feed-{n}")
    protocol = factory.SubFactory(ProtocolFactory)
    pair = factory.SubFactory(PairFactory)
    chain = factory.SubFactory(ChainFactory)
    source_kind = Feed.SourceKind.EVM
    address = "0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419"
    decimals = 8
    heartbeat_seconds = 3600
    deviation_threshold_bps = Decimal("50")


def observation(feed: Feed, raw: int, when: datetime, **extra) -> PriceObservation:
    """An unsaved observation, as an adapter would hand it to store_observations."""
    extra.setdefault("decimals", feed.decimals)
    extra.setdefault("fetched_at", datetime(2026, 11, 26, tzinfo=UTC))
    return PriceObservation(feed=feed, raw_answer=raw, source_ts=when, **extra)


def priced(pair: Pair, protocol: str, value: str, age: float = 5) -> Feed:
    """A feed of `protocol` for `pair` with one stored price `age` seconds old, its source
    marked as just synced (so its status is judged on the price's age alone)."""
    from django.core.cache import cache
    from django.utils import timezone

    from apps.feeds.services import store_observations
    from apps.protocols.selectors import last_sync_key

    feed = FeedFactory(pair=pair, protocol=ProtocolFactory(slug=protocol, name=protocol.title()))
    cache.set(last_sync_key(feed.protocol_id, feed.chain_id), timezone.now())
    store_observations([observation(feed, int(Decimal(value).scaleb(8)),
                                    timezone.now() - timedelta(seconds=age))])
    return feed
