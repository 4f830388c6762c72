from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "apps.feeds"
    verbose_name = "Feeds"

    def ready(self) -> None:
        # checks: the DEFAULT-partition check; receivers: status, consensus and OHLC rollups
        # follow prices. Imported here, once the app registry is ready (they import models).
        from . import checks, receivers  # noqa: F401
