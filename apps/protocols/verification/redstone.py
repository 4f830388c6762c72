"""Verification of RedStone gateway data packages (the pull model).

Flow: `parse_gateway_response` (JSON of `/data-packages/latest/{dataServiceId}`) -> `DataPackage`s
-> `verify_feed` per data feed id. Each package's signed bytes are rebuilt from its data points and
timestamp (`serialize`), the signer is recovered from the signature (`recover_signer`), only signers
of the configured set count, at least `threshold` distinct fresh ones are required, and the value
is the exact median of their *signed integers*. The gateway's `signerAddress`, `isSignatureValid`,
`metadata` and the digits of the JSON number beyond the signed precision are never trusted.

Rules: RedStone monorepo @ b9dea4ff, `packages/protocol/src/{data-package,data-point,common}/`
(see tests/fixtures/real/README.md); checked against 645 real primary-prod packages.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import pairwise
from typing import Any, Literal

from eth_hash.auto import keccak
from eth_keys import keys
from eth_keys.exceptions import BadSignature, ValidationError

DEFAULT_DECIMALS = 8
DEFAULT_VALUE_BYTE_SIZE = 32
MAX_VALUE_BYTE_SIZE = 32
MAX_DECIMALS = 100  # JS Number.prototype.toFixed accepts 0..100 digits
TIMESTAMP_BS = 6
VALUE_BYTE_SIZE_BS = 4
DATA_POINTS_COUNT_BS = 3
DATA_PACKAGES_COUNT_BS = 2
UNSIGNED_METADATA_BYTE_SIZE_BS = 3
SIGNATURE_BS = 65
REDSTONE_MARKER = bytes.fromhex("000002ed57011e0000")
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
# RedStone (`verifyAndSplitSignature`) rejects the high-s twin of a signature: s <= n / 2.
MAX_S = SECP256K1_N // 2
# JS `toFixed` switches to exponent notation from 1e21 on; such values are not prices.
MAX_NUMBER = Decimal("1e21")
DEFAULT_MAX_FUTURE_SKEW = timedelta(minutes=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Reason = Literal[
    "bad_signature", "unknown_signer", "below_threshold", "too_old", "future_timestamp", "malformed"
]


class MalformedPackage(ValueError):
    """The gateway body or a package cannot be parsed or cannot be serialized by RedStone rules."""


class InvalidSignature(ValueError):
    """The 65 signature bytes are not a valid (low-s, v in {27, 28}) recoverable signature."""


# --- data model -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataPoint:
    """One signed data point. `value` is a Decimal for a JSON number (the exact text of the JSON
    literal, parsed with parse_float=Decimal) or raw bytes for a JSON string (base64)."""

    feed_id: str
    value: Decimal | bytes
    decimals: int | None = None
    value_byte_size: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.feed_id, str) or not self.feed_id:
            raise MalformedPackage(f"dataFeedId must be a non-empty string, got {self.feed_id!r}")
        value: object = self.value
        if isinstance(value, int) and not isinstance(value, bool):
            object.__setattr__(self, "value", Decimal(value))  # exact; JSON integers arrive here
        elif isinstance(value, bytearray):
            object.__setattr__(self, "value", bytes(value))
        elif not isinstance(value, Decimal | bytes):
            raise MalformedPackage(f"{self.feed_id}: value must be a number or bytes: {value!r}")
        elif isinstance(value, Decimal) and not value.is_finite():
            raise MalformedPackage(f"{self.feed_id}: value must be finite, got {value}")
        _check_int(self.decimals, 0, MAX_DECIMALS, f"{self.feed_id}: decimals", optional=True)
        _check_int(
            self.value_byte_size,
            1,
            MAX_VALUE_BYTE_SIZE,
            f"{self.feed_id}: valueByteSize",
            optional=True,
        )

    @property
    def is_numeric(self) -> bool:
        return isinstance(self.value, Decimal)

    @property
    def effective_decimals(self) -> int:
        return DEFAULT_DECIMALS if self.decimals is None else self.decimals

    def signed_integer(self) -> int:
        """The integer that is signed for a numeric value (price = integer / 10**decimals)."""
        if not isinstance(self.value, Decimal):
            raise MalformedPackage(f"{self.feed_id}: not a numeric data point")
        return js_to_fixed_integer(self.value, self.effective_decimals)

    def value_bytes(self) -> bytes:
        if isinstance(self.value, bytes):
            return self.value  # non-numeric points are signed as their raw bytes
        size = self.value_byte_size or DEFAULT_VALUE_BYTE_SIZE
        return _uint(self.signed_integer(), size, f"{self.feed_id}: value")

    def json_value(self) -> str:
        """The value as the gateway renders it: JSON number text, or base64 for bytes."""
        if isinstance(self.value, bytes):
            return base64.b64encode(self.value).decode()
        return str(self.value)


@dataclass(frozen=True)
class DataPackage:
    """A data package as served by the gateway. Only `data_points` and `timestamp_ms` are signed;
    the other fields are the gateway's unsigned labels, kept for display and quarantine."""

    data_points: tuple[DataPoint, ...]
    timestamp_ms: int
    signature: bytes = b""  # 65 bytes r || s || v; empty while unsigned
    data_package_id: str | None = None
    data_service_id: str | None = None
    claimed_signer: str | None = None  # the gateway's `signerAddress`: never trusted

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_points", tuple(self.data_points))
        _check_int(self.timestamp_ms, 0, 2 ** (8 * TIMESTAMP_BS) - 1, "timestampMilliseconds")

    @property
    def timestamp(self) -> datetime:
        return EPOCH + timedelta(milliseconds=self.timestamp_ms)  # exact, no float seconds

    def point(self, feed_id: str) -> DataPoint | None:
        return next((p for p in self.data_points if p.feed_id == feed_id), None)

    def summary(self) -> dict[str, Any]:
        """A JSON-safe description (no floats) of the package, for quarantine rows and logs."""
        return {
            "dataPackageId": self.data_package_id,
            "dataServiceId": self.data_service_id,
            "timestampMilliseconds": self.timestamp_ms,
            "signerAddress": self.claimed_signer,
            "signature": base64.b64encode(self.signature).decode(),
            "dataPoints": [_point_obj(p, number=str) for p in self.data_points],
        }


