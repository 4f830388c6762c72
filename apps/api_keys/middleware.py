"""The public API's front door, as middleware so the hot path stays short: identify the caller
(API key or dashboard session), one throttle round trip, then the view; rate-limit headers,
gzip and usage accounting on the way out. Schema and documentation pages are public."""
from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisSerializer
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.gzip import GZipMiddleware

from apps.audit.context import Actor, acting_as
from apps.audit.middleware import client_ip
from apps.billing.plans import get_plan
from apps.common.api import conditional_response, error_response
from apps.feeds.pair_state import latest_body_key

from . import runtime
from .principal import Principal, PrincipalRequest, from_key, from_session, presented_key
from .throttle import Caller, Decision, Window, plan_limits

logger = logging.getLogger(__name__)

API_PATH = "/api/v1/"
# Public without a key: the schema and documentation pages (prefixes: their assets and formats
# live below them) and the availability probe's endpoint (that exact path only: its route has no
# trailing slash or subpaths, and a prefix would let "/api/v1/status<anything>" skip the key).
PUBLIC_PREFIXES = ("/api/v1/schema/", "/api/v1/docs/", "/api/v1/redoc/")
PUBLIC_EXACT = frozenset({"/api/v1/status"})
AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="api"'}
LATEST_PATH = re.compile(r"^/api/v1/pairs/([A-Za-z0-9._-]+)/latest$")
_serializer = RedisSerializer()  # how the cache stored what the throttle script fetched


class ApiMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.gzip = GZipMiddleware(get_response)

    def __call__(self, request: PrincipalRequest) -> HttpResponseBase:
        path = request.path_info
        if not path.startswith(API_PATH):
            return self.get_response(request)
        if path in PUBLIC_EXACT or path.startswith(PUBLIC_PREFIXES):
            return self.gzip.process_response(request, self.get_response(request))
        raw = presented_key(request)
        principal = from_key(raw) if raw is not None else from_session(request)
        if principal is None:
            if raw is not None:
                return error_response(401, "invalid_key", "The API key is malformed, unknown, "
                                      "revoked or expired.", headers=AUTHENTICATE)
            return error_response(401, "not_authenticated", "Send an API key as "
                                  "`Authorization: Bearer <key>` or `X-API-Key: <key>`.",
                                  headers=AUTHENTICATE)
        prefetch = _prefetch_key(path)
        decision = self._hit(request, principal, prefetch)
        if decision is not None and decision.revoked:
            if principal.key_id is not None:  # always: only keys are ever revoked
                runtime.forget_key(principal.key_id, revoked=False)
            return error_response(401, "invalid_key", "The API key is malformed, unknown, "
                                  "revoked or expired.", headers=AUTHENTICATE)
        if decision is not None and decision.plan and decision.plan != principal.tier:
            principal = dataclasses.replace(principal, tier=decision.plan)  # changed meanwhile
        paused = decision.paused if decision is not None and decision.plan is not None \
            else bool(principal.paused_reason)
        if paused:
            return error_response(403, "key_paused", paused_message(principal.tier),
                                  {"tier": principal.tier})
        response: HttpResponseBase
        if decision is not None and not decision.allowed:
            response = error_response(
                429, "rate_limited", f"Too many requests; retry in {decision.retry_after} s.",
                {"retry_after": decision.retry_after, "tier": principal.tier},
                headers={"Retry-After": str(decision.retry_after)})
        else:
            request.api_principal = principal
            if decision is not None and decision.fetched and request.method in ("GET", "HEAD"):
                # The answer was pre-serialized and came back with the throttle decision: the
                # same response the view would build, without resolving and dispatching.
                response = conditional_response(request, _serializer.loads(decision.fetched))
            elif principal.key_id is not None:
                # What the key does is recorded as done by the key, not by a session.
                with acting_as(Actor(via="api_key", api_key_id=principal.key_id,
                                     api_key_prefix=principal.key_prefix,
                                     ip=client_ip(request))):
                    response = self.get_response(request)
            else:
                response = self.get_response(request)
        if decision is not None:
            _rate_limit_headers(response, decision)
        response = self.gzip.process_response(request, response)
        if principal.key_id and isinstance(response, HttpResponse):  # not streamed: has content
            runtime.record_bytes(principal.key_id, len(response.content))
        return response

    @staticmethod
    def _hit(request: HttpRequest, principal: Principal, prefetch: str) -> Decision | None:
        limits = plan_limits(principal.tier)
        if principal.key_id is None:
            # A signed-in person browsing the product's own pages is not API volume: only
            # key calls count against (and are billed past) the monthly volume, as metering
            # counts them.
            limits = tuple(limit for limit in limits if not limit.period)
        caller = Caller(subjects=(principal.subject, f"org:{principal.organization_id}"),
                        limits=limits, key_id=principal.key_id,
                        ip=request.META.get("REMOTE_ADDR", ""),
                        organization_id=principal.organization_id)
        try:
            return runtime.throttle().hit(caller, fetch=prefetch)
        except Exception:
            # Redis down: serving without limits beats refusing every paying client.
            logger.exception("rate limiter unavailable; request served unthrottled")
            return None


def _prefetch_key(path: str) -> str:
    """The Redis key of the pre-serialized answer to this path, if it has one (the latest
    state of a pair, which refresh_pairs writes through the cache)."""
    match = LATEST_PATH.match(path)
    if match is None or not settings.REDIS_URL:
        return ""
    return cache.make_key(latest_body_key(match.group(1)))


def paused_message(plan: str) -> str:
    allowed = get_plan(plan).limits.api_keys
    return (f"This key is paused: the {get_plan(plan).name} plan allows {allowed} API keys. "
            "Upgrade the plan, or revoke another key, and it works again.")


def _rate_limit_headers(response: HttpResponseBase, decision: Decision) -> None:
    tightest = decision.tightest
    response["X-RateLimit-Limit"] = str(tightest.limit.quota)
    response["X-RateLimit-Remaining"] = str(tightest.remaining)
    reset = decision.retry_after if not decision.allowed else tightest.reset
    response["X-RateLimit-Reset"] = str(int(time.time()) + reset)
    # draft-ietf-httpapi-ratelimit-headers-11: structured fields, one item per policy.
    response["RateLimit-Policy"] = ", ".join(
        f'"{w.limit.name}";q={w.limit.quota};w={w.limit.window}' for w in _per_policy(decision))
    response["RateLimit"] = ", ".join(
        f'"{w.limit.name}";r={w.remaining};t={w.reset}' for w in _per_policy(decision))


def _per_policy(decision: Decision) -> list[Window]:
    """The key's and the organization's windows merged: per policy, the one with less left."""
    merged: dict[str, Window] = {}
    for window in decision.enforced:
        seen = merged.get(window.limit.name)
        if seen is None or window.remaining < seen.remaining:
            merged[window.limit.name] = window
    return list(merged.values())
