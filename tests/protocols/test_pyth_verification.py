"""Pyth price updates (Hermes `binary`, PNAU) and the Wormhole VAAs that sign them.

Ground truth: real Hermes responses, SSE events, the Pyth SDK's test vector, a legacy v1 response,
and the real mainnet guardian-set upgrade VAAs (tests/fixtures/real/README.md). Every real sample
verifies with `now` frozen; a change of any byte of a signature, a signed message, a proof or the
VAA body makes verification fail, and each broken rule names its reason. Pure functions: no DB.
"""

import base64
import copy
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from eth_hash.auto import keccak

from apps.devnet.pyth_updates import (
    FAULTS,
    DevnetGuardians,
    PythUpdateSigner,
    devnet_guardian_keys,
)
from apps.protocols.verification.pyth import (
    NULL_HASH,
    PYTHNET_EMITTER,
    AccumulatorUpdate,
    MerkleUpdate,
    PriceFeedMessage,
    WormholeMerkleRoot,
    check_price_update,
    decode_accumulator_update,
    decode_binary,
    leaf_hash,
    merkle_root_from_proof,
    merkle_tree,
    verify_hermes_response,
    verify_price_update,
)
from apps.protocols.verification.wormhole import (
    GOVERNANCE_CHAIN,
    GOVERNANCE_EMITTER,
    GUARDIAN_SETS_PATH,
    GuardianSet,
    GuardianSets,
    VerificationError,
    body_digest,
    derive_guardian_sets,
    document_from_fixture,
    encode_body,
    encode_vaa,
    mainnet_guardian_sets,
    parse_guardian_set_upgrade,
    parse_vaa,
    quorum,
    render_document,
    verify_vaa,
)

FIXTURES = Path(__file__).parents[1] / "fixtures/real"


def load(name: str):
    return json.loads((FIXTURES / name).read_text(), parse_float=Decimal)


LATEST = load("pyth_hermes_v2_updates_price_latest_2feeds.json")
STREAM = load("pyth_hermes_v2_stream_events_BTC.json")
SDK = load("pyth_accumulator_update_data_sdk_test_vector.json")
LEGACY = load("pyth_hermes_legacy_get_price_feed_with_vaa.json")["response"]
UPGRADES = load("wormhole_mainnet_guardian_set_upgrade_vaas.json")
UPGRADE_VAAS = [bytes.fromhex(h) for h in UPGRADES["mainnet_guardian_set_upgrade_vaas_hex"]]

# Frozen clock: after every sample (latest 2024-05-03, SDK vector 2024-05-13, legacy 2024-03-25).
NOW = datetime(2024, 5, 14, tzinfo=UTC)
MAINNET = mainnet_guardian_sets()
BTC = "e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43"
LATEST_BLOB = bytes.fromhex(LATEST["binary"]["data"][0])


def verify(binary, parsed=None, **kwargs):
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("historical", True)
    return verify_price_update(binary, parsed, **kwargs)


def reason_of(binary, parsed=None, **kwargs) -> str:
    with pytest.raises(VerificationError) as caught:
        verify(binary, parsed, **kwargs)
    assert caught.value.detail
    return caught.value.reason


# --- an independent walk of the PNAU layout, for the tamper tests -------------------------------


def layout(blob: bytes) -> dict:
    """Byte ranges of the parts of a PNAU blob (README layout), computed without the decoder."""
    assert blob[:4] == b"PNAU"
    offset = 6
    offset += 1 + blob[offset]  # trailing header
    offset += 1  # proof type
    vaa_len = int.from_bytes(blob[offset : offset + 2], "big")
    vaa_start = offset + 2
    count = blob[vaa_start + 5]
    signatures = [(vaa_start + 6 + 66 * i, vaa_start + 6 + 66 * (i + 1)) for i in range(count)]
    body = (signatures[-1][1], vaa_start + vaa_len)
    offset = vaa_start + vaa_len
    messages, proofs = [], []
    count, offset = blob[offset], offset + 1
    for _ in range(count):
        size = int.from_bytes(blob[offset : offset + 2], "big")
        messages.append((offset + 2, offset + 2 + size))
        offset += 2 + size
        proofs.append((offset + 1, offset + 1 + 20 * blob[offset]))
        offset += 1 + 20 * blob[offset]
    assert offset == len(blob)
    return {
        "vaa": (vaa_start, vaa_start + vaa_len),
        "signatures": signatures,
        "body": body,
        "messages": messages,
        "proofs": proofs,
    }


