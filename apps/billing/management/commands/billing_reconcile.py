"""Re-read every organization's subscription from Stripe and repair the mirror (and the plan)
after missed webhooks; also retries events whose processing failed."""
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.billing import services, stripe_api, webhooks
from apps.billing.models import BillingAccount


class Command(BaseCommand):
    help = "Repair billing state from Stripe (missed or failed webhooks)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not stripe_api.enabled():
            raise CommandError("Billing through Stripe is not enabled (OP_BILLING_ENABLED, "
                               "OP_STRIPE_SECRET_KEY).")
        changed = failed = 0
        accounts = BillingAccount.objects.select_related("organization").exclude(
            stripe_customer_id=None)
        for account in accounts:
            before = (account.organization.plan, account.status, account.current_period_end)
            try:
                services.refresh_account(account)
            except stripe_api.StripeError as error:
                failed += 1
                self.stderr.write(f"{account.organization.slug}: {error}")
                continue
            after = (account.organization.plan, account.status, account.current_period_end)
            if after != before:
                changed += 1
                self.stdout.write(f"{account.organization.slug}: {before[0]}/{before[1]} -> "
                                  f"{after[0]}/{after[1]}")
        retried, failures = webhooks.process_pending()
        for event, problem in failures:
            self.stderr.write(f"event {event.event_id}: {problem}")
        self.stdout.write(f"{accounts.count()} accounts read, {changed} repaired, {failed} "
                          f"failed; {retried} pending events processed.")
        if failed:
            raise CommandError(f"{failed} accounts could not be read from Stripe.")
