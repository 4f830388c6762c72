"""Delivering the double's events as Stripe does: the JSON body signed with the endpoint's
secret (`Stripe-Signature: t=…,v1=…`), POSTed, retried with backoff on anything but a 2xx.

Delivery runs on a thread of its own so the request that caused an event never waits for the
receiver (which may well call the double back). Tests pass `asynchronous=False` and call
`flush()`: events then wait until the test delivers them, in its own thread, in order or
shuffled."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib import error as urlerror
from urllib import request as urlrequest

logger = logging.getLogger(__name__)

Deliver = Callable[[bytes, dict[str, str]], int]


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """Stripe's scheme: v1 = hex HMAC-SHA256(secret, f"{t}.{raw body}")."""
    signed = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={signed.hexdigest()}"


def http_deliver(url: str, timeout: float = 10.0) -> Deliver:
    """POST to the webhook endpoint; returns its status (raises when nothing answers)."""
    def deliver(payload: bytes, headers: dict[str, str]) -> int:
        req = urlrequest.Request(url, data=payload, headers=headers,  # noqa: S310 (configured URL)
                                 method="POST")
        try:
            with urlrequest.urlopen(req, timeout=timeout) as response:  # noqa: S310
                return int(response.status)
        except urlerror.HTTPError as answer:
            return int(answer.code)
    return deliver


@dataclass(frozen=True)
class SentEvent:
    """One delivery attempt: the event, the exact bytes and headers sent, and the answer
    (None when the receiver could not be reached)."""

    event: dict[str, Any]
    payload: bytes
    headers: dict[str, str]
    status: int | None
    attempt: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Outbox:
    def __init__(self, secret: str, deliver: Deliver, *, asynchronous: bool,
                 retry_delays: Sequence[float], clock: Callable[[], float]) -> None:
        self.secret, self.deliver, self.asynchronous = secret, deliver, asynchronous
        self.retry_delays, self.clock = tuple(retry_delays), clock
        self.sent: list[SentEvent] = []
        self._queue: deque[dict[str, Any]] = deque()
        self._ready = threading.Condition()
        self._busy = 0  # events taken off the queue, not yet delivered or given up on
        self._stopped = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.asynchronous and self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name="devnet-stripe-webhooks")
            self._thread.start()

    def stop(self) -> None:
        with self._ready:
            self._stopped = True
            self._ready.notify_all()

    def put(self, events: Sequence[dict[str, Any]]) -> None:
        with self._ready:
            self._queue.extend(events)
            self._ready.notify_all()

    def flush(self, *, shuffle: bool = False, seed: int | None = None) -> None:
        """Deliver what is queued now (synchronous mode, in the caller's thread, optionally
        in shuffled order), or wait until the delivery thread has (asynchronous mode)."""
        if self.asynchronous:
            with self._ready:
                self._ready.wait_for(lambda: not self._queue and not self._busy)
            return
        with self._ready:
            pending = list(self._queue)
            self._queue.clear()
        if shuffle:
            random.Random(seed).shuffle(pending)
        for event in pending:
            self._send(event)

    def _run(self) -> None:
        while True:
            with self._ready:
                self._ready.wait_for(lambda: self._queue or self._stopped)
                if self._stopped:
                    return
                event = self._queue.popleft()
                self._busy += 1
            try:
                self._send(event)
            finally:
                with self._ready:
                    self._busy -= 1
                    self._ready.notify_all()

    def _send(self, event: dict[str, Any]) -> None:
        # Stripe's webhook bodies are pretty-printed JSON; receivers must verify the raw bytes.
        payload = json.dumps(event, indent=2).encode()
        for attempt, delay in enumerate((0.0, *self.retry_delays), start=1):
            if delay:
                time.sleep(delay)
            headers = {"Content-Type": "application/json; charset=utf-8",
                       "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                       "Stripe-Signature": signature_header(payload, self.secret,
                                                            int(self.clock()))}
            try:
                status: int | None = self.deliver(payload, headers)
            except Exception as error:  # an unreachable receiver is a failed attempt, retried
                logger.warning("stripe double: delivering %s (attempt %d) failed: %s",
                               event["id"], attempt, error)
                status = None
            sent = SentEvent(event, payload, headers, status, attempt)
            with self._ready:
                self.sent.append(sent)
            if sent.ok:
                return
        logger.warning("stripe double: gave up delivering %s (%s)", event["id"], event["type"])
