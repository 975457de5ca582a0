"""cosign's legacy ``.att`` and ``.sig`` manifests (cosign's own output is checked in test_cosign.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from gate.attest.verify.legacy import verify_legacy_layer, verify_legacy_manifest
from gate.attest.verify.policy import Reason, VerificationPolicy
from gate.attest.verify.subject import subject_matches
from tests.attest.verify.signing import (
    KEY_KINDS,
    fingerprint_of,
    legacy_attestation,
    legacy_manifest,
    legacy_signature,
    private_key,
    statement,
    write_public_key,
)

DIGEST = "sha256:" + "12" * 32


def _policy(tmp_path: Path, key: object, *, ignore_tlog: bool = True) -> VerificationPolicy:
    path = write_public_key(tmp_path, key)  # type: ignore[arg-type]
    return VerificationPolicy.build(keys=[str(path)], insecure_ignore_tlog=ignore_tlog)


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_a_key_signed_att_layer_verifies(tmp_path: Path, kind: str) -> None:
    key = private_key(kind)
    descriptor, blob = legacy_attestation(key, json.dumps(statement(DIGEST)).encode())
    (result,) = verify_legacy_manifest(
        legacy_manifest([descriptor]), {descriptor["digest"]: blob}, _policy(tmp_path, key)
    )
    assert result.verified, result.describe()
    assert result.signer == fingerprint_of(key)
    assert result.statement is not None and subject_matches(result.statement, DIGEST)


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_a_key_signed_sig_layer_verifies_and_carries_its_payload(tmp_path: Path, kind: str) -> None:
    key = private_key(kind)
    descriptor, blob = legacy_signature(key, DIGEST)
    result = verify_legacy_layer(descriptor, blob, _policy(tmp_path, key))
    assert result.verified, result.describe()
    assert json.loads(result.payload)["critical"]["image"]["docker-manifest-digest"] == DIGEST
    assert result.statement is None


def test_each_layer_gets_its_own_verdict(tmp_path: Path) -> None:
    key = private_key()
    good, good_blob = legacy_attestation(key, json.dumps(statement(DIGEST)).encode())
    unsigned, unsigned_blob = legacy_attestation(None, json.dumps(statement(DIGEST)).encode())
    other, other_blob = legacy_attestation(private_key(), json.dumps(statement(DIGEST)).encode())
    blobs = {good["digest"]: good_blob, unsigned["digest"]: unsigned_blob, other["digest"]: other_blob}
    results = verify_legacy_manifest(legacy_manifest([good, unsigned, other]), blobs, _policy(tmp_path, key))
    assert [r.reason for r in results] == [None, Reason.UNSIGNED, Reason.UNTRUSTED_KEY]


def test_an_unsigned_sig_layer_is_unsigned(tmp_path: Path) -> None:
    descriptor, blob = legacy_signature(None, DIGEST)
    assert verify_legacy_layer(descriptor, blob, _policy(tmp_path, private_key())).reason is Reason.UNSIGNED


def test_a_changed_payload_is_refused(tmp_path: Path) -> None:
    key = private_key()
    descriptor, blob = legacy_signature(key, DIGEST)
    forged = blob.replace(b"1212", b"3434")
    descriptor["digest"] = "sha256:" + hashlib.sha256(forged).hexdigest()
    assert verify_legacy_layer(descriptor, forged, _policy(tmp_path, key)).reason is Reason.UNTRUSTED_KEY


def test_content_that_does_not_match_its_digest_is_malformed(tmp_path: Path) -> None:
    key = private_key()
    descriptor, blob = legacy_attestation(key, json.dumps(statement(DIGEST)).encode())
    result = verify_legacy_layer(descriptor, blob + b" ", _policy(tmp_path, key))
    assert result.reason is Reason.MALFORMED and "digest" in result.detail
    assert verify_legacy_layer(descriptor, None, _policy(tmp_path, key)).reason is Reason.MALFORMED


def test_without_tlog_entry_a_key_signature_needs_insecure_ignore_tlog(tmp_path: Path) -> None:
    key = private_key()
    descriptor, blob = legacy_attestation(key, json.dumps(statement(DIGEST)).encode())
    result = verify_legacy_layer(descriptor, blob, _policy(tmp_path, key, ignore_tlog=False))
    assert result.reason is Reason.NO_TLOG_ENTRY and result.signer == fingerprint_of(key)


def test_a_rekor_set_alone_is_an_unsupported_tlog(tmp_path: Path) -> None:
    key = private_key()
    descriptor, blob = legacy_attestation(
        key, json.dumps(statement(DIGEST)).encode(), **{"dev.sigstore.cosign/bundle": "{}"}
    )
    result = verify_legacy_layer(descriptor, blob, _policy(tmp_path, key, ignore_tlog=False))
    assert result.reason is Reason.UNSUPPORTED_TLOG
    assert verify_legacy_layer(descriptor, blob, _policy(tmp_path, key)).verified


def test_a_keyless_legacy_layer_is_unsupported(tmp_path: Path) -> None:
    descriptor, blob = legacy_attestation(
        private_key(), json.dumps(statement(DIGEST)).encode(), **{"dev.sigstore.cosign/certificate": "-----BEGIN"}
    )
    policy = VerificationPolicy.build(identity="me", issuer="https://issuer")
    assert verify_legacy_layer(descriptor, blob, policy).reason is Reason.UNSUPPORTED_BUNDLE


@pytest.mark.parametrize(
    "manifest",
    [b"not json", b"[]", b'{"layers": []}', b'{"layers": [1]}', json.dumps({"layers": [{}] * 65}).encode()],
)
def test_a_manifest_without_usable_layers_is_malformed(tmp_path: Path, manifest: bytes) -> None:
    (result,) = verify_legacy_manifest(manifest, {}, _policy(tmp_path, private_key()))
    assert result.reason is Reason.MALFORMED


def test_another_layer_type_is_unsupported(tmp_path: Path) -> None:
    descriptor, blob = legacy_signature(private_key(), DIGEST)
    descriptor["mediaType"] = "application/vnd.cyclonedx+json"
    assert verify_legacy_layer(descriptor, blob, _policy(tmp_path, private_key())).reason is Reason.UNSUPPORTED_BUNDLE


def test_a_signed_payload_that_is_not_a_statement_is_malformed(tmp_path: Path) -> None:
    key = private_key()
    descriptor, blob = legacy_attestation(key, b'{"hello": "world"}')
    assert verify_legacy_layer(descriptor, blob, _policy(tmp_path, key)).reason is Reason.MALFORMED
