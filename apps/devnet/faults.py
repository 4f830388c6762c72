"""Faults the devnet can be told to inject: each has a kind, a target and parameters, stays
active until cleared, and is visible to the market writer, the RPC proxies and (later) the
HTTP simulators. Thread-safe: the control API writes while the market loop reads."""
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation


class FaultError(ValueError):
    """A fault request that cannot be carried out; the message says why."""


GARBAGE_MODES = ("zero", "negative", "jump", "decimals")


def _decimal(value: object) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation as error:
        raise FaultError(f"{value!r} is not a number") from error


def _garbage_mode(value: object) -> str:
    if value not in GARBAGE_MODES:
        raise FaultError(f"garbage mode must be one of {', '.join(GARBAGE_MODES)}")
    return str(value)


def _probability(value: object) -> Decimal:
    rate = _decimal(value)
    if not 0 <= rate <= 1:
        raise FaultError("rate must be between 0 and 1")
    return rate


def _milliseconds(value: object) -> int:
    try:
        ms = int(str(value))
    except ValueError as error:
        raise FaultError(f"{value!r} is not a whole number of milliseconds") from error
    if not 0 <= ms <= 120_000:
        raise FaultError("ms must be between 0 and 120000")
    return ms


def _seconds(value: object) -> int:
    try:
        seconds = int(str(value))
    except ValueError as error:
        raise FaultError(f"{value!r} is not a whole number of seconds") from error
    if not 1 <= seconds <= 3600:
        raise FaultError("seconds must be between 1 and 3600")
    return seconds


@dataclass(frozen=True)
class FaultSpec:
    targets: tuple[str, ...]  # what the target may name: protocol, feed, asset, chain
    params: dict[str, tuple[Callable[[object], object], object]] = field(default_factory=dict)
    help: str = ""


SPECS: dict[str, FaultSpec] = {
    "pause": FaultSpec(("protocol",), help="a protocol stops publishing everywhere"),
    "freeze": FaultSpec(("feed",), help="one feed stops publishing (it goes stale)"),
    "outlier": FaultSpec(("feed",), {"percent": (_decimal, Decimal(20))},
                         help="a feed publishes its price off by `percent`"),
    "garbage": FaultSpec(("feed",), {"mode": (_garbage_mode, "zero")},
                         help="a feed publishes zero, a negative value, an absurd jump (×20) "
                              "or a value scaled by the wrong decimals (×1e10)"),
    "move": FaultSpec(("asset", "feed"), {"percent": (_decimal, Decimal(10))},
                      help="the market price of an asset, or one feed's view of it, moves"),
    "depeg": FaultSpec(("asset",), {"price": (_decimal, Decimal("0.95"))},
                       help="a stablecoin trades at `price`"),
    "rpc-slow": FaultSpec(("chain",), {"ms": (_milliseconds, 3000)},
                          help="the chain's public RPC answers after `ms` milliseconds"),
    "rpc-fail": FaultSpec(("chain",), {"rate": (_probability, Decimal(1))},
                          help="the chain's public RPC fails this share of requests (HTTP 503)"),
    "http-429": FaultSpec(("protocol",), {"seconds": (_seconds, 30)},
                          help="the protocol's API answers 429 with Retry-After: `seconds`"),
    "http-500": FaultSpec(("protocol",), {"rate": (_probability, Decimal(1))},
                          help="the protocol's API fails this share of requests with HTTP 500"),
    "http-slow": FaultSpec(("protocol",), {"ms": (_milliseconds, 3000)},
                           help="the protocol's API answers after `ms` milliseconds"),
    "drop-stream": FaultSpec(("protocol",),
                             help="the protocol's streams are dropped (and new ones refused)"),
    "bad-signature": FaultSpec(("protocol",),
                               help="the protocol's signed updates carry invalid signatures"),
}


@dataclass(frozen=True)
class Fault:
    id: int
    kind: str
    target: str
    params: dict
    created_at: float

    def as_json(self) -> dict:
        data = asdict(self)
        data["params"] = {
            name: str(value) if isinstance(value, Decimal) else value
            for name, value in self.params.items()
        }
        return data


class FaultBook:
    def __init__(self, known: dict[str, set[str]]) -> None:
        """`known` maps a target type (protocol, feed, asset, chain) to its valid names."""
        self.known = known
        self._faults: dict[int, Fault] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.changed = threading.Event()  # set on every change, so the market reacts at once

    def add(self, kind: str, target: str, params: dict | None = None) -> Fault:
        spec = SPECS.get(kind)
        if spec is None:
            raise FaultError(f"unknown fault {kind!r}; known: {', '.join(SPECS)}")
        if not any(target in self.known.get(t, ()) for t in spec.targets):
            raise FaultError(
                f"{kind} needs a {' or '.join(spec.targets)}; {target!r} is not a known one"
            )
        params = dict(params or {})
        unknown = set(params) - set(spec.params)
        if unknown:
            raise FaultError(f"{kind} takes no parameter {', '.join(sorted(unknown))}")
        parsed = {
            name: parse(params[name]) if name in params else default
            for name, (parse, default) in spec.params.items()
        }
        with self._lock:
            # A new fault of the same kind on the same target replaces the old one.
            for existing in list(self._faults.values()):
                if (existing.kind, existing.target) == (kind, target):
                    del self._faults[existing.id]
            fault = Fault(next(self._ids), kind, target, parsed, time.time())
            self._faults[fault.id] = fault
        self.changed.set()
        return fault

    def clear(self, fault_id: int | None = None) -> list[Fault]:
        with self._lock:
            if fault_id is None:
                cleared = list(self._faults.values())
                self._faults.clear()
            elif fault_id in self._faults:
                cleared = [self._faults.pop(fault_id)]
            else:
                raise FaultError(f"no active fault {fault_id}")
        self.changed.set()
        return cleared

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults.values())

    def find(self, kind: str, target: str) -> Fault | None:
        with self._lock:
            return next(
                (f for f in self._faults.values() if f.kind == kind and f.target == target), None
            )
