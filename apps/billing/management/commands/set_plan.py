"""Assign an organization's plan by hand: self-hosting without Stripe, or a contract signed
outside it. Every limit of the plan applies at once; nothing is deleted when going down."""
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import Organization
from apps.billing import services
from apps.billing.plans import PLAN_SLUGS


class Command(BaseCommand):
    help = "Set an organization's plan: manage.py set_plan <organization slug> <plan>"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organization", help="the organization's slug")
        parser.add_argument("plan", choices=PLAN_SLUGS)

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No organization {options['organization']!r}.")
        account = getattr(organization, "billing_account", None)
        if account is not None and account.stripe_subscription_id and services.stripe_api.enabled():
            self.stderr.write("Note: this organization has a Stripe subscription; the next "
                              "event or reconcile sets the plan from it again.")
        changed = services.set_plan(organization, options["plan"])
        self.stdout.write(f"{organization.slug}: {options['plan']}"
                          + ("" if changed else " (unchanged)"))
