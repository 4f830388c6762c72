"""The rule kinds: one module each, listed here (kind -> dotted path, imported on first use).

Adding a kind is one module — a `RuleKind` with its params, readings and summary — plus its line
here, its choice in `Rule.Kind` (which a test checks against this registry) and its tests.
"""
from __future__ import annotations

from functools import cache

from django.utils.module_loading import import_string

from .base import RuleKind

RULE_KINDS: dict[str, str] = {
    "price_above": "apps.alerts.rule_kinds.price.PriceAbove",
    "price_below": "apps.alerts.rule_kinds.price.PriceBelow",
    "deviation": "apps.alerts.rule_kinds.deviation.Deviation",
    "status": "apps.alerts.rule_kinds.status.FeedStatus",
    "consensus_unavailable": "apps.alerts.rule_kinds.consensus.ConsensusUnavailable",
    "price_move": "apps.alerts.rule_kinds.price_move.PriceMove",
    "quarantine": "apps.alerts.rule_kinds.quarantine.Quarantine",
    "health_below": "apps.alerts.rule_kinds.health.HealthBelow",
}


@cache
def rule_kind(kind: str) -> RuleKind:
    """The kind's class, imported on first use (KeyError for an unknown kind)."""
    return import_string(RULE_KINDS[kind])()


def rule_kinds() -> list[RuleKind]:
    """Every kind, in the registry's order (the order of the forms' choices)."""
    return [rule_kind(kind) for kind in RULE_KINDS]


def choices() -> list[tuple[str, str]]:
    return [(kind.kind, kind.label) for kind in rule_kinds()]
