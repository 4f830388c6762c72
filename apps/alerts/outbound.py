"""The one way to send a request to a user-supplied URL (webhooks, Slack, generic channels).

A tenant chooses the URL, so without care the platform would POST into its own network
(server-side request forgery): the cloud metadata service, Redis, the admin on localhost. Hence:

* only http and https, no userinfo in the URL;
* the host is resolved ONCE, every address it resolves to is checked against private, loopback,
  link-local, multicast, reserved, unspecified, CGNAT and IPv4-mapped forms of those, and the
  connection then goes to the checked address itself. Re-resolving at connect time would let a
  DNS answer change in between (DNS rebinding). The original host still goes in the Host header
  and in TLS SNI and certificate verification;
* no redirect is followed (a 3xx is returned as the result): a redirect is a second URL that
  was never checked;
* connect and read share the `OP_OUTBOUND_TIMEOUT` budget, and at most 64 kB of the reply is read.

`OP_OUTBOUND_ALLOWED_HOSTS` exempts host names (or IP addresses) from the address check, for
tests and the devnet, whose receivers listen on 127.0.0.1.

HTTP goes through urllib3, the library under `requests` (which `apps.protocols.adapters.http` uses):
a `requests.Session` resolves the name itself and offers no supported way to pin the address,
whereas a urllib3 connection pool can be opened on the IP with `server_hostname` and
`assert_hostname` set to the original name. urllib3 also ignores proxy environment variables,
so the pinned address is really where the connection goes.
"""
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings
from urllib3.exceptions import HTTPError, NewConnectionError

MAX_RESPONSE_BYTES = 64 * 1024
SNIPPET_CHARS = 500
USER_AGENT = "oracle-platform-alerts/1"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_METADATA = ipaddress.ip_address("169.254.169.254")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundBlocked(Exception):
    """The URL may not be contacted. Permanent: retrying the same URL cannot succeed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class OutboundResult:
    """What happened to one delivery attempt. `status` is None when no HTTP reply came
    (`error` then says why); `headers` has lower-cased names (e.g. "retry-after")."""

    status: int | None
    latency_ms: float
    snippet: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # lower-case, ASCII (IDNA), no brackets, no trailing dot
    port: int
    path: str  # path and query
    host_header: str


def blocked_reason(ip: IPAddress) -> str | None:
    """Why this address may not be contacted, or None if it is a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            inner = blocked_reason(embedded)
            return f"{inner} (embedded in IPv6 {ip})" if inner else None
    if ip == _METADATA:
        return "cloud metadata address"
    for reason, hit in (
        ("loopback address", ip.is_loopback),
        ("unspecified address", ip.is_unspecified),
        ("link-local address", ip.is_link_local),
        ("multicast address", ip.is_multicast),
        ("reserved address", ip.is_reserved),
        ("private address", ip.is_private),
        ("site-local address", getattr(ip, "is_site_local", False)),  # fec0::/10
        ("carrier-grade NAT address", ip in _CGNAT),
        ("address not globally routable", not ip.is_global),
    ):
        if hit:
            return reason
    return None


def _parse(url: str) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise OutboundBlocked(f"malformed URL: {error}") from error
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise OutboundBlocked(f"scheme {scheme or '(none)'!r} is not allowed; use http or https")
    if "@" in parts.netloc:
        raise OutboundBlocked("credentials in the URL are not allowed")
    if not parts.hostname:
        raise OutboundBlocked("the URL has no host")
    try:
        host = parts.hostname.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError as error:
        raise OutboundBlocked("the host name is not valid") from error
    if not host:
        raise OutboundBlocked("the URL has no host")
    default_port = 443 if scheme == "https" else 80
    port = port or default_port
    literal = ":" in host  # an IPv6 literal; urlsplit removed the brackets
    host_header = f"[{host}]" if literal else host
    if port != default_port:
        host_header = f"{host_header}:{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(scheme, host, port, path, host_header)


def _allowed() -> set[str]:
    return {h.strip().lower().strip("[]").rstrip(".") for h in settings.OP_OUTBOUND_ALLOWED_HOSTS}


def _resolve(target: _Target) -> list[IPAddress]:
    """Resolve once (raises OSError / socket.gaierror), then check every address."""
    infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise socket.gaierror(f"{target.host} has no address")
    allowed = _allowed()
    if target.host in allowed:
        return addresses
    for ip in addresses:
        if str(ip) in allowed:
            continue
        reason = blocked_reason(ip)
        if reason:
            raise OutboundBlocked(f"{target.host} resolves to {ip}: {reason}")
    return addresses


