"""Reads for API keys and usage, always within one organization."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from django.db.models import QuerySet, Sum
from django.utils import timezone

from .models import ApiKey, ApiUsage


def keys_of(organization_id: int) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(organization_id=organization_id).select_related("created_by")


def usage_of(organization_id: int, start: date, end: date) -> QuerySet[ApiUsage]:
    """Per key and day, [start, end] inclusive."""
    return (ApiUsage.objects.filter(organization_id=organization_id, day__gte=start,
                                    day__lte=end).select_related("key").order_by("day", "key_id"))


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
