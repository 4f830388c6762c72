from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "apps.alerts"

    def ready(self) -> None:
        # Imported here, once the app registry is ready: the receivers import models (and
        # connect the signal receivers on import).
        from apps.billing.limits import register_counter

        from . import receivers  # noqa: F401
        from .models import Rule, WebhookEndpoint

        register_counter("alert_rules",
                         lambda org_id: Rule.objects.filter(organization_id=org_id).count())
        register_counter("webhook_endpoints", lambda org_id: WebhookEndpoint.objects.filter(
            organization_id=org_id).count())
