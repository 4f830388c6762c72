"""The devnet's control API (loopback only) and its client.

    GET    /status          chains, feeds, market prices, active faults
    GET    /faults          active faults
    GET    /fault-kinds     what can be injected, with parameters and defaults
    POST   /faults          {"kind": "freeze", "target": "chainlink-ethereum-eth-usd", "params": {}}
    DELETE /faults/<id>     clear one fault
    DELETE /faults          clear all faults
Errors are JSON: {"error": "..."} with HTTP 400 or 404.
"""
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib import error as urlerror
from urllib import request as urlrequest

from .faults import SPECS, FaultBook, FaultError
from .loopback import JsonHandler, LoopbackServer

logger = logging.getLogger(__name__)


class ControlServer(LoopbackServer):
    name = "devnet-control"

    def __init__(self, faults: FaultBook, status: Callable[[], dict], port: int) -> None:
        self.faults = faults
        self.status = status
        super().__init__(port)

    def handler_class(self) -> type[JsonHandler]:
        control = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:
                if self.path == "/status":
                    self.send_json(200, control.status())
                elif self.path == "/faults":
                    self.send_json(200, [f.as_json() for f in control.faults.active()])
                elif self.path == "/fault-kinds":
                    self.send_json(200, {
                        kind: {"targets": spec.targets, "help": spec.help,
                               "params": {n: str(d) for n, (_, d) in spec.params.items()}}
                        for kind, spec in SPECS.items()
                    })
                else:
                    self.send_json(404, {"error": f"no route GET {self.path}"})

            def do_POST(self) -> None:
                if self.path != "/faults":
                    self.send_json(404, {"error": f"no route POST {self.path}"})
                    return
                try:
                    body = json.loads(self.read_body())
                    if not isinstance(body, dict):
                        raise FaultError("the body must be a JSON object")
                    fault = control.faults.add(
                        str(body.get("kind", "")), str(body.get("target", "")),
                        body.get("params") or {},
                    )
                except (ValueError, TypeError) as error:  # FaultError and bad JSON
                    self.send_json(400, {"error": str(error)})
                    return
                logger.warning("devnet fault injected: %s %s %s", fault.kind, fault.target,
                               fault.as_json()["params"])
                self.send_json(201, fault.as_json())

            def do_DELETE(self) -> None:
                parts = self.path.strip("/").split("/")
                if parts[0] != "faults" or len(parts) > 2:
                    self.send_json(404, {"error": f"no route DELETE {self.path}"})
                    return
                try:
                    cleared = control.faults.clear(int(parts[1]) if len(parts) == 2 else None)
                except ValueError as error:
                    self.send_json(404, {"error": str(error)})
                    return
                for fault in cleared:
                    logger.warning("devnet fault cleared: %s %s", fault.kind, fault.target)
                self.send_json(200, {"cleared": [f.as_json() for f in cleared]})

        return Handler


class DevnetUnavailable(Exception):
    pass


class DevnetClient:
    """Talks to a running devnet's control API (the fault command, the staff page, tests)."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict | None = None) -> Any:  # JSON
        data = json.dumps(body).encode() if body is not None else None
        req = urlrequest.Request(  # noqa: S310 (a configured loopback http URL)
            self.base_url + path, data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urlrequest.urlopen(req, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read())
        except urlerror.HTTPError as error:
            detail = json.loads(error.read() or b"{}").get("error", error.reason)
            raise FaultError(detail) from error
        except (urlerror.URLError, OSError) as error:
            raise DevnetUnavailable(
                f"the devnet control API at {self.base_url} does not answer ({error}); "
                "is `manage.py devnet` (or `make run`) running?"
            ) from error

    def status(self) -> dict:
        return self._call("GET", "/status")

    def faults(self) -> list[dict]:
        return self._call("GET", "/faults")

    def fault_kinds(self) -> dict:
        return self._call("GET", "/fault-kinds")

    def inject(self, kind: str, target: str, **params: object) -> dict:
        params = {k: str(v) for k, v in params.items() if v is not None}
        return self._call("POST", "/faults", {"kind": kind, "target": target, "params": params})

    def clear(self, fault_id: int | None = None) -> list[dict]:
        path = "/faults" if fault_id is None else f"/faults/{fault_id}"
        return self._call("DELETE", path)["cleared"]
