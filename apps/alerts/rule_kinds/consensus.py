"""`consensus_unavailable`: each pair in scope (`pair` or `all`) that has no consensus, and
why."""
from __future__ import annotations

from apps.alerts.models import Rule

from .base import Context, Reading, RuleKind


class ConsensusUnavailable(RuleKind):
    kind = "consensus_unavailable"
    label = "Consensus unavailable"
    scopes = (Rule.Scope.PAIR, Rule.Scope.ALL)
    scope_error = "Consensus is a pair's: scope pair or all."

    def reads_feeds(self, rule: Rule) -> bool:
        return False

    def pair_reading(self, rule: Rule, state: dict, context: Context) -> Reading:
        pair, missing = state["pair"], state["consensus"] is None
        return Reading(pair, missing, state["reason"] if missing else state["consensus"],
                       f"{pair} has no consensus: {state['reason']}" if missing
                       else f"{pair} consensus {state['consensus']}")
