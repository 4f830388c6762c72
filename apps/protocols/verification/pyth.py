"""Verification of Pyth price updates (Hermes `binary`, the PNAU accumulator format).

Layout (pyth-crosschain `pythnet/pythnet_sdk/src/{wire.rs,accumulators/merkle.rs}`, EVM
`PythAccumulator.sol`; see tests/fixtures/real/README.md), all big-endian:

    "PNAU" | major u8 (1) | minor u8 (>= 0) | trailing_len u8 | trailing | proof_type u8 (0) |
    vaa_len u16 | vaa | n u8 | n x (msg_len u16 | msg | n_proof u8 | n_proof x node 20)

The VAA (Wormhole, emitter Pythnet: chain 26, e101faed...aa71) carries the payload
`"AUWV" | update_type u8 (0) | slot u64 | ring_size u32 | root 20`. Each message is proven against
`root` with keccak-160 (keccak256 truncated to 20 bytes): leaf = H(0x00 | msg),
node = H(0x01 | min(a, b) | max(a, b)); the tree pads to a power of two with H(0x02) leaves.
A price message (type 0) is `0 | id 32 | price i64 | conf u64 | expo i32 | publish_time i64 |
prev_publish_time i64 | ema_price i64 | ema_conf u64` (85 bytes; longer messages are accepted and
their extra bytes ignored, as Pyth does for forward compatibility).

`verify_price_update` verifies the VAA (`wormhole.verify_vaa`), every Merkle proof, and that each
item of Hermes' `parsed` equals its signed message field for field. Failures raise
`VerificationError(reason, detail)`; `check_price_update` returns the outcome instead.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from eth_hash.auto import keccak

from .wormhole import (
    GuardianSets,
    Vaa,
    VerificationError,
    mainnet_guardian_sets,
    verify_vaa,
)

ACCUMULATOR_MAGIC = b"PNAU"
MAJOR_VERSION = 1
MINIMUM_MINOR_VERSION = 0
PROOF_TYPE_WORMHOLE_MERKLE = 0
WORMHOLE_MERKLE_MAGIC = b"AUWV"
UPDATE_TYPE_WORMHOLE_MERKLE = 0
MESSAGE_TYPE_PRICE_FEED = 0
PRICE_FEED_MESSAGE_SIZE = 85
NODE_SIZE = 20
PYTHNET_CHAIN = 26
PYTHNET_EMITTER_ADDRESS = bytes.fromhex(
    "e101faedac5851e32b9b23b5f9411a8c2bac4aae3ed4dd7b811dd1a72ea4aa71"
)
PYTHNET_EMITTER = (PYTHNET_CHAIN, PYTHNET_EMITTER_ADDRESS)

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
NULL_PREFIX = b"\x02"

_INT_TEXT = re.compile(r"-?(0|[1-9][0-9]*)")
_HEX_ID = re.compile(r"[0-9a-fA-F]{64}")


def _malformed(detail: str) -> VerificationError:
    return VerificationError("malformed", detail)


# --- wire format --------------------------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.offset = 0
        self.what = what

    def take(self, size: int, field_name: str) -> bytes:
        end = self.offset + size
        if end > len(self.data):
            raise _malformed(
                f"{self.what}: {field_name} needs {size} bytes at offset {self.offset}, "
                f"only {len(self.data) - self.offset} left"
            )
        chunk = self.data[self.offset : end]
        self.offset = end
        return chunk

    def uint(self, size: int, field_name: str) -> int:
        return int.from_bytes(self.take(size, field_name), "big")

    def int(self, size: int, field_name: str) -> int:
        return int.from_bytes(self.take(size, field_name), "big", signed=True)

    def end(self) -> None:
        if self.offset != len(self.data):
            raise _malformed(f"{self.what}: {len(self.data) - self.offset} trailing bytes")


@dataclass(frozen=True)
class PriceFeedMessage:
    """Message type 0. Integers exactly as signed; the price is `price * 10**expo`."""

    feed_id: bytes
    price: int
    conf: int
    expo: int
    publish_time: int
    prev_publish_time: int
    ema_price: int
    ema_conf: int

    @property
    def id_hex(self) -> str:
        return self.feed_id.hex()

    def encode(self) -> bytes:
        if len(self.feed_id) != 32:
            raise ValueError("feed_id must be 32 bytes")
        return (
            bytes([MESSAGE_TYPE_PRICE_FEED])
            + self.feed_id
            + self.price.to_bytes(8, "big", signed=True)
            + self.conf.to_bytes(8, "big")
            + self.expo.to_bytes(4, "big", signed=True)
            + self.publish_time.to_bytes(8, "big", signed=True)
            + self.prev_publish_time.to_bytes(8, "big", signed=True)
            + self.ema_price.to_bytes(8, "big", signed=True)
            + self.ema_conf.to_bytes(8, "big")
        )

    @classmethod
    def decode(cls, data: bytes) -> PriceFeedMessage:
        reader = _Reader(data, "price message")
        message_type = reader.uint(1, "message type")
        if message_type != MESSAGE_TYPE_PRICE_FEED:
            raise _malformed(f"message type {message_type} is not a price feed message (0)")
        message = cls(
            feed_id=reader.take(32, "id"),
            price=reader.int(8, "price"),
            conf=reader.uint(8, "conf"),
            expo=reader.int(4, "expo"),
            publish_time=reader.int(8, "publish_time"),
            prev_publish_time=reader.int(8, "prev_publish_time"),
            ema_price=reader.int(8, "ema_price"),
            ema_conf=reader.uint(8, "ema_conf"),
        )
        # Longer messages: extra fields of a future minor version, covered by the proof.
        return message


@dataclass(frozen=True)
class WormholeMerkleRoot:
    """The VAA payload: `"AUWV" | 0 | slot u64 | ring_size u32 | root 20` (extra bytes allowed,
    as the EVM contract does for forward compatibility)."""

    slot: int
    ring_size: int
    root: bytes

    def encode(self) -> bytes:
        return (
            WORMHOLE_MERKLE_MAGIC
            + bytes([UPDATE_TYPE_WORMHOLE_MERKLE])
            + self.slot.to_bytes(8, "big")
            + self.ring_size.to_bytes(4, "big")
            + self.root
        )

    @classmethod
    def decode(cls, payload: bytes) -> WormholeMerkleRoot:
        reader = _Reader(payload, "VAA payload")
        magic = reader.take(4, "magic")
        if magic != WORMHOLE_MERKLE_MAGIC:
            raise _malformed(f"VAA payload magic {magic!r} is not {WORMHOLE_MERKLE_MAGIC!r}")
        update_type = reader.uint(1, "update type")
        if update_type != UPDATE_TYPE_WORMHOLE_MERKLE:
            raise _malformed(f"VAA payload update type {update_type} is not 0 (WormholeMerkle)")
        return cls(
            slot=reader.uint(8, "slot"),
            ring_size=reader.uint(4, "ring size"),
            root=reader.take(NODE_SIZE, "root"),
        )


@dataclass(frozen=True)
class MerkleUpdate:
    message: bytes
    proof: tuple[bytes, ...]

    def encode(self) -> bytes:
        if len(self.proof) > 255 or len(self.message) > 0xFFFF:
            raise ValueError("proof or message too long")
        return (
            len(self.message).to_bytes(2, "big")
            + self.message
            + bytes([len(self.proof)])
            + b"".join(self.proof)
        )


@dataclass(frozen=True)
class AccumulatorUpdate:
    major_version: int
    minor_version: int
    trailing_header: bytes
    proof_type: int
    vaa: bytes
    updates: tuple[MerkleUpdate, ...]

    def encode(self) -> bytes:
        if len(self.updates) > 255 or len(self.trailing_header) > 255:
            raise ValueError("at most 255 updates / trailing header bytes")
        return (
            ACCUMULATOR_MAGIC
            + bytes([self.major_version, self.minor_version, len(self.trailing_header)])
            + self.trailing_header
            + bytes([self.proof_type])
            + len(self.vaa).to_bytes(2, "big")
            + self.vaa
            + bytes([len(self.updates)])
            + b"".join(u.encode() for u in self.updates)
        )


def decode_accumulator_update(data: bytes) -> AccumulatorUpdate:
    """Decode a PNAU blob (layout in the module docstring); raises VerificationError('malformed').
    Like the EVM contract, the blob must be consumed exactly."""
    reader = _Reader(bytes(data), "accumulator update")
    magic = reader.take(4, "magic")
    if magic != ACCUMULATOR_MAGIC:
        raise _malformed(f"magic {magic!r} is not {ACCUMULATOR_MAGIC!r}")
    major = reader.uint(1, "major version")
    if major != MAJOR_VERSION:
        raise _malformed(f"major version {major} is not {MAJOR_VERSION}")
    minor = reader.uint(1, "minor version")
    if minor < MINIMUM_MINOR_VERSION:
        raise _malformed(f"minor version {minor} < {MINIMUM_MINOR_VERSION}")
    trailing = reader.take(reader.uint(1, "trailing header size"), "trailing header")
    proof_type = reader.uint(1, "proof type")
    if proof_type != PROOF_TYPE_WORMHOLE_MERKLE:
        raise _malformed(f"proof type {proof_type} is not 0 (WormholeMerkle)")
    vaa = reader.take(reader.uint(2, "VAA size"), "VAA")
    updates = []
    for i in range(reader.uint(1, "update count")):
        message = reader.take(reader.uint(2, f"update {i} size"), f"update {i} message")
        count = reader.uint(1, f"update {i} proof size")
        proof = tuple(reader.take(NODE_SIZE, f"update {i} proof node") for _ in range(count))
        updates.append(MerkleUpdate(message, proof))
    reader.end()
    return AccumulatorUpdate(major, minor, trailing, proof_type, vaa, tuple(updates))


# --- Merkle tree (keccak-160) -------------------------------------------------------------------


def keccak160(data: bytes) -> bytes:
    return keccak(data)[:NODE_SIZE]


def leaf_hash(message: bytes) -> bytes:
    return keccak160(LEAF_PREFIX + message)


def node_hash(a: bytes, b: bytes) -> bytes:
    return keccak160(NODE_PREFIX + min(a, b) + max(a, b))


NULL_HASH = keccak160(NULL_PREFIX)


def merkle_root_from_proof(message: bytes, proof: Iterable[bytes]) -> bytes:
    current = leaf_hash(message)
    for sibling in proof:
        current = node_hash(current, sibling)
    return current


def merkle_tree(messages: Sequence[bytes]) -> tuple[bytes, list[tuple[bytes, ...]]]:
    """Root and per-message proofs, built like pythnet_sdk `MerkleTree::new`: the leaves padded
    with H(0x02) to the next power of two, nodes stored heap-style (root at 1), a proof being the
    siblings from the leaf up. One message: the root is its leaf hash and the proof is empty."""
    if not messages:
        raise ValueError("a Merkle tree needs at least one message")
    depth = (len(messages) - 1).bit_length()
    width = 1 << depth
    tree = [b""] * (2 * width)
    for i in range(width):
        tree[width + i] = leaf_hash(messages[i]) if i < len(messages) else NULL_HASH
    for node in range(width - 1, 0, -1):
        tree[node] = node_hash(tree[2 * node], tree[2 * node + 1])
    proofs = []
    for i in range(len(messages)):
        index, path = width + i, []
        while index > 1:
            path.append(tree[index ^ 1])
            index //= 2
        proofs.append(tuple(path))
    return tree[1], proofs


# --- verification -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifiedPrice:
    """A price message proven by a verified VAA. Integers are exactly the signed ones."""

    feed_id: str  # 64 lowercase hex, no 0x
    price: int
    conf: int
    expo: int
    publish_time: int
    prev_publish_time: int
    ema_price: int
    ema_conf: int
    slot: int
    vaa_timestamp: int
    guardian_set_index: int
    signatures: int

    @property
    def price_decimal(self) -> Decimal:
        return Decimal(self.price).scaleb(self.expo)

    @property
    def conf_decimal(self) -> Decimal:
        return Decimal(self.conf).scaleb(self.expo)

    @property
    def ema_price_decimal(self) -> Decimal:
        return Decimal(self.ema_price).scaleb(self.expo)

    @property
    def publish_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.publish_time, tz=UTC)


@dataclass(frozen=True)
class PriceUpdateCheck:
    """Outcome for an observation: `verified` True with the prices, or False with a reason."""

    verified: bool
    prices: tuple[VerifiedPrice, ...] = ()
    reason: str | None = None
    detail: str | None = None
    by_id: dict[str, VerifiedPrice] = field(default_factory=dict, compare=False)


def decode_binary(binary: Any, *, encoding: str | None = None) -> list[bytes]:
    """The PNAU blobs of a Hermes `binary` object (`{"encoding": "hex"|"base64", "data": [...]}`),
    of a list of encoded strings, of one string (hex, or base64 such as the legacy `vaa`), or of
    raw bytes."""
    if isinstance(binary, bytes | bytearray | memoryview):
        return [bytes(binary)]
    if isinstance(binary, Mapping):
        encoding = binary.get("encoding", encoding)
        binary = binary.get("data")
        if encoding not in ("hex", "base64"):
            raise _malformed(f"binary.encoding {encoding!r} is neither hex nor base64")
    if isinstance(binary, str):
        binary = [binary]
    if not isinstance(binary, list | tuple) or not binary:
        raise _malformed("binary data must be a non-empty list of encoded strings")
    blobs = []
    for item in binary:
        if isinstance(item, bytes | bytearray):
            blobs.append(bytes(item))
            continue
        if not isinstance(item, str):
            raise _malformed(f"binary data item must be a string, got {type(item).__name__}")
        blobs.append(_decode_text(item, encoding))
    return blobs


def _decode_text(text: str, encoding: str | None) -> bytes:
    text = text.strip()
    hex_body = text[2:] if text[:2].lower() == "0x" else text
    if encoding is None:
        # Hex PNAU starts with "504e4155" (never valid as the base64 of "PNAU", "UE5BVQ...").
        encoding = "hex" if re.fullmatch(r"(?:[0-9a-fA-F]{2})+", hex_body) else "base64"
    try:
        if encoding == "hex":
            return bytes.fromhex(hex_body)
        return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error) as error:
        raise _malformed(f"binary data is not valid {encoding}: {error}") from None


def verify_price_update(
    binary: Any,
    parsed: Sequence[Mapping[str, Any]] | None,
    *,
    guardian_sets: GuardianSets | None = None,
    now: datetime | int,
    historical: bool,
    expected_emitter: tuple[int, bytes] | None = PYTHNET_EMITTER,
) -> list[VerifiedPrice]:
    """Verify Hermes' signed update(s) and, if given, that `parsed` equals the signed messages.

    `binary`: see `decode_binary`. `guardian_sets`: default the shipped mainnet sets.
    `historical`: True accepts any known guardian set (benchmarks, backfills); False requires the
    current set. Returns every proven price (in blob order); raises VerificationError with reason
    `malformed`, a Wormhole reason (`unknown_guardian_set`, `not_current_guardian_set`,
    `below_quorum`, `duplicate_or_unordered_signatures`, `bad_signature`, `wrong_emitter`, ...),
    `bad_merkle_proof` or `parsed_mismatch`.
    """
    sets = mainnet_guardian_sets() if guardian_sets is None else guardian_sets
    prices: list[VerifiedPrice] = []
    for blob in decode_binary(binary):
        update = decode_accumulator_update(blob)
        vaa = verify_vaa(
            update.vaa,
            guardian_sets=sets,
            now=now,
            historical=historical,
            expected_emitter=expected_emitter,
        )
        prices.extend(_prove_messages(update, vaa))
    if parsed is not None:
        check_parsed(parsed, prices)
    return prices


def _prove_messages(update: AccumulatorUpdate, vaa: Vaa) -> list[VerifiedPrice]:
    root = WormholeMerkleRoot.decode(vaa.payload)
    prices = []
    for i, item in enumerate(update.updates):
        if merkle_root_from_proof(item.message, item.proof) != root.root:
            raise VerificationError(
                "bad_merkle_proof",
                f"update {i}: the proof does not lead to the signed root 0x{root.root.hex()}",
            )
        message = PriceFeedMessage.decode(item.message)
        prices.append(
            VerifiedPrice(
                feed_id=message.id_hex,
                price=message.price,
                conf=message.conf,
                expo=message.expo,
                publish_time=message.publish_time,
                prev_publish_time=message.prev_publish_time,
                ema_price=message.ema_price,
                ema_conf=message.ema_conf,
                slot=root.slot,
                vaa_timestamp=vaa.timestamp,
                guardian_set_index=vaa.guardian_set_index,
                signatures=len(vaa.signatures),
            )
        )
    return prices


def check_parsed(parsed: Sequence[Mapping[str, Any]], prices: Sequence[VerifiedPrice]) -> None:
    """Each `parsed` item (Hermes v2 shape, or the legacy v1 item) must equal a signed message:
    id, price/conf/expo/publish_time, ema_price/ema_conf (same expo and publish_time) and, when
    present, metadata.prev_publish_time and metadata.slot (signed in the VAA payload)."""
    if not isinstance(parsed, list | tuple):
        raise _malformed("parsed must be a list")
    signed: dict[str, list[VerifiedPrice]] = {}
    for price in prices:
        signed.setdefault(price.feed_id, []).append(price)
    for position, item in enumerate(parsed):
        if not isinstance(item, Mapping):
            raise _malformed(f"parsed[{position}] is not an object")
        feed_id = _parsed_id(item.get("id"), position)
        candidates = signed.get(feed_id)
        if not candidates:
            raise VerificationError(
                "parsed_mismatch", f"parsed id {feed_id} has no signed message in the update"
            )
        problems = [_differences(item, c, feed_id) for c in candidates]
        if not any(not p for p in problems):
            raise VerificationError("parsed_mismatch", "; ".join(problems[0]))


def _parsed_id(value: Any, position: int) -> str:
    if not isinstance(value, str):
        raise _malformed(f"parsed[{position}].id is not a string")
    text = value[2:] if value[:2].lower() == "0x" else value
    if not _HEX_ID.fullmatch(text):
        raise _malformed(f"parsed[{position}].id {value!r} is not 32 bytes of hex")
    return text.lower()


def _differences(item: Mapping[str, Any], signed: VerifiedPrice, feed_id: str) -> list[str]:
    expected: list[tuple[str, Any, int]] = []  # path, parsed value, signed value
    price = item.get("price")
    ema = item.get("ema_price")
    if not isinstance(price, Mapping) or not isinstance(ema, Mapping):
        raise _malformed(f"parsed {feed_id}: price and ema_price must be objects")
    expected += [
        ("price.price", price.get("price"), signed.price),
        ("price.conf", price.get("conf"), signed.conf),
        ("price.expo", price.get("expo"), signed.expo),
        ("price.publish_time", price.get("publish_time"), signed.publish_time),
        ("ema_price.price", ema.get("price"), signed.ema_price),
        ("ema_price.conf", ema.get("conf"), signed.ema_conf),
        ("ema_price.expo", ema.get("expo"), signed.expo),
        ("ema_price.publish_time", ema.get("publish_time"), signed.publish_time),
    ]
    metadata = item.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise _malformed(f"parsed {feed_id}: metadata must be an object")
        for key, value in (("prev_publish_time", signed.prev_publish_time), ("slot", signed.slot)):
            if metadata.get(key) is not None:
                expected.append((f"metadata.{key}", metadata[key], value))
    problems = []
    for path, value, signed_value in expected:
        if value is None:
            raise _malformed(f"parsed {feed_id}: {path} is missing")
        if not _same_integer(value, signed_value):
            problems.append(f"{feed_id} {path}: parsed {value!r} != signed {signed_value}")
    return problems


def _same_integer(value: Any, signed: int) -> bool:
    """Hermes renders i64/u64 amounts as decimal strings and the rest as JSON integers; a number
    where a string is expected (or vice versa) still compares by value, exactly."""
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        return bool(_INT_TEXT.fullmatch(value)) and int(value) == signed
    if isinstance(value, int):
        return value == signed
    if isinstance(value, Decimal):
        return value.is_finite() and value == value.to_integral_value() and int(value) == signed
    return False


def check_price_update(
    binary: Any,
    parsed: Sequence[Mapping[str, Any]] | None,
    *,
    guardian_sets: GuardianSets | None = None,
    now: datetime | int,
    historical: bool,
    expected_emitter: tuple[int, bytes] | None = PYTHNET_EMITTER,
) -> PriceUpdateCheck:
    """`verify_price_update` without exceptions, for the adapter: on failure `verified=False` with
    `reason`/`detail` (what goes to quarantine)."""
    try:
        prices = verify_price_update(
            binary,
            parsed,
            guardian_sets=guardian_sets,
            now=now,
            historical=historical,
            expected_emitter=expected_emitter,
        )
    except VerificationError as error:
        return PriceUpdateCheck(False, reason=error.reason, detail=error.detail)
    return PriceUpdateCheck(True, tuple(prices), by_id={p.feed_id: p for p in prices})


def verify_hermes_response(
    body: Mapping[str, Any],
    *,
    guardian_sets: GuardianSets | None = None,
    now: datetime | int,
    historical: bool,
) -> list[VerifiedPrice]:
    """A whole Hermes JSON object: v2 `PriceUpdate` (`binary` + optional `parsed`, e.g. the body of
    /v2/updates/price/latest or one SSE event) or a legacy v1 price feed (`vaa` base64 + the
    price fields, /api/get_price_feed?binary=true)."""
    if "binary" in body:
        return verify_price_update(
            body["binary"],
            body.get("parsed"),
            guardian_sets=guardian_sets,
            now=now,
            historical=historical,
        )
    if "vaa" in body:
        legacy = {key: value for key, value in body.items() if key != "vaa"}
        return verify_price_update(
            decode_binary(body["vaa"], encoding="base64"),
            [legacy],
            guardian_sets=guardian_sets,
            now=now,
            historical=historical,
        )
    raise _malformed("neither binary nor vaa in the Hermes response")
