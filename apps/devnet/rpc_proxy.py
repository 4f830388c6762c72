"""A JSON-RPC proxy in front of each anvil node: readers (the adapters) use it, the devnet's
own writer does not, so `rpc-slow` and `rpc-fail` faults hit only the platform's reads."""
import http.client
import random
import time
from urllib.parse import urlsplit

from .faults import FaultBook
from .loopback import JsonHandler, LoopbackServer


class RpcProxy(LoopbackServer):
    def __init__(self, chain: str, upstream: str, faults: FaultBook, port: int) -> None:
        self.chain = chain
        self.name = f"rpc-proxy:{chain}"
        self.upstream = urlsplit(upstream)
        if self.upstream.hostname is None:
            raise ValueError(f"the upstream RPC URL {upstream!r} names no host")
        self.upstream_host: str = self.upstream.hostname
        self.faults = faults
        super().__init__(port)

    def handler_class(self) -> type[JsonHandler]:
        proxy = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                body = self.read_body()
                slow = proxy.faults.find("rpc-slow", proxy.chain)
                if slow:
                    time.sleep(slow.params["ms"] / 1000)
                failing = proxy.faults.find("rpc-fail", proxy.chain)
                if failing and random.random() < float(failing.params["rate"]):
                    self.send_json(503, {
                        "jsonrpc": "2.0", "id": None,
                        "error": {"code": -32603, "message": "devnet fault: rpc-fail"},
                    })
                    return
                connection = http.client.HTTPConnection(
                    proxy.upstream_host, proxy.upstream.port, timeout=60
                )
                try:
                    connection.request("POST", proxy.upstream.path or "/", body,
                                       {"Content-Type": "application/json"})
                    upstream = connection.getresponse()
                    self.send_body(upstream.status, upstream.read())
                except OSError as error:
                    self.send_json(502, {"error": f"anvil unreachable: {error}"})
                finally:
                    connection.close()

        return Handler
