"""The availability probe's client side: it calls the running service from outside, as a client
would — an HTTP request to `GET /api/v1/status` and a WebSocket round trip on `/ws/v1/status`
at OP_STATUS_PROBE_URL — through the same routing, middleware, database and Redis."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect
from websockets.typing import Origin

from .models import API, WEBSOCKET, State

API_PATH = "/api/v1/status"
WS_PATH = "/ws/v1/status"
USER_AGENT = "oracle-platform-status-probe"
DETAIL_LENGTH = 500  # ProbeResult.detail


@dataclass(frozen=True)
class Check:
    """One component's answer in a probe run."""

    component: str
    ok: bool
    state: State
    latency_ms: int | None = None
    detail: str = ""


def _answered(component: str, started: float, *, error: str = "") -> Check:
    latency = round((time.monotonic() - started) * 1000)
    return Check(component, not error, State.DOWN if error else State.UP, latency,
                 error[:DETAIL_LENGTH])


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".strip().rstrip(":")


def probe_api(base_url: str, timeout: float) -> Check:
    """`GET /api/v1/status` answers 200 with `{"status": "ok"}`."""
    started = time.monotonic()
    try:
        response = requests.get(base_url.rstrip("/") + API_PATH, timeout=timeout,
                                headers={"User-Agent": USER_AGENT}, allow_redirects=False)
        body = response.json() if response.status_code == 200 else {}
    except (requests.RequestException, ValueError) as error:
        return _answered(API, started, error=_describe(error))
    if response.status_code != 200:
        return _answered(API, started, error=f"HTTP {response.status_code}")
    if not isinstance(body, dict) or body.get("status") != "ok":
        return _answered(API, started, error="unexpected answer")
    return _answered(API, started)


def websocket_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{WS_PATH}"


def probe_websocket(base_url: str, timeout: float) -> Check:
    """`/ws/v1/status` accepts, answers `{"action": "ping"}` with a pong, and closes."""
    parts = urlsplit(base_url)
    started = time.monotonic()
    try:
        # The Origin a browser on the site would send: the server checks it against its hosts.
        with connect(websocket_url(base_url), origin=Origin(f"{parts.scheme}://{parts.netloc}"),
                     open_timeout=timeout, close_timeout=timeout,
                     user_agent_header=USER_AGENT) as ws:
            ws.send(json.dumps({"action": "ping"}))
            answer = json.loads(ws.recv(timeout=timeout))
    except (OSError, WebSocketException, ValueError) as error:  # TimeoutError is an OSError
        return _answered(WEBSOCKET, started, error=_describe(error))
    if not isinstance(answer, dict) or answer.get("type") != "pong":
        code = answer.get("code", "") if isinstance(answer, dict) else ""
        return _answered(WEBSOCKET, started, error=f"unexpected answer {code}".strip())
    return _answered(WEBSOCKET, started)
