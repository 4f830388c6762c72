"""The organization's watchlist: pairs it follows (shown first, in reports and alerts' scope)."""
from django.core.exceptions import PermissionDenied

from apps.accounts.permissions import Action, can

from .models import WatchedPair


def toggle_watch(membership, pair) -> bool:
    """Put the pair on the membership's organization's watchlist, or take it off; returns
    whether it is watched now."""
    if not can(membership, Action.EDIT_WATCHLIST):
        raise PermissionDenied("Viewers cannot change the watchlist.")
    deleted, _ = WatchedPair.objects.filter(organization=membership.organization,
                                            pair=pair).delete()
    if deleted:
        return False
    WatchedPair.objects.create(organization=membership.organization, pair=pair,
                               added_by=membership.user)
    return True
