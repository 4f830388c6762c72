"""`Client` (sync) and `AsyncClient` (async): one method per operation of /api/v1/.

List operations return a paginator that walks every page through the `next` links; iterate it
(`for pair in client.pairs()` / `async for pair in client.pairs()`), or use `.pages()` for one
list per page and `.to_list()` for everything at once. `limit` sets the page size.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar, cast

import httpx

from . import types as t
from ._core import ApiError, RetryPolicy, base_url, decode, headers, next_params, params, segment

T = TypeVar("T")
When = datetime | str | None
Day = date | str | None

# Every operationId of the OpenAPI schema → the method (of Client and of AsyncClient) that
# calls it. tests/api/test_sdks.py fails when the schema has an operation missing here.
OPERATIONS: dict[str, str] = {
    "assets_list": "assets",
    "chains_list": "chains",
    "pairs_list": "pairs",
    "pairs_retrieve": "pair",
    "pairs_latest_retrieve": "pair_latest",
    "pairs_history_retrieve": "pair_history",
    "pairs_deviation_retrieve": "pair_deviation",
    "pairs_health_retrieve": "pair_health",
    "feeds_list": "feeds",
    "feeds_retrieve": "feed",
    "feeds_latest_retrieve": "feed_latest",
    "feeds_history_retrieve": "feed_history",
    "feeds_health_retrieve": "feed_health",
    "feeds_quarantine_list": "feed_quarantine",
    "protocols_list": "protocols",
    "protocols_retrieve": "protocol",
    "protocols_health_retrieve": "protocol_health",
    "keys_list": "keys",
    "keys_create": "create_key",
    "keys_retrieve": "key",
    "keys_destroy": "revoke_key",
    "keys_rotate_create": "rotate_key",
    "usage_retrieve": "usage",
    "audit_events_list": "audit_events",
    "webhooks_list": "webhooks",
    "webhooks_create": "create_webhook",
    "webhooks_retrieve": "webhook",
    "webhooks_update": "update_webhook",
    "webhooks_destroy": "delete_webhook",
    "webhooks_rotate_secret_create": "rotate_webhook_secret",
    "webhooks_test_create": "test_webhook",
    "webhooks_messages_list": "webhook_messages",
    "webhooks_messages_redeliver_create": "redeliver_webhook_message",
    "alerts_channels_list": "alert_channels",
    "alerts_channels_create": "create_alert_channel",
    "alerts_channels_retrieve": "alert_channel",
    "alerts_channels_update": "update_alert_channel",
    "alerts_channels_destroy": "delete_alert_channel",
    "alerts_channels_test_create": "test_alert_channel",
    "alerts_rules_list": "alert_rules",
    "alerts_rules_create": "create_alert_rule",
    "alerts_rules_retrieve": "alert_rule",
    "alerts_rules_update": "update_alert_rule",
    "alerts_rules_destroy": "delete_alert_rule",
    "alerts_rules_escalation_update": "set_alert_rule_escalation",
    "alerts_rules_mute_update": "mute_alert_rule",
    "alerts_maintenance_windows_list": "maintenance_windows",
    "alerts_maintenance_windows_create": "create_maintenance_window",
    "alerts_maintenance_windows_destroy": "delete_maintenance_window",
    "alerts_incidents_list": "incidents",
    "alerts_incidents_retrieve": "incident",
    "alerts_incidents_acknowledge_create": "acknowledge_incident",
}


def _span(start: When, end: When, interval: str | None) -> dict[str, str]:
    return params(**{"from": start, "to": end, "interval": interval})


def _create(name: str, scope: str, expires_at: When) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "scope": scope}
    if expires_at is not None:
        body["expires_at"] = params(expires_at=expires_at)["expires_at"]
    return body


def _webhook(url: str, events: Iterable[str], pairs: Iterable[str], description: str,
             **more: Any) -> dict[str, Any]:
    if isinstance(events, str) or isinstance(pairs, str):
        raise TypeError("`events` and `pairs` are lists of strings, not a string")
    return {"url": url, "description": description, "events": list(events),
            "pairs": list(pairs), **more}


def _hook(endpoint_id: int, *rest: str) -> str:
    return "/".join([f"webhooks/{int(endpoint_id)}", *rest])


def _alerts(kind: str, object_id: int | None = None, *rest: str) -> str:
    return "/".join([f"alerts/{kind}", *([str(int(object_id))] if object_id is not None
                                          else []), *rest])


def _channel(name: str, enabled: bool | None = None,
             config: Mapping[str, Any] | None = None, kind: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name}
    if kind is not None:
        body["kind"] = kind
    if enabled is not None:
        body["enabled"] = enabled
    if config is not None:
        body["config"] = dict(config)
    return body


def _rule(name: str, kind: str, scope: str, target: str, params: Mapping[str, Any] | None,
          for_seconds: int, resolve_after_seconds: int, severity: str, channels: Iterable[int],
          enabled: bool) -> dict[str, Any]:
    # a rule read back has `params.price` as a Decimal: send it as the string the API expects
    plain = {k: str(v) if isinstance(v, Decimal) else v for k, v in (params or {}).items()}
    return {"name": name, "kind": kind, "scope": scope, "target": target, "params": plain,
            "for_seconds": for_seconds, "resolve_after_seconds": resolve_after_seconds,
            "severity": severity, "channels": [int(c) for c in channels], "enabled": enabled}


def _escalation(channels: Iterable[int], after_minutes: int) -> dict[str, Any]:
    return {"channels": [int(c) for c in channels], "after_minutes": int(after_minutes)}


def _moment(name: str, value: datetime | str) -> str:
    """A date-time for a request body: timezone-aware (the API refuses naive ones)."""
    return params(**{name: value})[name]


def _mute(until: When) -> dict[str, Any]:
    return {"until": None if until is None else _moment("until", until)}


def _window(starts_at: datetime | str, ends_at: datetime | str, reason: str) -> dict[str, Any]:
    return {"starts_at": _moment("starts_at", starts_at), "ends_at": _moment("ends_at", ends_at),
            "reason": reason}


# --- pagination -------------------------------------------------------------------------------

class Paginator(Generic[T]):
    """Every item of a list operation, page after page, fetched lazily."""

    def __init__(self, fetch: Callable[[dict[str, str]], Any], query: dict[str, str]) -> None:
        self._fetch, self._query = fetch, query

    def pages(self) -> Iterator[list[T]]:
        query: dict[str, str] | None = self._query
        while query is not None:
            page = self._fetch(query)
            yield cast(list[T], page["results"])
            query = next_params(page)

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page

    def to_list(self) -> list[T]:
        return list(self)


class AsyncPaginator(Generic[T]):
    """Every item of a list operation, page after page, fetched lazily (`async for`)."""

    def __init__(self, fetch: Callable[[dict[str, str]], Awaitable[Any]],
                 query: dict[str, str]) -> None:
        self._fetch, self._query = fetch, query

    async def pages(self) -> AsyncIterator[list[T]]:
        query: dict[str, str] | None = self._query
        while query is not None:
            page = await self._fetch(query)
            yield cast(list[T], page["results"])
            query = next_params(page)

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page:
                yield item

    async def to_list(self) -> list[T]:
        return [item async for item in self]


# --- the sync client --------------------------------------------------------------------------

class Client:
    """`Client("https://oracles.example.com", "op_live_…")`; use as a context manager or call
    `close()`. `sleep` (used between retries) and `transport` are injectable for tests."""

    def __init__(self, base: str, api_key: str, *, timeout: float = 10.0,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None,
                 extra_headers: dict[str, str] | None = None) -> None:
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.Client(base_url=base_url(base), headers=headers(api_key, extra_headers),
                                  timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, *, query: dict[str, str] | None = None,
                body: Any = None) -> Any:
        """One call with retries; the decoded JSON body, or ApiError."""
        attempt = 0
        while True:
            response = self._http.request(method, path.lstrip("/"), params=query, json=body)
            if response.is_success:
                return decode(response)
            wait = self.retry.delay(method, response, attempt)
            if wait is None:
                raise ApiError.from_response(response)
            self._sleep(wait)
            attempt += 1

    def paginate(self, path: str, query: dict[str, str] | None = None) -> Paginator[Any]:
        return Paginator(lambda q: self.request("GET", path, query=q), query or {})

    # reference data
    def assets(self, *, limit: int | None = None) -> Paginator[t.Asset]:
        return self.paginate("assets", params(limit=limit))

    def chains(self, *, limit: int | None = None) -> Paginator[t.Chain]:
        return self.paginate("chains", params(limit=limit))

    def protocols(self, *, limit: int | None = None) -> Paginator[t.Protocol]:
        return self.paginate("protocols", params(limit=limit))

    def protocol(self, slug: str) -> t.Protocol:
        return self.request("GET", f"protocols/{segment(slug)}")

    def protocol_health(self, slug: str) -> t.ProtocolHealth:
        return self.request("GET", f"protocols/{segment(slug)}/health")

    # pairs
    def pairs(self, *, base: str | None = None, quote: str | None = None,
              limit: int | None = None) -> Paginator[t.Pair]:
        return self.paginate("pairs", params(base=base, quote=quote, limit=limit))

    def pair(self, slug: str) -> t.Pair:
        return self.request("GET", f"pairs/{segment(slug)}")

    def pair_latest(self, slug: str) -> t.PairLatest:
        return self.request("GET", f"pairs/{segment(slug)}/latest")

    def pair_history(self, slug: str, *, start: When = None, end: When = None,
                     interval: str | None = None) -> t.History:
        return self.request("GET", f"pairs/{segment(slug)}/history",
                            query=_span(start, end, interval))

    def pair_deviation(self, slug: str) -> t.Deviation:
        return self.request("GET", f"pairs/{segment(slug)}/deviation")

    def pair_health(self, slug: str) -> t.PairHealth:
        return self.request("GET", f"pairs/{segment(slug)}/health")

    # feeds
    def feeds(self, *, protocol: str | None = None, pair: str | None = None,
              chain: str | None = None, status: str | None = None,
              limit: int | None = None) -> Paginator[t.Feed]:
        return self.paginate("feeds", params(protocol=protocol, pair=pair, chain=chain,
                                             status=status, limit=limit))

    def feed(self, key: str) -> t.Feed:
        return self.request("GET", f"feeds/{segment(key)}")

    def feed_latest(self, key: str) -> t.FeedLatest:
        return self.request("GET", f"feeds/{segment(key)}/latest")

    def feed_history(self, key: str, *, start: When = None, end: When = None,
                     interval: str | None = None) -> t.History:
        return self.request("GET", f"feeds/{segment(key)}/history",
                            query=_span(start, end, interval))

    def feed_health(self, key: str) -> t.Health:
        return self.request("GET", f"feeds/{segment(key)}/health")

    def feed_quarantine(self, key: str, *, limit: int | None = None,
                        ) -> Paginator[t.QuarantinedRead]:
        return self.paginate(f"feeds/{segment(key)}/quarantine", params(limit=limit))

    # keys and usage
    def keys(self, *, limit: int | None = None) -> Paginator[t.ApiKey]:
        return self.paginate("keys", params(limit=limit))

    def key(self, key_id: int) -> t.ApiKey:
        return self.request("GET", f"keys/{int(key_id)}")

    def create_key(self, name: str, *, scope: t.Scope = "read",
                   expires_at: When = None) -> t.NewApiKey:
        return self.request("POST", "keys", body=_create(name, scope, expires_at))

    def revoke_key(self, key_id: int) -> t.ApiKey:
        return self.request("DELETE", f"keys/{int(key_id)}")

    def rotate_key(self, key_id: int) -> t.NewApiKey:
        return self.request("POST", f"keys/{int(key_id)}/rotate")

    def usage(self, *, start: Day = None, end: Day = None) -> t.Usage:
        return self.request("GET", "usage", query=params(**{"from": start, "to": end}))

    def audit_events(self, *, action: str | None = None, actor: str | None = None,
                     since: When = None, until: When = None, limit: int | None = None,
                     ) -> Paginator[t.AuditEvent]:
        """The audit log, newest first (owners, admins and read-write keys)."""
        return self.paginate("audit-events", params(action=action, actor=actor, since=since,
                                                    until=until, limit=limit))

    # webhooks
    def webhooks(self, *, limit: int | None = None) -> Paginator[t.WebhookEndpoint]:
        return self.paginate("webhooks", params(limit=limit))

    def webhook(self, endpoint_id: int) -> t.WebhookEndpoint:
        return self.request("GET", _hook(endpoint_id))

    def create_webhook(self, url: str, *, events: Iterable[t.WebhookEvent],
                       pairs: Iterable[str] = (), description: str = "",
                       ) -> t.NewWebhookEndpoint:
        return self.request("POST", "webhooks", body=_webhook(url, events, pairs, description))

    def update_webhook(self, endpoint_id: int, *, url: str, events: Iterable[t.WebhookEvent],
                       pairs: Iterable[str] = (), description: str = "",
                       enabled: bool = True) -> t.WebhookEndpoint:
        return self.request("PUT", _hook(endpoint_id),
                            body=_webhook(url, events, pairs, description, enabled=enabled))

    def delete_webhook(self, endpoint_id: int) -> None:
        self.request("DELETE", _hook(endpoint_id))

    def rotate_webhook_secret(self, endpoint_id: int) -> t.NewWebhookEndpoint:
        return self.request("POST", _hook(endpoint_id, "rotate-secret"))

    def test_webhook(self, endpoint_id: int) -> t.WebhookMessage:
        return self.request("POST", _hook(endpoint_id, "test"))

    def webhook_messages(self, endpoint_id: int, *, limit: int | None = None,
                         ) -> Paginator[t.WebhookMessage]:
        return self.paginate(_hook(endpoint_id, "messages"), params(limit=limit))

    def redeliver_webhook_message(self, endpoint_id: int, msg_id: str) -> t.WebhookMessage:
        return self.request("POST", _hook(endpoint_id, "messages", segment(msg_id),
                                          "redeliver"))

    # alerts: channels, rules (escalation, mute), incidents, maintenance windows
    def alert_channels(self, *, limit: int | None = None) -> Paginator[t.Channel]:
        return self.paginate("alerts/channels", params(limit=limit))

    def alert_channel(self, channel_id: int) -> t.Channel:
        return self.request("GET", _alerts("channels", channel_id))

    def create_alert_channel(self, kind: t.ChannelKind, name: str,
                             config: Mapping[str, Any]) -> t.Channel:
        return self.request("POST", "alerts/channels",
                            body=_channel(name, config=config, kind=kind))

    def update_alert_channel(self, channel_id: int, *, name: str, enabled: bool = True,
                             config: Mapping[str, Any] | None = None) -> t.Channel:
        """`config=None` keeps the stored config (its secrets are never sent back)."""
        return self.request("PUT", _alerts("channels", channel_id),
                            body=_channel(name, enabled, config))

    def delete_alert_channel(self, channel_id: int) -> None:
        self.request("DELETE", _alerts("channels", channel_id))

    def test_alert_channel(self, channel_id: int) -> t.Delivery:
        return self.request("POST", _alerts("channels", channel_id, "test"))

    def alert_rules(self, *, limit: int | None = None) -> Paginator[t.Rule]:
        return self.paginate("alerts/rules", params(limit=limit))

    def alert_rule(self, rule_id: int) -> t.Rule:
        return self.request("GET", _alerts("rules", rule_id))

    def create_alert_rule(self, name: str, *, kind: t.RuleKind, scope: t.RuleScope,
                          target: str = "", params: Mapping[str, Any] | None = None,
                          for_seconds: int = 0, resolve_after_seconds: int = 60,
                          severity: t.Severity = "warning", channels: Iterable[int] = (),
                          enabled: bool = True) -> t.Rule:
        return self.request("POST", "alerts/rules", body=_rule(
            name, kind, scope, target, params, for_seconds, resolve_after_seconds, severity,
            channels, enabled))

    def update_alert_rule(self, rule_id: int, *, name: str, kind: t.RuleKind,
                          scope: t.RuleScope, target: str = "",
                          params: Mapping[str, Any] | None = None, for_seconds: int = 0,
                          resolve_after_seconds: int = 60, severity: t.Severity = "warning",
                          channels: Iterable[int] = (), enabled: bool = True) -> t.Rule:
        return self.request("PUT", _alerts("rules", rule_id), body=_rule(
            name, kind, scope, target, params, for_seconds, resolve_after_seconds, severity,
            channels, enabled))

    def delete_alert_rule(self, rule_id: int) -> None:
        self.request("DELETE", _alerts("rules", rule_id))

    def set_alert_rule_escalation(self, rule_id: int, *, channels: Iterable[int],
                                  after_minutes: int) -> t.Rule:
        """Tell `channels` once when an incident stays unacknowledged `after_minutes`
        (0: never)."""
        return self.request("PUT", _alerts("rules", rule_id, "escalation"),
                            body=_escalation(channels, after_minutes))

    def mute_alert_rule(self, rule_id: int, until: When) -> t.Rule:
        """Mute until `until` (timezone-aware, within 90 days); `None` unmutes."""
        return self.request("PUT", _alerts("rules", rule_id, "mute"), body=_mute(until))

    def maintenance_windows(self, *, limit: int | None = None
                            ) -> Paginator[t.MaintenanceWindow]:
        return self.paginate("alerts/maintenance-windows", params(limit=limit))

    def create_maintenance_window(self, starts_at: datetime | str, ends_at: datetime | str, *,
                                  reason: str = "") -> t.MaintenanceWindow:
        return self.request("POST", "alerts/maintenance-windows",
                            body=_window(starts_at, ends_at, reason))

    def delete_maintenance_window(self, window_id: int) -> None:
        self.request("DELETE", _alerts("maintenance-windows", window_id))

    def incidents(self, *, state: t.IncidentState | None = None, rule: int | None = None,
                  limit: int | None = None) -> Paginator[t.Incident]:
        return self.paginate("alerts/incidents", params(state=state, rule=rule, limit=limit))

    def incident(self, incident_id: int) -> t.IncidentDetail:
        return self.request("GET", _alerts("incidents", incident_id))

    def acknowledge_incident(self, incident_id: int) -> t.IncidentDetail:
        return self.request("POST", _alerts("incidents", incident_id, "acknowledge"))


# --- the async client -------------------------------------------------------------------------

class AsyncClient:
    """The async twin of Client: same methods, awaited (list methods return an
    AsyncPaginator for `async for`). `async with AsyncClient(...) as client:` or `aclose()`."""

    def __init__(self, base: str, api_key: str, *, timeout: float = 10.0,
                 retry: RetryPolicy | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 transport: httpx.AsyncBaseTransport | None = None,
                 extra_headers: dict[str, str] | None = None) -> None:
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.AsyncClient(base_url=base_url(base),
                                       headers=headers(api_key, extra_headers),
                                       timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def request(self, method: str, path: str, *, query: dict[str, str] | None = None,
                      body: Any = None) -> Any:
        attempt = 0
        while True:
            response = await self._http.request(method, path.lstrip("/"), params=query,
                                                json=body)
            if response.is_success:
                return decode(response)
            wait = self.retry.delay(method, response, attempt)
            if wait is None:
                raise ApiError.from_response(response)
            await self._sleep(wait)
            attempt += 1

    def paginate(self, path: str, query: dict[str, str] | None = None) -> AsyncPaginator[Any]:
        return AsyncPaginator(lambda q: self.request("GET", path, query=q), query or {})

    # reference data
    def assets(self, *, limit: int | None = None) -> AsyncPaginator[t.Asset]:
        return self.paginate("assets", params(limit=limit))

    def chains(self, *, limit: int | None = None) -> AsyncPaginator[t.Chain]:
        return self.paginate("chains", params(limit=limit))

    def protocols(self, *, limit: int | None = None) -> AsyncPaginator[t.Protocol]:
        return self.paginate("protocols", params(limit=limit))

    async def protocol(self, slug: str) -> t.Protocol:
        return await self.request("GET", f"protocols/{segment(slug)}")

    async def protocol_health(self, slug: str) -> t.ProtocolHealth:
        return await self.request("GET", f"protocols/{segment(slug)}/health")

    # pairs
    def pairs(self, *, base: str | None = None, quote: str | None = None,
              limit: int | None = None) -> AsyncPaginator[t.Pair]:
        return self.paginate("pairs", params(base=base, quote=quote, limit=limit))

    async def pair(self, slug: str) -> t.Pair:
        return await self.request("GET", f"pairs/{segment(slug)}")

    async def pair_latest(self, slug: str) -> t.PairLatest:
        return await self.request("GET", f"pairs/{segment(slug)}/latest")

    async def pair_history(self, slug: str, *, start: When = None, end: When = None,
                           interval: str | None = None) -> t.History:
        return await self.request("GET", f"pairs/{segment(slug)}/history",
                                  query=_span(start, end, interval))

    async def pair_deviation(self, slug: str) -> t.Deviation:
        return await self.request("GET", f"pairs/{segment(slug)}/deviation")

    async def pair_health(self, slug: str) -> t.PairHealth:
        return await self.request("GET", f"pairs/{segment(slug)}/health")

    # feeds
    def feeds(self, *, protocol: str | None = None, pair: str | None = None,
              chain: str | None = None, status: str | None = None,
              limit: int | None = None) -> AsyncPaginator[t.Feed]:
        return self.paginate("feeds", params(protocol=protocol, pair=pair, chain=chain,
                                             status=status, limit=limit))

    async def feed(self, key: str) -> t.Feed:
        return await self.request("GET", f"feeds/{segment(key)}")

    async def feed_latest(self, key: str) -> t.FeedLatest:
        return await self.request("GET", f"feeds/{segment(key)}/latest")

    async def feed_history(self, key: str, *, start: When = None, end: When = None,
                           interval: str | None = None) -> t.History:
        return await self.request("GET", f"feeds/{segment(key)}/history",
                                  query=_span(start, end, interval))

    async def feed_health(self, key: str) -> t.Health:
        return await self.request("GET", f"feeds/{segment(key)}/health")

    def feed_quarantine(self, key: str, *, limit: int | None = None,
                        ) -> AsyncPaginator[t.QuarantinedRead]:
        return self.paginate(f"feeds/{segment(key)}/quarantine", params(limit=limit))

    # keys and usage
    def keys(self, *, limit: int | None = None) -> AsyncPaginator[t.ApiKey]:
        return self.paginate("keys", params(limit=limit))

    async def key(self, key_id: int) -> t.ApiKey:
        return await self.request("GET", f"keys/{int(key_id)}")

    async def create_key(self, name: str, *, scope: t.Scope = "read",
                         expires_at: When = None) -> t.NewApiKey:
        return await self.request("POST", "keys", body=_create(name, scope, expires_at))

    async def revoke_key(self, key_id: int) -> t.ApiKey:
        return await self.request("DELETE", f"keys/{int(key_id)}")

    async def rotate_key(self, key_id: int) -> t.NewApiKey:
        return await self.request("POST", f"keys/{int(key_id)}/rotate")

    async def usage(self, *, start: Day = None, end: Day = None) -> t.Usage:
        return await self.request("GET", "usage", query=params(**{"from": start, "to": end}))

    def audit_events(self, *, action: str | None = None, actor: str | None = None,
                     since: When = None, until: When = None, limit: int | None = None,
                     ) -> AsyncPaginator[t.AuditEvent]:
        """The audit log, newest first (owners, admins and read-write keys)."""
        return self.paginate("audit-events", params(action=action, actor=actor, since=since,
                                                    until=until, limit=limit))

    # webhooks
    def webhooks(self, *, limit: int | None = None) -> AsyncPaginator[t.WebhookEndpoint]:
        return self.paginate("webhooks", params(limit=limit))

    async def webhook(self, endpoint_id: int) -> t.WebhookEndpoint:
        return await self.request("GET", _hook(endpoint_id))

    async def create_webhook(self, url: str, *, events: Iterable[t.WebhookEvent],
                             pairs: Iterable[str] = (), description: str = "",
                             ) -> t.NewWebhookEndpoint:
        return await self.request("POST", "webhooks",
                                  body=_webhook(url, events, pairs, description))

    async def update_webhook(self, endpoint_id: int, *, url: str,
                             events: Iterable[t.WebhookEvent], pairs: Iterable[str] = (),
                             description: str = "", enabled: bool = True,
                             ) -> t.WebhookEndpoint:
        return await self.request("PUT", _hook(endpoint_id),
                                  body=_webhook(url, events, pairs, description,
                                                enabled=enabled))

    async def delete_webhook(self, endpoint_id: int) -> None:
        await self.request("DELETE", _hook(endpoint_id))

    async def rotate_webhook_secret(self, endpoint_id: int) -> t.NewWebhookEndpoint:
        return await self.request("POST", _hook(endpoint_id, "rotate-secret"))

    async def test_webhook(self, endpoint_id: int) -> t.WebhookMessage:
        return await self.request("POST", _hook(endpoint_id, "test"))

    def webhook_messages(self, endpoint_id: int, *, limit: int | None = None,
                         ) -> AsyncPaginator[t.WebhookMessage]:
        return self.paginate(_hook(endpoint_id, "messages"), params(limit=limit))

    async def redeliver_webhook_message(self, endpoint_id: int,
                                        msg_id: str) -> t.WebhookMessage:
        return await self.request("POST", _hook(endpoint_id, "messages", segment(msg_id),
                                                "redeliver"))

    # alerts: channels, rules (escalation, mute), incidents, maintenance windows
    def alert_channels(self, *, limit: int | None = None) -> AsyncPaginator[t.Channel]:
        return self.paginate("alerts/channels", params(limit=limit))

    async def alert_channel(self, channel_id: int) -> t.Channel:
        return await self.request("GET", _alerts("channels", channel_id))

    async def create_alert_channel(self, kind: t.ChannelKind, name: str,
                                   config: Mapping[str, Any]) -> t.Channel:
        return await self.request("POST", "alerts/channels",
                                  body=_channel(name, config=config, kind=kind))

    async def update_alert_channel(self, channel_id: int, *, name: str, enabled: bool = True,
                                   config: Mapping[str, Any] | None = None) -> t.Channel:
        return await self.request("PUT", _alerts("channels", channel_id),
                                  body=_channel(name, enabled, config))

    async def delete_alert_channel(self, channel_id: int) -> None:
        await self.request("DELETE", _alerts("channels", channel_id))

    async def test_alert_channel(self, channel_id: int) -> t.Delivery:
        return await self.request("POST", _alerts("channels", channel_id, "test"))

    def alert_rules(self, *, limit: int | None = None) -> AsyncPaginator[t.Rule]:
        return self.paginate("alerts/rules", params(limit=limit))

    async def alert_rule(self, rule_id: int) -> t.Rule:
        return await self.request("GET", _alerts("rules", rule_id))

    async def create_alert_rule(self, name: str, *, kind: t.RuleKind, scope: t.RuleScope,
                                target: str = "", params: Mapping[str, Any] | None = None,
                                for_seconds: int = 0, resolve_after_seconds: int = 60,
                                severity: t.Severity = "warning",
                                channels: Iterable[int] = (), enabled: bool = True) -> t.Rule:
        return await self.request("POST", "alerts/rules", body=_rule(
            name, kind, scope, target, params, for_seconds, resolve_after_seconds, severity,
            channels, enabled))

    async def update_alert_rule(self, rule_id: int, *, name: str, kind: t.RuleKind,
                                scope: t.RuleScope, target: str = "",
                                params: Mapping[str, Any] | None = None, for_seconds: int = 0,
                                resolve_after_seconds: int = 60,
                                severity: t.Severity = "warning",
                                channels: Iterable[int] = (), enabled: bool = True) -> t.Rule:
        return await self.request("PUT", _alerts("rules", rule_id), body=_rule(
            name, kind, scope, target, params, for_seconds, resolve_after_seconds, severity,
            channels, enabled))

    async def delete_alert_rule(self, rule_id: int) -> None:
        await self.request("DELETE", _alerts("rules", rule_id))

    async def set_alert_rule_escalation(self, rule_id: int, *, channels: Iterable[int],
                                        after_minutes: int) -> t.Rule:
        return await self.request("PUT", _alerts("rules", rule_id, "escalation"),
                                  body=_escalation(channels, after_minutes))

    async def mute_alert_rule(self, rule_id: int, until: When) -> t.Rule:
        return await self.request("PUT", _alerts("rules", rule_id, "mute"), body=_mute(until))

    def maintenance_windows(self, *, limit: int | None = None
                            ) -> AsyncPaginator[t.MaintenanceWindow]:
        return self.paginate("alerts/maintenance-windows", params(limit=limit))

    async def create_maintenance_window(self, starts_at: datetime | str,
                                        ends_at: datetime | str, *,
                                        reason: str = "") -> t.MaintenanceWindow:
        return await self.request("POST", "alerts/maintenance-windows",
                                  body=_window(starts_at, ends_at, reason))

    async def delete_maintenance_window(self, window_id: int) -> None:
        await self.request("DELETE", _alerts("maintenance-windows", window_id))

    def incidents(self, *, state: t.IncidentState | None = None, rule: int | None = None,
                  limit: int | None = None) -> AsyncPaginator[t.Incident]:
        return self.paginate("alerts/incidents", params(state=state, rule=rule, limit=limit))

    async def incident(self, incident_id: int) -> t.IncidentDetail:
        return await self.request("GET", _alerts("incidents", incident_id))

    async def acknowledge_incident(self, incident_id: int) -> t.IncidentDetail:
        return await self.request("POST", _alerts("incidents", incident_id, "acknowledge"))
