"""What the sync and async clients share: the error type, the retry policy, decoding (prices to
Decimal), query parameters and following `next` links."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx

__version__ = "0.1.0"
USER_AGENT = f"oracle-platform-sdk-python/{__version__}"
API_PREFIX = "/api/v1"
PRICE_FIELDS = frozenset({"price", "open", "high", "low", "close", "consensus"})
RETRY_STATUSES = frozenset({429, 503})
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class ApiError(Exception):
    """A non-2xx answer: `status`, and the API's `{"error": {"code", "message", "details"}}`.

    `retry_after` is the `Retry-After` header in seconds (429/503), when the server sent one.
    """

    def __init__(self, status: int, code: str, message: str, details: Any = None, *,
                 retry_after: float | None = None, headers: httpx.Headers | None = None,
                 ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details if details is not None else {}
        self.retry_after = retry_after
        self.headers = headers if headers is not None else httpx.Headers()

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        code, message, details = f"http_{response.status_code}", response.reason_phrase, {}
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            error = body["error"]
            code = str(error.get("code") or code)
            message = str(error.get("message") or message)
            details = error.get("details") or {}
        elif response.text:
            message = response.text[:200]
        return cls(response.status_code, code, message, details,
                   retry_after=retry_after(response), headers=response.headers)


@dataclass(frozen=True)
class RetryPolicy:
    """Retry 429 (always: the request was refused before it ran) and 503 (idempotent methods
    only), waiting what `Retry-After` says, else `backoff * 2**attempt` seconds.

    `max_retries` bounds the attempts (1 + max_retries in all); a `Retry-After` longer than
    `max_wait` is not waited for: the ApiError is raised at once, with `retry_after` set.
    """

    max_retries: int = 3
    backoff: float = 0.5
    max_wait: float = 60.0
    statuses: frozenset[int] = field(default=RETRY_STATUSES)

    def delay(self, method: str, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None to give up."""
        if attempt >= self.max_retries or response.status_code not in self.statuses:
            return None
        if response.status_code != 429 and method.upper() not in IDEMPOTENT:
            return None
        wait = retry_after(response)
        if wait is None:
            wait = self.backoff * 2 ** attempt
        return wait if wait <= self.max_wait else None


def retry_after(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds: delta-seconds or an HTTP date."""
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def decode(response: httpx.Response) -> Any:
    """The JSON body with price fields as Decimal."""
    if response.status_code == 204 or not response.content:
        return None
    return _prices(response.json())


def _prices(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: _prices(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_prices(v) for v in value]
    if key in PRICE_FIELDS and isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    return value


def base_url(url: str) -> str:
    """`https://host` or `https://host/api/v1`, with or without a trailing slash →
    `https://host/api/v1`."""
    url = url.rstrip("/")
    return url if url.endswith(API_PREFIX) else url + API_PREFIX


def segment(value: str | int) -> str:
    """A path segment, escaped."""
    return quote(str(value), safe="")


def params(**values: Any) -> dict[str, str]:
    """Query parameters without the Nones; datetimes must carry a zone (the API refuses naive
    ones), dates become YYYY-MM-DD."""
    result = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, datetime):
            if value.utcoffset() is None:
                raise ValueError(f"`{name}` must be timezone-aware (e.g. tzinfo=UTC)")
            value = value.isoformat()
        elif isinstance(value, date):
            value = value.isoformat()
        result[name] = str(value)
    return result


def next_params(page: dict) -> dict[str, str] | None:
    """The query of the page's `next` link (cursor, limit, filters), or None on the last page.

    Only the query is taken: the next page is asked of the same endpoint on the configured
    base URL, so the key never goes to a host a `next` link might name (e.g. behind a proxy).
    """
    link = page.get("next")
    if not link:
        return None
    return dict(parse_qsl(urlsplit(link).query, keep_blank_values=True))


def headers(api_key: str, extra: dict[str, str] | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "Accept": "application/json",
            "User-Agent": USER_AGENT, **(extra or {})}
