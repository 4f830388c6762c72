from django.db import models


class SeededHistory(models.Model):
    """Labels the simulated history the devnet wrote for a feed before it started publishing:
    observations of `feed` with source_ts in [start, end] are simulated, not published."""

    feed = models.OneToOneField(
        "feeds.Feed", on_delete=models.CASCADE, related_name="seeded_history"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    rows = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "seeded histories"

    def __str__(self) -> str:
        span = f"{self.start:%Y-%m-%d} → {self.end:%Y-%m-%d}"
        return f"{self.feed.key}: {self.rows} simulated rows {span}"
