"""What every rule kind is made of (apps/alerts/rule_kinds/<kind>.py, listed in `RULE_KINDS`).

A kind declares its parameters — name, type, bounds, default, label and help text — and from
those one declaration the rule form shows its fields (apps/alerts/forms.py), the rule service
validates what was typed or posted (`clean_params`, apps/alerts/services/rules.py) and the API
documents it. The evaluation (apps/alerts/services/evaluation.py) asks the kind for its
`readings`: each subject in the rule's scope, breaching or not; the pages show its `summary`.

The subjects are the feeds in the rule's scope (`reads_feeds`: a reading per feed row of the
pairs' states) or the pairs in scope (a reading per pair's consensus). What a kind needs beyond
the states (quarantined reads, past prices, health scores) it loads through the evaluation's
`Context`, once per evaluation for every rule that asks.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from apps.alerts.models import Rule

ALL_SCOPES: tuple[str, ...] = tuple(Rule.Scope.values)


# --- parameters ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Param:
    """One parameter of a rule kind, stored in `Rule.params[name]`.

    `required`: the message when it is missing (the form's; the service answers with the type's
    error). Otherwise, when it is absent, `default` is stored (None: nothing is stored);
    `null_is_absent` treats an explicit null as absent too (else null is checked, and refused).
    """

    name: str
    label: str
    help_text: str = ""
    required: str = ""
    default: Any = None
    null_is_absent: bool = False

    @property
    def key(self) -> str:
        """The key of its errors: `params.<name>`."""
        return f"params.{self.name}"

    def clean(self, params: dict, errors: dict[str, str]) -> tuple[bool, Any]:
        """(whether to store it, the cleaned value); problems go into `errors`."""
        absent = self.name not in params or (self.null_is_absent and params[self.name] is None)
        if absent and not self.required and self.default is None:
            return False, None
        value = params.get(self.name) if self.required or not absent else self.default
        return self.store(self.check(value, errors))

    def check(self, value: object, errors: dict[str, str]) -> Any:
        raise NotImplementedError

    def store(self, cleaned: Any) -> tuple[bool, Any]:
        return True, cleaned

    # How a form shows it and reads it back (the form's fields are built by apps/alerts/forms).
    def from_form(self, typed: Any) -> Any:
        """The value typed into the form; None when left empty (then `clean` applies the
        default)."""
        return typed if typed not in (None, "", []) else None

    def to_form(self, stored: Any) -> Any:
        return "" if stored is None else stored

    def same_field(self, other: Param) -> bool:
        """Whether two kinds' parameters of one name can share a form field."""
        return type(self) is type(other) and self._bounds() == other._bounds()

    def _bounds(self) -> tuple:
        return ()


@dataclass(frozen=True)
class DecimalParam(Param):
    """A decimal, stored as a string (`"3000.5"`): above `low`, at most `high` if given."""

    low: str = "0"
    high: str | None = None
    max_length: int = 20

    def check(self, value: object, errors: dict[str, str]) -> str | None:
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            errors[self.key] = "A decimal number (as a string, e.g. \"3000.5\")."
            return None
        if not number.is_finite() or number <= Decimal(self.low) or (
                self.high and number > Decimal(self.high)):
            errors[self.key] = f"Must be above {self.low}" + (
                f" and at most {self.high}." if self.high else ".")
            return None
        return str(number)

    def _bounds(self) -> tuple:
        return self.low, self.high, self.max_length


@dataclass(frozen=True)
class WholeParam(Param):
    """A JSON integer from `low` to `high`."""

    low: int = 0
    high: int = 0

    def check(self, value: object, errors: dict[str, str]) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or \
                not self.low <= value <= self.high:
            errors[self.key] = f"A whole number from {self.low} to {self.high}."
            return None
        return value

    def to_form(self, stored: Any) -> Any:
        return stored

    def _bounds(self) -> tuple:
        return self.low, self.high


