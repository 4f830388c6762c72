from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "apps.api_keys"

    def ready(self) -> None:
        # Imported here: models load after app configs. Billing (below) learns this app's
        # counts and hourly usage through these hooks, and tells it of plan changes.
        from apps.billing import limits, metering
        from apps.billing.signals import plan_changed

        from . import receivers, selectors, services

        limits.register_counter("api_keys", lambda org_id: services.counted_keys(org_id).count())
        metering.set_usage_source(selectors.hourly_calls)
        plan_changed.connect(receivers.on_limits_changed, dispatch_uid="api_keys.plan")
