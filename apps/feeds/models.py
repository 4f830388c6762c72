from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from .fields import ExactDecimalField, HugeIntegerField


class Asset(models.Model):
    class Kind(models.TextChoices):
        CRYPTO = "crypto", "Crypto"
        STABLECOIN = "stablecoin", "Stablecoin"
        FIAT = "fiat", "Fiat"

    symbol = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CRYPTO)

    class Meta:
        ordering = ["symbol"]

    def __str__(self) -> str:
        return self.symbol


class Pair(models.Model):
    base = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="pairs_as_base")
    quote = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="pairs_as_quote")
    slug = models.SlugField(max_length=41, unique=True, editable=False)

    class Meta:
        ordering = ["slug"]
        constraints = [models.UniqueConstraint(fields=["base", "quote"], name="pair_base_quote")]

    def __str__(self) -> str:
        return self.slug

    def save(self, *args, **kwargs) -> None:
        # The slug is derived, never typed: URLs say /pairs/ETH-USD/.
        self.slug = f"{self.base.symbol}-{self.quote.symbol}"
        super().save(*args, **kwargs)


class Chain(models.Model):
    class Family(models.TextChoices):
        EVM = "evm", "EVM"
        SOLANA = "solana", "Solana"
        COSMOS = "cosmos", "Cosmos"

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    chain_id = models.BigIntegerField(null=True, blank=True, help_text="EVM chain id")
    family = models.CharField(max_length=10, choices=Family.choices, default=Family.EVM)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Feed(models.Model):
    """One protocol's price for one pair on one chain (or off-chain source)."""

    class SourceKind(models.TextChoices):
        EVM = "evm", "EVM contract"
        HTTP = "http", "HTTP API"
        STREAM = "stream", "Stream"

    key = models.SlugField(
        max_length=120, unique=True, help_text="Stable id, e.g. chainlink-ethereum-eth-usd"
    )
    protocol = models.ForeignKey(
        "protocols.Protocol", on_delete=models.PROTECT, related_name="feeds"
    )
    pair = models.ForeignKey(Pair, on_delete=models.PROTECT, related_name="feeds")
    chain = models.ForeignKey(
        Chain, on_delete=models.PROTECT, related_name="feeds", null=True, blank=True,
        help_text="Empty for off-chain sources (HTTP APIs, streams)",
    )
    source_kind = models.CharField(max_length=8, choices=SourceKind.choices)
    address = models.CharField(max_length=66, blank=True, help_text="Contract address (EVM)")
    feed_id = models.CharField(
        max_length=128, blank=True, help_text="Protocol-side id (Pyth id, Tellor query id, …)"
    )
    decimals = models.PositiveSmallIntegerField()
    heartbeat_seconds = models.PositiveIntegerField()
    deviation_threshold_bps = models.DecimalField(max_digits=8, decimal_places=2)
    params = models.JSONField(default=dict, blank=True, help_text="Protocol-specific settings")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pair__slug", "protocol__slug"]
        indexes = [models.Index(fields=["pair", "enabled"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(decimals__lte=77), name="feed_decimals_fit_uint256"
            )
        ]

    def __str__(self) -> str:
        where = self.chain.name if self.chain_id and self.chain else "off-chain"
        return f"{self.protocol} {self.pair} ({where})"


class PriceObservation(models.Model):
    """One price as the source published it.

    On PostgreSQL the table is range-partitioned by month on `source_ts` (see migration
    feeds.0002 and apps.feeds.partitions); write through `services.store_observations`.
    """

    # db_index=False: the unique (feed, source_ts, round_id) index already leads with feed.
    feed = models.ForeignKey(
        Feed, on_delete=models.CASCADE, related_name="observations", db_index=False
    )
    raw_answer = HugeIntegerField(help_text="The integer answer exactly as the source gave it")
    decimals = models.PositiveSmallIntegerField()
    price = ExactDecimalField(help_text="raw_answer / 10**decimals, exact")
    source_ts = models.DateTimeField(help_text="When the source says the price was valid")
    fetched_at = models.DateTimeField(default=timezone.now)
    round_id = HugeIntegerField(null=True, blank=True)
    confidence = ExactDecimalField(null=True, blank=True)
    block_number = models.BigIntegerField(null=True, blank=True)
    verified = models.BooleanField(null=True, blank=True)

    class Meta:
        # On PostgreSQL this is UNIQUE NULLS NOT DISTINCT; SQLite gets an equivalent
        # expression index in migration 0002 (it has no NULLS NOT DISTINCT).
        constraints = [
            models.UniqueConstraint(
                fields=["feed", "source_ts", "round_id"],
                name="observation_feed_ts_round",
                nulls_distinct=False,
            )
        ]
        # No separate (feed, -source_ts) index: the unique index above serves "latest of a
        # feed" by a backward scan.

    def __str__(self) -> str:
        return f"{self.feed_id} {self.price} @ {self.source_ts:%Y-%m-%d %H:%M:%S}"

    @staticmethod
    def scale(raw_answer: int, decimals: int) -> Decimal:
        return Decimal(raw_answer).scaleb(-decimals)

    def clean(self) -> None:
        if self.source_ts is not None and timezone.is_naive(self.source_ts):
            raise ValidationError({"source_ts": "must be timezone-aware (UTC)"})


class QuarantinedRead(models.Model):
    """A read that failed validation: never a price, always visible and alertable."""

    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="quarantined_reads")
    raw_value = models.TextField(help_text="What the source returned, verbatim")
    reason = models.CharField(max_length=40, help_text="Short code, e.g. non_positive")
    detail = models.TextField(blank=True)
    source_ts = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["feed", "-created_at"], name="quarantine_feed_recent")]

    def __str__(self) -> str:
        return f"{self.feed_id} {self.reason} @ {self.created_at:%Y-%m-%d %H:%M:%S}"


