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
