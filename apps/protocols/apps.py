from django.apps import AppConfig


class ProtocolsConfig(AppConfig):
    name = "apps.protocols"
    verbose_name = "Protocols"
