"""Reads for API keys and usage, always within one organization."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import F, QuerySet, Sum
from django.utils import timezone

from .models import ApiKey, ApiUsage


def keys_of(organization_id: int) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(organization_id=organization_id).select_related("created_by")


def usage_of(organization_id: int, start: date, end: date) -> QuerySet[Any, Any]:
    """Calls and bytes per key and day, [start, end] inclusive (rows: day, key_id, key_prefix,
    key_name, calls, response_bytes)."""
    return (ApiUsage.objects.filter(organization_id=organization_id, day__gte=start, day__lte=end)
            .values("day", "key_id")
            .annotate(key_prefix=F("key__prefix"), key_name=F("key__name"), calls=Sum("calls"),
                      response_bytes=Sum("response_bytes"))
            .order_by("day", "key_id"))


def usage_per_key(organization_id: int, start: date, end: date
                  ) -> QuerySet[Any, Any]:
    """Calls and bytes per key over [start, end], busiest first (rows: key_id, calls,
    response_bytes)."""
    return (ApiUsage.objects.filter(organization_id=organization_id, day__gte=start, day__lte=end)
            .values("key_id").annotate(calls=Sum("calls"), response_bytes=Sum("response_bytes"))
            .order_by("-calls", "key_id"))


def daily_usage(organization_id: int, days: int = 30) -> list[dict]:
    """Calls and bytes per day over the last `days` days, zero-filled (the org page's chart)."""
    today = timezone.now().date()
    start = today - timedelta(days=days - 1)
    rows = (ApiUsage.objects.filter(organization_id=organization_id, day__gte=start)
            .values("day").annotate(calls=Sum("calls"), response_bytes=Sum("response_bytes")))
    totals: dict[date, Mapping[str, Any]] = {row["day"]: row for row in rows}
    return [{"day": day, "calls": totals.get(day, {}).get("calls", 0),
             "response_bytes": totals.get(day, {}).get("response_bytes", 0)}
            for day in (start + timedelta(days=n) for n in range(days))]


def hourly_calls(organization_id: int, start: datetime, end: datetime) -> dict[datetime, int]:
    """Calls per UTC hour in [start, end), all keys together (billing's metered overage)."""
    rows = (ApiUsage.objects.filter(organization_id=organization_id, hour__gte=start,
                                    hour__lt=end)
            .values("hour").annotate(total=Sum("calls")).order_by("hour"))
    return {row["hour"]: row["total"] for row in rows}
