"""Create the local demo login that `make run` prints. Refuses to run with DEBUG off."""
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import User

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "oracle-demo"  # noqa: S105 (a documented local-only login)


class Command(BaseCommand):
    help = "Create (or reset) the local demo user and print its login."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("The demo user is for local development only (DEBUG is off).")
        user = User.objects.filter(email=DEMO_EMAIL).first()
        if user is None:
            user = User.objects.create_user(DEMO_EMAIL, DEMO_PASSWORD, is_staff=True,
                                            is_superuser=True)
        else:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        EmailAddress.objects.update_or_create(
            user=user, email=DEMO_EMAIL, defaults={"verified": True, "primary": True}
        )
        self.stdout.write(f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}")
