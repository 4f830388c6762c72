"""RedStone data packages: rebuilt signed bytes, recovered signers, threshold, age, tampering.

Ground truth: 645 real signed `redstone-primary-prod` packages and RedStone's own unit vectors
(tests/fixtures/real/README.md). Pure functions: no database.
"""

import copy
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from eth_hash.auto import keccak
from eth_keys import keys

from apps.protocols.verification.redstone import (
    DataPackage,
    DataPoint,
    InvalidSignature,
    MalformedPackage,
    Rejection,
    VerifiedValue,
    build_evm_payload,
    feed_id_bytes32,
    gateway_json,
    js_to_fixed_integer,
    parse_gateway_response,
    parse_package,
    recover_address,
    recover_signer,
    serialize,
    sign,
    sign_package,
    verify_feed,
)

FIXTURES = Path(__file__).parents[1] / "fixtures/real"
PROD_BODY = (FIXTURES / "redstone_primary_prod_data_packages_full.json").read_bytes()
PROD = parse_gateway_response(PROD_BODY)
PROD_JSON = json.loads(PROD_BODY, parse_float=Decimal)
VECTORS = json.loads((FIXTURES / "redstone_unit_test_vectors.json").read_text())
# The fixture README: primary-prod packages of 2024 are signed by the 5 "internal" signers (the
# external ones were added in 2025).
PROD_SIGNERS = json.loads((FIXTURES / "redstone_authorized_signers.json").read_text())[
    "dataServices"
]["redstone-primary-prod"]["internal"]

PACKAGE_TIME = datetime(2024, 7, 1, 18, 1, 40, tzinfo=UTC)  # timestampMilliseconds 1719856900000
NOW = PACKAGE_TIME + timedelta(seconds=5)
MAX_AGE = timedelta(minutes=3)

TEST_KEY_1 = bytes.fromhex(VECTORS["private_keys"]["PRIVATE_KEY_FOR_TESTS_1"][2:])
TEST_KEY_2 = bytes.fromhex(VECTORS["private_keys"]["PRIVATE_KEY_FOR_TESTS_2"][2:])
TEST_ADDRESS_1 = "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A"
TEST_ADDRESS_2 = "0x1563915e194D8CfBA1943570603F7606A3115508"

# Made-up devnet keys (never used anywhere real).
DEVNET_KEYS = [bytes([index]) * 32 for index in range(0x41, 0x46)]
DEVNET_SIGNERS = {keys.PrivateKey(key).public_key.to_checksum_address() for key in DEVNET_KEYS}
OUTSIDER_KEY = b"\x33" * 32


def verify(packages, feed_id, **overrides):
    options = {
        "authorised": PROD_SIGNERS,
        "threshold": 3,
        "now": NOW,
        "max_age": MAX_AGE,
    } | overrides
    return verify_feed(packages, feed_id=feed_id, **options)


def raw_json(package_id, index):
    """A deep copy of one real package as parsed JSON (numbers as Decimal), to tamper with."""
    return copy.deepcopy(PROD_JSON[package_id][index])


