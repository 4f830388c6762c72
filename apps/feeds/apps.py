from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "apps.feeds"
    verbose_name = "Feeds"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the DEFAULT-partition check)
