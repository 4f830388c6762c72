"""api_keys' side of a plan change: republish the organization's limits for the throttle and
pause or resume keys past the plan's count."""
from typing import Any

from apps.accounts.models import Organization

from . import services


def on_limits_changed(sender: Any, organization: Organization, **kwargs: Any) -> None:
    services.enforce_key_limit(organization)  # and publishes the plan and the paused keys