def devnet_package(values, *, timestamp=PACKAGE_TIME, key=DEVNET_KEYS[0], **point_options):
    points = [DataPoint(feed, Decimal(value), **point_options) for feed, value in values.items()]
    timestamp_ms = (timestamp - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    return sign_package(points, timestamp_ms, key, data_package_id="__DEVNET__")


# --- real primary-prod packages ---------------------------------------------------------------


def test_fixture_has_645_packages_of_129_ids_with_one_timestamp():
    assert len(PROD) == 129
    assert all(len(packages) == 5 for packages in PROD.values())
    assert {p.timestamp for packages in PROD.values() for p in packages} == {PACKAGE_TIME}


def test_every_real_package_recovers_to_its_recorded_authorised_signer():
    for package_id, packages in PROD.items():
        signers = [recover_signer(package) for package in packages]
        assert signers == [package.claimed_signer for package in packages], package_id
        assert set(signers) == set(PROD_SIGNERS), package_id


def test_every_real_feed_is_the_median_of_its_five_signed_values():
    checked = 0
    for package_id, packages in PROD.items():
        for feed_id in [point.feed_id for point in packages[0].data_points]:
            result = verify(packages, feed_id)
            assert isinstance(result, VerifiedValue), (package_id, feed_id, result)
            signed = sorted(package.point(feed_id).signed_integer() for package in packages)
            assert result.raw_value == signed[2]
            assert result.value == Decimal(signed[2]).scaleb(-result.decimals)
            assert set(result.signers) == set(PROD_SIGNERS)
            assert result.timestamp == PACKAGE_TIME
            assert result.rejected_packages == ()
            checked += 1
    assert checked == 128 + 5  # 128 single-feed ids and the 5 feeds of __FRAXTAL__


# Medians worked out by hand from the JSON values (signed integer = value rounded at `decimals`).
@pytest.mark.parametrize(
    ("package_id", "feed_id", "raw_value", "decimals", "value"),
    [
        # 3486.563328645609, 3486.79, 3486.9520348507745 (x2), 3486.9628397451065
        ("ETH", "ETH", 348695203485, 8, Decimal("3486.95203485")),
        # 63596.58226513159 (x2), 63597.7999562293, 63597.972532907195 (x2)
        ("BTC", "BTC", 6359779995623, 8, Decimal("63597.79995623")),
        # 14 decimals: 0.9999565023760476 (x2), 0.9999670702449966 (x3)
        ("USDC.DAI", "USDC.DAI", 99996707024500, 14, Decimal("0.999967070245")),
        # inside the 5-feed package: 0.28674820312774, 0.2867490916642, 0.2868060458321, ...
        ("__FRAXTAL__", "CRV", 28680605, 8, Decimal("0.28680605")),
        ("__FRAXTAL__", "ETH", 348695203485, 8, Decimal("3486.95203485")),
    ],
)
def test_known_real_medians(package_id, feed_id, raw_value, decimals, value):
    result = verify(PROD[package_id], feed_id)
    assert isinstance(result, VerifiedValue)
    assert (result.raw_value, result.decimals, result.value) == (raw_value, decimals, value)
    assert len(result.signers) == 5


def test_a_feed_is_verified_across_its_own_and_multi_feed_packages():
    everything = [package for packages in PROD.values() for package in packages]
    result = verify(everything, "BTC")
    # Each signer counts once although it signed BTC in "BTC" and in "__FRAXTAL__" (signer
    # 0x8BB8… even signed different BTC values in the two); its dedicated package is used.
    assert len(result.signers) == 5
    assert {value.data_package_id for value in result.values} == {"BTC"}
    assert result.value == Decimal("63597.79995623")


# JS (V8, node 20) `Number(x).toFixed(d)` results, the rule RedStone signs with.
@pytest.mark.parametrize(
    ("text", "decimals", "expected"),
    [
        ("1.005", 2, 100),  # the double is 1.00499999…
        ("0.100676425", 8, 10067642),  # a real CANTO value; text rounding gives …643
        ("3524.917805795", 8, 352491780579),  # a real ETH+ value
        ("10844273560.510235", 8, 1084427356051023483),  # real: toFixed shows binary digits
        ("1.5e-8", 8, 1),
        ("0.5", 0, 1),
        ("2.5", 0, 3),
        ("1.45", 1, 14),
        ("0.9999670702449966", 14, 99996707024500),  # real USDC.DAI
        ("123456789.123456789", 18, 123456789123456791043281555),
        ("42000", 8, 4200000000000),
    ],
)
def test_signed_integer_follows_js_to_fixed_on_the_double(text, decimals, expected):
    assert js_to_fixed_integer(Decimal(text), decimals) == expected


def test_rounding_the_json_text_instead_would_break_real_signatures():
    package = next(p for p in PROD["CANTO"] if p.point("CANTO").value == Decimal("0.100676425"))
    assert recover_signer(package) == package.claimed_signer
    text_rounded = DataPackage(
        (DataPoint("CANTO", Decimal("0.10067643")),), package.timestamp_ms, package.signature
    )
    assert recover_signer(text_rounded) != package.claimed_signer


# --- RedStone's unit vectors ------------------------------------------------------------------


def test_unit_vector_serialization_and_signatures_byte_for_byte():
    vector = VECTORS["btc_eth_package"]
    points = tuple(DataPoint(p["dataFeedId"], p["value"]) for p in vector["dataPoints"])
    package = DataPackage(points, vector["timestampMilliseconds"])
    serialized = serialize(package)
    assert "0x" + serialized.hex() == vector["expected_serialized_unsigned_hex"]

    signature_1, signature_2 = sign(serialized, TEST_KEY_1), sign(serialized, TEST_KEY_2)
    assert signature_1.hex() == vector["expected_signature_key1_hex"]
    assert signature_2.hex() == vector["expected_signature_key2_hex"]
    assert recover_address(serialized, signature_1) == TEST_ADDRESS_1
    assert recover_address(serialized, signature_2) == TEST_ADDRESS_2

    payload_vector = VECTORS["evm_payload_two_packages"]
    metadata = payload_vector["unsigned_metadata_utf8"].encode()
    signed = [
        sign_package(points, vector["timestampMilliseconds"], key)
        for key in (TEST_KEY_1, TEST_KEY_2)
    ]
    payload = build_evm_payload(signed, metadata)
    assert payload.hex() == payload_vector["expected_payload_hex_without_0x"]


@pytest.mark.parametrize("index", [0, 1], ids=["numeric", "mixed-numeric-and-bytes"])
def test_unit_vector_plain_objects_recover_and_re_sign_exactly(index):
    obj = VECTORS["plain_obj_signed_key1"][index]
    package = parse_package(json.loads(json.dumps(obj), parse_float=Decimal))
    assert recover_signer(package) == TEST_ADDRESS_1
    assert sign(serialize(package), TEST_KEY_1) == package.signature
    resigned = sign_package(package.data_points, package.timestamp_ms, TEST_KEY_1)
    assert resigned.signature == package.signature


def test_mixed_vector_signs_bytes_raw_and_decimals_18():
    package = parse_package(VECTORS["plain_obj_signed_key1"][1])
    serialized = serialize(package)
    assert len(serialized) == 4 * 64 + 13
    # Sorted by bytes32 id: ETH, PRECISE-BTC, SOME-BYTES, SOME-STRING.
    precise = serialized[64 + 32 : 128]
    assert int.from_bytes(precise, "big") == 20000 * 10**18
    assert serialized[128 + 32 : 192] == b"qwertyuiopasdfghjklzxcvbnmqwerty"


def test_long_feed_ids_are_hashed_and_points_sorted_by_their_bytes32():
    long_id = "SolvBTC_MERLIN/BTC-TWAP-60-AND-A-BIT-MORE"  # > 31 characters
    hex_id = "0x" + "ab" * 20
    assert feed_id_bytes32("ETH") == b"ETH" + b"\0" * 29
    assert feed_id_bytes32(long_id) == keccak(long_id.encode())
    assert feed_id_bytes32(hex_id) == keccak(bytes.fromhex("ab" * 20))
    points = (DataPoint("ZZZ", Decimal(1)), DataPoint(long_id, Decimal(2)))
    serialized = serialize(DataPackage(points, 1))
    ids = sorted([feed_id_bytes32("ZZZ"), keccak(long_id.encode())])
    assert [serialized[0:32], serialized[64:96]] == ids
    with pytest.raises(MalformedPackage, match="longer than 31 bytes"):
        feed_id_bytes32("é" * 16)  # 16 characters but 32 UTF-8 bytes


# --- tampering --------------------------------------------------------------------------------


@pytest.mark.parametrize(("package_id", "index"), [("ETH", 0), ("USDC.DAI", 2), ("__FRAXTAL__", 4)])
def test_changing_any_byte_of_the_signed_bytes_or_signature_is_detected(package_id, index):
    package = PROD[package_id][index]
    serialized, signature = serialize(package), package.signature
    signer = recover_address(serialized, signature)
    assert signer == package.claimed_signer

    def mutated(data, position):
        mask = position % 255 + 1  # a different, non-zero change at each position
        return data[:position] + bytes([data[position] ^ mask]) + data[position + 1 :]

    def recovers_signer(data, sig):
        try:
            return recover_address(data, sig) == signer
        except InvalidSignature:
            return False

    positions = range(len(serialized))
    assert not any(recovers_signer(mutated(serialized, i), signature) for i in positions)
    assert not any(recovers_signer(serialized, mutated(signature, i)) for i in range(65))


def test_tampered_json_value_is_a_bad_signature_but_the_others_still_count():
    tampered = raw_json("ETH", 0)
    tampered["dataPoints"][0]["value"] = Decimal("9999.99")
    packages = [parse_package(tampered), *PROD["ETH"][1:]]
    result = verify(packages, "ETH")
    assert isinstance(result, VerifiedValue)
    assert len(result.signers) == 4
    [problem] = result.rejected_packages
    assert problem.reason == "bad_signature"
    assert problem.raw_value == "9999.99"
    assert problem.package["signerAddress"] == tampered["signerAddress"]


def test_a_changed_number_in_the_real_body_text_is_a_bad_signature():
    # Signer 0x51Ce… sent ETH 3486.563328645609 in both "ETH" and "__FRAXTAL__".
    body = PROD_BODY.replace(b"3486.563328645609", b"3486.663328645609")
    assert body != PROD_BODY
    everything = [p for packages in parse_gateway_response(body).values() for p in packages]
    result = verify(everything, "ETH")
    assert isinstance(result, VerifiedValue)
    assert len(result.signers) == 4
    assert {p.package["dataPackageId"] for p in result.rejected_packages} == {"ETH", "__FRAXTAL__"}
    assert {p.reason for p in result.rejected_packages} == {"bad_signature"}
    assert result.value == Decimal("3486.95203485")


def test_tampered_timestamp_is_a_bad_signature():
    tampered = raw_json("ETH", 1)
    tampered["timestampMilliseconds"] += 1000
    result = verify([parse_package(tampered)], "ETH", threshold=1)
    assert isinstance(result, Rejection)
    assert result.reason == "bad_signature"


def test_digits_of_the_json_float_beyond_the_signed_precision_are_ignored():
    # 3486.9520348507745 is signed as 348695203485: extra digits are not signed, so they change
    # nothing, and the price comes from the signed integer, never from the JSON float.
    tampered = raw_json("ETH", 4)
    assert tampered["dataPoints"][0]["value"] == Decimal("3486.9520348507745")
    tampered["dataPoints"][0]["value"] = Decimal("3486.952034851")
    result = verify([parse_package(tampered)], "ETH", threshold=1)
    assert isinstance(result, VerifiedValue)
    assert result.value == Decimal("3486.95203485")


def test_unsigned_fields_change_nothing():
    baseline = verify(PROD["ETH"], "ETH")
    changed = []
    for index in range(5):
        obj = raw_json("ETH", index)
        obj["signerAddress"] = PROD_SIGNERS[(index + 1) % 5]  # another authorised signer
        obj["isSignatureValid"] = False
        obj["dataServiceId"] = "redstone-main-demo"
        obj["dataPoints"][0]["metadata"] = {"value": "1.0"}
        changed.append(parse_package(obj))
    assert verify(changed, "ETH") == baseline


# --- signers, threshold, age ------------------------------------------------------------------


def test_unknown_signer_is_rejected_and_reported():
    outsider = devnet_package({"ETH": "9999.99"}, key=OUTSIDER_KEY)
    result = verify([*PROD["ETH"], outsider], "ETH")
    assert isinstance(result, VerifiedValue)
    assert result.value == Decimal("3486.95203485")
    [problem] = result.rejected_packages
    assert problem.reason == "unknown_signer"
    assert outsider.claimed_signer in problem.detail


def test_only_unknown_signers_is_a_rejection_for_unknown_signer():
    outsiders = [devnet_package({"ETH": "1"}, key=key) for key in DEVNET_KEYS]
    result = verify(outsiders, "ETH")
    assert isinstance(result, Rejection)
    assert result.reason == "unknown_signer"
    assert len(result.rejected_packages) == 5


def test_an_outsider_claiming_an_authorised_address_is_a_bad_signature():
    forged = devnet_package({"ETH": "1"}, key=OUTSIDER_KEY)
    forged = DataPackage(
        forged.data_points, forged.timestamp_ms, forged.signature, claimed_signer=PROD_SIGNERS[0]
    )
    result = verify([forged], "ETH", threshold=1)
    assert isinstance(result, Rejection)
    assert result.reason == "bad_signature"


def test_two_distinct_signers_are_below_a_threshold_of_three_even_with_duplicates():
    first, second = PROD["ETH"][0], PROD["ETH"][1]
    in_fraxtal = next(p for p in PROD["__FRAXTAL__"] if p.claimed_signer == first.claimed_signer)
    result = verify([first, first, second, in_fraxtal], "ETH")
    assert isinstance(result, Rejection)
    assert result.reason == "below_threshold"
    assert result.detail.startswith("2 distinct authorised signer(s)")
    assert result.rejected_packages == ()


def test_no_package_for_the_feed_is_below_threshold():
    result = verify(PROD["BTC"], "ETH")
    assert isinstance(result, Rejection)
    assert (result.reason, result.detail) == ("below_threshold", "no package carries ETH")


def test_even_number_of_signers_gives_the_exact_mean_of_the_middle_two():
    packages = [
        devnet_package({"ETH": value}, key=key)
        for value, key in zip(["1.00000001", "1.00000002"], DEVNET_KEYS, strict=False)
    ]
    result = verify(packages, "ETH", authorised=DEVNET_SIGNERS, threshold=2)
    assert (result.value, result.raw_value, result.decimals) == (
        Decimal("1.000000015"),
        1000000015,
        9,
    )
    packages.append(devnet_package({"ETH": "1.00000004"}, key=DEVNET_KEYS[2]))
    packages.append(devnet_package({"ETH": "9"}, key=DEVNET_KEYS[3]))
    result = verify(packages, "ETH", authorised=DEVNET_SIGNERS, threshold=2)
    assert (result.value, result.raw_value, result.decimals) == (
        Decimal("1.00000003"),
        100000003,
        8,
    )


def test_too_old_packages_are_rejected():
    result = verify(PROD["ETH"], "ETH", now=PACKAGE_TIME + MAX_AGE + timedelta(milliseconds=1))
    assert isinstance(result, Rejection)
    assert result.reason == "too_old"
    assert {problem.reason for problem in result.rejected_packages} == {"too_old"}
    assert len(result.rejected_packages) == 5
    assert isinstance(verify(PROD["ETH"], "ETH", now=PACKAGE_TIME + MAX_AGE), VerifiedValue)


def test_one_stale_signer_is_dropped_and_the_median_uses_the_rest():
    fresh = [devnet_package({"ETH": v}, key=k) for v, k in zip("123", DEVNET_KEYS, strict=False)]
    stale = devnet_package({"ETH": "100"}, key=DEVNET_KEYS[3], timestamp=PACKAGE_TIME - MAX_AGE)
    result = verify([*fresh, stale], "ETH", authorised=DEVNET_SIGNERS)
    assert result.value == Decimal("2.00000000")
    assert [problem.reason for problem in result.rejected_packages] == ["too_old"]


def test_a_signers_freshest_package_is_used():
    old = devnet_package({"ETH": "1"}, timestamp=PACKAGE_TIME - timedelta(seconds=10))
    new = devnet_package({"ETH": "2"})
    result = verify([new, old], "ETH", authorised=DEVNET_SIGNERS, threshold=1)
    assert result.value == Decimal("2.00000000")


def test_future_timestamps_are_rejected_beyond_the_skew():
    result = verify(PROD["ETH"], "ETH", now=PACKAGE_TIME - timedelta(minutes=2))
    assert isinstance(result, Rejection)
    assert result.reason == "future_timestamp"
    within_skew = verify(PROD["ETH"], "ETH", now=PACKAGE_TIME - timedelta(seconds=30))
    assert isinstance(within_skew, VerifiedValue)
    assert within_skew.timestamp == PACKAGE_TIME


def test_verifier_needs_an_aware_now_and_a_positive_threshold():
    with pytest.raises(ValueError, match="timezone-aware"):
        verify(PROD["ETH"], "ETH", now=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="threshold"):
        verify(PROD["ETH"], "ETH", threshold=0)


# --- malformed input --------------------------------------------------------------------------


def with_change(path, value):
    # Built from a float parse: json.dumps writes each float's shortest text, i.e. the same
    # literal, and only the body text matters here.
    obj = json.loads(PROD_BODY)["ETH"][0]
    target = obj
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps({"ETH": [obj]})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"\xff\xfe{", "not valid JSON"),
        (b'{"ETH": [{"value": NaN}]}', "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'{"ETH": {}}', "expected a list"),
        (b'{"ETH": [42]}', "package must be an object"),
        (with_change(["signature"], KeyError), "ETH[0]: signature must be a base64 string"),
        (with_change(["signature"], "not base64!"), "ETH[0]: signature is not valid base64"),
        (with_change(["signature"], "AAAA"), "ETH[0]: signature must decode to 65 bytes"),
        (with_change(["timestampMilliseconds"], "1"), "ETH[0]: timestampMilliseconds must be"),
        (with_change(["timestampMilliseconds"], -1), "ETH[0]: timestampMilliseconds must be"),
        (with_change(["dataPoints"], {}), "ETH[0]: dataPoints must be a list"),
        (with_change(["dataPoints", 0, "dataFeedId"], 7), "dataPoints[0]: dataFeedId must be"),
        (with_change(["dataPoints", 0, "value"], True), "dataPoints[0]: value must be a number"),
        (with_change(["dataPoints", 0, "value"], None), "dataPoints[0]: value must be a number"),
        (with_change(["dataPoints", 0, "value"], "**"), "dataPoints[0]: value is not valid base64"),
        (with_change(["dataPoints", 0, "decimals"], -1), "dataPoints[0]: ETH: decimals must be"),
        (with_change(["dataPoints", 0, "valueByteSize"], 33), "ETH: valueByteSize must be"),
        (with_change(["signerAddress"], 5), "ETH[0]: signerAddress must be a string"),
    ],
)
def test_malformed_gateway_bodies_raise_a_clear_error(body, message):
    with pytest.raises(MalformedPackage) as raised:
        parse_gateway_response(body)
    assert message in str(raised.value)


