from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "apps.feeds"
    verbose_name = "Feeds"

    def ready(self) -> None:
        # checks: the DEFAULT-partition check; receivers: status and consensus follow prices.
        from . import checks, receivers  # noqa: F401

        # OHLC rollups follow prices too (apps/feeds/rollups.py).
        from .rollups import on_observations_stored
        from .signals import observations_stored

        observations_stored.connect(on_observations_stored, dispatch_uid="feeds.rollups")