def check_url(url: str) -> None:
    """Raise OutboundBlocked unless `url` may be contacted now (e.g. when a tenant saves it).

    `post()` checks again at connect time: this answer is not a licence for later. A host that
    does not resolve is reported as blocked here, but as a (transient) error by `post()`."""
    target = _parse(url)
    try:
        _resolve(target)
    except OSError as error:
        raise OutboundBlocked(f"{target.host} does not resolve: {error}") from error


def _ca_bundle() -> str:
    return certifi.where()  # the bundle `requests` verifies against


def _pool(target: _Target, ip: IPAddress, timeout: urllib3.Timeout) -> urllib3.HTTPConnectionPool:
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            str(ip), cert_reqs="CERT_REQUIRED", ca_certs=_ca_bundle(),
            server_hostname=target.host, assert_hostname=target.host,
            port=target.port, timeout=timeout, maxsize=1, retries=False,
        )
    return urllib3.HTTPConnectionPool(str(ip), port=target.port, timeout=timeout, maxsize=1,
                                      retries=False)


@contextmanager
def _deadline(pool: urllib3.HTTPConnectionPool, seconds: float) -> Iterator[threading.Event]:
    """Cut the attempt's connection when its time is up. urllib3's timeouts bound each socket
    read, not the whole reply: a receiver dripping a header line at a time would otherwise hold
    a delivery worker for minutes."""
    sockets: list[socket.socket] = []
    base = pool.ConnectionCls

    class Watched(base):  # type: ignore[misc, valid-type]  # the pool's class, known at run time
        def connect(self) -> None:
            super().connect()
            sockets.append(self.sock)

    pool.ConnectionCls = Watched

    fired = threading.Event()

    def cut() -> None:
        fired.set()
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(max(0.0, seconds), cut)
    timer.daemon = True
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()


def _error(started: float, message: str) -> OutboundResult:
    return OutboundResult(status=None, latency_ms=(time.monotonic() - started) * 1000,
                          error=message)


def post(url: str, *, body: bytes, headers: dict[str, str],
         timeout: float | None = None) -> OutboundResult:
    """POST `body` to a user-supplied URL. Raises OutboundBlocked (permanent); network trouble
    and timeouts come back as an OutboundResult with status None and `error` set.

    `timeout` (default `OP_OUTBOUND_TIMEOUT`) bounds the whole attempt: connecting, waiting for
    the reply and reading up to 64 kB of it."""
    timeout = settings.OP_OUTBOUND_TIMEOUT if timeout is None else timeout
    target = _parse(url)
    started = time.monotonic()
    deadline = started + timeout
    try:
        addresses = _resolve(target)
    except OSError as error:
        return _error(started, f"cannot resolve {target.host}: {error}")

    send_headers = {k: v for k, v in headers.items() if k.lower() != "host"}
    send_headers["Host"] = target.host_header
    if not any(k.lower() == "user-agent" for k in send_headers):
        send_headers["User-Agent"] = USER_AGENT

    last_error = "no address to connect to"
    for ip in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return _error(started, f"timed out after {timeout:g}s ({last_error})")
        pool = _pool(target, ip, urllib3.Timeout(total=remaining))
        try:
            with _deadline(pool, remaining) as cut:
                response = pool.urlopen("POST", target.path, body=body, headers=send_headers,
                                        redirect=False, retries=False, preload_content=False,
                                        assert_same_host=False)
                try:
                    content = _read_capped(response, deadline)
                finally:
                    response.release_conn()
        except NewConnectionError as error:  # refused / unreachable: try the next address
            last_error = f"cannot connect to {ip}: {_describe(error)}"
            continue
        except HTTPError as error:
            if cut.is_set():
                return _error(started, f"timed out after {timeout:g}s")
            return _error(started, f"{type(error).__name__}: {_describe(error)}")
        finally:
            pool.close()
        return OutboundResult(
            status=response.status,
            latency_ms=(time.monotonic() - started) * 1000,
            snippet=content.decode("utf-8", errors="replace")[:SNIPPET_CHARS],
            headers={name.lower(): value for name, value in response.headers.itermerged()},
        )
    return _error(started, last_error)


def _read_capped(response: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < MAX_RESPONSE_BYTES:
        if time.monotonic() > deadline:
            raise urllib3.exceptions.ReadTimeoutError(
                None, None,  # type: ignore[arg-type]  # no pool at hand (urllib3 allows None)
                "reading the reply took too long")
        chunk = response.read(min(8192, MAX_RESPONSE_BYTES - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _describe(error: BaseException) -> str:
    reason = getattr(error, "reason", None)
    return str(reason or error)