def flipped(blob: bytes, position: int, mask: int = 0x01) -> bytes:
    changed = bytearray(blob)
    changed[position] ^= mask
    return bytes(changed)


def with_vaa(blob: bytes, vaa: bytes) -> bytes:
    update = decode_accumulator_update(blob)
    return AccumulatorUpdate(
        update.major_version,
        update.minor_version,
        update.trailing_header,
        update.proof_type,
        vaa,
        update.updates,
    ).encode()


def with_signatures(blob: bytes, signatures: list[bytes]) -> bytes:
    vaa = parse_vaa(decode_accumulator_update(blob).vaa)
    return with_vaa(blob, encode_vaa(vaa.guardian_set_index, signatures, vaa.body))


def signature_entries(blob: bytes) -> list[bytes]:
    return [blob[a:b] for a, b in layout(blob)["signatures"]]


# --- guardian sets ------------------------------------------------------------------------------


def test_shipped_guardian_sets_are_rederived_from_the_real_upgrade_vaas():
    document = document_from_fixture(FIXTURES / "wormhole_mainnet_guardian_set_upgrade_vaas.json")
    assert GUARDIAN_SETS_PATH.read_text() == render_document(document)
    assert document["current"] == 7
    assert [len(s["addresses"]) for s in document["sets"]] == [1] + [19] * 7
    assert document["sets"][0]["addresses"] == ["0x58CC3AE5C097b213cE3c81979e1B9f9570746AA5"]
    assert [s["introduced_by"]["signed_by_set"] for s in document["sets"][1:]] == list(range(7))


def test_each_upgrade_is_verified_against_the_previous_set():
    derived = derive_guardian_sets(UPGRADES["genesis_guardian_set_0"], UPGRADE_VAAS)
    assert [d.guardian_set.index for d in derived] == list(range(8))
    for previous, upgrade_vaa in zip(derived, UPGRADE_VAAS, strict=False):
        vaa = parse_vaa(upgrade_vaa)
        assert vaa.guardian_set_index == previous.guardian_set.index
        assert vaa.emitter == (GOVERNANCE_CHAIN, GOVERNANCE_EMITTER)
        assert len(vaa.signatures) >= previous.guardian_set.quorum
        upgrade = parse_guardian_set_upgrade(vaa.payload)
        assert (upgrade.chain, upgrade.new_index) == (0, previous.guardian_set.index + 1)


def test_a_skipped_or_tampered_upgrade_breaks_the_derivation():
    genesis = UPGRADES["genesis_guardian_set_0"]
    with pytest.raises(VerificationError) as caught:
        derive_guardian_sets(genesis, [UPGRADE_VAAS[0], *UPGRADE_VAAS[2:]])
    assert caught.value.reason == "unknown_guardian_set"
    body_start = 6 + 66 * UPGRADE_VAAS[3][5]
    tampered = flipped(UPGRADE_VAAS[3], body_start + 60)  # a byte of a new guardian's address
    with pytest.raises(VerificationError) as caught:
        derive_guardian_sets(genesis, [*UPGRADE_VAAS[:3], tampered])
    assert caught.value.reason == "bad_signature"


def test_quorum_is_two_thirds_plus_one():
    assert [quorum(n) for n in (1, 2, 3, 4, 5, 6, 19)] == [1, 2, 3, 3, 4, 5, 13]
    assert MAINNET[4].quorum == 13


# --- the real samples verify --------------------------------------------------------------------


