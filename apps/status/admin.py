from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from apps.protocols.models import Protocol

from .models import (
    API,
    WEBSOCKET,
    ComponentDay,
    IncidentUpdate,
    PlatformIncident,
    ProbeResult,
    SlaCredit,
    SlaMonth,
    ingestion_component,
)


def component_choices() -> list[tuple[str, str]]:
    return [(API, "API"), (WEBSOCKET, "WebSocket API"), *(
        (ingestion_component(slug), f"Ingestion: {name}")
        for slug, name in Protocol.objects.order_by("name").values_list("slug", "name"))]


class PlatformIncidentForm(forms.ModelForm):
    components = forms.MultipleChoiceField(required=False, choices=component_choices,
                                           widget=forms.CheckboxSelectMultiple,
                                           help_text="What the incident affects")

    class Meta:
        model = PlatformIncident
        fields = ["title", "status", "body", "components", "started_at", "resolved_at"]


class IncidentUpdateInline(admin.StackedInline):
    model = IncidentUpdate
    extra = 1
    fields = ["status", "body", "posted_at"]


@admin.register(PlatformIncident)
class PlatformIncidentAdmin(admin.ModelAdmin):
    """Operators post platform incidents here; /status/ shows them (resolved ones for 90 days).
    Resolving an incident without a resolution time stamps it now."""

    form = PlatformIncidentForm
    inlines = [IncidentUpdateInline]
    list_display = ["title", "status", "started_at", "resolved_at"]
    list_filter = ["status"]
    search_fields = ["title", "body"]


@admin.register(IncidentUpdate)
class IncidentUpdateAdmin(admin.ModelAdmin):
    list_display = ["incident", "status", "posted_at"]
    list_filter = ["status"]
    list_select_related = ["incident"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the platform writes itself."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ProbeResult)
class ProbeResultAdmin(ReadOnlyAdmin):
    list_display = ["at", "component", "state", "ok", "latency_ms", "detail"]
    list_filter = ["component", "state", "ok"]
    date_hierarchy = "at"


@admin.register(ComponentDay)
class ComponentDayAdmin(ReadOnlyAdmin):
    list_display = ["day", "component", "minutes", "ok_minutes", "since"]
    list_filter = ["component"]
    date_hierarchy = "day"


@admin.register(SlaMonth)
class SlaMonthAdmin(ReadOnlyAdmin):
    list_display = ["month", "availability", "computed_at"]


@admin.register(SlaCredit)
class SlaCreditAdmin(ReadOnlyAdmin):
    list_display = ["month", "organization", "availability", "credit_percent", "amount",
                    "currency", "applied_at", "stripe_balance_transaction_id"]
    list_filter = ["month", "applied_at"]
    list_select_related = ["organization"]
    search_fields = ["organization__name", "stripe_balance_transaction_id"]
