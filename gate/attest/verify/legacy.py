"""cosign's legacy signed artifacts, kept in manifests tagged ``sha256-<hex>.att`` and ``.sig``.

- ``.att``: each layer is a DSSE envelope (``application/vnd.dsse.envelope.v1+json``) of an in-toto
  statement; its signatures are DSSE signatures.
- ``.sig``: each layer is a simple-signing payload (``application/vnd.dev.cosign.simplesigning.v1+json``)
  naming ``critical.image.docker-manifest-digest``; the signature over the payload bytes is the
  layer's ``dev.cosignproject.cosign/signature`` annotation (base64).

Keyless ones carry a certificate (``dev.sigstore.cosign/certificate``) and a Rekor SET
(``dev.sigstore.cosign/bundle``) without an inclusion proof: sigstore-python verifies tlog entries by
their inclusion proof, so these are refused as ``unsupported-bundle`` (and a key-signed layer whose
only tlog evidence is a SET as ``unsupported-tlog`` unless ``--insecure-ignore-tlog``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from gate.attest.verify.dsse import attested, decode_base64, load_json, parse_envelope, signing_key
from gate.attest.verify.keys import PublicKey, signature_is_valid
from gate.attest.verify.policy import Reason, Refused, Verification, VerificationPolicy

DSSE_LAYER = "application/vnd.dsse.envelope.v1+json"
SIMPLE_SIGNING_LAYER = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate"
REKOR_BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle"
MAX_LAYERS = 64


def layers_of(manifest: bytes) -> tuple[Mapping[str, Any], ...]:
    """The layer descriptors of a cosign ``.att``/``.sig`` manifest; ``Refused`` when it has none."""
    document = load_json(manifest, "cosign signature manifest")
    layers = document.get("layers") if isinstance(document, Mapping) else None
    if not isinstance(layers, list) or not layers or not all(isinstance(item, Mapping) for item in layers):
        raise Refused(Reason.MALFORMED, "the cosign manifest has no layer descriptors")
    if len(layers) > MAX_LAYERS:
        raise Refused(Reason.MALFORMED, f"the cosign manifest has {len(layers)} layers (at most {MAX_LAYERS})")
    return tuple(layers)


def verify_legacy_manifest(
    manifest: bytes, blobs: Mapping[str, bytes], policy: VerificationPolicy
) -> tuple[Verification, ...]:
    """Every layer of a legacy ``.att`` or ``.sig`` manifest, verified: one ``Verification`` per layer.

    ``blobs`` maps layer digests to their content (a missing one is refused as malformed).
    """
    try:
        layers = layers_of(manifest)
    except Refused as refusal:
        return (refusal.verification,)
    return tuple(verify_legacy_layer(layer, blobs.get(str(layer.get("digest"))), policy) for layer in layers)


def verify_legacy_layer(layer: Mapping[str, Any], blob: bytes | None, policy: VerificationPolicy) -> Verification:
    """One layer (its descriptor and content) of a legacy ``.att`` or ``.sig`` manifest."""
    try:
        _check_content(layer, blob)
        assert blob is not None
        annotations = layer.get("annotations") or {}
        if not isinstance(annotations, Mapping):
            raise Refused(Reason.MALFORMED, "the layer's annotations are not an object")
        media_type = layer.get("mediaType")
        if media_type == DSSE_LAYER:
            return _verify_attestation(blob, annotations, policy)
        if media_type == SIMPLE_SIGNING_LAYER:
            return _verify_simple_signing(blob, annotations, policy)
        raise Refused(
            Reason.UNSUPPORTED_BUNDLE, f"layer media type {str(media_type)[:100]!r} is not a cosign signature"
        )
    except Refused as refusal:
        return refusal.verification


def _check_content(layer: Mapping[str, Any], blob: bytes | None) -> None:
    digest = layer.get("digest")
    if blob is None:
        raise Refused(Reason.MALFORMED, f"the content of layer {str(digest)[:80]} was not given")
    if not isinstance(digest, str) or digest != "sha256:" + hashlib.sha256(blob).hexdigest():
        raise Refused(Reason.MALFORMED, f"the layer content does not match its digest {str(digest)[:80]}")


def _verify_attestation(blob: bytes, annotations: Mapping[str, Any], policy: VerificationPolicy) -> Verification:
    envelope = parse_envelope(load_json(blob, "DSSE envelope"))
    if not envelope.signatures:
        raise Refused(Reason.UNSIGNED, "the DSSE envelope has no signature")
    key = _key_or_refusal(annotations, policy, lambda key: signing_key(envelope, (key,)))
    _check_tlog(annotations, policy, key)
    return attested(key.fingerprint, envelope.payload_type, envelope.payload)


def _verify_simple_signing(blob: bytes, annotations: Mapping[str, Any], policy: VerificationPolicy) -> Verification:
    encoded = annotations.get(SIGNATURE_ANNOTATION)
    if not isinstance(encoded, str) or not encoded.strip():
        raise Refused(Reason.UNSIGNED, f"the layer has no {SIGNATURE_ANNOTATION} annotation")
    signature = decode_base64(encoded, "signature annotation")

    def verified_by(key: PublicKey) -> PublicKey:
        if signature_is_valid(key, signature, blob):
            return key
        raise Refused(Reason.UNTRUSTED_KEY, "the signature does not verify under the policy's keys")

    key = _key_or_refusal(annotations, policy, verified_by)
    _check_tlog(annotations, policy, key)
    return Verification.accepted(key.fingerprint, SIMPLE_SIGNING_LAYER, blob)


def _key_or_refusal(
    annotations: Mapping[str, Any], policy: VerificationPolicy, check: Callable[[PublicKey], PublicKey]
) -> PublicKey:
    """The policy key the layer verifies under; else why not (keyless legacy layers are unsupported)."""
    for key in policy.keys:
        try:
            return check(key)
        except Refused:
            continue
    if annotations.get(CERTIFICATE_ANNOTATION):
        raise Refused(
            Reason.UNSUPPORTED_BUNDLE,
            "a keyless legacy cosign signature (certificate + Rekor SET annotations) cannot be checked by "
            "sigstore-python, which needs a tlog inclusion proof; sign in the new bundle format",
        )
    if not policy.keys:
        raise Refused(Reason.UNTRUSTED_KEY, "the signature is key-based and the policy names no --attestation-key")
    count = f"{len(policy.keys)} key" + ("s" if len(policy.keys) != 1 else "")
    raise Refused(
        Reason.UNTRUSTED_KEY,
        f"no signature verifies under the policy's {count} (signed by another key, or changed after signing)",
    )


def _check_tlog(annotations: Mapping[str, Any], policy: VerificationPolicy, key: PublicKey) -> None:
    if policy.insecure_ignore_tlog:
        return
    if not annotations.get(REKOR_BUNDLE_ANNOTATION):
        raise Refused(
            Reason.NO_TLOG_ENTRY,
            "the legacy cosign signature has no transparency-log entry (accept it with --insecure-ignore-tlog)",
            key.fingerprint,
        )
    raise Refused(
        Reason.UNSUPPORTED_TLOG,
        "a legacy cosign Rekor SET (no inclusion proof) is not checked; use --insecure-ignore-tlog or the new "
        "bundle format",
        key.fingerprint,
    )