def test_real_latest_response_verifies_and_matches_parsed():
    prices = verify_hermes_response(LATEST, now=NOW, historical=True)
    assert [p.feed_id for p in prices] == [item["id"] for item in LATEST["parsed"]]
    btc = prices[0]
    assert (btc.price, btc.conf, btc.expo) == (6140993501000, 3287868567, -8)
    assert (btc.ema_price, btc.ema_conf) == (6094004700000, 3792887800)
    assert (btc.publish_time, btc.prev_publish_time, btc.slot) == (
        1714746101,
        1714746101,
        138881186,
    )
    assert btc.price_decimal == Decimal("61409.93501000")
    assert (btc.guardian_set_index, btc.signatures) == (4, 13)
    vaa = parse_vaa(decode_accumulator_update(LATEST_BLOB).vaa)
    assert vaa.emitter == PYTHNET_EMITTER
    assert WormholeMerkleRoot.decode(vaa.payload).ring_size == 10_000


def test_real_stream_events_verify():
    for event in STREAM:
        (price,) = verify_hermes_response(event, now=NOW, historical=True)
        assert price.feed_id == BTC
        assert str(price.price) == event["parsed"][0]["price"]["price"]
        assert price.slot == event["parsed"][0]["metadata"]["slot"]


def test_sdk_test_vector_verifies_with_the_expected_fields():
    prices = verify(SDK["update_data_base64"])
    expected = [
        (
            e["feedId"],
            int(e["price"]),
            int(e["confidence"]),
            int(e["exponent"]),
            int(e["publishTime"]),
            int(e["prevPublishTime"]),
            int(e["emaPrice"]),
            int(e["emaConf"]),
        )
        for e in SDK["expected_price_feed_messages"]
    ]
    got = [
        (
            p.feed_id,
            p.price,
            p.conf,
            p.expo,
            p.publish_time,
            p.prev_publish_time,
            p.ema_price,
            p.ema_conf,
        )
        for p in prices
    ]
    assert got == expected


def test_legacy_v1_response_with_base64_vaa_verifies_against_guardian_set_3():
    (price,) = verify_hermes_response(LEGACY, now=NOW, historical=True)
    assert price.price_decimal == Decimal("67160.36942967")
    assert (price.guardian_set_index, price.publish_time) == (3, 1711351541)


def test_hex_and_base64_encodings_give_the_same_prices():
    as_base64 = {"encoding": "base64", "data": [base64.b64encode(LATEST_BLOB).decode()]}
    assert verify(as_base64, LATEST["parsed"]) == verify(LATEST["binary"], LATEST["parsed"])
    assert decode_binary("0x" + LATEST_BLOB.hex()) == [LATEST_BLOB]
    assert reason_of({"encoding": "hex", "data": [base64.b64encode(LATEST_BLOB).decode()]}) == (
        "malformed"
    )


def test_messages_reencode_to_the_signed_bytes():
    update = decode_accumulator_update(LATEST_BLOB)
    for item in update.updates:
        assert PriceFeedMessage.decode(item.message).encode() == item.message
    assert update.encode() == LATEST_BLOB


# --- guardian-set rules: live vs historical -----------------------------------------------------


def test_live_data_needs_the_current_guardian_set_while_historical_accepts_any_known():
    assert reason_of(LATEST["binary"], LATEST["parsed"], historical=False) == (
        "not_current_guardian_set"
    )
    assert reason_of(LEGACY["vaa"], historical=False) == "not_current_guardian_set"
    assert verify(LATEST["binary"], LATEST["parsed"], historical=True)
    # At the time, set 4 was the current one: live data verifies against sets up to 4.
    then = GuardianSets([MAINNET[i] for i in range(5)])
    assert verify(LATEST["binary"], LATEST["parsed"], historical=False, guardian_sets=then)
    assert reason_of(LEGACY["vaa"], historical=False, guardian_sets=then) == (
        "not_current_guardian_set"
    )


def test_a_superseded_set_with_an_expiry_signs_live_data_until_it_expires():
    expiry = int(NOW.timestamp()) + 3600
    sets = GuardianSets([GuardianSet(4, MAINNET[4].addresses, expiration_time=expiry), MAINNET[5]])
    assert verify(LATEST["binary"], historical=False, guardian_sets=sets)
    late = NOW + timedelta(hours=2)
    assert reason_of(LATEST["binary"], historical=False, guardian_sets=sets, now=late) == (
        "expired_guardian_set"
    )
    assert verify(LATEST["binary"], historical=True, guardian_sets=sets, now=late)


