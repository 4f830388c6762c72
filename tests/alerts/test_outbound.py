"""SSRF-safe delivery to user-supplied URLs: address checks at connect time, the checked IP is
the one connected to, no redirects, timeouts and a capped read."""
import contextlib
import datetime
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import urllib3.util.connection
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from apps.alerts import outbound
from apps.alerts.outbound import OutboundBlocked, OutboundResult, check_url, post

PUBLIC_IP = "93.184.216.34"  # a globally routable address; never actually contacted here
REAL_GETADDRINFO = socket.getaddrinfo
REAL_CREATE_CONNECTION = urllib3.util.connection.create_connection


class Receiver(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[dict] = []
        self.release = threading.Event()

    @property
    def port(self) -> int:
        return self.server_address[1]


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.server.requests.append({"method": self.command, "path": self.path,
                                     "headers": dict(self.headers), "body": body})
        if self.path.startswith("/redirect"):
            self._reply(302, b"moved", {"Location": "/second"})
        elif self.path.startswith("/slow"):
            self.server.release.wait(10)
            self._reply(200, b"late")
        elif self.path.startswith("/big"):
            self._reply(200, b"A" * 100_000)
        elif self.path.startswith("/busy"):
            self._reply(429, b"slow down", {"Retry-After": "7"})
        else:
            self._reply(200, "ok ✓".encode())

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client gave up (capped read, timeout test)
            self.wfile.write(body)


def _serve(server: ThreadingHTTPServer) -> Iterator:
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from _serve(Receiver())


@pytest.fixture
def allow_loopback(settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture(autouse=True)
def _nothing_allowed_by_default(settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = []
    settings.OP_OUTBOUND_TIMEOUT = 5.0


def fake_dns(monkeypatch, answers: dict[str, list[str]]) -> list[str]:
    """Make `socket.getaddrinfo` answer for the given names (a list per call, popped in
    order, the last answer repeating); return the log of names looked up."""
    looked_up: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        looked_up.append(host)
        if host in answers:
            queue = answers[host]
            ip = queue.pop(0) if len(queue) > 1 else queue[0]
            family = socket.AF_INET6 if ":" in ip else socket.AF_INET
            sockaddr = (ip, port, 0, 0) if family == socket.AF_INET6 else (ip, port)
            return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]
        return REAL_GETADDRINFO(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return looked_up


def route_connections(monkeypatch, to_port: int) -> list[tuple[str, int]]:
    """Record every address urllib3 connects to, and send the socket to the local receiver."""
    connected: list[tuple[str, int]] = []

    def create_connection(address, *args, **kwargs):
        connected.append(address)
        return REAL_CREATE_CONNECTION(("127.0.0.1", to_port), *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    return connected


def no_connections(monkeypatch) -> list:
    attempts: list = []

    def create_connection(address, *args, **kwargs):
        attempts.append(address)
        raise AssertionError(f"a blocked URL must not be connected to ({address})")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    return attempts


# --- the local receiver ---------------------------------------------------------------------


def test_loopback_receiver_is_blocked_by_default(receiver):
    with pytest.raises(OutboundBlocked, match="loopback"):
        post(f"http://127.0.0.1:{receiver.port}/hook", body=b"{}", headers={})
    assert receiver.requests == []


def test_allow_listed_receiver_gets_method_path_headers_and_exact_body(receiver, allow_loopback):
    body = b'{"alert": "ETH/USD stale", "value": "1.5"}\x00\xff'
    result = post(f"http://127.0.0.1:{receiver.port}/hook/42?x=1&y=two#frag", body=body,
                  headers={"Content-Type": "application/json", "X-Signature": "t=1,v1=abc"})

    assert isinstance(result, OutboundResult)
    assert result.status == 200 and result.ok and result.error is None
    assert result.snippet == "ok ✓"
    assert result.latency_ms > 0
    [seen] = receiver.requests
    assert seen["method"] == "POST"
    assert seen["path"] == "/hook/42?x=1&y=two"
    assert seen["body"] == body
    assert seen["headers"]["X-Signature"] == "t=1,v1=abc"
    assert seen["headers"]["Content-Type"] == "application/json"
    assert seen["headers"]["Host"] == f"127.0.0.1:{receiver.port}"


def test_allow_listed_host_name_localhost(receiver, settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["localhost"]
    # localhost may resolve to ::1 first, where nothing listens: the next address is tried.
    result = post(f"http://localhost:{receiver.port}/hook", body=b"x", headers={})
    assert result.status == 200, result.error
    assert receiver.requests[0]["headers"]["Host"] == f"localhost:{receiver.port}"


def test_caller_cannot_override_the_host_header(receiver, allow_loopback):
    post(f"http://127.0.0.1:{receiver.port}/hook", body=b"x",
         headers={"host": "metadata.google.internal"})
    assert receiver.requests[0]["headers"]["Host"] == f"127.0.0.1:{receiver.port}"


def test_redirect_is_not_followed(receiver, allow_loopback):
    result = post(f"http://127.0.0.1:{receiver.port}/redirect", body=b"x", headers={})
    assert result.status == 302
    assert result.headers["location"] == "/second"
    assert not result.ok
    assert [r["path"] for r in receiver.requests] == ["/redirect"]


def test_retry_after_is_reported(receiver, allow_loopback):
    result = post(f"http://127.0.0.1:{receiver.port}/busy", body=b"x", headers={})
    assert result.status == 429
    assert result.headers["retry-after"] == "7"
    assert result.snippet == "slow down"


def test_timeout_is_an_error_result_not_an_exception(receiver, allow_loopback):
    started = time.monotonic()
    result = post(f"http://127.0.0.1:{receiver.port}/slow", body=b"x", headers={}, timeout=0.5)
    elapsed = time.monotonic() - started
    assert result.status is None
    assert "timed out" in result.error.lower() or "timeout" in result.error.lower()
    assert elapsed < 2.0


def test_default_timeout_comes_from_settings(receiver, allow_loopback, settings):
    settings.OP_OUTBOUND_TIMEOUT = 0.3
    started = time.monotonic()
    result = post(f"http://127.0.0.1:{receiver.port}/slow", body=b"x", headers={})
    assert result.status is None and result.error
    assert time.monotonic() - started < 1.5


def test_connection_refused_is_an_error_result(allow_loopback):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    result = post(f"http://127.0.0.1:{port}/hook", body=b"x", headers={})
    assert result.status is None
    assert "connect" in result.error.lower()


def test_unresolvable_host_is_an_error_result(monkeypatch):
    def getaddrinfo(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    result = post("https://nowhere.invalid/hook", body=b"x", headers={})
    assert result.status is None and "resolve" in result.error
    with pytest.raises(OutboundBlocked, match="does not resolve"):
        check_url("https://nowhere.invalid/hook")


def test_response_snippet_and_read_are_capped(receiver, allow_loopback):
    result = post(f"http://127.0.0.1:{receiver.port}/big", body=b"x", headers={})
    assert result.status == 200
    assert result.snippet == "A" * outbound.SNIPPET_CHARS


def test_read_stops_at_the_cap(receiver, allow_loopback, monkeypatch):
    monkeypatch.setattr(outbound, "MAX_RESPONSE_BYTES", 1000)
    monkeypatch.setattr(outbound, "SNIPPET_CHARS", 10_000)
    result = post(f"http://127.0.0.1:{receiver.port}/big", body=b"x", headers={})
    assert len(result.snippet) == 1000


# --- addresses ----------------------------------------------------------------------------

BLOCKED = [
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("127.0.0.1", "loopback"),
    ("::1", "loopback"),
    ("fe80::1", "link-local"),
    ("169.254.169.254", "metadata"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("0.0.0.0", "unspecified"),  # noqa: S104
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:169.254.169.254", "metadata"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("fd00::1", "private"),
    ("240.0.0.1", "reserved"),
    ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
    ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
]


def _url(ip: str, scheme: str = "http") -> str:
    return f"{scheme}://[{ip}]/hook" if ":" in ip else f"{scheme}://{ip}/hook"


@pytest.mark.parametrize(("ip", "reason"), BLOCKED)
def test_blocked_address_literals(ip, reason, monkeypatch):
    attempts = no_connections(monkeypatch)
    assert reason in outbound.blocked_reason(ipaddress.ip_address(ip))
    with pytest.raises(OutboundBlocked, match=reason):
        check_url(_url(ip))
    with pytest.raises(OutboundBlocked, match=reason):
        post(_url(ip, "https"), body=b"x", headers={})
    assert attempts == []


@pytest.mark.parametrize("ip", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(ip):
    assert outbound.blocked_reason(ipaddress.ip_address(ip)) is None
    check_url(_url(ip))


@pytest.mark.parametrize("ip", ["127.0.0.1", "::1", "10.0.0.1"])
def test_allow_listed_ip_exempts_that_address(ip, settings):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = [ip]
    check_url(_url(ip))


def test_host_name_resolving_to_loopback_is_blocked(monkeypatch):
    fake_dns(monkeypatch, {"evil.example.com": ["127.0.0.1"]})
    attempts = no_connections(monkeypatch)
    with pytest.raises(OutboundBlocked, match=r"evil\.example\.com resolves to 127\.0\.0\.1"):
        check_url("https://evil.example.com/hook")
    with pytest.raises(OutboundBlocked):
        post("https://evil.example.com/hook", body=b"x", headers={})
    assert attempts == []


def test_any_bad_address_among_several_blocks(monkeypatch):
    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_IP, port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(OutboundBlocked, match=r"10\.1\.2\.3"):
        check_url("https://mixed.example.com/")


def test_dns_rebinding_connects_to_the_checked_address_only(receiver, monkeypatch):
    looked_up = fake_dns(monkeypatch, {"rebind.example.com": [PUBLIC_IP, "127.0.0.1"]})
    connected = route_connections(monkeypatch, receiver.port)

    result = post("http://rebind.example.com/hook?n=1", body=b"payload", headers={})

    assert result.status == 200, result.error
    assert looked_up.count("rebind.example.com") == 1  # resolved once, not again to connect
    assert connected == [(PUBLIC_IP, 80)]  # exactly the validated address
    assert receiver.requests[0]["headers"]["Host"] == "rebind.example.com"
    assert receiver.requests[0]["path"] == "/hook?n=1"

    # The next answer points at loopback: blocked before any connection.
    with pytest.raises(OutboundBlocked, match=r"127\.0\.0\.1"):
        post("http://rebind.example.com/hook", body=b"payload", headers={})
    assert connected == [(PUBLIC_IP, 80)]
    assert len(receiver.requests) == 1


# --- URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "gopher://example.com:70/_GET",
    "ftp://example.com/file",
    "javascript:alert(1)",
    "example.com/hook",
    "//example.com/hook",
    "http:///hook",
    "http://user:pass@example.com/",
    "http://user@example.com/",
    "https://example.com:99999/",
])
def test_bad_urls_are_blocked(url, monkeypatch):
    attempts = no_connections(monkeypatch)
    fake_dns(monkeypatch, {"example.com": [PUBLIC_IP]})
    with pytest.raises(OutboundBlocked):
        check_url(url)
    with pytest.raises(OutboundBlocked):
        post(url, body=b"x", headers={})
    assert attempts == []


def test_userinfo_is_blocked_even_for_allow_listed_hosts(settings, monkeypatch):
    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    with pytest.raises(OutboundBlocked, match="credentials"):
        check_url("http://user:pass@127.0.0.1/")


# --- TLS to a pinned address ------------------------------------------------------------------


def _certificate(tmp_path, name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def tls_receiver(tmp_path, monkeypatch) -> Iterator[Receiver]:
    cert_path, key_path = _certificate(tmp_path, "hooks.example.com")
    monkeypatch.setattr(outbound, "_ca_bundle", lambda: str(cert_path))  # trust our self-signed
    server = Receiver()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    yield from _serve(server)


def test_https_to_the_pinned_ip_verifies_the_original_host_name(tls_receiver, monkeypatch):
    fake_dns(monkeypatch, {"hooks.example.com": [PUBLIC_IP], "other.example.com": [PUBLIC_IP]})
    connected = route_connections(monkeypatch, tls_receiver.port)

    result = post("https://hooks.example.com/tls", body=b"secret", headers={})
    assert result.status == 200, result.error
    assert connected == [(PUBLIC_IP, 443)]
    assert tls_receiver.requests[0]["headers"]["Host"] == "hooks.example.com"
    assert tls_receiver.requests[0]["body"] == b"secret"

    # Same server, same IP, but the URL names another host: the certificate does not match.
    result = post("https://other.example.com/tls", body=b"secret", headers={})
    assert result.status is None
    assert "certificate" in result.error.lower() or "hostname" in result.error.lower()
    assert len(tls_receiver.requests) == 1


def test_a_receiver_dripping_its_headers_cannot_hold_an_attempt_past_its_timeout(settings):
    import socket as socket_module
    import threading
    import time as time_module

    settings.OP_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    listener = socket_module.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def drip() -> None:
        connection, _ = listener.accept()
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 200 OK\r\n")
        try:
            for n in range(30):  # a header line every 0.2 s: 6 s in all
                connection.sendall(f"X-Drip-{n}: 1\r\n".encode())
                time_module.sleep(0.2)
        except OSError:
            pass
        finally:
            connection.close()

    threading.Thread(target=drip, daemon=True).start()
    started = time_module.monotonic()
    result = outbound.post(f"http://127.0.0.1:{port}/hook", body=b"{}", headers={},
                           timeout=1.0)
    elapsed = time_module.monotonic() - started
    listener.close()
    assert result.status is None and result.error
    assert elapsed < 2.0
