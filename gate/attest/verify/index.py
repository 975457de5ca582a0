"""Whether an image index is signed under the policy (the in-index attestation rule).

BuildKit's in-index attestations are covered by the index digest, so they count only when the index
itself carries a signature that verifies under the policy and names that digest. cosign writes one as:
- a ``sha256-<hex>.sig`` manifest (legacy): simple-signing layers naming
  ``critical.image.docker-manifest-digest``;
- a sigstore bundle referrer (cosign v3): a DSSE in-toto statement of predicate type
  ``https://sigstore.dev/cosign/sign/v1`` whose subject is the index.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from gate.attest.verify.bundle import BUNDLE_MEDIA_TYPES, verify_bundle
from gate.attest.verify.dsse import load_json
from gate.attest.verify.legacy import SIMPLE_SIGNING_LAYER, layers_of, verify_legacy_layer
from gate.attest.verify.policy import Reason, Refused, Verification, VerificationPolicy
from gate.attest.verify.subject import subject_matches

COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"
COSIGN_SIGNATURE_TYPE = "cosign container image signature"


def verify_index_signature(
    manifest: bytes, blobs: Mapping[str, bytes], index_digest: str, policy: VerificationPolicy
) -> Verification:
    """Whether this cosign signature artifact (its manifest and layer contents) signs ``index_digest``.

    Verified when one layer's signature verifies under ``policy`` and its payload names the index;
    otherwise the most telling refusal (``subject-mismatch`` when a valid signature names another digest).
    """
    try:
        layers = layers_of(manifest)
    except Refused as refusal:
        return refusal.verification
    refusals = []
    for layer in layers:
        result = _verify_layer(layer, blobs.get(str(layer.get("digest"))), index_digest, policy)
        if result.verified:
            return result
        refusals.append(result)
    mismatch = [r for r in refusals if r.reason is Reason.SUBJECT_MISMATCH]
    return (mismatch or refusals)[0]


def _verify_layer(
    layer: Mapping[str, Any], blob: bytes | None, index_digest: str, policy: VerificationPolicy
) -> Verification:
    media_type = layer.get("mediaType")
    if media_type == SIMPLE_SIGNING_LAYER:
        result = verify_legacy_layer(layer, blob, policy)
        if result.verified and _simple_signing_digest(result.payload) != index_digest:
            return _mismatch(result.signer, "the signature names another image")
        return result
    if media_type in BUNDLE_MEDIA_TYPES:
        if blob is None or layer.get("digest") != "sha256:" + hashlib.sha256(blob).hexdigest():
            return Verification.refused(Reason.MALFORMED, "the bundle layer's content does not match its digest")
        result = verify_bundle(blob, policy)
        if not result.verified or result.statement is None:
            return result
        if result.statement.get("predicateType") != COSIGN_SIGN_PREDICATE:
            return Verification.refused(
                Reason.MALFORMED, "the bundle is an attestation, not a cosign signature", result.signer
            )
        if not subject_matches(result.statement, index_digest):
            return _mismatch(result.signer, "the signature's subject is another image")
        return result
    return Verification.refused(
        Reason.UNSUPPORTED_BUNDLE, f"layer media type {str(media_type)[:100]!r} is not a cosign signature"
    )


def _simple_signing_digest(payload: bytes) -> str | None:
    try:
        document = load_json(payload, "simple-signing payload")
    except Refused:
        return None
    critical = document.get("critical") if isinstance(document, Mapping) else None
    image = critical.get("image") if isinstance(critical, Mapping) else None
    if not isinstance(image, Mapping) or critical.get("type") != COSIGN_SIGNATURE_TYPE:  # type: ignore[union-attr]
        return None
    digest = image.get("docker-manifest-digest")
    return digest if isinstance(digest, str) else None


def _mismatch(signer: str, detail: str) -> Verification:
    return Verification.refused(Reason.SUBJECT_MISMATCH, detail, signer)