def test_unknown_guardian_set_is_rejected():
    only_3 = GuardianSets([MAINNET[3]])
    assert reason_of(LATEST["binary"], guardian_sets=only_3) == "unknown_guardian_set"
    assert verify(LEGACY["vaa"], guardian_sets=only_3)


def test_guardian_set_index_in_the_header_selects_the_set():
    vaa_start = layout(LATEST_BLOB)["vaa"][0]
    as_set_3 = bytearray(LATEST_BLOB)
    as_set_3[vaa_start + 4] = 3
    assert reason_of(bytes(as_set_3)) == "bad_signature"
    as_set_9 = bytearray(LATEST_BLOB)
    as_set_9[vaa_start + 4] = 9
    assert reason_of(bytes(as_set_9)) == "unknown_guardian_set"


def test_a_vaa_from_the_future_is_rejected():
    early = datetime(2024, 5, 3, 14, 0, tzinfo=UTC)  # publish time 14:21:41
    assert reason_of(LATEST["binary"], now=early) == "future_timestamp"


# --- every byte matters --------------------------------------------------------------------------


@pytest.mark.parametrize("signature", [0, 12])
def test_changing_any_byte_of_a_signature_fails(signature):
    start, end = layout(LATEST_BLOB)["signatures"][signature]
    for position in range(start, end):
        for mask in (0x01, 0x80):
            reason = reason_of(flipped(LATEST_BLOB, position, mask))
            assert reason in {"bad_signature", "duplicate_or_unordered_signatures"}, position


def test_changing_any_byte_of_the_vaa_body_fails():
    start, end = layout(LATEST_BLOB)["body"]
    assert end - start == 51 + 37  # body header + AUWV payload
    for position in range(start, end):
        assert reason_of(flipped(LATEST_BLOB, position)) == "bad_signature", position


@pytest.mark.parametrize("update", [0, 1])
def test_changing_any_byte_of_a_signed_message_fails(update):
    start, end = layout(LATEST_BLOB)["messages"][update]
    assert end - start == 85
    for position in range(start, end):
        assert reason_of(flipped(LATEST_BLOB, position)) == "bad_merkle_proof", position


@pytest.mark.parametrize("update", [0, 1])
def test_changing_any_byte_of_a_proof_fails(update):
    start, end = layout(LATEST_BLOB)["proofs"][update]
    assert end - start == 10 * 20
    for position in range(start, end):
        assert reason_of(flipped(LATEST_BLOB, position)) == "bad_merkle_proof", position


def test_tampering_the_legacy_and_sdk_blobs_fails_too():
    for blob in (decode_binary(LEGACY["vaa"])[0], decode_binary(SDK["update_data_base64"])[0]):
        parts = layout(blob)
        assert reason_of(flipped(blob, parts["signatures"][5][0] + 10)) == "bad_signature"
        assert reason_of(flipped(blob, parts["body"][1] - 1)) == "bad_signature"
        assert reason_of(flipped(blob, parts["messages"][-1][0] + 40)) == "bad_merkle_proof"
        assert reason_of(flipped(blob, parts["proofs"][-1][1] - 1)) == "bad_merkle_proof"


def test_dropping_or_swapping_proof_nodes_fails():
    update = decode_accumulator_update(LATEST_BLOB)
    root = WormholeMerkleRoot.decode(parse_vaa(update.vaa).payload).root
    first, second = update.updates
    assert merkle_root_from_proof(first.message, first.proof) == root
    assert merkle_root_from_proof(first.message, first.proof[:-1]) != root
    assert merkle_root_from_proof(first.message, second.proof) != root
    assert merkle_root_from_proof(second.message, first.proof) != root


# --- signature-set rules ------------------------------------------------------------------------


