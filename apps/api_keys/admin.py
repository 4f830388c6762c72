"""API keys in the admin. The key itself is never stored and its HMAC (`digest`) is never shown:
keys are created in the app (which shows the plaintext once), and revoked here only through
`services.revoke_key`, which also revokes the keys a key created and drops it from the caches."""
from django.contrib import admin, messages
from django.utils import timezone

from . import services
from .models import ApiKey, ApiUsage

# `digest` is left out everywhere; everything but the name is what the key was made with
# (scope and expiry are cached by every API instance, revocation goes through the action).
KEY_FIELDS = ("name", "prefix", "organization", "scope", "state", "created_by", "created_at",
              "expires_at", "revoked_at", "replaces", "created_by_key", "last_used_at",
              "last_used_ip")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "organization", "scope", "state", "created_at",
                    "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["organization"]
    search_fields = ["name", "prefix", "organization__name", "organization__slug"]
    date_hierarchy = "created_at"
    fields = KEY_FIELDS
    readonly_fields = [f for f in KEY_FIELDS if f != "name"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # a key is created in the app, which shows its plaintext once

    @admin.display(description="state")
    def state(self, key: ApiKey) -> str:
        if key.revoked_at is not None:
            return "revoked"
        if key.expires_at is not None and key.expires_at <= timezone.now():
            return "expired"
        return "active"

    @admin.action(description="Revoke the selected keys (and the keys they created)",
                  permissions=["change"])
    def revoke(self, request, queryset) -> None:
        now = timezone.now()
        keys = list(queryset.filter(revoked_at__isnull=True))
        for key in keys:
            services.revoke_key(key, now=now)
        self.message_user(request, f"Revoked {len(keys)} key(s).", messages.SUCCESS)


@admin.register(ApiUsage)
class ApiUsageAdmin(admin.ModelAdmin):
    """Daily counters flushed from Redis: a record, read-only."""

    list_display = ["day", "key", "organization", "calls", "response_bytes"]
    list_select_related = ["key", "organization"]
    search_fields = ["key__prefix", "key__name", "organization__name"]
    date_hierarchy = "day"
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
