"""Operators see the mirror and the events; the plan is assigned with an action that goes
through the same service as Stripe's changes (pausing, the throttle, the audit log)."""
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.accounts.admin import OrganizationAdmin
from apps.accounts.models import Organization

from . import services
from .models import BillingAccount, MeterReport, StripeEvent
from .webhooks import process

admin.site.unregister(Organization)


@admin.register(Organization)
class PlannedOrganizationAdmin(OrganizationAdmin):
    """The organization admin, with plan changes going through billing (pausing what the plan
    no longer allows, the throttle on every instance, the audit log) instead of a bare save."""

    def save_model(self, request: HttpRequest, obj: Organization, form: Any, change: bool
                   ) -> None:
        chosen = obj.plan
        if change and "plan" in form.changed_data:
            obj.plan = form.initial["plan"]
        super().save_model(request, obj, form, change)
        if obj.plan != chosen:
            services.set_plan(obj, chosen)


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    list_display = ("organization", "subscribed_plan", "interval", "status",
                    "current_period_end", "cancel_at_period_end", "stripe_customer_id")
    list_filter = ("status", "subscribed_plan")
    search_fields = ("organization__name", "organization__slug", "stripe_customer_id")
    readonly_fields = [f.name for f in BillingAccount._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created by checkout; Stripe is the source of truth


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ("event_id", "type", "created", "received_at", "processed_at", "attempts")
    list_filter = ("type",)
    search_fields = ("event_id",)
    readonly_fields = [f.name for f in StripeEvent._meta.fields]
    actions = ["process_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Process the selected events again")
    def process_again(self, request: HttpRequest, queryset: QuerySet[StripeEvent]) -> None:
        done = 0
        for event in queryset:
            event.processed_at = None
            try:
                process(event)
                done += 1
            except Exception as error:  # recorded on the event
                self.message_user(request, f"{event.event_id}: {error}", messages.ERROR)
        self.message_user(request, f"{done} events processed.")


@admin.register(MeterReport)
class MeterReportAdmin(admin.ModelAdmin):
    list_display = ("organization", "hour", "calls", "overage", "reported_at", "last_error")
    list_filter = ("reported_at",)
    readonly_fields = [f.name for f in MeterReport._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