def test_a_signature_set_below_quorum_is_rejected():
    entries = signature_entries(LATEST_BLOB)
    assert len(entries) == 13  # exactly the quorum of 19
    for kept in (entries[:12], entries[1:], []):
        with pytest.raises(VerificationError) as caught:
            verify(with_signatures(LATEST_BLOB, kept))
        assert caught.value.reason == "below_quorum"
        assert "needs 13" in caught.value.detail


def test_duplicated_guardian_indices_are_rejected():
    entries = signature_entries(LATEST_BLOB)
    # 13 entries but only 12 distinct guardians
    duplicated = [*entries[:12], entries[11]]
    assert reason_of(with_signatures(LATEST_BLOB, duplicated)) == (
        "duplicate_or_unordered_signatures"
    )
    swapped = [entries[1], entries[0], *entries[2:]]
    assert reason_of(with_signatures(LATEST_BLOB, swapped)) == "duplicate_or_unordered_signatures"


def test_every_included_signature_must_be_valid_even_above_quorum():
    # Guardian 19 does not exist in a set of 19; appending it keeps the count above quorum.
    entries = signature_entries(LATEST_BLOB)
    extra = bytes([19]) + entries[0][1:]
    assert reason_of(with_signatures(LATEST_BLOB, [*entries, extra])) == "bad_signature"


def test_a_wrong_emitter_is_rejected():
    other = (26, keccak(b"someone else"))
    assert reason_of(LATEST["binary"], expected_emitter=other) == "wrong_emitter"
    assert reason_of(LATEST["binary"], expected_emitter=(1, PYTHNET_EMITTER[1])) == "wrong_emitter"
    # A real, validly signed Wormhole message that is not from Pythnet (a governance VAA).
    vaa = verify_vaa(UPGRADE_VAAS[3], guardian_sets=MAINNET, now=NOW, historical=True)
    with pytest.raises(VerificationError) as caught:
        verify_vaa(
            UPGRADE_VAAS[3],
            guardian_sets=MAINNET,
            now=NOW,
            historical=True,
            expected_emitter=PYTHNET_EMITTER,
        )
    assert caught.value.reason == "wrong_emitter"
    assert vaa.emitter == (GOVERNANCE_CHAIN, GOVERNANCE_EMITTER)


# --- parsed must equal signed -------------------------------------------------------------------

PARSED_FIELDS = [
    ("price", "price"),
    ("price", "conf"),
    ("price", "expo"),
    ("price", "publish_time"),
    ("ema_price", "price"),
    ("ema_price", "conf"),
    ("ema_price", "expo"),
    ("ema_price", "publish_time"),
    ("metadata", "prev_publish_time"),
    ("metadata", "slot"),
]


@pytest.mark.parametrize(("group", "key"), PARSED_FIELDS)
def test_a_parsed_field_that_differs_from_the_signed_one_is_rejected(group, key):
    for index in range(2):
        parsed = copy.deepcopy(LATEST["parsed"])
        value = parsed[index][group][key]
        parsed[index][group][key] = str(int(value) + 1) if isinstance(value, str) else value + 1
        with pytest.raises(VerificationError) as caught:
            verify(LATEST["binary"], parsed)
        assert caught.value.reason == "parsed_mismatch"
        assert f"{group}.{key}" in caught.value.detail


def test_parsed_price_text_must_be_the_exact_integer():
    for text in ("6140993501000.0", "+6140993501000", "06140993501000", "6.140993501e12", ""):
        parsed = copy.deepcopy(LATEST["parsed"])
        parsed[0]["price"]["price"] = text
        assert reason_of(LATEST["binary"], parsed) == "parsed_mismatch", text
    parsed = copy.deepcopy(LATEST["parsed"])
    parsed[0]["price"]["price"] = 6140993501000  # a number instead of a string: same value
    parsed[0]["id"] = "0x" + parsed[0]["id"].upper()
    assert verify(LATEST["binary"], parsed)


def test_a_parsed_id_without_a_signed_message_is_rejected():
    parsed = copy.deepcopy(LATEST["parsed"])
    parsed[1]["id"] = "ff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace"
    assert reason_of(LATEST["binary"], parsed) == "parsed_mismatch"


