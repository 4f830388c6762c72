"""api_keys' side of a plan change: republish the organization's limits for the throttle and
pause or resume keys past the plan's count."""
from typing import Any

from django.db import transaction

from apps.accounts.models import Organization

from . import runtime, services


def on_limits_changed(sender: Any, organization: Organization, **kwargs: Any) -> None:
    services.enforce_key_limit(organization)
    publish_limits(organization)


def publish_limits(organization: Organization) -> None:
    """After the commit, tell every instance's throttle the plan and the paused keys."""
    paused = list(services.counted_keys(organization.pk).exclude(paused_reason="")
                  .values_list("pk", flat=True))
    transaction.on_commit(
        lambda: runtime.publish_plan(organization.pk, organization.plan, paused), robust=True)
