from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    verbose_name = "Accounts and organizations"

    def ready(self) -> None:
        # Imported here, once the app registry is ready: the receivers import models.
        from . import receivers  # noqa: F401