@dataclass(frozen=True)
class ChoicesParam(Param):
    """A non-empty list of some of `choices`."""

    choices: tuple[str, ...] = ()

    def check(self, value: object, errors: dict[str, str]) -> object:
        if not isinstance(value, list) or not value or set(value) - set(self.choices):
            errors[self.key] = f"A non-empty list of: {', '.join(self.choices)}."
        return value

    def from_form(self, typed: Any) -> Any:
        return list(typed) if typed else None

    def to_form(self, stored: Any) -> Any:
        return stored or []

    def _bounds(self) -> tuple:
        return self.choices


@dataclass(frozen=True)
class CodesParam(Param):
    """A list of codes (non-empty strings), typed separated by spaces; stored only when not
    empty."""

    example: str = ""
    max_length: int = 200

    def check(self, value: object, errors: dict[str, str]) -> object:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            errors[self.key] = f"A list of reason codes, e.g. [\"{self.example}\"]."
            return None
        return value

    def store(self, cleaned: Any) -> tuple[bool, Any]:
        return bool(cleaned), cleaned

    def from_form(self, typed: Any) -> Any:
        return typed.split() if typed else None

    def to_form(self, stored: Any) -> Any:
        return " ".join(stored or [])

    def _bounds(self) -> tuple:
        return (self.max_length,)


# --- evaluation ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reading:
    subject: str
    breaching: bool | None  # None: inside a hysteresis band, or unknown: keep the current state
    value: str
    summary: str


class Context:
    """What some kinds need beyond the states (quarantined reads, past prices, the feeds' own
    deviation bands, health scores), read once per evaluation and only if a rule asks: each
    kind loads its own through `memo`."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._cache: dict = {}

    def memo(self, key: tuple, load: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]


def feed_in_scope(rule: Rule, state: dict, row: dict) -> bool:
    in_scope: dict[str, bool] = {Rule.Scope.FEED: row["key"] == rule.target,
                                 Rule.Scope.PAIR: state["pair"] == rule.target,
                                 Rule.Scope.PROTOCOL: row["protocol"] == rule.target,
                                 Rule.Scope.ALL: True}
    return in_scope[rule.scope]


def pair_in_scope(rule: Rule, state: dict) -> bool:
    return rule.scope == Rule.Scope.ALL or (rule.scope == Rule.Scope.PAIR
                                            and state["pair"] == rule.target)


def feed_rows(rule: Rule, state: dict) -> list[dict]:
    """The state's feed rows in the rule's scope (a feed converted from a stablecoin pair is
    judged once, in its own pair)."""
    return [row for row in state["feeds"]
            if row["converted_from"] is None and feed_in_scope(rule, state, row)]


# --- the kind -----------------------------------------------------------------------------------

class RuleKind:
    """One rule kind. Subclasses set `kind`, `label` (as in `Rule.Kind`), their `params`, the
    `scopes` they accept (with `scope_error` for the others), and implement `feed_reading` or
    `pair_reading` (or `readings`); `summary` is what the pages show of the params."""

    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    scopes: ClassVar[tuple[str, ...]] = ALL_SCOPES
    scope_error: ClassVar[str] = ""

    def clean_params(self, params: dict, errors: dict[str, str]) -> dict:
        """The params to store, from what was posted; problems go into `errors` under
        `params.<name>`."""
        cleaned = {}
        for param in self.params:
            keep, value = param.clean(params, errors)
            if keep:
                cleaned[param.name] = value
        return cleaned

    def reads_feeds(self, rule: Rule) -> bool:
        """True: a subject per feed in scope; False: per pair in scope (its consensus)."""
        return True

    def readings(self, rule: Rule, states: Iterable[dict], context: Context) -> list[Reading]:
        """The rule's subjects among these pair states, each breaching or not."""
        found: list[Reading | None] = []
        for state in states:
            if self.reads_feeds(rule):
                found += [self.feed_reading(rule, row, state, context)
                          for row in feed_rows(rule, state)]
            elif pair_in_scope(rule, state):
                found.append(self.pair_reading(rule, state, context))
        return [r for r in found if r is not None]

    def feed_reading(self, rule: Rule, row: dict, state: dict,
                     context: Context) -> Reading | None:
        raise NotImplementedError

    def pair_reading(self, rule: Rule, state: dict, context: Context) -> Reading | None:
        raise NotImplementedError

    def summary(self, rule: Rule) -> str:
        """The rule's condition in a few words, for the pages."""
        return "—"
