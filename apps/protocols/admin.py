from typing import TYPE_CHECKING, TypedDict

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from apps.feeds.models import Feed

from .models import (
    BackfillCursor,
    CatalogLoad,
    FeedReadState,
    Protocol,
    SignedPayload,
    SyncRun,
)
from .selectors import feed_configuration

if TYPE_CHECKING:  # django-stubs' helper; a development dependency, not installed in production
    from django_stubs_ext import WithAnnotations


# Feeds are registered here, not in the feeds app: what a feed needs before it can be read
# (its configuration column) is ingestion's knowledge, and feeds may not import protocols.
@admin.register(Feed)
class FeedAdmin(admin.ModelAdmin):
    list_display = [
        "key", "protocol", "pair", "chain", "source_kind", "decimals",
        "heartbeat_seconds", "deviation_threshold_bps", "enabled", "configuration",
    ]
    list_filter = ["enabled", "source_kind", "protocol", "chain"]
    list_select_related = ["protocol", "pair", "chain"]
    search_fields = ["key", "pair__slug", "address", "feed_id"]
    autocomplete_fields = ["pair"]
    list_editable = ["enabled"]

    @admin.display(description="configuration")
    def configuration(self, feed: Feed) -> str:
        return feed_configuration(feed)


class _FeedCount(TypedDict):
    feed_count: int


@admin.register(Protocol)
class ProtocolAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "feed_count", "website"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Protocol]:
        return super().get_queryset(request).annotate(feed_count=Count("feeds"))

    @admin.display(ordering="feed_count", description="feeds")
    def feed_count(self, obj: "WithAnnotations[Protocol, _FeedCount]") -> int:
        return obj.feed_count


@admin.register(CatalogLoad)
class CatalogLoadAdmin(admin.ModelAdmin):
    list_display = ["loaded_at", "network", "catalog_version", "feeds", "mainnet_backed"]
    list_filter = ["network"]


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ["started_at", "protocol", "chain", "block_number", "duration_ms",
                    "feeds_read", "ok", "new", "rejected", "failed", "error_class", "breaker"]
    list_filter = ["protocol", "chain", "breaker", "error_class"]
    list_select_related = ["protocol", "chain"]
    date_hierarchy = "started_at"
    show_full_result_count = False


@admin.register(FeedReadState)
class FeedReadStateAdmin(admin.ModelAdmin):
    list_display = ["feed", "ok", "reason", "since", "detail"]
    list_filter = ["ok", "reason", "feed__protocol"]
    list_select_related = ["feed__protocol", "feed__pair", "feed__chain"]
    search_fields = ["feed__key", "reason"]
    raw_id_fields = ["feed"]


@admin.register(BackfillCursor)
class BackfillCursorAdmin(admin.ModelAdmin):
    list_display = ["feed", "since", "oldest", "rows", "done", "updated_at"]
    list_filter = ["done"]
    list_select_related = ["feed__protocol", "feed__pair", "feed__chain"]
    search_fields = ["feed__key"]
    raw_id_fields = ["feed"]


@admin.register(SignedPayload)
class SignedPayloadAdmin(admin.ModelAdmin):
    list_display = ["received_at", "protocol", "format", "size", "verified"]
    list_filter = ["protocol", "format", "verified"]
    exclude = ["data"]
    readonly_fields = ["protocol", "received_at", "format", "covers", "verified", "hex"]
    date_hierarchy = "received_at"
    show_full_result_count = False

    @admin.display(description="bytes")
    def size(self, payload: SignedPayload) -> int:
        return len(payload.data)

    @admin.display(description="data (hex)")
    def hex(self, payload: SignedPayload) -> str:
        return bytes(payload.data).hex()