def test_packages_that_cannot_be_serialized_are_quarantined_as_malformed():
    signature = PROD["ETH"][0].signature
    duplicated = DataPackage(
        (DataPoint("ETH", Decimal(1)), DataPoint("ETH", Decimal(2))), 1, signature
    )
    negative = DataPackage((DataPoint("ETH", Decimal(-1)),), 1, signature)
    overflow = DataPackage((DataPoint("ETH", Decimal(300), 0, 1),), 1, signature)
    result = verify([duplicated, negative, overflow], "ETH", now=NOW)
    assert isinstance(result, Rejection)
    assert result.reason == "malformed"
    details = [problem.detail for problem in result.rejected_packages]
    assert "duplicated dataFeedId" in details[0]
    assert "negative" in details[1]
    assert "does not fit in 1 bytes" in details[2]
    with pytest.raises(MalformedPackage, match="empty"):
        serialize(DataPackage((), 1, signature))


def test_a_bytes_data_point_is_not_a_price():
    package = sign_package(
        [DataPoint("ETH", b"\x01" * 32)], 1719856900000, DEVNET_KEYS[0], data_package_id="ETH"
    )
    result = verify([package], "ETH", authorised=DEVNET_SIGNERS, threshold=1)
    assert isinstance(result, Rejection)
    assert result.reason == "malformed"


