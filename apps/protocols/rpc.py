"""A small JSON-RPC client with timeouts, bounded retries and typed errors.

Counts what it sends (HTTP requests and JSON-RPC calls) so tests and benchmarks can check
the cost of a sync tick.
"""
import logging
import random
import threading
import time
from collections import Counter
from typing import Any

import requests
from django.conf import settings

from apps.feeds.models import Chain

from .errors import PermanentError, TransientError

logger = logging.getLogger(__name__)
_local = threading.local()


class RpcError(Exception):
    """A JSON-RPC error object for one call of a batch (not a transport failure)."""

    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.data = code, message, data

    @property
    def is_revert(self) -> bool:
        return self.code == 3 or "revert" in self.message.lower()


class JsonRpcClient:
    def __init__(self, url: str, *, timeout: float = 5.0, retries: int = 2,
                 backoff: float = 0.2, session: requests.Session | None = None) -> None:
        if not url:
            raise PermanentError("no JSON-RPC URL configured", reason="not_configured")
        self.url = url
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.session = session or requests.Session()
        self.http_requests = 0
        self.calls: Counter[str] = Counter()
        self._ids = 0

    def call(self, method: str, params: list) -> Any:
        (result,) = self.batch([(method, params)])
        if isinstance(result, RpcError):
            if result.is_revert:
                raise PermanentError(f"{method} reverted: {result.message}", reason="reverted")
            raise TransientError(f"{method}: {result}", reason="rpc_error")
        return result

    def batch(self, calls: list[tuple[str, list]]) -> list[Any]:
        """Send calls in one HTTP request; each result is a value or an RpcError."""
        payload = []
        for method, params in calls:
            self._ids += 1
            payload.append({"jsonrpc": "2.0", "id": self._ids, "method": method,
                            "params": params})
        body = payload[0] if len(payload) == 1 else payload
        replies = self._post_with_retries(body)
        if isinstance(replies, dict):
            replies = [replies]
        by_id = {reply.get("id"): reply for reply in replies if isinstance(reply, dict)}
        results: list[Any] = []  # values and RpcErrors
        for request in payload:
            reply = by_id.get(request["id"])
            if reply is None:
                # A batch-level error object (no id) applies to every call.
                error = next((r for r in replies if r.get("id") is None and "error" in r), None)
                if error is None:
                    raise TransientError("JSON-RPC reply is missing an answer",
                                         reason="bad_response")
                reply = error
            if "error" in reply:
                error = reply["error"] or {}
                results.append(RpcError(int(error.get("code", 0)), str(error.get("message", "")),
                                        error.get("data")))
            else:
                results.append(reply.get("result"))
        self.calls.update(method for method, _ in calls)
        return results

    def _post_with_retries(self, body: Any) -> Any:  # a JSON-RPC request or batch
        attempt = 0
        while True:
            try:
                return self._post(body)
            except TransientError as error:
                if attempt >= self.retries:
                    raise
                delay = self.backoff * 2**attempt * (1 + random.random() / 2)
                logger.info("retrying %s in %.2fs after %s", self.url, delay, error)
                time.sleep(delay)
                attempt += 1

    def _post(self, body: Any) -> Any:
        self.http_requests += 1
        try:
            response = self.session.post(self.url, json=body, timeout=self.timeout)
        except requests.Timeout as error:
            raise TransientError(f"timeout after {self.timeout}s", reason="timeout") from error
        except requests.RequestException as error:
            raise TransientError(f"cannot reach {self.url} ({type(error).__name__})",
                                 reason="connection") from error
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientError(f"HTTP {response.status_code}",
                                 reason=f"http_{response.status_code}")
        if response.status_code >= 400:
            raise PermanentError(f"HTTP {response.status_code}",
                                 reason=f"http_{response.status_code}")
        try:
            return response.json()
        except ValueError as error:
            raise TransientError("the reply is not JSON", reason="bad_response") from error


def rpc_setting(chain: Chain) -> str:
    return f"OP_RPC_URL_{chain.slug.upper()}"


def rpc_url(chain: Chain) -> str:
    """The chain's JSON-RPC URL, or "" when `OP_RPC_URL_<CHAIN>` is not configured."""
    return settings.OP_RPC_URLS.get(chain.slug, "")


def rpc_client(chain: Chain) -> JsonRpcClient:
    """One client (and HTTP session) per chain per thread."""
    clients = getattr(_local, "clients", None)
    if clients is None:
        clients = _local.clients = {}
    url = rpc_url(chain)
    if clients.get(chain.slug) is None or clients[chain.slug].url != url:
        clients[chain.slug] = JsonRpcClient(url, timeout=settings.OP_RPC_TIMEOUT,
                                            retries=settings.OP_RPC_RETRIES)
    return clients[chain.slug]
