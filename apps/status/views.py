"""/status/ (public, server-rendered) and `GET /api/v1/status`, the public health answer the
availability probe calls."""
import logging

import redis
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from apps.common.api import error_response

from . import selectors

logger = logging.getLogger(__name__)


def status_page(request: HttpRequest) -> HttpResponse:
    return render(request, "status/status.html", selectors.status_page())


@never_cache
def api_status(request: HttpRequest) -> JsonResponse:
    """Public and cheap: it answers only when this process reaches the database and the cache
    every other API answer needs (the probe, and anyone's own monitoring, call it)."""
    if request.method not in ("GET", "HEAD"):
        return error_response(405, "method_not_allowed", "Only GET is allowed here.",
                              headers={"Allow": "GET, HEAD"})
    try:
        selectors.service_check()
    except (DatabaseError, redis.RedisError):
        logger.exception("the status endpoint cannot reach the database or the cache")
        return error_response(503, "unavailable", "The service cannot reach its database or "
                              "cache; see /status/.")
    return JsonResponse({"status": "ok", "time": timezone.now().isoformat()})
