"""DSSE: the PAE, bare envelopes and key-signed bundles under the policy's keys."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from gate.attest.verify.bundle import verify_bundle
from gate.attest.verify.dsse import pae, verify_envelope
from gate.attest.verify.policy import Reason, VerificationPolicy
from tests.attest.verify.signing import (
    KEY_KINDS,
    envelope,
    fingerprint_of,
    key_bundle,
    private_key,
    public_pem,
    statement,
    to_bytes,
    write_public_key,
)

DIGEST = "sha256:" + "ef" * 32
PAYLOAD = json.dumps(statement(DIGEST)).encode()


def _policy(tmp_path: Path, *keys: object, ignore_tlog: bool = True) -> VerificationPolicy:
    paths = [str(write_public_key(tmp_path, key, f"k{n}.pub")) for n, key in enumerate(keys)]  # type: ignore[arg-type]
    return VerificationPolicy.build(keys=paths, insecure_ignore_tlog=ignore_tlog)


def test_pae_is_the_dsse_v1_encoding() -> None:
    # the example of the DSSE specification (protocol.md)
    assert (
        pae("http://example.com/HelloWorld", b"hello world")
        == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert pae("t", b"") == b"DSSEv1 1 t 0 "


@pytest.mark.parametrize("kind", [*KEY_KINDS, "p521"])
def test_a_key_signed_bundle_verifies_with_each_key_kind(tmp_path: Path, kind: str) -> None:
    key = private_key(kind)
    result = verify_bundle(to_bytes(key_bundle(key, PAYLOAD)), _policy(tmp_path, key))
    assert result.verified, result.describe()
    assert result.signer == fingerprint_of(key)
    assert result.payload == PAYLOAD and result.statement == statement(DIGEST)


def test_the_signing_key_is_found_among_several(tmp_path: Path) -> None:
    keys = [private_key("rsa"), private_key("ed25519"), private_key("p384")]
    result = verify_bundle(to_bytes(key_bundle(keys[2], PAYLOAD)), _policy(tmp_path, *keys))
    assert result.signer == fingerprint_of(keys[2])


def test_a_bare_envelope_verifies_only_when_the_tlog_is_ignored(tmp_path: Path) -> None:
    key = private_key()
    data = to_bytes(envelope(key, PAYLOAD))
    assert verify_envelope(data, _policy(tmp_path, key)).verified
    refused = verify_envelope(data, _policy(tmp_path, key, ignore_tlog=False))
    assert refused.reason is Reason.NO_TLOG_ENTRY and refused.signer == fingerprint_of(key)


def test_a_bare_envelope_under_a_keyless_policy_is_refused() -> None:
    policy = VerificationPolicy.build(identity="me", issuer="https://issuer")
    assert verify_envelope(to_bytes(envelope(private_key(), PAYLOAD)), policy).reason is Reason.UNTRUSTED_KEY


def test_one_valid_signature_among_others_is_enough(tmp_path: Path) -> None:
    key = private_key()
    document = envelope(private_key(), PAYLOAD)
    document["signatures"] += envelope(key, PAYLOAD)["signatures"]
    assert verify_envelope(to_bytes(document), _policy(tmp_path, key)).signer == fingerprint_of(key)


def test_url_safe_base64_is_accepted(tmp_path: Path) -> None:
    key = private_key()
    document = envelope(key, PAYLOAD)
    document["payload"] = base64.urlsafe_b64encode(PAYLOAD).decode().rstrip("=")
    assert verify_envelope(to_bytes(document), _policy(tmp_path, key)).verified


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.update(signatures=[]), Reason.UNSIGNED),
        (lambda d: d.pop("signatures"), Reason.UNSIGNED),
        (lambda d: d.update(signatures=[{"sig": ""}]), Reason.UNSIGNED),
        (lambda d: d.update(payload="e30="), Reason.UNTRUSTED_KEY),  # "{}": changed after signing
        (lambda d: d.update(payloadType="application/json"), Reason.UNTRUSTED_KEY),
        (lambda d: d.update(payload="not base64!"), Reason.MALFORMED),
        (lambda d: d.update(payload=7), Reason.MALFORMED),
        (lambda d: d.update(signatures={"sig": "x"}), Reason.MALFORMED),
        (lambda d: d.update(signatures=[{"sig": "AA=="}] * 17), Reason.MALFORMED),
        (lambda d: d.update(signatures=[{"keyid": "k"}]), Reason.MALFORMED),
    ],
)
def test_broken_envelopes_are_refused_with_a_reason(tmp_path: Path, change: object, reason: Reason) -> None:
    key = private_key()
    document = envelope(key, PAYLOAD)
    change(document)  # type: ignore[operator]
    result = verify_envelope(to_bytes(document), _policy(tmp_path, key))
    assert result.reason is reason and not result.verified and result.payload == b""


def test_a_signed_payload_of_another_type_is_malformed(tmp_path: Path) -> None:
    key = private_key()
    document = envelope(key, PAYLOAD, payload_type="application/json")
    assert verify_envelope(to_bytes(document), _policy(tmp_path, key)).reason is Reason.MALFORMED


@pytest.mark.parametrize("data", [b"", b"{", b"[]", b'"x"', b"{" * 100_000])
def test_garbage_is_malformed_never_an_exception(tmp_path: Path, data: bytes) -> None:
    policy = _policy(tmp_path, private_key())
    assert verify_envelope(data, policy).reason is Reason.MALFORMED
    assert verify_bundle(data, policy).reason is Reason.MALFORMED


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda b: b.pop("dsseEnvelope"), Reason.MALFORMED),
        (lambda b: b.update(messageSignature={"signature": "AA=="}) or b.pop("dsseEnvelope"), Reason.MALFORMED),
        (lambda b: b.pop("verificationMaterial"), Reason.MALFORMED),
        (lambda b: b.update(mediaType="application/json"), Reason.UNSUPPORTED_BUNDLE),
        (lambda b: b["verificationMaterial"].update(tlogEntries="x"), Reason.MALFORMED),
    ],
)
def test_broken_key_bundles_are_refused(tmp_path: Path, change: object, reason: Reason) -> None:
    key = private_key()
    bundle = key_bundle(key, PAYLOAD)
    change(bundle)  # type: ignore[operator]
    assert verify_bundle(to_bytes(bundle), _policy(tmp_path, key, ignore_tlog=False)).reason is reason


def test_a_key_bundle_under_a_keyless_policy_is_refused() -> None:
    policy = VerificationPolicy.build(identity="me", issuer="https://issuer")
    assert verify_bundle(to_bytes(key_bundle(private_key(), PAYLOAD)), policy).reason is Reason.UNTRUSTED_KEY


def test_an_inline_key_verifies_like_a_file(tmp_path: Path) -> None:
    key = private_key("ed25519")
    policy = VerificationPolicy.build(keys=[public_pem(key).decode()], insecure_ignore_tlog=True)
    assert verify_bundle(to_bytes(key_bundle(key, PAYLOAD)), policy).verified
