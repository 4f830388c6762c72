"""Status pieces other pages show: an organization's SLA credits on its billing page (the
template loads the tag, so billing, a lower layer, does not import this app)."""
from __future__ import annotations

from django import template
from django.conf import settings

from apps.accounts.models import Organization
from apps.accounts.models import Plan as PlanSlug
from apps.status.selectors import credits_for, was_ever_on_plan

register = template.Library()


@register.inclusion_tag("status/_sla_credits.html")
def sla_credits(organization: Organization) -> dict[str, object]:
    """The organization's SLA credits, newest month first: each month's availability, credit
    tier, amount, and whether it was applied to the Stripe balance yet. Nothing at all for an
    organization that never was on Enterprise and has no credits."""
    credits = list(credits_for(organization))
    return {
        "credits": credits,
        "shown": bool(credits) or was_ever_on_plan(organization, PlanSlug.ENTERPRISE),
        "target": settings.OP_SLA_TARGET,
    }
