"""Webhook signatures (Standard Webhooks), checked against the published test vector.

The vector (tests/fixtures/real/webhook_signature_vectors.json, provenance in the README there) is
the Standard Webhooks / Svix manual-verification example. Its timestamp is from 2021, so every
check of it freezes the clock at the vector's timestamp.
"""
import base64
import hashlib
import hmac
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import time_machine

from apps.alerts.signing import (
    SignatureError,
    generate_secret,
    new_message_id,
    sign,
    verify,
)

ROOT = Path(__file__).parents[2]
VECTOR = json.loads((ROOT / "tests/fixtures/real/webhook_signature_vectors.json").read_text())[
    "standard_webhooks_spec_vector"
]
SECRET = VECTOR["secret"]
HEADERS = VECTOR["headers"]
BODY = VECTOR["body"].encode()
MSG_ID = HEADERS["webhook-id"]
TS = int(HEADERS["webhook-timestamp"])
DOCS = ROOT / "docs/webhooks.md"


def manual_signature(secret: str, msg_id: str, ts: int, body: bytes) -> str:
    """Independent HMAC, written from the spec text (not via apps.alerts.signing)."""
    key = base64.b64decode(secret[len("whsec_") :])
    digest = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def reason(secret: str, headers: dict, body: bytes, now: float = TS, **kwargs) -> str:
    with pytest.raises(SignatureError) as excinfo:
        verify(secret, headers, body, now=now, **kwargs)
    return excinfo.value.reason


# --- The published vector ---------------------------------------------------------------------


def test_published_vector_verifies():
    verify(SECRET, HEADERS, BODY, now=TS)


def test_sign_reproduces_published_headers_exactly():
    assert sign([SECRET], MSG_ID, TS, BODY) == HEADERS


def test_manual_hmac_matches_vector_and_sign():
    assert f"v1,{manual_signature(SECRET, MSG_ID, TS, BODY)}" == HEADERS["webhook-signature"]
    secret, msg_id, body = generate_secret(), new_message_id(), b'{"type":"alert.opened"}\n'
    expected = f"v1,{manual_signature(secret, msg_id, 1_700_000_000, body)}"
    assert sign([secret], msg_id, 1_700_000_000, body)["webhook-signature"] == expected


def test_headers_are_case_insensitive():
    verify(SECRET, {name.upper(): value for name, value in HEADERS.items()}, BODY, now=TS)
    verify(SECRET, {name.title(): value for name, value in HEADERS.items()}, BODY, now=TS)


def test_default_now_is_the_real_clock():
    with time_machine.travel(TS, tick=False):
        verify(SECRET, HEADERS, BODY)
    with time_machine.travel(TS + 301, tick=False), pytest.raises(SignatureError) as excinfo:
        verify(SECRET, HEADERS, BODY)
    assert excinfo.value.reason == SignatureError.TOO_OLD


# --- Tampering ----------------------------------------------------------------------------------


def flip(text: str, index: int) -> str:
    """Change one character (stays in the base64 / printable alphabet)."""
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


