from django.apps import AppConfig


class ProtocolsConfig(AppConfig):
    name = "apps.protocols"
    verbose_name = "Protocols"

    def ready(self) -> None:
        # Pair state (feeds, the layer below) learns from ingestion which sources we are behind
        # on; feeds cannot import us, so we plug in (apps/feeds/pair_state.py says why).
        # Imported here, once the app registry is ready: both modules import models.
        from apps.feeds.pair_state import set_source_health

        from .selectors import source_health

        set_source_health(source_health)
