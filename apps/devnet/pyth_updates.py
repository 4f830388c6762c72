"""The devnet's signer of Pyth price updates: real PNAU accumulator updates, offline.

A devnet guardian set (N secp256k1 keys, deterministic from a seed unless given) plays the Wormhole
guardians: each update is a Merkle tree over the price messages (built exactly like pythnet_sdk's
`MerkleTree::new`, see `apps.protocols.verification.pyth.merkle_tree`), a VAA whose payload is the
tree's root ("AUWV"), emitted as Pythnet (chain 26, e101faed...aa71) and signed by the guardians
(double-keccak body digest, ascending guardian indices), and the Hermes JSON (`binary` + `parsed`).
The platform verifies it with `verify_price_update(..., guardian_sets=guardians.guardian_sets())`,
i.e. the same path as mainnet data with the devnet's guardian set in place of the mainnet ones.

Deterministic: RFC 6979 signatures, so equal keys and inputs give equal bytes. `fault=` builds
deliberately broken updates for the devnet's fault injection (see `FAULTS`).

Keys here are devnet-only, derived from a public seed: never use them for anything real.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

from eth_hash.auto import keccak
from eth_keys import keys

from apps.protocols.verification.pyth import (
    PYTHNET_EMITTER,
    AccumulatorUpdate,
    MerkleUpdate,
    PriceFeedMessage,
    WormholeMerkleRoot,
    merkle_tree,
)
from apps.protocols.verification.wormhole import (
    GuardianSet,
    GuardianSets,
    body_digest,
    encode_body,
    encode_vaa,
    quorum,
    sign_digest,
)

DEFAULT_SEED = b"oracle-platform/devnet/wormhole-guardian/"
DEFAULT_GUARDIAN_COUNT = 5
DEFAULT_RING_SIZE = 10_000  # Pythnet's (seen in every real update)
MAX_MESSAGES_PER_UPDATE = 255  # the update count is a u8
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

Fault = Literal[
    "bad_signature",  # one signature's s changed: the VAA no longer verifies
    "below_quorum",  # only quorum - 1 signatures
    "duplicate_signatures",  # a signature repeated (same guardian index twice)
    "wrong_emitter",  # correctly signed, but not emitted by Pythnet
    "bad_proof",  # one proof node changed: the message is not under the signed root
    "parsed_mismatch",  # `parsed` price of the first feed differs from the signed one
    "unknown_guardian_set",  # signed by the devnet keys but naming the next set index
]
FAULTS: tuple[str, ...] = get_args(Fault)


def devnet_guardian_keys(
    count: int = DEFAULT_GUARDIAN_COUNT, *, seed: bytes = DEFAULT_SEED
) -> tuple[bytes, ...]:
    """`count` private keys: keccak256(seed | i), i = 0.. (public, deterministic, devnet only)."""
    found: list[bytes] = []
    i = 0
    while len(found) < count:
        key = keccak(seed + i.to_bytes(4, "big"))
        if 0 < int.from_bytes(key, "big") < SECP256K1_N:
            found.append(key)
        i += 1
    return tuple(found)


class DevnetGuardians:
    """The devnet's Wormhole guardian set: index and private keys (their addresses in order)."""

    def __init__(self, private_keys: Sequence[bytes], *, index: int = 0) -> None:
        if not 0 < len(private_keys) <= 255:
            raise ValueError("a guardian set has 1..255 guardians")
        self.index = index
        self._keys = tuple(keys.PrivateKey(k) for k in private_keys)
        self.addresses = tuple(k.public_key.to_canonical_address() for k in self._keys)
        if len(set(self.addresses)) != len(self.addresses):
            raise ValueError("duplicate guardian keys")

    @classmethod
    def generate(
        cls, count: int = DEFAULT_GUARDIAN_COUNT, *, index: int = 0, seed: bytes = DEFAULT_SEED
    ) -> DevnetGuardians:
        return cls(devnet_guardian_keys(count, seed=seed), index=index)

    @property
    def quorum(self) -> int:
        return quorum(len(self._keys))

    def guardian_set(self) -> GuardianSet:
        return GuardianSet(self.index, self.addresses)

    def guardian_sets(self) -> GuardianSets:
        """What the platform verifies devnet updates against (the devnet's only, current set)."""
        return GuardianSets([self.guardian_set()])

    def checksum_addresses(self) -> list[str]:
        return [k.public_key.to_checksum_address() for k in self._keys]

    def sign(self, digest: bytes, indices: Sequence[int] | None = None) -> list[bytes]:
        """66-byte signature entries, ascending guardian index (default: every guardian)."""
        chosen = range(len(self._keys)) if indices is None else sorted(indices)
        return [sign_digest(digest, self._keys[i], i) for i in chosen]


