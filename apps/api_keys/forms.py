from datetime import UTC, datetime, time

from django import forms
from django.utils import timezone

from .models import ApiKey


class CreateKeyForm(forms.Form):
    name = forms.CharField(max_length=100, error_messages={"required": "A key needs a name."})
    scope = forms.ChoiceField(choices=ApiKey.Scope.choices, initial=ApiKey.Scope.READ)
    expires_on = forms.DateField(
        required=False, label="Expires on",
        help_text="Optional. The key stops working at the start of this day (UTC).",
    )

    def clean_expires_on(self):
        day = self.cleaned_data.get("expires_on")
        if day is not None and day <= timezone.now().date():
            raise forms.ValidationError("Choose a day after today.")
        return day

    @property
    def expires_at(self) -> datetime | None:
        day = self.cleaned_data.get("expires_on")
        return datetime.combine(day, time.min, tzinfo=UTC) if day else None
