"""Sign-up with a plan: a new user starts on Free, or goes on to the chosen paid plan's
Checkout (the organization they get at sign-up is the one that subscribes)."""
from __future__ import annotations

from typing import Any

from allauth.account.forms import SignupForm
from django import forms
from django.conf import settings

from .plans import INTERVALS, Interval, plans, price_id

FREE = "free"


def plan_choices() -> list[tuple[str, str]]:
    """"free", then "<plan>:<interval>" for every paid plan and interval on sale here."""
    choices = [(FREE, "Free — no card needed")]
    for plan in plans():
        for interval in INTERVALS:
            if not plan.is_paid or not price_id(plan.slug, interval):
                continue
            price = plan.price(interval)
            per = "month" if interval == "monthly" else "year"
            trial = f"{plan.trial_days}-day free trial, then " if plan.trial_days else ""
            choices.append((f"{plan.slug}:{interval}",
                            f"{plan.name} — {trial}${price:,.0f} per {per}"))
    return choices


def parse_choice(value: str) -> tuple[str, Interval] | None:
    """("pro", "monthly") for "pro:monthly" when it is on sale; None for Free or unknown."""
    for plan in plans():
        for interval in INTERVALS:
            if plan.is_paid and value == f"{plan.slug}:{interval}" \
                    and price_id(plan.slug, interval):
                return plan.slug, interval
    return None


class PlanSignupForm(SignupForm):
    """allauth's sign-up form, with the plan to start on (when billing is on)."""

    plan = forms.ChoiceField(label="Plan", widget=forms.RadioSelect, initial=FREE,
                             required=False)  # not sent: Free

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = plan_choices() if settings.OP_BILLING_ENABLED else []
        if len(choices) < 2:  # nothing to choose: everyone starts on Free
            del self.fields["plan"]
        else:
            self.fields["plan"].choices = choices

    def chosen_plan(self) -> tuple[str, Interval] | None:
        """The paid plan and interval to check out after sign-up; None: Free."""
        return parse_choice(self.cleaned_data.get("plan") or FREE)
