from django.apps import AppConfig


class DevnetConfig(AppConfig):
    name = "apps.devnet"
    verbose_name = "Devnet (simulated market)"
