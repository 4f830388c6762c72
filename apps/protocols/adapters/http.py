"""An HTTP JSON client for the off-chain oracle APIs: timeouts, bounded retries with backoff,
HTTP 429 `Retry-After` honoured, typed errors, and JSON numbers parsed as Decimals (a price
never passes through a float)."""
import json
import logging
import random
import threading
import time
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from django.conf import settings
from django.utils import timezone

from ..errors import AdapterError, PermanentError, TransientError
from .base import Adapter

logger = logging.getLogger(__name__)


class RateLimited(TransientError):
    """HTTP 429 with a wait longer than we are willing to spend inside one tick."""

    reason = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, default: float = 1.0) -> float:
    """`Retry-After` is either delay-seconds or an HTTP-date."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, (moment - timezone.now()).total_seconds())


def loads(body: bytes | str) -> Any:
    return json.loads(body, parse_float=Decimal)


class HttpClient:
    def __init__(self, base_url: str, *, timeout: float = 5.0, retries: int = 2,
                 backoff: float = 0.2, max_wait: float = 5.0,
                 headers: dict[str, str] | None = None) -> None:
        if not base_url:
            raise PermanentError("no base URL configured", reason="not_configured")
        self.base_url = base_url.rstrip("/")
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.max_wait = max_wait
        self.headers = dict(headers or {})
        self.session = requests.Session()
        self.session.headers.update(self.headers)

    def get_json(self, path: str, params: list[tuple[str, str]] | None = None) -> Any:
        response = self.get(path, params)
        try:
            return loads(response.content)
        except ValueError as error:
            raise TransientError(f"GET {path}: the reply is not JSON", reason="bad_response") \
                from error

    def get(self, path: str, params: list[tuple[str, str]] | None = None,
            *, stream: bool = False, timeout: float | None = None) -> requests.Response:
        url = self.base_url + path
        attempt = 0
        while True:
            try:
                response = self.session.get(url, params=params, stream=stream,
                                            timeout=timeout or self.timeout)
            except requests.Timeout:
                failure: AdapterError = TransientError(
                    f"GET {path}: timeout after {self.timeout}s", reason="timeout")
            except requests.RequestException as error:
                # Not str(error): it repeats the whole URL, query string and all.
                failure = TransientError(f"GET {path}: cannot connect ({type(error).__name__})",
                                         reason="connection")
            else:
                if response.status_code < 400:
                    return response
                failure = self._failure(path, response)
            if attempt >= self.retries or isinstance(failure, PermanentError):
                raise failure
            delay = self.backoff * 2**attempt * (1 + random.random() / 2)
            if isinstance(failure, RateLimited):
                if failure.retry_after > self.max_wait:
                    raise failure  # the caller stays away until then
                delay = failure.retry_after
            logger.info("retrying GET %s in %.2fs after %s", path, delay, failure)
            time.sleep(delay)
            attempt += 1

    def _failure(self, path: str, response: requests.Response) -> AdapterError:
        detail = response.text[:200].strip()
        if response.status_code == 429:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            return RateLimited(f"GET {path}: HTTP 429, retry after {wait:.0f}s", wait)
        if response.status_code >= 500:
            return TransientError(f"GET {path}: HTTP {response.status_code} {detail}",
                                  reason=f"http_{response.status_code}")
        return PermanentError(f"GET {path}: HTTP {response.status_code} {detail}",
                              reason=f"http_{response.status_code}")


class HttpAdapter(Adapter):
    """An adapter whose source is an HTTP API; its base URL comes from `url_setting`."""

    url_setting: str
    _local = threading.local()

    def base_url(self) -> str:
        return getattr(settings, self.url_setting, "")

    def headers(self) -> dict[str, str]:
        return {"Accept": "application/json", "User-Agent": "oracle-platform"}

    def client(self) -> HttpClient:
        """One client (and connection pool) per adapter per thread."""
        clients = self._local.__dict__.setdefault("clients", {})
        url, headers = self.base_url(), self.headers()
        client = clients.get(self.protocol)
        if client is None or (client.base_url, client.headers) != (url.rstrip("/"), headers):
            client = clients[self.protocol] = HttpClient(
                url, timeout=settings.OP_HTTP_TIMEOUT, retries=settings.OP_HTTP_RETRIES,
                max_wait=settings.OP_HTTP_MAX_RETRY_WAIT, headers=headers,
            )
        return client
