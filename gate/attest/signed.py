"""Which attestations count in verified mode: one found attestation layer checked under the policy, and the
image index's own signature (for BuildKit in-index attestations).

An attestation counts only when its signature verifies under the policy (``gate.attest.verify``: sigstore
bundle, cosign legacy ``.att`` layer, or bare DSSE envelope, by what the layer is) AND the signed in-toto
statement names the digest it is used for (``counts_for``). A bare statement or raw document carries no
signature: unsigned. An in-index BuildKit attestation is covered by the index digest: it counts only when
the index carries a cosign signature that verifies (``index_signature``: a ``sha256-<hex>.sig`` tag or a
sigstore bundle referrer). Nothing here raises on what it verifies: refusals are ``Verification`` values.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from gate.attest.unwrap import Attestation, EnvelopeKind, unwrap_document
from gate.attest.verify.bundle import BUNDLE_MEDIA_TYPES, verify_bundle
from gate.attest.verify.dsse import verify_envelope
from gate.attest.verify.index import verify_index_signature
from gate.attest.verify.legacy import DSSE_LAYER, verify_legacy_layer
from gate.attest.verify.policy import Reason, Verification, VerificationPolicy
from gate.attest.verify.subject import subject_matches
from gate.errors import GateError, InputError
from gate.oci.reference import fallback_tag, parse_descriptor
from gate.oci.target import MAX_MANIFEST_BYTES, Descriptor

SIGNATURE_ARTIFACT_TYPES = frozenset(
    {
        *(media_type.split(";", 1)[0] for media_type in BUNDLE_MEDIA_TYPES),
        "application/vnd.dev.cosign.artifact.sig.v1+json",
    }
)
MAX_SIGNATURE_MANIFESTS = 16
MAX_SIGNATURE_LAYERS = 16
MAX_SIGNATURE_BYTES = 4 * 1024 * 1024
"""A cosign signature layer or bundle is a few KiB (a certificate chain at most): bound what we read."""


class SignatureFetcher(Protocol):
    """The content access a signature lookup needs (``gate.attest.lookup.SbomFetcher`` is one)."""

    def manifest(self, descriptor: Descriptor) -> bytes: ...

    def blob(self, descriptor: Descriptor, limit: int) -> bytes: ...

    def referrers(self, descriptor: Descriptor) -> Sequence[Descriptor]: ...

    def tagged(self, tag: str) -> tuple[Descriptor, bytes] | None: ...


def verify_layer(
    layer: Descriptor, blob: bytes, envelope: EnvelopeKind, policy: VerificationPolicy, *, legacy_tag: bool = False
) -> Verification:
    """The signature of one attestation layer (its descriptor and exact bytes), by what the layer is.

    ``envelope`` is what unwrapping found outermost; ``legacy_tag``: the layer is in a cosign
    ``sha256-<hex>.att`` manifest (its signatures may sit in the layer annotations).
    """
    media_type = layer.media_type.split(";", 1)[0].strip()
    if envelope == "sigstore-bundle" or layer.media_type in BUNDLE_MEDIA_TYPES:
        return verify_bundle(blob, policy)
    if legacy_tag and media_type == DSSE_LAYER:
        descriptor = {"mediaType": layer.media_type, "digest": layer.digest, "annotations": dict(layer.annotations)}
        return verify_legacy_layer(descriptor, blob, policy)
    if envelope == "dsse":
        return verify_envelope(blob, policy)
    what = "a bare in-toto statement" if envelope == "statement" else "a document without any envelope"
    return Verification.refused(Reason.UNSIGNED, f"{what} carries no signature")


def counts_for(
    verification: Verification, digest: str, accepts: Callable[[str], bool], source: str
) -> tuple[Verification, Attestation | None]:
    """A verified signature, checked to sign an attestation ``accepts`` takes (by predicate type) about
    ``digest``: (the verification, the signed attestation) or (the refusal, None)."""
    if not verification.verified:
        return verification, None
    statement = verification.statement
    try:
        attestation = unwrap_document(statement or {}, source)
    except InputError as exc:
        return Verification.refused(Reason.MALFORMED, exc.message[:300], verification.signer), None
    if not accepts(attestation.predicate_type):
        detail = f"the signed statement's predicate type is {attestation.predicate_type[:200]}"
        return Verification.refused(Reason.MALFORMED, detail, verification.signer), None
    if not subject_matches(statement or {}, digest):
        named = ", ".join(sorted(attestation.subject_digests)[:3]) or "nothing"
        detail = f"the signed statement is about {named}, not {digest}"
        return Verification.refused(Reason.SUBJECT_MISMATCH, detail, verification.signer), None
    return verification, attestation


def in_index_verification(
    signature: Verification, attestation: Attestation | None, used_for: str
) -> tuple[Verification, Attestation | None]:
    """The in-index rule: an in-index attestation is covered by the index digest, so it counts only when the
    index carries a verified signature (``signature``, from ``index_signature``) and its statement names
    ``used_for``; the attestation comes back only when it counts."""
    if not signature.verified:
        detail = (
            "an in-index attestation is covered by the index digest, and the index carries no signature "
            f"that verifies ({signature.detail})"
        )
        return Verification.refused(signature.reason or Reason.UNSIGNED, detail, signature.signer), None
    if attestation is None or used_for.lower() not in attestation.subject_digests:
        named = ", ".join(sorted(attestation.subject_digests)[:3]) if attestation else ""
        detail = f"the statement is about {named or 'nothing'}, not {used_for}"
        return Verification.refused(Reason.SUBJECT_MISMATCH, detail, signature.signer), None
    return Verification.accepted(f"{signature.signer} (index signature)", "", b""), attestation


def index_signature(index: Descriptor, fetcher: SignatureFetcher, policy: VerificationPolicy) -> Verification:
    """Whether the index carries a cosign signature that verifies under ``policy`` and names its digest.

    Looks at the index's sigstore bundle and cosign signature referrers and its ``sha256-<hex>.sig`` tag;
    the first that verifies wins, else the most telling refusal (a wrong signer over no signature).
    """
    refusals: list[Verification] = []
    for manifest, source in _signature_manifests(index, fetcher, refusals):
        try:
            blobs = _layer_blobs(manifest, fetcher)
        except (GateError, ValueError) as exc:
            text = exc.message if isinstance(exc, GateError) else str(exc)
            refusals.append(Verification.refused(Reason.MALFORMED, f"{source}: {text[:200]}"))
            continue
        result = verify_index_signature(manifest, blobs, index.digest, policy)
        if result.verified:
            return result
        refusals.append(Verification.refused(result.reason or Reason.MALFORMED, f"{source}: {result.detail}"))
    if not refusals:
        return Verification.refused(
            Reason.UNSIGNED, "the index carries no cosign signature (no .sig tag, no signature referrer)"
        )
    telling = [r for r in refusals if r.reason not in (Reason.UNSIGNED, Reason.MALFORMED)]
    return (telling or refusals)[0]


def _signature_manifests(
    index: Descriptor, fetcher: SignatureFetcher, refusals: list[Verification]
) -> list[tuple[bytes, str]]:
    found: list[tuple[bytes, str]] = []
    for referrer in fetcher.referrers(index):
        if (referrer.artifact_type or "").split(";", 1)[0] not in SIGNATURE_ARTIFACT_TYPES:
            continue
        if len(found) >= MAX_SIGNATURE_MANIFESTS:
            refusals.append(
                Verification.refused(Reason.MALFORMED, f"more than {MAX_SIGNATURE_MANIFESTS} signatures: not read")
            )
            break
        found.append((fetcher.manifest(referrer), f"signature referrer {referrer.digest}"))
    tagged = fetcher.tagged(f"{fallback_tag(index.digest)}.sig")
    if tagged is not None:
        found.append((tagged[1], f"signature tag {fallback_tag(index.digest)}.sig ({tagged[0].digest})"))
    return found


def _layer_blobs(manifest: bytes, fetcher: SignatureFetcher) -> Mapping[str, bytes]:
    """The content of each layer of a signature manifest (small, capped), by digest."""
    if len(manifest) > MAX_MANIFEST_BYTES:
        raise InputError(f"a signature manifest of {len(manifest)} bytes")
    document: Any = json.loads(manifest)
    layers = document.get("layers") if isinstance(document, dict) else None
    if not isinstance(layers, list):
        return {}
    blobs: dict[str, bytes] = {}
    for number, item in enumerate(layers[:MAX_SIGNATURE_LAYERS]):
        layer = parse_descriptor(item, f"signature layers[{number}]")
        if layer.size <= MAX_SIGNATURE_BYTES:
            blobs[layer.digest] = fetcher.blob(layer, MAX_SIGNATURE_BYTES)
    return blobs
