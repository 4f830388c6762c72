"""Wormhole VAAs (version 1): parsing, guardian signatures, guardian sets and their upgrades.

A VAA is `version u8 | guardian_set_index u32 | n u8 | n x (index u8 | r 32 | s 32 | v u8) | body`,
body = `timestamp u32 | nonce u32 | emitter_chain u16 | emitter_address 32 | sequence u64 |
consistency_level u8 | payload` (all big-endian). Guardians sign `keccak256(keccak256(body))` with
secp256k1; `v` is the raw recovery id (0 or 1).

`verify_vaa` applies the rules of the Wormhole core contract (`Messages.sol` `verifyVMInternal`),
made explicit as reason codes:
- the guardian set is the one named by the VAA's `guardian_set_index` (`unknown_guardian_set`);
- live data needs the current (highest) set, or a superseded set whose `expiration_time` has not
  passed (`not_current_guardian_set`, `expired_guardian_set`); historical data accepts any known
  set;
- guardian indices strictly ascending, hence distinct (`duplicate_or_unordered_signatures`);
- at least quorum = floor(2n/3) + 1 signatures (`below_quorum`);
- *every* signature present recovers to the guardian at its index (`bad_signature`);
- the body's timestamp is not ahead of `now` by more than a skew (`future_timestamp`);
- optionally the emitter (chain, address) is the expected one (`wrong_emitter`).

Guardian sets ship as data (`guardian_sets.json`, next to this module), derived by
`derive_guardian_sets` from the genesis guardian and the real mainnet guardian-set upgrade VAAs,
each upgrade verified against the set before it. Regenerate / check it with
`python -m apps.protocols.verification.wormhole [--check]` (reads the copied fixture
tests/fixtures/real/wormhole_mainnet_guardian_set_upgrade_vaas.json).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from eth_hash.auto import keccak
from eth_keys import keys
from eth_keys.datatypes import PrivateKey
from eth_keys.exceptions import BadSignature, ValidationError
from eth_utils import to_checksum_address

VAA_VERSION = 1
SIGNATURE_SIZE = 66  # index u8 | r 32 | s 32 | v u8
HEADER_SIZE = 6  # version u8 | guardian_set_index u32 | signature count u8
BODY_HEADER_SIZE = 51  # timestamp 4 | nonce 4 | chain 2 | emitter 32 | sequence 8 | consistency 1
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
DEFAULT_MAX_FUTURE_SKEW = 300  # seconds a VAA timestamp may be ahead of `now`

# Governance (Wormhole core `Governance.sol` / `GovernanceStructs.sol`).
GOVERNANCE_CHAIN = 1  # Solana
GOVERNANCE_EMITTER = bytes(31) + b"\x04"
CORE_MODULE = bytes(28) + b"Core"
ACTION_GUARDIAN_SET_UPGRADE = 2

GUARDIAN_SETS_PATH = Path(__file__).with_name("guardian_sets.json")
REPO_ROOT = Path(__file__).resolve().parents[3]
UPGRADE_FIXTURE = REPO_ROOT / "tests/fixtures/real/wormhole_mainnet_guardian_set_upgrade_vaas.json"

Reason = Literal[
    "malformed",
    "unknown_guardian_set",
    "not_current_guardian_set",
    "expired_guardian_set",
    "below_quorum",
    "duplicate_or_unordered_signatures",
    "bad_signature",
    "future_timestamp",
    "wrong_emitter",
    "bad_governance",
    # used by apps.protocols.verification.pyth
    "bad_merkle_proof",
    "parsed_mismatch",
]


class VerificationError(Exception):
    """A signed update failed verification. `reason` is a short code (see `Reason`), `detail` a
    human-readable explanation suitable for a quarantine row."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _malformed(detail: str) -> VerificationError:
    return VerificationError("malformed", detail)


# --- VAA ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GuardianSignature:
    index: int
    r: int
    s: int
    v: int

    def encode(self) -> bytes:
        return (
            bytes([self.index])
            + self.r.to_bytes(32, "big")
            + self.s.to_bytes(32, "big")
            + bytes([self.v])
        )


