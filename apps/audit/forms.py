from typing import Any

from django import forms

from .actions import GROUPS


class AuditFilterForm(forms.Form):
    """The audit page's filters: an action group, and an actor among those in the log."""

    def __init__(self, *args: Any, actors: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group"] = forms.ChoiceField(
            required=False, label="Concerning", choices=[("", "Everything"), *GROUPS.items()])
        self.fields["actor"] = forms.ChoiceField(
            required=False, label="By", choices=[("", "Anyone"), *((a, a) for a in actors)])
