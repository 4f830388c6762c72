"""The webhook pages' forms. They only check shapes (lengths, known choices, a list of slugs);
`services.create_endpoint` / `update_endpoint` decide what is acceptable (a public URL, at least
one event, existing pairs), and the views put the service's field errors on these forms."""
import re

from django import forms

from .models import Event
from .services import SUBSCRIBABLE

MAX_PAIRS = 200
_SEPARATORS = re.compile(r"[\s,]+")


def event_choices() -> list[tuple[str, str]]:
    return [(value, f"{value} — {Event(value).label}") for value in SUBSCRIBABLE]


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(
        label="URL", max_length=500, error_messages={"required": "An endpoint needs a URL."},
        help_text="Public http(s) address; private, loopback and link-local addresses are refused.",
    )
    description = forms.CharField(max_length=200, required=False)
    # Not required here: the service says which events exist when none is chosen.
    events = forms.MultipleChoiceField(choices=event_choices, required=False,
                                       widget=forms.CheckboxSelectMultiple)
    pairs = forms.CharField(
        required=False, max_length=5000,
        help_text="Pair slugs such as ETH-USD, separated by commas or spaces. "
                  "Needed for price.updated.",
    )

    def clean_pairs(self) -> list[str]:
        slugs = [slug for slug in _SEPARATORS.split(self.cleaned_data.get("pairs") or "") if slug]
        slugs = list(dict.fromkeys(slugs))
        if len(slugs) > MAX_PAIRS:
            raise forms.ValidationError(f"At most {MAX_PAIRS} pairs.")
        return slugs


class EditWebhookEndpointForm(WebhookEndpointForm):
    enabled = forms.BooleanField(required=False, label="Enabled")

    @classmethod
    def for_endpoint(cls, endpoint) -> "EditWebhookEndpointForm":
        return cls(initial={
            "url": endpoint.url, "description": endpoint.description,
            "events": list(endpoint.events), "pairs": ", ".join(endpoint.pairs),
            "enabled": endpoint.enabled,
        })
