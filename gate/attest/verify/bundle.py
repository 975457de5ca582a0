"""Sigstore bundles (v0.1 to v0.3) carrying a DSSE attestation: keyless or signed with a key.

Keyless (a Fulcio certificate in ``verificationMaterial``): sigstore-python verifies everything
(certificate chain to the trusted root at a logged or timestamped time, SCT, Rekor inclusion proof and
promise, DSSE signature, log-entry consistency) with ``CertificateIdentity`` as the identity policy.
A bundle it cannot check (a Rekor entry of kind ``intoto``, as npm provenance has) is refused as
``unsupported-bundle``, never an error.

Key-based (``verificationMaterial.publicKey``, what ``cosign attest --key`` writes): the DSSE signature
is checked against the policy's keys. With no tlog entry it is accepted only under
``--insecure-ignore-tlog``; a tlog entry is checked by ``gate.attest.verify.tlog`` unless ignored.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from gate.attest.verify.dsse import Envelope, attested, load_json, parse_envelope, signing_key
from gate.attest.verify.policy import Reason, Refused, Verification, VerificationPolicy

BUNDLE_MEDIA_TYPES = frozenset(
    {
        "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "application/vnd.dev.sigstore.bundle+json;version=0.2",
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
        "application/vnd.dev.sigstore.bundle.v0.3+json",
    }
)


def verify_bundle(data: bytes, policy: VerificationPolicy) -> Verification:
    """A sigstore bundle (JSON bytes) holding a DSSE attestation, checked against ``policy``."""
    try:
        document = load_json(data, "sigstore bundle")
        material = bundle_material(document)
        envelope = parse_envelope(document.get("dsseEnvelope")) if "dsseEnvelope" in document else None
        if envelope is None:
            raise Refused(
                Reason.MALFORMED, "the bundle holds a message signature, not a DSSE attestation (no dsseEnvelope)"
            )
        if not envelope.signatures:
            raise Refused(Reason.UNSIGNED, "the bundle's DSSE envelope has no signature")
        if "publicKey" in material:
            return _verify_with_key(envelope, material, policy)
        return _verify_keyless(data, policy)
    except Refused as refusal:
        return refusal.verification


def bundle_material(document: Any) -> Mapping[str, Any]:
    """A bundle's ``verificationMaterial`` after checking its media type; ``Refused`` otherwise."""
    if not isinstance(document, Mapping):
        raise Refused(Reason.MALFORMED, "the sigstore bundle is not a JSON object")
    media_type = document.get("mediaType")
    if media_type not in BUNDLE_MEDIA_TYPES:
        raise Refused(Reason.UNSUPPORTED_BUNDLE, f"bundle media type {str(media_type)[:100]!r} is not v0.1 to v0.3")
    material = document.get("verificationMaterial")
    if not isinstance(material, Mapping):
        raise Refused(Reason.MALFORMED, "the bundle has no verificationMaterial")
    return material


def tlog_entries(material: Mapping[str, Any]) -> list[Any]:
    entries = material.get("tlogEntries") or []
    if not isinstance(entries, list):
        raise Refused(Reason.MALFORMED, "the bundle's tlogEntries is not a list")
    return entries


def _verify_with_key(envelope: Envelope, material: Mapping[str, Any], policy: VerificationPolicy) -> Verification:
    hinted = _hinted_fingerprint(material)
    if not policy.keys:
        raise Refused(
            Reason.UNTRUSTED_KEY, "the bundle is signed with a key and the policy names no --attestation-key", hinted
        )
    try:
        key = signing_key(envelope, policy.keys)
    except Refused:
        if hinted and policy.key_named(hinted):  # cosign names its key: sha256 of the DER public key
            raise Refused(
                Reason.INVALID_SIGNATURE, "the signature does not verify under the key the bundle names", hinted
            ) from None
        if hinted:
            raise Refused(
                Reason.UNTRUSTED_KEY, f"the bundle names key {hinted}, which the policy does not", hinted
            ) from None
        raise
    entries = tlog_entries(material)
    if not policy.insecure_ignore_tlog:
        if not entries:
            raise Refused(
                Reason.NO_TLOG_ENTRY,
                "the key-signed bundle has no transparency-log entry (accept it with --insecure-ignore-tlog)",
                key.fingerprint,
            )
        from gate.attest.verify.tlog import check_key_entries  # imports sigstore-python

        check_key_entries(entries, envelope, key, policy)
    return attested(key.fingerprint, envelope.payload_type, envelope.payload)


def _hinted_fingerprint(material: Mapping[str, Any]) -> str:
    """The ``sha256:<hex>`` fingerprint the bundle's (unauthenticated) public-key hint names, or ""."""
    public_key = material.get("publicKey")
    hint = public_key.get("hint") if isinstance(public_key, Mapping) else None
    if not isinstance(hint, str):
        return ""
    try:
        raw = base64.b64decode(hint, validate=True)
    except (binascii.Error, ValueError):
        return ""
    return "sha256:" + raw.hex() if len(raw) == 32 else ""


def _verify_keyless(data: bytes, policy: VerificationPolicy) -> Verification:
    if not policy.keyless:
        raise Refused(
            Reason.UNTRUSTED_IDENTITY,
            "the bundle is signed keyless (a certificate) and the policy names no certificate identity",
        )
    from gate.attest.verify.keyless import verify_keyless_bundle  # imports sigstore-python

    return verify_keyless_bundle(data, policy)
