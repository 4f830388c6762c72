from django.contrib import admin
from django.db.models import Count

from .models import CatalogLoad, Protocol


@admin.register(Protocol)
class ProtocolAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "feed_count", "website"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(feed_count=Count("feeds"))

    @admin.display(ordering="feed_count", description="feeds")
    def feed_count(self, obj: Protocol) -> int:
        return obj.feed_count


@admin.register(CatalogLoad)
class CatalogLoadAdmin(admin.ModelAdmin):
    list_display = ["loaded_at", "network", "catalog_version", "feeds", "mainnet_backed"]
    list_filter = ["network"]