# --- parsing ----------------------------------------------------------------------------------


def parse_gateway_response(body: bytes | str) -> dict[str, list[DataPackage]]:
    """Parse `/data-packages/latest/{dataServiceId}`: {dataPackageId: [package, ...]}.

    Raises MalformedPackage (naming the offending place) for a body that is not JSON or not of
    the gateway's shape. Packages that parse but break RedStone's serialization rules (duplicate
    feed ids, negative values, ...) are reported per package by `verify_feed` instead.
    """
    try:
        data = json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError
        raise MalformedPackage(f"gateway body is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise MalformedPackage(f"gateway body must be a JSON object, got {type(data).__name__}")
    response: dict[str, list[DataPackage]] = {}
    for package_id, packages in data.items():
        if not isinstance(packages, list):
            raise MalformedPackage(f"{package_id}: expected a list of packages")
        response[package_id] = [
            parse_package(obj, where=f"{package_id}[{index}]") for index, obj in enumerate(packages)
        ]
    return response


def parse_package(obj: Any, *, where: str = "package") -> DataPackage:
    """One gateway package object (values already parsed with parse_float=Decimal)."""
    if not isinstance(obj, dict):
        raise MalformedPackage(f"{where}: package must be an object")
    points = obj.get("dataPoints")
    if not isinstance(points, list):
        raise MalformedPackage(f"{where}: dataPoints must be a list")
    signature = obj.get("signature")
    if not isinstance(signature, str):
        raise MalformedPackage(f"{where}: signature must be a base64 string")
    data_points = tuple(
        _parse_point(point, f"{where}.dataPoints[{i}]") for i, point in enumerate(points)
    )
    try:
        return DataPackage(
            data_points=data_points,
            timestamp_ms=_json_int(obj.get("timestampMilliseconds"), "timestampMilliseconds"),
            signature=_b64(signature, "signature", length=SIGNATURE_BS),
            data_package_id=_optional_str(obj, "dataPackageId"),
            data_service_id=_optional_str(obj, "dataServiceId"),
            claimed_signer=_optional_str(obj, "signerAddress"),
        )
    except MalformedPackage as error:
        raise MalformedPackage(f"{where}: {error}") from error


def _parse_point(obj: Any, where: str) -> DataPoint:
    if not isinstance(obj, dict):
        raise MalformedPackage(f"{where}: data point must be an object")
    feed_id = obj.get("dataFeedId")
    if not isinstance(feed_id, str):
        raise MalformedPackage(f"{where}: dataFeedId must be a string")
    value = obj.get("value")
    # As RedStone's `deserializeDataPointFromObj`: a JSON number is numeric, a string is base64.
    try:
        if isinstance(value, str):
            value = _b64(value, "value")
        elif isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise MalformedPackage("value must be a number or a base64 string")
        elif isinstance(value, int):
            value = Decimal(value)  # exact, as DataPoint itself would make it
        return DataPoint(
            feed_id=feed_id,
            value=value,
            decimals=_json_int(obj["decimals"], "decimals") if "decimals" in obj else None,
            value_byte_size=(
                _json_int(obj["valueByteSize"], "valueByteSize") if "valueByteSize" in obj else None
            ),
        )
    except MalformedPackage as error:
        raise MalformedPackage(f"{where}: {error}") from error


# --- serialization (DataPackage.toBytes) ------------------------------------------------------


def js_to_fixed_integer(value: Decimal, decimals: int) -> int:
    """RedStone signs `parseUnits(Number(value).toFixed(decimals), decimals)`.

    JS first rounds the JSON literal to the nearest IEEE-754 double, then `toFixed` rounds the
    double's *exact* binary value half up at `decimals` digits. Rounding the JSON text directly
    is wrong for 28 of the 645 real packages: ties such as 0.100676425 (the double lies below or
    above the tie) and long values such as 10844273560.510235, whose `toFixed(8)` shows binary
    digits (…51023483). `float()` is used only as that correctly rounded literal -> double step
    (what JS `Number()` does); the rest is exact integer arithmetic, so the signed integer (the
    price) never goes through float arithmetic.
    """
    double = float(value)
    if not math.isfinite(double) or double >= MAX_NUMBER:
        raise MalformedPackage(f"value {value} is out of range for a RedStone number")
    if double < 0:
        raise MalformedPackage(f"value {value} is negative; RedStone numbers are unsigned")
    numerator, denominator = double.as_integer_ratio()  # exact value of the double
    scaled = numerator * 10**decimals
    return (2 * scaled + denominator) // (2 * denominator)  # round half up (value >= 0)


def feed_id_bytes32(feed_id: str) -> bytes:
    """`convertStringToBytes32`: UTF-8 right-padded to 32 bytes, or keccak256 when longer than
    31 characters (JS length, i.e. UTF-16 units; of the bytes themselves for a 0x-hex id)."""
    try:
        if len(feed_id.encode("utf-16-le")) // 2 > 31:
            if feed_id[:2] == "0x" and _is_hex(feed_id[2:]):
                return keccak(bytes.fromhex(feed_id[2:]))
            return keccak(feed_id.encode())
        raw = feed_id.encode()
    except (UnicodeEncodeError, ValueError) as error:  # lone surrogates, odd-length hex
        raise MalformedPackage(f"dataFeedId {feed_id!r} cannot be encoded: {error}") from error
    if len(raw) > 31:
        raise MalformedPackage(f"dataFeedId {feed_id!r} is longer than 31 bytes")
    return raw.ljust(32, b"\0")


def serialize(package: DataPackage) -> bytes:
    """The signed bytes: sorted data points || timestamp (6) || value byte size (4) || count (3).

    Data point = bytes32(feed id) || value bytes. RedStone sorts by the lowercase hex of the
    bytes32 ids (`localeCompare`); for equal-length hex that is the byte order used here.
    """
    if not package.data_points:
        raise MalformedPackage("empty data packages are not allowed")
    keyed = sorted(
        ((feed_id_bytes32(point.feed_id), point) for point in package.data_points),
        key=lambda item: item[0],
    )
    for (left, point), (right, _) in pairwise(keyed):
        if left == right:
            raise MalformedPackage(f"duplicated dataFeedId {point.feed_id!r}")
    values = [point.value_bytes() for _, point in keyed]
    size = len(values[0])
    if any(len(value) != size for value in values):
        raise MalformedPackage("all values of a data package must have the same byte size")
    return b"".join(
        [
            *(feed_id + value for (feed_id, _), value in zip(keyed, values, strict=True)),
            _uint(package.timestamp_ms, TIMESTAMP_BS, "timestamp"),
            _uint(size, VALUE_BYTE_SIZE_BS, "value byte size"),
            _uint(len(values), DATA_POINTS_COUNT_BS, "data points count"),
        ]
    )


# --- signatures -------------------------------------------------------------------------------


def signable_hash(serialized: bytes) -> bytes:
    """keccak256 of the serialized package; RedStone signs this digest raw (no EIP-191 prefix)."""
    return keccak(serialized)


def recover_address(serialized: bytes, signature: bytes) -> str:
    """Checksummed address that signed `serialized`; raises InvalidSignature."""
    return _recover_from_digest(signable_hash(serialized), bytes(signature))


def recover_signer(package: DataPackage) -> str:
    """Checksummed signer of a package, recovered from its rebuilt bytes (never `signerAddress`).
    Raises MalformedPackage or InvalidSignature."""
    return recover_address(serialize(package), package.signature)


# A package is recovered once per feed it carries (e.g. `__FRAXTAL__` for each of its 5 feeds),
# and the pure-Python secp256k1 backend takes milliseconds: cache the pure function of the bytes.
@lru_cache(maxsize=8192)
def _recover_from_digest(digest: bytes, signature: bytes) -> str:
    if len(signature) != SIGNATURE_BS:
        raise InvalidSignature(f"signature must be {SIGNATURE_BS} bytes, got {len(signature)}")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if v not in (27, 28):
        raise InvalidSignature(f"signature v must be 27 or 28, got {v}")
    if not 0 < r < SECP256K1_N:
        raise InvalidSignature("signature r is out of range")
    if not 0 < s <= MAX_S:
        raise InvalidSignature("signature s is zero or in the upper half (malleable)")
    try:
        public_key = keys.Signature(vrs=(v - 27, r, s)).recover_public_key_from_msg_hash(digest)
    except (BadSignature, ValidationError, ValueError) as error:
        raise InvalidSignature(f"no public key recovers from this signature: {error}") from error
    return public_key.to_checksum_address()


def sign(serialized: bytes, private_key: bytes) -> bytes:
    """65-byte r || s || v (v = 27/28, low s) over keccak256(serialized); RFC 6979 deterministic,
    like ethers `SigningKey.signDigest`. For the devnet and tests; production keys never live here.
    """
    signature = keys.PrivateKey(private_key).sign_msg_hash(signable_hash(serialized))
    r, s, v = signature.r, signature.s, signature.v + 27
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])


