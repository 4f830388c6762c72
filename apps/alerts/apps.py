from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "apps.alerts"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 (connects the signal receivers)