@dataclass(frozen=True)
class Vaa:
    version: int
    guardian_set_index: int
    signatures: tuple[GuardianSignature, ...]
    timestamp: int
    nonce: int
    emitter_chain: int
    emitter_address: bytes
    sequence: int
    consistency_level: int
    payload: bytes
    body: bytes

    @property
    def digest(self) -> bytes:
        """The signed hash: keccak256(keccak256(body)) (Wormhole's `vm.hash`)."""
        return body_digest(self.body)

    @property
    def emitter(self) -> tuple[int, bytes]:
        return self.emitter_chain, self.emitter_address


def body_digest(body: bytes) -> bytes:
    return keccak(keccak(body))


def encode_body(
    *,
    timestamp: int,
    nonce: int,
    emitter_chain: int,
    emitter_address: bytes,
    sequence: int,
    consistency_level: int,
    payload: bytes,
) -> bytes:
    if len(emitter_address) != 32:
        raise ValueError("emitter_address must be 32 bytes")
    return (
        timestamp.to_bytes(4, "big")
        + nonce.to_bytes(4, "big")
        + emitter_chain.to_bytes(2, "big")
        + emitter_address
        + sequence.to_bytes(8, "big")
        + consistency_level.to_bytes(1, "big")
        + payload
    )


def encode_vaa(
    guardian_set_index: int, signatures: Sequence[GuardianSignature | bytes], body: bytes
) -> bytes:
    if len(signatures) > 255:
        raise ValueError("at most 255 signatures")
    encoded = [s if isinstance(s, bytes) else s.encode() for s in signatures]
    if any(len(s) != SIGNATURE_SIZE for s in encoded):
        raise ValueError(f"each signature is {SIGNATURE_SIZE} bytes")
    return (
        bytes([VAA_VERSION])
        + guardian_set_index.to_bytes(4, "big")
        + bytes([len(encoded)])
        + b"".join(encoded)
        + body
    )


def parse_vaa(data: bytes) -> Vaa:
    """Parse a version-1 VAA. Raises VerificationError('malformed') on any layout problem."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise _malformed(f"VAA must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < HEADER_SIZE:
        raise _malformed(f"VAA of {len(data)} bytes is shorter than its header")
    version = data[0]
    if version != VAA_VERSION:
        raise _malformed(f"VAA version {version} is not {VAA_VERSION}")
    guardian_set_index = int.from_bytes(data[1:5], "big")
    count = data[5]
    body_start = HEADER_SIZE + count * SIGNATURE_SIZE
    if len(data) < body_start + BODY_HEADER_SIZE:
        raise _malformed(
            f"VAA of {len(data)} bytes is too short for {count} signatures and a body header"
        )
    signatures = []
    for i in range(count):
        raw = data[HEADER_SIZE + i * SIGNATURE_SIZE : HEADER_SIZE + (i + 1) * SIGNATURE_SIZE]
        signatures.append(
            GuardianSignature(
                index=raw[0],
                r=int.from_bytes(raw[1:33], "big"),
                s=int.from_bytes(raw[33:65], "big"),
                v=raw[65],
            )
        )
    body = data[body_start:]
    return Vaa(
        version=version,
        guardian_set_index=guardian_set_index,
        signatures=tuple(signatures),
        timestamp=int.from_bytes(body[0:4], "big"),
        nonce=int.from_bytes(body[4:8], "big"),
        emitter_chain=int.from_bytes(body[8:10], "big"),
        emitter_address=body[10:42],
        sequence=int.from_bytes(body[42:50], "big"),
        consistency_level=body[50],
        payload=body[51:],
        body=body,
    )


# --- signatures ---------------------------------------------------------------------------------


class _BadSignature(Exception):
    pass


# The pure-Python secp256k1 backend needs ~6 ms per recovery; a guardian signature over a given
# digest is recovered once (verification of the same update for several feeds, tamper tests).
@lru_cache(maxsize=4096)
def _recover(digest: bytes, r: int, s: int, v: int) -> bytes:
    if v not in (0, 1):
        raise _BadSignature(f"v must be 0 or 1, got {v}")
    if not (0 < r < SECP256K1_N and 0 < s < SECP256K1_N):
        raise _BadSignature("r or s out of range")
    try:
        public_key = keys.Signature(vrs=(v, r, s)).recover_public_key_from_msg_hash(digest)
    except (BadSignature, ValidationError, ValueError) as error:
        raise _BadSignature(f"no public key recovers: {error}") from error
    return public_key.to_canonical_address()


def recover_guardian(digest: bytes, signature: GuardianSignature) -> bytes:
    """The 20-byte address that produced `signature` over `digest` (raises VerificationError)."""
    try:
        return _recover(digest, signature.r, signature.s, signature.v)
    except _BadSignature as error:
        raise VerificationError(
            "bad_signature", f"signature of guardian {signature.index}: {error}"
        ) from None


def sign_digest(digest: bytes, private_key: bytes | PrivateKey, index: int) -> bytes:
    """A 66-byte VAA signature entry (RFC 6979, deterministic). For the devnet and tests."""
    key = private_key if isinstance(private_key, PrivateKey) else PrivateKey(private_key)
    signature = key.sign_msg_hash(digest)
    return GuardianSignature(index, signature.r, signature.s, signature.v).encode()


def quorum(guardian_count: int) -> int:
    """Wormhole's quorum: floor(2n/3) + 1 (13 of 19)."""
    return guardian_count * 2 // 3 + 1