def test_tampered_body_is_rejected():
    for index in (0, len(BODY) // 2, len(BODY) - 1):
        tampered = bytearray(BODY)
        tampered[index] ^= 0x01
        assert reason(SECRET, HEADERS, bytes(tampered)) == SignatureError.NO_MATCH
    assert reason(SECRET, HEADERS, BODY + b" ") == SignatureError.NO_MATCH
    assert reason(SECRET, HEADERS, b"") == SignatureError.NO_MATCH


def test_tampered_id_is_rejected():
    headers = {**HEADERS, "webhook-id": flip(MSG_ID, len(MSG_ID) - 1)}
    assert reason(SECRET, headers, BODY) == SignatureError.NO_MATCH


def test_tampered_timestamp_is_rejected():
    headers = {**HEADERS, "webhook-timestamp": str(TS + 1)}  # still within the tolerance
    assert reason(SECRET, headers, BODY) == SignatureError.NO_MATCH


@pytest.mark.parametrize("index", [3, 20, 45])
def test_tampered_signature_is_rejected(index):
    headers = {**HEADERS, "webhook-signature": flip(HEADERS["webhook-signature"], index)}
    assert reason(SECRET, headers, BODY) == SignatureError.NO_MATCH


def test_signature_for_other_secret_is_rejected():
    assert reason(generate_secret(), HEADERS, BODY) == SignatureError.NO_MATCH


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header(missing):
    headers = {name: value for name, value in HEADERS.items() if name != missing}
    with pytest.raises(SignatureError) as excinfo:
        verify(SECRET, headers, BODY, now=TS)
    assert excinfo.value.reason == SignatureError.MISSING_HEADER
    assert missing in str(excinfo.value)
    assert reason(SECRET, {**HEADERS, missing: "  "}, BODY) == SignatureError.MISSING_HEADER


@pytest.mark.parametrize("value", ["abc", "-1614265330", "1614265330.5", "1e9", "١٦١٤٢٦٥٣٣٠"])
def test_bad_timestamp(value):
    headers = {**HEADERS, "webhook-timestamp": value}
    assert reason(SECRET, headers, BODY) == SignatureError.BAD_TIMESTAMP


# --- Replay protection --------------------------------------------------------------------------


def test_replay_after_tolerance_is_rejected():
    verify(SECRET, HEADERS, BODY, now=TS + 300)
    assert reason(SECRET, HEADERS, BODY, now=TS + 301) == SignatureError.TOO_OLD


def test_future_timestamp_beyond_tolerance_is_rejected():
    verify(SECRET, HEADERS, BODY, now=TS - 300)
    assert reason(SECRET, HEADERS, BODY, now=TS - 301) == SignatureError.TOO_NEW


def test_custom_tolerance():
    verify(SECRET, HEADERS, BODY, now=TS + 3600, tolerance=3600)
    assert reason(SECRET, HEADERS, BODY, now=TS + 61, tolerance=60) == SignatureError.TOO_OLD


def test_time_is_checked_before_the_signature():
    """A stale delivery is reported as stale even if its signature is also wrong."""
    headers = {**HEADERS, "webhook-signature": "v1,AAAA"}
    assert reason(SECRET, headers, BODY, now=TS + 10_000) == SignatureError.TOO_OLD


# --- Several signatures, versions, rotation ---------------------------------------------------


def test_any_matching_signature_in_the_list_is_accepted():
    good = HEADERS["webhook-signature"]
    for value in (
        f"v1,AAAA {good}",
        f"{good} v1,AAAA",
        f"v1a,xyz  {good}\tv2,zzz",
        f"garbage {good}",
    ):
        verify(SECRET, {**HEADERS, "webhook-signature": value}, BODY, now=TS)


def test_non_v1_versions_are_ignored():
    sig = HEADERS["webhook-signature"].removeprefix("v1,")
    for value in (f"v2,{sig}", f"v1a,{sig}", f"V1,{sig}", f"v1a,{sig} v0,{sig}", sig):
        headers = {**HEADERS, "webhook-signature": value}
        assert reason(SECRET, headers, BODY) == SignatureError.NO_MATCH


def test_rotation_signs_with_new_then_old():
    new, old, other = generate_secret(), generate_secret(), generate_secret()
    msg_id, body = new_message_id(), b'{"type": "feed.status_changed", "data": {}}'
    headers = sign([new, old], msg_id, TS, body)
    entries = headers["webhook-signature"].split(" ")
    assert entries == [
        f"v1,{manual_signature(new, msg_id, TS, body)}",
        f"v1,{manual_signature(old, msg_id, TS, body)}",
    ]
    verify(new, headers, body, now=TS)
    verify(old, headers, body, now=TS)
    assert reason(other, headers, body) == SignatureError.NO_MATCH


def test_rotation_with_published_secret_keeps_published_signature():
    headers = sign([generate_secret(), SECRET], MSG_ID, TS, BODY)
    assert headers["webhook-signature"].endswith(" " + HEADERS["webhook-signature"])
    verify(SECRET, headers, BODY, now=TS)


# --- Secrets and ids ----------------------------------------------------------------------------


def test_generate_secret_round_trip():
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) <= 32
    assert len({generate_secret() for _ in range(50)}) == 50
    msg_id, body = new_message_id(), "{\"data\": {\"price\": \"3012.45\"}, \"π\": 1}".encode()
    headers = sign([secret], msg_id, TS, body)
    verify(secret, headers, body, now=TS + 1.5)


def test_new_message_id_is_unique_and_header_safe():
    ids = {new_message_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"msg_[A-Za-z0-9_-]{20,}", msg_id) for msg_id in ids)


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_"),  # prefix missing
        ("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_"),
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!", "base64"),
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", "base64"),  # wrong length / padding
        ("whsec_", "bytes"),
        ("whsec_c2hvcnQ=", "bytes"),  # decodes to 5 bytes
    ],
)
def test_malformed_secret_raises_value_error(secret, message):
    with pytest.raises(ValueError, match=message):
        sign([secret], MSG_ID, TS, BODY)
    with pytest.raises(ValueError, match=message):
        verify(secret, HEADERS, BODY, now=TS)