def sign_package(
    data_points: Iterable[DataPoint],
    timestamp_ms: int,
    private_key: bytes,
    *,
    data_package_id: str | None = None,
    data_service_id: str | None = None,
) -> DataPackage:
    """A signed package as an oracle node would produce it (used by the devnet gateway)."""
    unsigned = DataPackage(tuple(data_points), timestamp_ms, b"", data_package_id, data_service_id)
    return DataPackage(
        unsigned.data_points,
        timestamp_ms,
        sign(serialize(unsigned), private_key),
        data_package_id,
        data_service_id,
        claimed_signer=keys.PrivateKey(private_key).public_key.to_checksum_address(),
    )


def to_gateway_obj(package: DataPackage) -> dict[str, Any]:
    """The gateway's JSON object for a package; numbers stay Decimal (see `gateway_json`)."""
    points = package.data_points
    return {
        "timestampMilliseconds": package.timestamp_ms,
        "signature": base64.b64encode(package.signature).decode(),
        "isSignatureValid": True,  # the real gateway sends it; verifiers ignore it
        "dataPoints": [_point_obj(point, number=lambda value: value) for point in points],
        "dataServiceId": package.data_service_id,
        "dataFeedId": points[0].feed_id if len(points) == 1 else package.data_package_id,
        "dataPackageId": package.data_package_id,
        "signerAddress": package.claimed_signer,
    }