# --- guardian sets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GuardianSet:
    index: int
    addresses: tuple[bytes, ...]
    # Unix seconds after which a superseded set no longer signs live data (Wormhole keeps the old
    # set valid for 24 h after an upgrade). None: unknown, so only the current set is live.
    expiration_time: int | None = None

    def __post_init__(self) -> None:
        if not self.addresses:
            raise ValueError(f"guardian set {self.index} is empty")
        if any(len(a) != 20 for a in self.addresses):
            raise ValueError(f"guardian set {self.index}: addresses must be 20 bytes")
        if len(self.addresses) > 255:
            raise ValueError(f"guardian set {self.index}: at most 255 guardians")

    @property
    def quorum(self) -> int:
        return quorum(len(self.addresses))


class GuardianSets:
    """Known guardian sets by index; `current` is the highest unless given."""

    def __init__(self, sets: Iterable[GuardianSet], *, current: int | None = None) -> None:
        self._sets = {s.index: s for s in sets}
        if not self._sets:
            raise ValueError("no guardian sets")
        self.current = max(self._sets) if current is None else current
        if self.current not in self._sets:
            raise ValueError(f"current guardian set {self.current} is not among the sets")

    @classmethod
    def from_addresses(cls, index: int, addresses: Iterable[str | bytes]) -> GuardianSets:
        """A single (current) set, e.g. the devnet's own guardians from settings."""
        return cls([GuardianSet(index, tuple(_address_bytes(a) for a in addresses))])

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> GuardianSets:
        sets = [
            GuardianSet(
                int(item["index"]),
                tuple(_address_bytes(a) for a in item["addresses"]),
                item.get("expiration_time"),
            )
            for item in document["sets"]
        ]
        return cls(sets, current=document.get("current"))

    @classmethod
    def load(cls, path: Path = GUARDIAN_SETS_PATH) -> GuardianSets:
        return cls.from_json(json.loads(path.read_text()))

    def get(self, index: int) -> GuardianSet | None:
        return self._sets.get(index)

    def __getitem__(self, index: int) -> GuardianSet:
        return self._sets[index]

    def __contains__(self, index: object) -> bool:
        return index in self._sets

    def __iter__(self):
        return iter(self._sets[i] for i in sorted(self._sets))

    def __len__(self) -> int:
        return len(self._sets)


@cache
def mainnet_guardian_sets() -> GuardianSets:
    """The shipped mainnet guardian sets (guardian_sets.json)."""
    return GuardianSets.load()


def _address_bytes(address: str | bytes) -> bytes:
    if isinstance(address, bytes):
        raw = address
    else:
        text = address[2:] if address[:2].lower() == "0x" else address
        raw = bytes.fromhex(text)
    if len(raw) != 20:
        raise ValueError(f"guardian address must be 20 bytes: {address!r}")
    return raw


# --- verification -------------------------------------------------------------------------------


def _unix(now: datetime | int) -> int:
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return int(now.timestamp())
    return int(now)


