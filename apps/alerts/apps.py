from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "apps.alerts"

    def ready(self) -> None:
        # Imported here, once the app registry is ready: the receivers import models (and
        # connect the signal receivers on import).
        from . import receivers  # noqa: F401
