"""Seats: how many members an organization's plan allows. Plans live in billing (above this
app), which plugs its answer in from BillingConfig.ready(); until then there is no limit."""
from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.utils import timezone

from .models import Organization

SeatLimit = Callable[[Organization], int | None]  # None: unlimited
_seat_limit: SeatLimit = lambda organization: None  # noqa: E731  # replaced at start-up


def set_seat_limit(limit: SeatLimit) -> None:
    global _seat_limit
    _seat_limit = limit


def seat_limit(organization: Organization) -> int | None:
    """How many members the plan allows (None: unlimited)."""
    return _seat_limit(organization)


def check_seat(organization: Organization, *, counting_invitations: bool) -> None:
    """Raise a ValidationError when one more member would not fit the plan. Open invitations
    hold a seat when inviting; when accepting, the invitation's own seat is the one taken."""
    allowed = seat_limit(organization)
    if allowed is None:
        return
    taken = organization.memberships.count()
    if counting_invitations:
        taken += organization.invitations.filter(accepted_at__isnull=True,
                                                 expires_at__gt=timezone.now()).count()
    if taken + 1 > allowed:
        raise ValidationError({"email": f"The plan allows {allowed} members (open invitations "
                                        "count); upgrade the plan or remove someone first."})
