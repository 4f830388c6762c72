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
