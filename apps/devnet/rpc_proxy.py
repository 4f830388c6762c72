"""A JSON-RPC proxy in front of each anvil node: readers (the adapters) use it, the devnet's
own writer does not, so `rpc-slow` and `rpc-fail` faults hit only the platform's reads."""
import http.client
import json
import logging
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .faults import FaultBook

logger = logging.getLogger(__name__)


class RpcProxy:
    def __init__(self, chain: str, upstream: str, faults: FaultBook, port: int) -> None:
        self.chain = chain
        self.upstream = urlsplit(upstream)
        self.faults = faults
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                        name=f"rpc-proxy:{chain}")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args) -> None:  # quiet: one line per call
                logger.debug("rpc %s: " + format, proxy.chain, *args)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                slow = proxy.faults.find("rpc-slow", proxy.chain)
                if slow:
                    time.sleep(slow.params["ms"] / 1000)
                failing = proxy.faults.find("rpc-fail", proxy.chain)
                if failing and random.random() < float(failing.params["rate"]):
                    self._send(503, json.dumps({
                        "jsonrpc": "2.0", "id": None,
                        "error": {"code": -32603, "message": "devnet fault: rpc-fail"},
                    }).encode())
                    return
                connection = http.client.HTTPConnection(
                    proxy.upstream.hostname, proxy.upstream.port, timeout=60
                )
                try:
                    connection.request("POST", proxy.upstream.path or "/", body,
                                       {"Content-Type": "application/json"})
                    upstream = connection.getresponse()
                    self._send(upstream.status, upstream.read())
                except OSError as error:
                    self._send(502, json.dumps({"error": f"anvil unreachable: {error}"}).encode())
                finally:
                    connection.close()

            def _send(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler
