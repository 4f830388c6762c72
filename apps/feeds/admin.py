from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import QuerySet
from django.utils.functional import cached_property

from . import partitions
from .models import (
    Asset,
    Chain,
    ConsensusBar,
    FeedBar,
    Pair,
    PriceObservation,
    QuarantinedRead,
    WatchedPair,
)


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ["symbol", "name", "kind"]
    list_filter = ["kind"]
    search_fields = ["symbol", "name"]


@admin.register(Pair)
class PairAdmin(admin.ModelAdmin):
    list_display = ["slug", "base", "quote"]
    list_select_related = ["base", "quote"]
    search_fields = ["slug", "base__name"]
    autocomplete_fields = ["base", "quote"]


@admin.register(Chain)
class ChainAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "chain_id", "family"]
    list_filter = ["family"]
    search_fields = ["name", "slug", "chain_id"]


class EstimatedCountPaginator(Paginator):
    """Counting millions of partitioned rows on every page load is too slow: use the
    planner's estimate for the unfiltered list and a bounded count otherwise."""

    BOUND = 10_000
    object_list: QuerySet[Any]  # the admin's changelist paginates querysets

    @cached_property
    def count(self) -> int:
        query = self.object_list.query
        if connection.vendor == "postgresql" and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT COALESCE(SUM(GREATEST(c.reltuples, 0)), 0)::bigint "
                    "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = %s::regclass",
                    [partitions.PARENT],
                )
                estimate = cursor.fetchone()[0]
            if estimate > self.BOUND:
                return estimate
        return self.object_list[: self.BOUND + 1].count()


@admin.register(PriceObservation)
class PriceObservationAdmin(admin.ModelAdmin):
    list_display = [
        "id", "feed", "price", "source_ts", "fetched_at", "round_id", "block_number", "verified",
    ]
    list_filter = ["verified", "feed__protocol", "feed__source_kind"]
    list_select_related = ["feed__protocol", "feed__pair", "feed__chain"]
    search_fields = ["feed__key"]
    raw_id_fields = ["feed"]
    ordering = ["-id"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False


@admin.register(QuarantinedRead)
class QuarantinedReadAdmin(admin.ModelAdmin):
    list_display = ["created_at", "feed", "reason", "raw_value", "source_ts"]
    list_filter = ["reason", "feed__protocol"]
    list_select_related = ["feed__protocol", "feed__pair", "feed__chain"]
    search_fields = ["feed__key", "reason", "raw_value"]
    raw_id_fields = ["feed"]
    date_hierarchy = "created_at"
    show_full_result_count = False


# --- OHLC rollups (read-only: apps/feeds/rollups.py writes them) --------------------------------

class _BarAdmin(admin.ModelAdmin):
    list_display = ["start", "resolution", "open", "high", "low", "close", "count"]
    list_filter = ["resolution"]
    ordering = ["-start"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FeedBar)
class FeedBarAdmin(_BarAdmin):
    list_display = ["feed", *_BarAdmin.list_display]
    list_select_related = ["feed__protocol", "feed__pair", "feed__chain"]
    search_fields = ["feed__key"]


@admin.register(ConsensusBar)
class ConsensusBarAdmin(_BarAdmin):
    list_display = ["pair", *_BarAdmin.list_display]
    list_select_related = ["pair"]
    search_fields = ["pair__slug"]


@admin.register(WatchedPair)
class WatchedPairAdmin(admin.ModelAdmin):
    list_display = ["organization", "pair", "added_by", "created_at"]
    list_select_related = ["organization", "pair", "added_by"]
    search_fields = ["organization__name", "pair__slug"]
    raw_id_fields = ["organization", "pair", "added_by"]
