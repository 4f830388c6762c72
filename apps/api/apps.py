from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "apps.api"
    label = "public_api"  # "api" is too generic a label to reserve
    verbose_name = "Public API"