def test_legacy_parsed_fields_are_checked():
    legacy = copy.deepcopy(LEGACY)
    legacy["ema_price"]["price"] = "6720643700001"
    with pytest.raises(VerificationError) as caught:
        verify_hermes_response(legacy, now=NOW, historical=True)
    assert caught.value.reason == "parsed_mismatch"
    assert "ema_price.price" in caught.value.detail


def test_missing_parsed_fields_are_malformed():
    parsed = copy.deepcopy(LATEST["parsed"])
    del parsed[0]["price"]["conf"]
    assert reason_of(LATEST["binary"], parsed) == "malformed"


def test_check_price_update_reports_the_outcome_for_the_observation():
    good = check_price_update(LATEST["binary"], LATEST["parsed"], now=NOW, historical=True)
    assert (
        good.verified
        and good.reason is None
        and set(good.by_id) == {item["id"] for item in LATEST["parsed"]}
    )
    bad = check_price_update(LATEST["binary"], LATEST["parsed"], now=NOW, historical=False)
    assert (bad.verified, bad.reason, bad.prices) == (False, "not_current_guardian_set", ())
    assert "current set is 7" in bad.detail


# --- the accumulator format ---------------------------------------------------------------------


def test_malformed_accumulator_updates_are_rejected():
    def patched(position: int, value: int) -> bytes:
        blob = bytearray(LATEST_BLOB)
        blob[position] = value
        return bytes(blob)

    assert reason_of(b"PNAX" + LATEST_BLOB[4:]) == "malformed"  # magic
    assert reason_of(patched(4, 2)) == "malformed"  # major version
    assert reason_of(patched(7, 1)) == "malformed"  # proof type
    assert reason_of(LATEST_BLOB[:-1]) == "malformed"  # truncated
    assert reason_of(LATEST_BLOB + b"\x00") == "malformed"  # trailing bytes
    assert reason_of(b"") == "malformed"


def test_a_newer_minor_version_with_a_trailing_header_still_verifies():
    update = decode_accumulator_update(LATEST_BLOB)
    newer = AccumulatorUpdate(1, 3, b"future", 0, update.vaa, update.updates).encode()
    assert verify(newer, LATEST["parsed"]) == verify(LATEST_BLOB, LATEST["parsed"])


def test_merkle_tree_matches_pythnet_construction():
    for count in range(1, 18):
        messages = [bytes([i]) * (i + 1) for i in range(count)]
        root, proofs = merkle_tree(messages)
        depth = (count - 1).bit_length()
        for message, proof in zip(messages, proofs, strict=True):
            assert len(proof) == depth
            assert merkle_root_from_proof(message, proof) == root
    root, proofs = merkle_tree([b"only"])
    assert (root, proofs) == (leaf_hash(b"only"), [()])
    # three leaves: the fourth is the null leaf H(0x02)
    _, proofs = merkle_tree([b"a", b"b", b"c"])
    assert proofs[2][0] == NULL_HASH == keccak(b"\x02")[:20]


# --- the devnet signer --------------------------------------------------------------------------


def feed_messages(count: int, publish_time: int = 1_750_000_000) -> list[PriceFeedMessage]:
    return [
        PriceFeedMessage(
            keccak(f"devnet feed {i}".encode()),
            250_000_000_000 + i,
            100_000 + i,
            -8,
            publish_time,
            publish_time - 1,
            249_000_000_000 - i,
            90_000 + i,
        )
        for i in range(count)
    ]


DEVNET_NOW = datetime.fromtimestamp(1_750_000_005, tz=UTC)


