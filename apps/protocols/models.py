from django.db import models


class Protocol(models.Model):
    """One oracle vendor (Chainlink, Pyth, …); its feeds live in apps.feeds."""

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    website = models.URLField(blank=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CatalogLoad(models.Model):
    """Each `load_catalog` run: which network profile the database holds, and when."""

    class Network(models.TextChoices):
        DEVNET = "devnet", "Devnet (simulated market)"
        MAINNET = "mainnet", "Mainnet"

    network = models.CharField(max_length=10, choices=Network.choices)
    catalog_version = models.PositiveIntegerField()
    feeds = models.PositiveIntegerField()
    mainnet_backed = models.PositiveIntegerField()
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-loaded_at"]
        get_latest_by = "loaded_at"

    def __str__(self) -> str:
        return f"{self.network} catalog v{self.catalog_version} ({self.feeds} feeds)"


class SyncRun(models.Model):
    """One read of one protocol on one chain (or one HTTP protocol) by the sync engine."""

    protocol = models.ForeignKey(Protocol, on_delete=models.CASCADE, related_name="sync_runs")
    chain = models.ForeignKey(
        "feeds.Chain", on_delete=models.CASCADE, null=True, blank=True, related_name="sync_runs"
    )
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    block_number = models.BigIntegerField(null=True, blank=True)
    feeds_read = models.PositiveIntegerField()
    ok = models.PositiveIntegerField(help_text="valid values read")
    new = models.PositiveIntegerField(help_text="of which new observations")
    rejected = models.PositiveIntegerField(help_text="quarantined values")
    failed = models.PositiveIntegerField(help_text="feeds that returned no value")
    error_class = models.CharField(max_length=40, blank=True, help_text="most common failure")
    breaker = models.CharField(max_length=10, default="closed")

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["protocol", "chain", "-started_at"], name="syncrun_recent")]

    def __str__(self) -> str:
        where = self.chain if self.chain_id else "off-chain"
        return f"{self.protocol} on {where} at {self.started_at:%H:%M:%S}"


class FeedReadState(models.Model):
    """The sync engine's last word on a feed: written only when its state changes."""

    feed = models.OneToOneField("feeds.Feed", on_delete=models.CASCADE, related_name="read_state")
    ok = models.BooleanField(default=True)
    reason = models.CharField(max_length=40, blank=True)
    detail = models.TextField(blank=True)
    since = models.DateTimeField(help_text="when the feed entered this state")

    def __str__(self) -> str:
        return f"{self.feed_id}: {'ok' if self.ok else self.reason}"


class BackfillCursor(models.Model):
    """Where `manage.py backfill` got to for a feed, so an interrupted run resumes."""

    feed = models.OneToOneField("feeds.Feed", on_delete=models.CASCADE, related_name="backfill")
    since = models.DateTimeField(help_text="how far back this backfill goes")
    position = models.CharField(max_length=80, blank=True,
                                help_text="the next round id (Chainlink) or block to read below")
    oldest = models.DateTimeField(null=True, blank=True, help_text="oldest source time reached")
    rows = models.PositiveIntegerField(default=0)
    done = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.feed_id} back to {self.since:%Y-%m-%d} ({'done' if self.done else 'open'})"


class SignedPayload(models.Model):
    """A source's signed update kept as received (Pyth's PNAU accumulator update), so the
    observations it produced can be re-verified later. Pruned after
    OP_SIGNED_PAYLOAD_RETENTION_HOURS."""

    protocol = models.ForeignKey(Protocol, on_delete=models.CASCADE, related_name="payloads")
    received_at = models.DateTimeField(db_index=True)
    format = models.CharField(max_length=20, help_text="e.g. pyth-pnau")
    data = models.BinaryField()
    covers = models.JSONField(default=dict, help_text="feed key -> unix publish time")
    verified = models.BooleanField(null=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.format} {len(self.data)} bytes at {self.received_at:%H:%M:%S}"
