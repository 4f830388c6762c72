"""Checking a plan's limits where objects are created, and counting what an organization uses.

The apps that own the counted objects (API keys, alert rules, webhook endpoints, report
schedules) register a counter from their AppConfig.ready(), so billing can show usage against
every limit without importing the apps above it; members are counted here (accounts is below).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

from apps.accounts.models import Organization

from .plans import get_plan, limit_in_sentence

Counter = Callable[[int], int]  # organization id -> how many count against the limit
_counters: dict[str, Counter] = {}


class LimitReached(Exception):
    """Creating one more would exceed the organization's plan."""

    def __init__(self, organization: Organization, limit: str, allowed: int | None) -> None:
        plan = get_plan(organization.plan)
        self.limit, self.allowed, self.plan = limit, allowed, plan.slug
        label = limit_in_sentence(limit)
        super().__init__(f"The {plan.name} plan allows {allowed} {label}; "
                         "upgrade the plan, or remove one first.")


def register_counter(limit: str, counter: Counter) -> None:
    _counters[limit] = counter


def count(organization_id: int, limit: str) -> int | None:
    """How many the organization has of what `limit` counts; None if nothing registered it
    (e.g. report schedules before analytics exists)."""
    counter = _counters.get(limit)
    return counter(organization_id) if counter is not None else None


def allowed(organization: Organization, limit: str) -> int | None:
    value: int | None = getattr(get_plan(organization.plan).limits, limit)
    return value


def check_room(organization: Organization, limit: str, current: int | None = None) -> None:
    """Raise LimitReached unless one more object of this kind fits the plan. `current` is the
    count the caller already has (else the registered counter is asked)."""
    ceiling = allowed(organization, limit)
    if ceiling is None:
        return
    used = current if current is not None else count(organization.pk, limit) or 0
    if used + 1 > ceiling:
        raise LimitReached(organization, limit, ceiling)


class ChannelKindNotInPlan(LimitReached):
    def __init__(self, organization: Organization, kind: str) -> None:
        Exception.__init__(self, f"{kind.capitalize()} channels are not part of the "
                           f"{get_plan(organization.plan).name} plan; upgrade to use them.")
        self.limit, self.allowed, self.plan = "channel_kinds", None, organization.plan
        self.kind = kind


def check_channel_kind(organization: Organization, kind: str) -> None:
    plan = get_plan(organization.plan)
    if kind not in plan.limits.channel_kinds:
        raise ChannelKindNotInPlan(organization, kind)


def over_limit(organization: Organization, limit: str) -> str:
    """The reason shown on an object paused because the plan no longer allows it."""
    plan = get_plan(organization.plan)
    ceiling = allowed(organization, limit)
    label = limit_in_sentence(limit)
    return f"Paused: the {plan.name} plan allows {ceiling} {label}."


def enforce_count(organization: Organization, limit: str, objects: QuerySet[Any]) -> list[Any]:
    """Pause what is over the plan's limit and resume what fits again; nothing is deleted.
    `objects` are the ones that count, oldest first: the oldest keep running. Returns the
    objects whose paused state changed (the caller records them)."""
    ceiling = allowed(organization, limit)
    reason = over_limit(organization, limit)
    changed = []
    for index, obj in enumerate(objects):
        wanted = "" if ceiling is None or index < ceiling else reason
        if obj.paused_reason != wanted:
            obj.paused_reason = wanted
            obj.save(update_fields=["paused_reason"])
            changed.append(obj)
    return changed