def verify_vaa(
    vaa: bytes | Vaa,
    *,
    guardian_sets: GuardianSets,
    now: datetime | int,
    historical: bool,
    expected_emitter: tuple[int, bytes] | None = None,
    max_future_skew: int = DEFAULT_MAX_FUTURE_SKEW,
) -> Vaa:
    """Parse and verify a VAA; return it, or raise VerificationError(reason, detail)."""
    parsed = vaa if isinstance(vaa, Vaa) else parse_vaa(vaa)
    now_s = _unix(now)
    guardian_set = guardian_sets.get(parsed.guardian_set_index)
    if guardian_set is None:
        known = ", ".join(str(s.index) for s in guardian_sets)
        raise VerificationError(
            "unknown_guardian_set",
            f"guardian set {parsed.guardian_set_index} is not known (known: {known})",
        )
    if not historical and guardian_set.index != guardian_sets.current:
        expiry = guardian_set.expiration_time
        if expiry is None:
            raise VerificationError(
                "not_current_guardian_set",
                f"live data signed by guardian set {guardian_set.index}; "
                f"the current set is {guardian_sets.current}",
            )
        if now_s >= expiry:
            raise VerificationError(
                "expired_guardian_set",
                f"guardian set {guardian_set.index} expired at {expiry} (now {now_s})",
            )
    indices = [s.index for s in parsed.signatures]
    for previous, following in pairwise(indices):
        if following <= previous:
            raise VerificationError(
                "duplicate_or_unordered_signatures",
                f"guardian index {following} follows {previous}: indices must strictly ascend",
            )
    if len(indices) < guardian_set.quorum:
        raise VerificationError(
            "below_quorum",
            f"{len(indices)} signatures, guardian set {guardian_set.index} of "
            f"{len(guardian_set.addresses)} needs {guardian_set.quorum}",
        )
    digest = parsed.digest
    for signature in parsed.signatures:
        if signature.index >= len(guardian_set.addresses):
            raise VerificationError(
                "bad_signature",
                f"guardian index {signature.index} is outside guardian set "
                f"{guardian_set.index} ({len(guardian_set.addresses)} guardians)",
            )
        signer = recover_guardian(digest, signature)
        expected = guardian_set.addresses[signature.index]
        if signer != expected:
            raise VerificationError(
                "bad_signature",
                f"signature {signature.index} recovers to {to_checksum_address(signer)}, "
                f"not guardian {to_checksum_address(expected)} of set {guardian_set.index}",
            )
    if parsed.timestamp > now_s + max_future_skew:
        raise VerificationError(
            "future_timestamp",
            f"VAA timestamp {parsed.timestamp} is {parsed.timestamp - now_s} s ahead of now",
        )
    if expected_emitter is not None and parsed.emitter != tuple(expected_emitter):
        chain, address = expected_emitter
        raise VerificationError(
            "wrong_emitter",
            f"emitter {parsed.emitter_chain}/{parsed.emitter_address.hex()} is not "
            f"{chain}/{address.hex()}",
        )
    return parsed


# --- guardian-set upgrades ----------------------------------------------------------------------


@dataclass(frozen=True)
class GuardianSetUpgrade:
    """Core governance action 2 payload: `module 32 ("Core") | action u8 (2) | chain u16 |
    new_index u32 | n u8 | n x address 20`."""

    chain: int
    new_index: int
    addresses: tuple[bytes, ...]


def parse_guardian_set_upgrade(payload: bytes) -> GuardianSetUpgrade:
    if len(payload) < 40:
        raise VerificationError("bad_governance", f"payload of {len(payload)} bytes is too short")
    if payload[:32] != CORE_MODULE:
        raise VerificationError("bad_governance", f"module {payload[:32].hex()} is not Core")
    if payload[32] != ACTION_GUARDIAN_SET_UPGRADE:
        raise VerificationError("bad_governance", f"action {payload[32]} is not 2 (upgrade)")
    chain = int.from_bytes(payload[33:35], "big")
    new_index = int.from_bytes(payload[35:39], "big")
    count = payload[39]
    if len(payload) != 40 + 20 * count:
        raise VerificationError(
            "bad_governance", f"payload of {len(payload)} bytes does not hold {count} guardians"
        )
    addresses = tuple(payload[40 + 20 * i : 60 + 20 * i] for i in range(count))
    return GuardianSetUpgrade(chain, new_index, addresses)