@pytest.mark.parametrize(("guardians", "count"), [(5, 70), (19, 3), (1, 1)])
def test_devnet_signed_updates_round_trip(guardians, count):
    devnet = DevnetGuardians.generate(guardians)
    signer = PythUpdateSigner(devnet)
    messages = feed_messages(count)
    update = signer.build(messages, slot=4242)
    for encoding in ("hex", "base64"):
        body = update.hermes_json(encoding=encoding)
        body = json.loads(json.dumps(body), parse_float=Decimal)
        prices = verify_hermes_response(
            body, guardian_sets=devnet.guardian_sets(), now=DEVNET_NOW, historical=False
        )
        assert [(p.feed_id, p.price, p.conf, p.ema_price, p.slot) for p in prices] == [
            (m.id_hex, m.price, m.conf, m.ema_price, 4242) for m in messages
        ]
    vaa = parse_vaa(decode_accumulator_update(update.binary).vaa)
    assert [s.index for s in vaa.signatures] == list(range(guardians))
    assert vaa.emitter == PYTHNET_EMITTER
    assert signer.build(messages, slot=4242) == update  # deterministic


def test_devnet_guardians_from_settings_addresses():
    devnet = DevnetGuardians(devnet_guardian_keys(5))
    sets = GuardianSets.from_addresses(0, devnet.checksum_addresses())
    update = PythUpdateSigner(devnet).build(feed_messages(2), slot=1)
    assert verify(
        update.binary, update.parsed, guardian_sets=sets, now=DEVNET_NOW, historical=False
    )


def test_devnet_updates_do_not_verify_against_mainnet_guardians():
    update = PythUpdateSigner(DevnetGuardians.generate(5)).build(feed_messages(2), slot=1)
    assert reason_of(update.binary, now=DEVNET_NOW, historical=True) == "bad_signature"
    assert reason_of(update.binary, now=DEVNET_NOW, historical=False) == (
        "not_current_guardian_set"
    )


EXPECTED_FAULT_REASONS = {
    "bad_signature": "bad_signature",
    "below_quorum": "below_quorum",
    "duplicate_signatures": "duplicate_or_unordered_signatures",
    "wrong_emitter": "wrong_emitter",
    "bad_proof": "bad_merkle_proof",
    "parsed_mismatch": "parsed_mismatch",
    "unknown_guardian_set": "unknown_guardian_set",
}


@pytest.mark.parametrize("count", [1, 5])
@pytest.mark.parametrize("fault", FAULTS)
def test_devnet_faults_are_rejected_with_their_reason(fault, count):
    devnet = DevnetGuardians.generate(5)
    update = PythUpdateSigner(devnet).build(feed_messages(count), slot=7, fault=fault)
    with pytest.raises(VerificationError) as caught:
        verify_hermes_response(
            update.hermes_json(),
            guardian_sets=devnet.guardian_sets(),
            now=DEVNET_NOW,
            historical=False,
        )
    assert caught.value.reason == EXPECTED_FAULT_REASONS[fault]


def sign_raw_messages(devnet: DevnetGuardians, messages: list[bytes]) -> bytes:
    """A PNAU blob over arbitrary message bytes, signed by the devnet guardians."""
    root, proofs = merkle_tree(messages)
    body = encode_body(
        timestamp=1_750_000_000,
        nonce=0,
        emitter_chain=PYTHNET_EMITTER[0],
        emitter_address=PYTHNET_EMITTER[1],
        sequence=1,
        consistency_level=1,
        payload=WormholeMerkleRoot(9, 10_000, root).encode(),
    )
    vaa = encode_vaa(devnet.index, devnet.sign(body_digest(body)), body)
    updates = tuple(MerkleUpdate(m, p) for m, p in zip(messages, proofs, strict=True))
    return AccumulatorUpdate(1, 0, b"", 0, vaa, updates).encode()


def test_longer_price_messages_are_accepted_and_other_message_types_are_not():
    devnet = DevnetGuardians.generate(5)
    message = feed_messages(1)[0]
    longer = sign_raw_messages(devnet, [message.encode() + b"future fields"])
    (price,) = verify(longer, guardian_sets=devnet.guardian_sets(), now=DEVNET_NOW)
    assert (price.feed_id, price.price) == (message.id_hex, message.price)
    twap = sign_raw_messages(devnet, [b"\x01" + message.encode()[1:]])
    assert reason_of(twap, guardian_sets=devnet.guardian_sets(), now=DEVNET_NOW) == "malformed"