def gateway_json(response: Mapping[str, Sequence[DataPackage]]) -> str:
    """Render a gateway response with every number written exactly as its Decimal text (the
    stdlib encoder cannot write a Decimal as a JSON number without going through float)."""
    return _dump({key: [to_gateway_obj(p) for p in packages] for key, packages in response.items()})


def build_evm_payload(packages: Sequence[DataPackage], unsigned_metadata: bytes = b"") -> bytes:
    """RedStone calldata payload (`RedstonePayload.prepare`): (serialized || signature) per
    package, packages count (2), unsigned metadata, its byte size (3), then the marker."""
    return b"".join(
        [
            *(serialize(package) + package.signature for package in packages),
            _uint(len(packages), DATA_PACKAGES_COUNT_BS, "packages count"),
            unsigned_metadata,
            _uint(len(unsigned_metadata), UNSIGNED_METADATA_BYTE_SIZE_BS, "metadata size"),
            REDSTONE_MARKER,
        ]
    )


# --- verification -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageProblem:
    """One package that was not used; `package` (a summary) is what to quarantine."""

    reason: Reason
    detail: str
    package: dict[str, Any]
    raw_value: str | None  # the feed's value as the gateway sent it (JSON text / base64)


@dataclass(frozen=True)
class SignedValue:
    """A value that passed every check: one per distinct authorised signer."""

    signer: str
    raw_value: int
    decimals: int
    timestamp_ms: int
    data_package_id: str | None