@dataclass(frozen=True)
class DerivedSet:
    guardian_set: GuardianSet
    upgrade_vaa: Vaa | None  # None for genesis


def derive_guardian_sets(
    genesis: Sequence[str | bytes], upgrade_vaas: Sequence[bytes]
) -> list[DerivedSet]:
    """Replay the guardian-set upgrades from the genesis set (index 0). Each upgrade VAA must be a
    Core governance message from the governance emitter, for all chains (chain 0), naming index
    previous+1 with a non-empty set of distinct non-zero addresses, and verified against the
    previous set (then current). Raises VerificationError."""
    current = GuardianSet(0, tuple(_address_bytes(a) for a in genesis))
    derived = [DerivedSet(current, None)]
    for raw in upgrade_vaas:
        sets = GuardianSets([current])
        vaa = verify_vaa(
            raw,
            guardian_sets=sets,
            now=parse_vaa(raw).timestamp,  # verified as live at its own time
            historical=False,
            expected_emitter=(GOVERNANCE_CHAIN, GOVERNANCE_EMITTER),
        )
        upgrade = parse_guardian_set_upgrade(vaa.payload)
        if upgrade.chain != 0:
            raise VerificationError("bad_governance", f"upgrade is for chain {upgrade.chain}")
        if upgrade.new_index != current.index + 1:
            raise VerificationError(
                "bad_governance",
                f"upgrade to set {upgrade.new_index} does not follow set {current.index}",
            )
        if not upgrade.addresses or bytes(20) in upgrade.addresses:
            raise VerificationError("bad_governance", "empty set or zero address")
        if len(set(upgrade.addresses)) != len(upgrade.addresses):
            raise VerificationError("bad_governance", "duplicate guardian addresses")
        current = GuardianSet(upgrade.new_index, upgrade.addresses)
        derived.append(DerivedSet(current, vaa))
    return derived


def guardian_sets_document(derived: Sequence[DerivedSet], *, source: str) -> dict[str, Any]:
    """The JSON document shipped as guardian_sets.json."""
    sets = []
    for item in derived:
        entry: dict[str, Any] = {
            "index": item.guardian_set.index,
            "addresses": [to_checksum_address(a) for a in item.guardian_set.addresses],
            "expiration_time": item.guardian_set.expiration_time,
        }
        if item.upgrade_vaa is None:
            entry["introduced_by"] = "genesis"
        else:
            entry["introduced_by"] = {
                "vaa_digest": "0x" + item.upgrade_vaa.digest.hex(),
                "vaa_timestamp": item.upgrade_vaa.timestamp,
                "sequence": item.upgrade_vaa.sequence,
                "signed_by_set": item.upgrade_vaa.guardian_set_index,
                "signatures": len(item.upgrade_vaa.signatures),
            }
        sets.append(entry)
    return {
        "_generated_by": "python -m apps.protocols.verification.wormhole (derive_guardian_sets)",
        "_source": source,
        "_note": (
            "Wormhole mainnet guardian sets. Set 0 is the genesis guardian; each later set comes "
            "from a real guardian-set upgrade VAA verified against the set before it. "
            "expiration_time null: on-chain expiry times are not known here, so live data is "
            "accepted only from the current set."
        ),
        "network": "mainnet",
        "current": max(item.guardian_set.index for item in derived),
        "sets": sets,
    }


def document_from_fixture(path: Path = UPGRADE_FIXTURE) -> dict[str, Any]:
    fixture = json.loads(path.read_text())
    derived = derive_guardian_sets(
        fixture["genesis_guardian_set_0"],
        [bytes.fromhex(h) for h in fixture["mainnet_guardian_set_upgrade_vaas_hex"]],
    )
    return guardian_sets_document(derived, source=fixture["_source"])


def render_document(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m apps.protocols.verification.wormhole",
        description="Derive guardian_sets.json from the genesis set and the upgrade VAAs.",
    )
    parser.add_argument("--fixture", type=Path, default=UPGRADE_FIXTURE)
    parser.add_argument("--output", type=Path, default=GUARDIAN_SETS_PATH)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    text = render_document(document_from_fixture(args.fixture))
    if args.check:
        same = args.output.exists() and args.output.read_text() == text
        print(f"{args.output}: {'up to date' if same else 'DIFFERS'}")
        return 0 if same else 1
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
