"""The devnet's small HTTP servers (control API, RPC proxies, and the protocols' HTTP
simulators): loopback only, each in a daemon thread."""
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

logger = logging.getLogger(__name__)


class NamedServer(ThreadingHTTPServer):
    name: str  # what its handlers' log lines start with


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: NamedServer

    def log_message(self, format: str, *args) -> None:  # one debug line per request
        logger.debug("%s: " + format, self.server.name, *args)

    def send_body(self, status: int, body: bytes, content_type: str = "application/json",
                  headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, payload: object, headers: dict[str, str] | None = None
                  ) -> None:
        self.send_body(status, json.dumps(payload).encode(), headers=headers)

    def read_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))


class LoopbackServer:
    """Subclasses give `name` and `handler_class()`; port 0 picks a free port."""

    name = "devnet-http"

    def __init__(self, port: int) -> None:
        self.server = NamedServer(("127.0.0.1", port), self.handler_class())
        self.server.daemon_threads = True
        self.server.name = self.name
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                        name=self.name)

    def handler_class(self) -> type[JsonHandler]:
        raise NotImplementedError

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