@dataclass(frozen=True)
class VerifiedValue:
    """The accepted median. `value == raw_value / 10**decimals` exactly; `timestamp` is the
    oldest timestamp among the values used; `rejected_packages` are the packages of the feed that
    failed a check (the value is still accepted because enough good signers remained)."""

    feed_id: str
    value: Decimal
    raw_value: int
    decimals: int
    timestamp: datetime
    signers: tuple[str, ...]
    values: tuple[SignedValue, ...]
    rejected_packages: tuple[PackageProblem, ...] = field(default=())


@dataclass(frozen=True)
class Rejection:
    """No value: too few distinct authorised signers passed. `reason` is the one reason every
    package failed for, or `below_threshold` when reasons are mixed or too few packages exist."""

    feed_id: str
    reason: Reason
    detail: str
    rejected_packages: tuple[PackageProblem, ...] = field(default=())


def verify_feed(
    packages: Iterable[DataPackage],
    *,
    feed_id: str,
    authorised: Collection[str],
    threshold: int,
    now: datetime,
    max_age: timedelta,
    max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW,
) -> VerifiedValue | Rejection:
    """Verify every package that carries `feed_id` (its own package, `___ALL_FEEDS___`, multi-feed
    packages such as `__FRAXTAL__`; the others are skipped) and return the exact median of the
    signed values of at least `threshold` distinct authorised signers, or a Rejection.

    A signer with several good packages counts once: its freshest one is used, and on a tie the
    one with the fewest data points (its dedicated package; the count is signed, the package id
    is not). Bad packages never block a value that enough good signers support; they are returned
    in `rejected_packages` for quarantine either way.
    """
    if threshold < 1:
        raise ValueError("threshold must be at least 1")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    allowed = {address.lower() for address in authorised}
    best: dict[str, tuple[SignedValue, tuple[int, int]]] = {}  # signer -> (value, rank)
    problems: list[PackageProblem] = []
    for package in packages:
        point = package.point(feed_id)
        if point is None:
            continue
        checked = _check_package(package, point, allowed, now, max_age, max_future_skew)
        if isinstance(checked, PackageProblem):
            problems.append(checked)
            continue
        rank = (checked.timestamp_ms, -len(package.data_points))
        if checked.signer not in best or rank > best[checked.signer][1]:
            best[checked.signer] = (checked, rank)

    used = sorted((value for value, _ in best.values()), key=lambda value: value.signer)
    if len(used) < threshold:
        reasons = {problem.reason for problem in problems}
        reason: Reason = reasons.pop() if not used and len(reasons) == 1 else "below_threshold"
        detail = (
            f"{len(used)} distinct authorised signer(s) passed for {feed_id}, {threshold} required"
            f" ({len(problems)} package(s) rejected)"
            if used or problems
            else f"no package carries {feed_id}"
        )
        return Rejection(feed_id, reason, detail, tuple(problems))
    raw_value, decimals = _median(used)
    return VerifiedValue(
        feed_id=feed_id,
        value=Decimal(f"{raw_value}e-{decimals}"),  # exact: from the integer's text
        raw_value=raw_value,
        decimals=decimals,
        timestamp=EPOCH + timedelta(milliseconds=min(value.timestamp_ms for value in used)),
        signers=tuple(value.signer for value in used),
        values=tuple(used),
        rejected_packages=tuple(problems),
    )