# --- OHLC rollups (apps/feeds/rollups.py maintains them) ---------------------------------------

class Resolution(models.IntegerChoices):
    """A rollup bucket's width in seconds; buckets start at its multiples since the epoch."""

    MINUTE = 60, "1m"
    HOUR = 3600, "1h"
    DAY = 86400, "1d"


class OhlcBar(models.Model):
    """One bucket of a price series. Two series kinds share this shape and the same code
    (apps.feeds.rollups): a feed's observations (FeedBar) and a pair's consensus (ConsensusBar).
    open/close are the prices with the earliest/latest source time in the bucket (ties: the
    row stored first opens, the row stored last closes), not the first/last to arrive."""

    resolution = models.PositiveIntegerField(choices=Resolution.choices)
    start = models.DateTimeField(help_text="Bucket start, aligned to the resolution (UTC)")
    open = ExactDecimalField()
    high = ExactDecimalField()
    low = ExactDecimalField()
    close = ExactDecimalField()
    count = models.PositiveIntegerField(help_text="Prices merged into the bucket")
    first_ts = models.DateTimeField(help_text="Source time of the open")
    last_ts = models.DateTimeField(help_text="Source time of the close")

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.get_resolution_display()} {self.start:%Y-%m-%d %H:%M} {self.close}"


class FeedBar(OhlcBar):
    """Rollup of one feed's verified (or unverifiable) observations; kept after raw retention."""

    # No database-level foreign key: the deferred check per upserted bar was ~35 % of the
    # upsert's server time, and every bar derives from an observation, whose table has one.
    # Deleting a Feed still deletes its bars (Django's CASCADE).
    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="bars",
                             db_index=False, db_constraint=False)

    class Meta:
        # The unique index (feed, resolution, start) also serves every history range read.
        # (Not a composite primary key: the admin does not support those.)
        constraints = [
            models.UniqueConstraint(fields=["feed", "resolution", "start"], name="feedbar_key")
        ]


class ConsensusBar(OhlcBar):
    """Rollup of one pair's consensus price (fed by rollups.record_consensus_point)."""

    pair = models.ForeignKey(Pair, on_delete=models.CASCADE, related_name="consensus_bars",
                             db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pair", "resolution", "start"],
                                    name="consensusbar_key")
        ]


class WatchedPair(models.Model):
    """A pair on an organization's watchlist (the overview can show only these)."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE,
                                     related_name="watched_pairs")
    pair = models.ForeignKey(Pair, on_delete=models.CASCADE, related_name="watchers")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                 related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "pair"],
                                               name="watched_pair_once")]

    def __str__(self) -> str:
        return f"{self.organization} watches {self.pair}"