@dataclass(frozen=True)
class SignedUpdate:
    binary: bytes  # the PNAU blob
    vaa: bytes
    root: bytes
    messages: tuple[PriceFeedMessage, ...]
    parsed: list[dict[str, Any]]  # Hermes `parsed` items
    slot: int
    proof_available_time: int

    def hermes_json(
        self, *, encoding: Literal["hex", "base64"] = "hex", parsed: bool = True
    ) -> dict[str, Any]:
        """The Hermes v2 `PriceUpdate` object (/v2/updates/price/latest, one SSE event)."""
        data = self.binary.hex() if encoding == "hex" else base64.b64encode(self.binary).decode()
        body: dict[str, Any] = {"binary": {"encoding": encoding, "data": [data]}}
        if parsed:
            body["parsed"] = self.parsed
        return body


def parsed_item(
    message: PriceFeedMessage, *, slot: int | None, proof_available_time: int | None
) -> dict[str, Any]:
    """The Hermes v2 `parsed` item of a message (amounts as strings, as Hermes renders them)."""
    return {
        "id": message.id_hex,
        "price": {
            "price": str(message.price),
            "conf": str(message.conf),
            "expo": message.expo,
            "publish_time": message.publish_time,
        },
        "ema_price": {
            "price": str(message.ema_price),
            "conf": str(message.ema_conf),
            "expo": message.expo,
            "publish_time": message.publish_time,
        },
        "metadata": {
            "slot": slot,
            "proof_available_time": proof_available_time,
            "prev_publish_time": message.prev_publish_time,
        },
    }


class PythUpdateSigner:
    """Builds signed PNAU updates for the devnet Hermes simulator."""

    def __init__(
        self,
        guardians: DevnetGuardians,
        *,
        emitter: tuple[int, bytes] = PYTHNET_EMITTER,
        ring_size: int = DEFAULT_RING_SIZE,
    ) -> None:
        self.guardians = guardians
        self.emitter = emitter
        self.ring_size = ring_size

    def build(
        self,
        messages: Sequence[PriceFeedMessage],
        *,
        slot: int,
        timestamp: int | None = None,
        sequence: int | None = None,
        nonce: int = 0,
        proof_available_time: int | None = None,
        fault: Fault | None = None,
    ) -> SignedUpdate:
        """One accumulator update for `messages` (1..255). VAA timestamp defaults to the latest
        publish time, the sequence to the slot (like Pythnet, one accumulator message per slot)."""
        if not 0 < len(messages) <= MAX_MESSAGES_PER_UPDATE:
            raise ValueError(f"an update holds 1..{MAX_MESSAGES_PER_UPDATE} messages")
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
        messages = tuple(messages)
        if timestamp is None:
            timestamp = max(m.publish_time for m in messages)
        if proof_available_time is None:
            proof_available_time = timestamp + 1
        encoded = [m.encode() for m in messages]
        root, proofs = merkle_tree(encoded)
        payload = WormholeMerkleRoot(slot, self.ring_size, root).encode()
        chain, address = self.emitter
        if fault == "wrong_emitter":
            address = keccak(b"not pythnet")
        body = encode_body(
            timestamp=timestamp,
            nonce=nonce,
            emitter_chain=chain,
            emitter_address=address,
            sequence=slot if sequence is None else sequence,
            consistency_level=1,
            payload=payload,
        )
        digest = body_digest(body)
        count = len(self.guardians.addresses)
        indices = list(range(count))
        if fault == "below_quorum":
            indices = indices[: self.guardians.quorum - 1]
        signatures = self.guardians.sign(digest, indices)
        if fault == "bad_signature":
            entry = bytearray(signatures[0])
            entry[40] ^= 0x01  # a byte of s
            signatures[0] = bytes(entry)
        elif fault == "duplicate_signatures":
            signatures.insert(1, signatures[0])
        set_index = self.guardians.index + (1 if fault == "unknown_guardian_set" else 0)
        vaa = encode_vaa(set_index, signatures, body)
        updates = [MerkleUpdate(m, p) for m, p in zip(encoded, proofs, strict=True)]
        if fault == "bad_proof":
            if updates[0].proof:
                node = bytearray(updates[0].proof[0])
                node[0] ^= 0x01
                updates[0] = replace(updates[0], proof=(bytes(node), *updates[0].proof[1:]))
            else:  # a one-message tree has no proof: give it a spurious node
                updates[0] = replace(updates[0], proof=(bytes(20),))
        binary = AccumulatorUpdate(1, 0, b"", 0, vaa, tuple(updates)).encode()
        parsed = [
            parsed_item(m, slot=slot, proof_available_time=proof_available_time) for m in messages
        ]
        if fault == "parsed_mismatch":
            parsed[0]["price"]["price"] = str(messages[0].price + 1)
        return SignedUpdate(
            binary=binary,
            vaa=vaa,
            root=root,
            messages=messages,
            parsed=parsed,
            slot=slot,
            proof_available_time=proof_available_time,
        )
