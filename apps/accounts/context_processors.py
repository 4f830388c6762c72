from django.http import HttpRequest


def organizations(request: HttpRequest) -> dict:
    membership = getattr(request, "membership", None)
    return {
        "current_membership": membership,
        "current_organization": membership.organization if membership else None,
        "my_memberships": getattr(request, "memberships", []),
    }
