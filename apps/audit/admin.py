from django.contrib import admin
from django.http import HttpRequest

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The log as written: viewable, never added to, changed or deleted by hand."""

    list_display = ["created_at", "organization", "action", "target_repr", "actor_email",
                    "api_key_prefix", "via", "ip"]
    list_filter = ["via", "action"]
    list_select_related = ["organization"]
    search_fields = ["organization__name", "action", "target_repr", "actor_email",
                     "api_key_prefix"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