def test_sign_argument_checks():
    with pytest.raises(ValueError, match="at least one"):
        sign([], MSG_ID, TS, BODY)
    with pytest.raises(ValueError, match="message id"):
        sign([SECRET], "msg with space", TS, BODY)
    with pytest.raises(ValueError, match="message id"):
        sign([SECRET], "msg\r\nx-injected: 1", TS, BODY)
    with pytest.raises(ValueError, match="timestamp"):
        sign([SECRET], MSG_ID, -1, BODY)
    with pytest.raises(ValueError, match="timestamp"):
        sign([SECRET], MSG_ID, float(TS), BODY)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="raw bytes"):
        sign([SECRET], MSG_ID, TS, VECTOR["body"])  # type: ignore[arg-type]
    assert sign(SECRET, MSG_ID, TS, BODY) == HEADERS  # a lone secret string is one secret


# --- docs/webhooks.md receiver snippets ---------------------------------------------------------


def doc_block(language: str, marker: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
    matching = [block for block in blocks if block.lstrip().startswith(marker)]
    assert len(matching) == 1, f"expected one {language} block starting with {marker!r}"
    return matching[0]


def test_docs_python_snippet_verifies_published_vector():
    namespace: dict = {}
    exec(compile(doc_block("python", "# verify_webhook"), str(DOCS), "exec"), namespace)  # noqa: S102
    verify_webhook, invalid = namespace["verify_webhook"], namespace["InvalidWebhook"]

    with time_machine.travel(TS, tick=False):
        verify_webhook(SECRET, HEADERS, BODY)
        verify_webhook(SECRET, {k.upper(): v for k, v in HEADERS.items()}, BODY)
        rotated = sign([generate_secret(), SECRET], MSG_ID, TS, BODY)
        verify_webhook(SECRET, rotated, BODY)
        for bad_body, headers in [
            (BODY + b" ", HEADERS),
            (BODY, {**HEADERS, "webhook-id": MSG_ID + "x"}),
            (BODY, {**HEADERS, "webhook-signature": flip(HEADERS["webhook-signature"], 20)}),
            (BODY, {k: v for k, v in HEADERS.items() if k != "webhook-id"}),
            (BODY, {**HEADERS, "webhook-timestamp": "１６１４２６５３３０"}),
        ]:
            with pytest.raises(invalid):
                verify_webhook(SECRET, headers, bad_body)
    with time_machine.travel(TS + 301, tick=False), pytest.raises(invalid):
        verify_webhook(SECRET, HEADERS, BODY)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_docs_javascript_snippet_verifies_published_vector():
    snippet = doc_block("js", "// verify_webhook")
    cases = {
        "good": (TS, HEADERS, VECTOR["body"]),
        "rotated": (TS, sign([generate_secret(), SECRET], MSG_ID, TS, BODY), VECTOR["body"]),
        "tampered": (TS, HEADERS, VECTOR["body"] + " "),
        "bad_sig": (
            TS,
            {**HEADERS, "webhook-signature": flip(HEADERS["webhook-signature"], 20)},
            VECTOR["body"],
        ),
        "replay": (TS + 301, HEADERS, VECTOR["body"]),
    }
    script = snippet + (
        "\nconst cases = JSON.parse(process.argv[1]); const out = {};\n"
        "for (const [name, [now, headers, body]] of Object.entries(cases)) {\n"
        "  Date.now = () => now * 1000;\n"
        "  try { verifyWebhook(process.argv[2], headers, Buffer.from(body)); out[name] = 'ok'; }\n"
        "  catch (e) { out[name] = 'rejected'; }\n"
        "}\n"
        "console.log(JSON.stringify(out));\n"
    )
    result = subprocess.run(
        ["node", "-e", script, json.dumps(cases), SECRET],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert json.loads(result.stdout) == {
        "good": "ok",
        "rotated": "ok",
        "tampered": "rejected",
        "bad_sig": "rejected",
        "replay": "rejected",
    }


def test_fixture_copy_has_provenance():
    readme = (ROOT / "tests/fixtures/real/README.md").read_text()
    assert "`webhook_signature_vectors.json`" in readme
