from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "apps.billing"
    verbose_name = "Plans and billing"

    def ready(self) -> None:
        # Imported here: models load after app configs. Accounts (below) asks billing for the
        # plan's seats through its hook; members are counted here for the billing page.
        from apps.accounts import seats

        from . import limits, plans, tasks  # noqa: F401  # tasks: registers what views queue

        plans.plans()  # a bad OP_TIER_LIMITS fails at start-up, not on every request

        seats.set_seat_limit(lambda organization: limits.allowed(organization, "members"))
        limits.register_counter("members", _members)


def _members(organization_id: int) -> int:
    from apps.accounts.models import Membership

    return Membership.objects.filter(organization_id=organization_id).count()