def _check_package(
    package: DataPackage,
    point: DataPoint,
    allowed: set[str],
    now: datetime,
    max_age: timedelta,
    max_future_skew: timedelta,
) -> SignedValue | PackageProblem:
    def problem(reason: Reason, detail: str) -> PackageProblem:
        return PackageProblem(reason, detail, package.summary(), point.json_value())

    try:
        signer = recover_signer(package)
    except MalformedPackage as error:
        return problem("malformed", str(error))
    except InvalidSignature as error:
        return problem("bad_signature", str(error))
    if signer.lower() not in allowed:
        # Acceptance never depends on the unsigned `signerAddress`; it only labels the failure: a
        # claimed signer that does not match the recovered one means the bytes were altered.
        claimed = package.claimed_signer
        if claimed is not None and claimed.lower() != signer.lower():
            return problem("bad_signature", f"recovers to {signer}, not the claimed {claimed}")
        return problem("unknown_signer", f"signer {signer} is not authorised")
    if package.timestamp - now > max_future_skew:
        return problem("future_timestamp", f"timestamp {package.timestamp} is ahead of {now}")
    if now - package.timestamp > max_age:
        return problem("too_old", f"timestamp {package.timestamp} is older than {max_age}")
    if not point.is_numeric:
        return problem("malformed", f"{point.feed_id} is not a numeric data point")
    return SignedValue(
        signer,
        point.signed_integer(),
        point.effective_decimals,
        package.timestamp_ms,
        package.data_package_id,
    )


def _median(values: Sequence[SignedValue]) -> tuple[int, int]:
    """Exact median as (integer, decimals). Values are first brought to the largest decimals."""
    decimals = max(value.decimals for value in values)
    scaled = sorted(value.raw_value * 10 ** (decimals - value.decimals) for value in values)
    middle = len(scaled) // 2
    if len(scaled) % 2:
        return scaled[middle], decimals
    # Even count: the mean of the two middle values, as the JS SDK's `getMedian`. It may fall
    # half-way between two units; keep it exact with one more decimal instead of truncating.
    total = scaled[middle - 1] + scaled[middle]
    if total % 2 == 0:
        return total // 2, decimals
    return total * 5, decimals + 1


# --- small helpers ----------------------------------------------------------------------------


def _uint(value: int, size: int, what: str) -> bytes:
    try:
        return value.to_bytes(size, "big")
    except OverflowError as error:
        raise MalformedPackage(f"{what} {value} does not fit in {size} bytes") from error


def _check_int(value: object, low: int, high: int, what: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MalformedPackage(f"{what} must be an integer in [{low}, {high}], got {value!r}")


def _json_int(value: Any, what: str) -> int:
    """A JSON integer; an integral literal such as 1.0 is accepted, as JS would."""
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedPackage(f"{what} must be an integer, got {value!r}")
    return value


def _optional_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise MalformedPackage(f"{key} must be a string")
    return value


def _b64(text: str, what: str, *, length: int | None = None) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise MalformedPackage(f"{what} is not valid base64: {error}") from error
    if length is not None and len(raw) != length:
        raise MalformedPackage(f"{what} must decode to {length} bytes, got {len(raw)}")
    return raw


def _is_hex(text: str) -> bool:
    return all(char in "0123456789abcdefABCDEF" for char in text)


def _reject_constant(name: str) -> Any:
    raise MalformedPackage(f"{name} is not a JSON number")


def _point_obj(point: DataPoint, *, number: Callable[[Decimal], Any]) -> dict[str, Any]:
    obj: dict[str, Any] = {"dataFeedId": point.feed_id}
    obj["value"] = point.json_value() if isinstance(point.value, bytes) else number(point.value)
    if point.decimals is not None:
        obj["decimals"] = point.decimals
    if point.value_byte_size is not None:
        obj["valueByteSize"] = point.value_byte_size
    return obj


def _dump(obj: Any) -> str:
    if isinstance(obj, Decimal):
        return str(obj)  # "3486.95", "1E+3": both valid JSON number literals
    if isinstance(obj, dict):
        items = (f"{json.dumps(key)}:{_dump(value)}" for key, value in obj.items())
        return "{" + ",".join(items) + "}"
    if isinstance(obj, list):
        return "[" + ",".join(_dump(item) for item in obj) + "]"
    return json.dumps(obj)