# --- devnet signing ---------------------------------------------------------------------------


def test_devnet_signed_response_round_trips_through_json_and_verification():
    timestamp_ms = 1719856900000
    response = {
        "ETH": [
            sign_package(
                [DataPoint("ETH", Decimal(value))],
                timestamp_ms,
                key,
                data_package_id="ETH",
                data_service_id="devnet",
            )
            for value, key in zip(
                ["3012.12345678", "3012.5", "3013", "3011.98765432", "3012.2"],
                DEVNET_KEYS,
                strict=True,
            )
        ],
        "__MULTI__": [
            sign_package(
                [
                    DataPoint("BTC", Decimal("64000.1")),
                    DataPoint("USDC.DAI", Decimal("0.99996707024499"), decimals=14),
                ],
                timestamp_ms,
                key,
                data_package_id="__MULTI__",
            )
            for key in DEVNET_KEYS[:3]
        ],
    }
    body = gateway_json(response)
    assert '"value":3012.12345678' in body  # the exact literal, not a float rendering
    parsed = parse_gateway_response(body.encode())
    assert parsed == response
    options = {"authorised": DEVNET_SIGNERS, "now": NOW}
    eth = verify(parsed["ETH"], "ETH", **options)
    assert (eth.value, eth.signers) == (Decimal("3012.20000000"), tuple(sorted(DEVNET_SIGNERS)))
    usdc = verify(parsed["__MULTI__"], "USDC.DAI", **options)
    assert (usdc.raw_value, usdc.decimals) == (99996707024499, 14)
    assert verify(parsed["__MULTI__"], "BTC", **options).value == Decimal("64000.10000000")
    assert isinstance(verify(parsed["ETH"], "ETH", now=NOW), Rejection)  # not prod signers
