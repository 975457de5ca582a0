"""The forgery matrix at verifier level: each forgery is refused with its reason, in every format;
and a property: no mutation of a valid bundle verifies."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gate.attest.verify.bundle import verify_bundle
from gate.attest.verify.dsse import verify_envelope
from gate.attest.verify.legacy import verify_legacy_layer
from gate.attest.verify.policy import Reason, Verification, VerificationPolicy
from gate.attest.verify.subject import subject_matches
from tests.attest.verify.keyless_fixtures import REUSABLE, fixture_json, github_policy, statement_of, trusted_root
from tests.attest.verify.signing import (
    DSSE_LAYER,
    PrivateKey,
    envelope,
    key_bundle,
    layer,
    legacy_attestation,
    private_key,
    public_pem,
    statement,
    to_bytes,
)

AMD64 = "sha256:" + "a1" * 32
ARM64 = "sha256:" + "b2" * 32
INDEX = "sha256:" + "c3" * 32
OTHER_IMAGE = "sha256:" + "d4" * 32
SIGNER = private_key()
POLICY = VerificationPolicy.build(keys=[public_pem(SIGNER).decode()], insecure_ignore_tlog=True)


def _retarget(document: dict[str, Any], digest: str) -> None:
    payload = json.loads(base64.b64decode(document["payload"]))
    payload["subject"][0]["digest"]["sha256"] = digest.removeprefix("sha256:")
    document["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()


def _key_bundle(key: PrivateKey | None, subject: str = AMD64) -> dict[str, Any]:
    return key_bundle(key, json.dumps(statement(subject)).encode())


FORMATS: dict[str, Callable[[PrivateKey | None, Callable[[dict[str, Any]], None]], Verification]] = {
    "key-bundle": lambda key, change: verify_bundle(
        to_bytes(_change(_key_bundle(key), "dsseEnvelope", change)), POLICY
    ),
    "dsse": lambda key, change: verify_envelope(
        to_bytes(_change({"e": envelope(key, _payload())}, "e", change)["e"]), POLICY
    ),
    "legacy-att": lambda key, change: _legacy(key, change),
}


def _payload(subject: str = AMD64) -> bytes:
    return json.dumps(statement(subject)).encode()


def _change(document: dict[str, Any], field: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    change(document[field])
    return document


def _legacy(key: PrivateKey | None, change: Callable[[dict[str, Any]], None]) -> Verification:
    descriptor, blob = legacy_attestation(key, _payload())
    document = json.loads(blob)
    change(document)
    forged = json.dumps(document).encode()  # pushed as its own layer: descriptor digest of the forged content
    return verify_legacy_layer(layer(DSSE_LAYER, forged, descriptor["annotations"]), forged, POLICY)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("forgery", "key", "change", "reasons"),
    [
        ("unsigned", None, lambda d: None, {Reason.UNSIGNED}),
        ("signed by another key", private_key(), lambda d: None, {Reason.UNTRUSTED_KEY}),
        ("payload changed after signing", SIGNER, lambda d: _retarget(d, ARM64), {Reason.UNTRUSTED_KEY}),
        (
            "signature of another payload",
            SIGNER,
            lambda d: d.update(signatures=envelope(SIGNER, b"{}")["signatures"]),
            {Reason.UNTRUSTED_KEY},
        ),
    ],
)
def test_each_forgery_is_refused_in_each_format(
    fmt: str, forgery: str, key: PrivateKey | None, change: Callable[[dict[str, Any]], None], reasons: set[Reason]
) -> None:
    result = FORMATS[fmt](key, change)
    assert not result.verified and result.reason in reasons, (forgery, result.describe())
    assert result.payload == b"" and result.statement is None


def test_a_key_bundle_naming_the_policy_key_but_changed_is_an_invalid_signature() -> None:
    bundle = _key_bundle(SIGNER)
    der_hint = bytes.fromhex(POLICY.keys[0].fingerprint.removeprefix("sha256:"))
    bundle["verificationMaterial"]["publicKey"]["hint"] = base64.b64encode(der_hint).decode()
    _retarget(bundle["dsseEnvelope"], ARM64)
    assert verify_bundle(to_bytes(bundle), POLICY).reason is Reason.INVALID_SIGNATURE


@pytest.mark.parametrize(
    ("signed_for", "used_for"),
    [(ARM64, AMD64), (OTHER_IMAGE, AMD64), (INDEX, AMD64), (AMD64, INDEX)],
    ids=["the other platform", "another image", "the index used for a platform", "a platform used for the index"],
)
def test_a_verified_statement_about_something_else_does_not_match(signed_for: str, used_for: str) -> None:
    result = verify_bundle(to_bytes(_key_bundle(SIGNER, signed_for)), POLICY)
    assert result.verified and result.statement is not None
    assert subject_matches(result.statement, signed_for)
    assert not subject_matches(result.statement, used_for)


def test_subject_matching_reads_v01_statements_and_refuses_other_algorithms() -> None:
    v01 = {**statement(AMD64), "_type": "https://in-toto.io/Statement/v0.1"}
    assert subject_matches(v01, AMD64) and subject_matches(v01, AMD64.upper().replace("SHA256", "sha256"))
    assert not subject_matches(v01, "sha512:" + "a1" * 32)
    assert not subject_matches({"_type": "nonsense"}, AMD64)
    sha512_only = {**statement(AMD64), "subject": [{"name": "x", "digest": {"sha512": "a1" * 32}}]}
    assert not subject_matches(sha512_only, AMD64)


def test_keyless_forgeries() -> None:
    bundle = fixture_json(REUSABLE)
    untrusted = VerificationPolicy.build(identity_regexp=".", issuer_regexp=".", trusted_root=trusted_root())
    assert verify_bundle(to_bytes(bundle), untrusted).verified  # the genuine one, for contrast
    without_tlog = json.loads(json.dumps(bundle))
    without_tlog["verificationMaterial"]["tlogEntries"] = []
    assert verify_bundle(to_bytes(without_tlog), untrusted).reason is Reason.NO_TLOG_ENTRY
    changed = json.loads(json.dumps(bundle))
    changed_statement = statement_of(changed)
    changed_statement["predicateType"] = "https://cyclonedx.org/bom"
    changed["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(changed_statement).encode()).decode()
    assert verify_bundle(to_bytes(changed), github_policy()).reason is Reason.INVALID_SIGNATURE
    unsigned = json.loads(json.dumps(bundle))
    unsigned["dsseEnvelope"]["signatures"] = []
    assert verify_bundle(to_bytes(unsigned), github_policy()).reason is Reason.UNSIGNED


# --- the property: no mutation of a valid bundle verifies ------------------------------------------
UNAUTHENTICATED = ("keyid", "hint")  # names for the verifier to pick a key; verification never trusts them


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if path and path[-1] in UNAUTHENTICATED:
        return []
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in _leaves(item, (*path, key))]
    if isinstance(value, list):
        return [leaf for index, item in enumerate(value) for leaf in _leaves(item, (*path, index))]
    return [path]


def _mutated(value: str, data: st.DataObject) -> str:
    """Another meaning of the same kind: base64 with one decoded bit flipped, a number changed, a string edited.

    Only meaningful changes: sigstore-python reads base64 leniently (text after the padding, a missing
    padding), so a textual edit of base64 may decode to the very same bytes, which is no forgery.
    """
    if value.isdigit():
        return str(int(value) + data.draw(st.integers(1, 1000)))
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if raw and len(value) % 4 == 0 and base64.b64encode(raw).decode() == value:
        position = data.draw(st.integers(0, len(raw) - 1))
        bit = data.draw(st.integers(0, 7))
        flipped = bytearray(raw)
        flipped[position] ^= 1 << bit
        return base64.b64encode(bytes(flipped)).decode()
    editable = value.find("\n") if "\n" in value else len(value)  # a checkpoint: its note's first line
    position = data.draw(st.integers(0, max(editable - 1, 0)))
    return value[:position] + data.draw(st.sampled_from(["x", "0", "/", " "])) + value[position + 1 :]


def _mutate(document: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    mutated = json.loads(json.dumps(document))
    path = data.draw(st.sampled_from(_leaves(mutated)))
    parent = mutated
    for step in path[:-1]:
        parent = parent[step]
    if data.draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = _mutated(str(parent[path[-1]]), data)
    assume(mutated != document)
    return mutated


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_no_mutation_of_a_valid_keyless_bundle_verifies(data: st.DataObject) -> None:
    bundle = _keyless_bundle()
    mutated = _mutate(bundle, data)
    result = verify_bundle(to_bytes(mutated), _keyless_policy())
    assert not result.verified, result.describe()


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_no_mutation_of_a_valid_key_bundle_verifies(data: st.DataObject) -> None:
    mutated = _mutate(_KEY_BUNDLE, data)
    if (
        mutated["verificationMaterial"].get("publicKey", {}).get("hint")
        != _KEY_BUNDLE["verificationMaterial"]["publicKey"]["hint"]
    ):
        return  # the hint is an unauthenticated name; changing it changes nothing that is verified
    if mutated.get("verificationMaterial", {}).get("tlogEntries", []) != []:
        return
    assert not verify_bundle(to_bytes(mutated), POLICY).verified


_KEY_BUNDLE = _key_bundle(SIGNER)


def _keyless_bundle() -> dict[str, Any]:
    return fixture_json(REUSABLE)


def _keyless_policy() -> VerificationPolicy:
    return github_policy()


def test_the_unmutated_bundles_verify() -> None:
    assert verify_bundle(to_bytes(_KEY_BUNDLE), POLICY).verified
    assert verify_bundle(to_bytes(_keyless_bundle()), _keyless_policy()).verified
