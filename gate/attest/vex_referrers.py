"""VEX documents attached to an image: referrers and cosign ``.att`` tags of the index and of each platform,
and in-index attestations.

A referrer is read when its artifact type, config or layer media type, or a predicate-type annotation
(``in-toto.io/predicate-type``, sigstore's ``dev.sigstore.bundle.predicateType``, cosign's
``predicateType`` on ``.att`` layers) says OpenVEX / CycloneDX VEX; a plain CycloneDX document is read
too and kept when it carries VEX analyses. An unreadable VEX document becomes a note (without it the
gate is only stricter), never a crash.

Each document's statements apply only to findings of the manifest it is attached to (the index: every
platform), and never win over the operator's ``--vex`` files (``gate.policy.vex``).

Without a verification policy every document found applies, marked unverified (the suppressions say
so); a wrapped one whose subject names neither the manifest it is attached to nor the index is left
out with a note. In verified mode (``VerificationPolicy.enabled``) a document counts only when its
signature verifies under the policy and its signed subject names the manifest it is attached to
(``gate.attest.signed``); an in-index attestation only when the index carries a signature that
verifies. What does not count is left out and listed (``LeftOut``, the scan's
``unverified_attestations``), and never applied.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gate.attest.lookup import (
    REFERENCE_DIGEST,
    LeftOut,
    PlatformSbom,
    SbomSource,
    TargetFetcher,
    annotated_type,
    split_index,
)
from gate.attest.signed import counts_for, in_index_verification, index_signature, verify_layer
from gate.attest.unwrap import MAX_ATTESTATION_BYTES, Attestation, EnvelopeKind, unwrap_document
from gate.attest.verify.policy import Reason, Verification, VerificationPolicy
from gate.errors import GateError, InputError
from gate.oci.reference import fallback_tag, parse_descriptor
from gate.oci.target import INDEX_TYPES, MAX_MANIFEST_BYTES, Descriptor, Target
from gate.outcome import ignore
from gate.policy.vex import MAX_VEX_BYTES, WRAPPER_KEYS, VexSet, is_vex_predicate_type, parse_vex

CYCLONEDX_VEX_PREDICATE = "https://cyclonedx.org/vex"
_VEX_MEDIA_TYPES = frozenset(
    {"application/vnd.openvex+json", "application/openvex+json", "application/vnd.cyclonedx.vex+json"}
)
_CYCLONEDX_MEDIA_TYPES = frozenset({"application/vnd.cyclonedx+json"})
_SIGNATURES = frozenset({"application/vnd.dev.cosign.artifact.sig.v1+json", "application/vnd.cncf.notary.signature"})
MAX_VEX_DOCUMENTS = 64
# Bounds on what a registry can make us fetch: referrer manifests inspected and layers read.
# Past them the rest is not read (a note says so): fewer VEX statements only make the gate stricter.
MAX_VEX_MANIFESTS = 256
MAX_VEX_LAYERS = 128


@dataclass(frozen=True)
class VexDocument:
    """A VEX document that was read: where from, in which format, how many statements."""

    source: str
    statements: int
    formats: tuple[str, ...]
    subject: str | None = None
    """The digest it is attached to (None for a ``--vex`` file)."""
    verified: bool | None = None
    """Attached: whether its signature was verified (verified mode); None for a ``--vex`` file."""
    signer: str = ""
    """Verified: who signed it (a key fingerprint, or a certificate identity; ``(index signature)`` in-index)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "statements": self.statements,
            "formats": list(self.formats),
            "subject": self.subject,
            "verified": self.verified,
            "signer": self.signer or None,
        }


@dataclass(frozen=True)
class AttachedVex:
    """What the search found: the statements that apply, the documents read, notes on documents that could
    not be applied, and (verified mode) the documents left out because they did not verify."""

    statements: VexSet
    documents: tuple[VexDocument, ...]
    notes: tuple[str, ...]
    left_out: tuple[LeftOut, ...] = ()


def _vex_hint(*values: str | None) -> bool:
    for value in values:
        if not value:
            continue
        bare = value.split(";", 1)[0].strip().lower()
        if is_vex_predicate_type(value) or value == CYCLONEDX_VEX_PREDICATE or bare in _VEX_MEDIA_TYPES:
            return True
    return False


def _is_vex_type(predicate_type: str) -> bool:
    return is_vex_predicate_type(predicate_type) or predicate_type == CYCLONEDX_VEX_PREDICATE


Candidate = tuple[str, "Descriptor | None", SbomSource]
"""(subject digest, attached manifest, how it was found); a cosign ``.att`` tag is looked up when its turn comes."""


def find_attached_vex(
    target: Target,
    root: Descriptor,
    root_data: bytes,
    platforms: Iterable[PlatformSbom],
    *,
    policy: VerificationPolicy | None = None,
    index_verification: Verification | None = None,
    fetcher: TargetFetcher | None = None,
    log: Callable[[str], None] = ignore,
) -> AttachedVex:
    """VEX documents attached to the index and to every platform: referrers, cosign ``.att`` tags and
    in-index attestations (see the module docstring for which count).

    ``policy``: verified mode when enabled. ``index_verification``: the index's own signature when the
    caller already checked it (the SBOM lookup does); else it is checked here when an in-index VEX needs it.
    ``fetcher``: the caller's fetcher of ``target``, whose referrer lists and tags the SBOM lookup already read.
    """
    named = {p.digest: p.platform for p in platforms}
    subjects = list(dict.fromkeys([root.digest, *named]))
    fetcher = fetcher or TargetFetcher(target)
    candidates: list[Candidate] = []
    for subject in subjects:
        candidates += [(subject, d, "referrer") for d in fetcher.referrers_of(subject)]
        candidates.append((subject, None, "cosign-tag"))
    if root.media_type in INDEX_TYPES:
        try:
            _, in_index = split_index(json.loads(root_data), root.digest)
        except (ValueError, InputError):
            in_index = []
        candidates += [(d.annotations.get(REFERENCE_DIGEST, root.digest), d, "in-index") for d in in_index]
    judge = _Judge(policy or VerificationPolicy(), target, fetcher, root, named, index_verification)
    vex = VexSet()
    documents: list[VexDocument] = []
    left_out: list[LeftOut] = []
    notes: list[str] = []
    seen: set[str] = set()
    layers = _LayerBudget()
    for subject, listed, source in candidates:
        if len(seen) >= MAX_VEX_MANIFESTS:
            notes.append(f"more than {MAX_VEX_MANIFESTS} attached manifests; the rest were not read for VEX")
            break
        data = None
        if listed is None:
            tagged = fetcher.tagged(f"{fallback_tag(subject)}.att")
            if tagged is None:
                continue
            listed, data = tagged
        descriptor = listed
        if descriptor.digest in seen or (descriptor.artifact_type or "") in _SIGNATURES:
            continue
        seen.add(descriptor.digest)
        if len(documents) + len(left_out) >= MAX_VEX_DOCUMENTS:
            notes.append(f"more than {MAX_VEX_DOCUMENTS} VEX documents attached; the rest were not read")
            break
        if layers.refused:
            break
        try:
            found = _vex_in_manifest(fetcher, subject, descriptor, source, data, layers, judge)
        except GateError as exc:
            notes.append(f"VEX {target.display_name}@{descriptor.digest} not applied: {exc.message[:300]}")
            continue
        for item in found:
            if isinstance(item, LeftOut):
                left_out.append(item)
                log(f"scan: VEX {target.display_name}@{item.digest} left out: {item.reason}: {item.detail}")
            elif isinstance(item, str):
                notes.append(item)
            else:
                document, statements = item
                documents.append(document)
                vex = vex + statements
                log(f"scan: VEX {document.source}: {document.statements} statement(s)")
    if layers.refused:
        notes.append(f"{MAX_VEX_LAYERS} attached layers read; the rest were not read for VEX")
    return AttachedVex(vex, tuple(documents), tuple(notes), tuple(left_out))


class _LayerBudget:
    """How many more layers the search may read."""

    def __init__(self) -> None:
        self.left = MAX_VEX_LAYERS
        self.refused = False

    def take(self) -> bool:
        if self.left <= 0:
            self.refused = True
            return False
        self.left -= 1
        return True


Found = tuple[VexDocument, VexSet] | LeftOut | str
"""A document that applies, one left out (verified mode), or a note on one that does not apply."""


class _Judge:
    """Whether a VEX document found attached counts: always without a policy (subject permitting), only
    when its signature verifies and names the manifest it is attached to in verified mode."""

    def __init__(
        self,
        policy: VerificationPolicy,
        target: Target,
        fetcher: TargetFetcher,
        root: Descriptor,
        platforms: Mapping[str, str],
        index_verification: Verification | None,
    ) -> None:
        self.policy = policy
        self.target = target
        self.fetcher = fetcher
        self.root = root
        self.platforms = platforms
        self._index = index_verification

    def index_signature(self) -> Verification:
        if self._index is None:
            self._index = index_signature(self.root, self.fetcher, self.policy)
        return self._index

    def judge(
        self,
        layer: Descriptor,
        blob: bytes,
        document: Any,
        subject: str,
        found: tuple[Descriptor, SbomSource, str | None],
    ) -> Found:
        descriptor, source, declared = found
        where = f"{self.target.display_name}@{descriptor.digest}"
        wrapped = isinstance(document, dict) and any(key in document for key in WRAPPER_KEYS)
        try:
            unsigned = unwrap_document(document, where) if wrapped else None
        except InputError as exc:
            if not self.policy.enabled:
                raise
            return self._left_out(
                descriptor, layer, subject, source, "", Verification.refused(Reason.MALFORMED, exc.message[:300])
            )
        if not self.policy.enabled:
            if (
                unsigned is not None
                and unsigned.subjects
                and not (unsigned.subject_digests & {subject, self.root.digest})
            ):
                named = ", ".join(sorted(unsigned.subject_digests)[:3])
                return f"VEX {where} not applied: its subject names {named}, not {subject} it is attached to"
            return self._counted(parse_vex(document, where), where, subject, verified=False)
        predicate_type = unsigned.predicate_type if unsigned else (declared or _raw_vex_type(document))
        if source == "in-index":
            verification, signed = self._in_index(unsigned, subject)
        else:
            envelope: EnvelopeKind = unsigned.envelope if unsigned else "raw"
            checked = verify_layer(layer, blob, envelope, self.policy, legacy_tag=source == "cosign-tag")
            verification, signed = counts_for(checked, subject, _is_vex_type, where)
        if signed is None:
            return self._left_out(descriptor, layer, subject, source, predicate_type, verification)
        statements = parse_vex(signed.predicate if source != "in-index" else document, where)
        return self._counted(statements, where, subject, verified=True, signer=verification.signer)

    def _in_index(self, unsigned: Attestation | None, subject: str) -> tuple[Verification, Attestation | None]:
        """An in-index attestation is covered by the index digest: it counts when the index is signed."""
        return in_index_verification(self.index_signature(), unsigned, subject)

    def _counted(
        self, statements: VexSet, where: str, subject: str, *, verified: bool, signer: str = ""
    ) -> tuple[VexDocument, VexSet]:
        formats = tuple(sorted({s.format for s in statements.statements}))
        document = VexDocument(where, len(statements), formats, subject, verified, signer)
        return document, statements.attached(subject, verified=verified)

    def _left_out(
        self,
        descriptor: Descriptor,
        layer: Descriptor,
        subject: str,
        source: SbomSource,
        predicate_type: str,
        verification: Verification,
    ) -> LeftOut:
        return LeftOut.refused(
            descriptor.digest, layer.digest, subject, self.platforms.get(subject), predicate_type or "unknown", source,
            verification,
        )  # fmt: skip


def _vex_in_manifest(
    fetcher: TargetFetcher,
    subject: str,
    descriptor: Descriptor,
    source: SbomSource,
    data: bytes | None,
    layers: _LayerBudget,
    judge: _Judge,
) -> list[Found]:
    hinted = _vex_hint(descriptor.artifact_type, annotated_type(descriptor.annotations))
    data = data if data is not None else fetcher.manifest(descriptor)
    if len(data) > MAX_MANIFEST_BYTES:
        return []
    try:
        manifest = json.loads(data)
    except ValueError:
        return []
    if not isinstance(manifest, dict) or not isinstance(manifest.get("layers"), list):
        return []
    annotations = _mapping(manifest.get("annotations"))
    hinted = hinted or _vex_hint(
        _text(manifest.get("artifactType")),
        _text(_mapping(manifest.get("config")).get("mediaType")),
        annotated_type(annotations),
    )
    found: list[Found] = []
    for i, item in enumerate(manifest["layers"]):
        layer = parse_descriptor(item, f"manifest {descriptor.digest} layers[{i}]")
        layer_type = annotated_type(layer.annotations)
        media = layer.media_type.split(";", 1)[0].strip().lower()
        if layer_type is not None and not _vex_hint(layer_type):
            continue  # an SBOM or provenance layer beside a VEX one (BuildKit, cosign .att manifests)
        plain_cyclonedx = media in _CYCLONEDX_MEDIA_TYPES and layer_type is None and not hinted
        if not (hinted or _vex_hint(layer_type, media) or plain_cyclonedx):
            continue
        if layer.size > MAX_VEX_BYTES:
            raise InputError(f"layer {layer.digest}: {layer.size} bytes exceeds the VEX cap of {MAX_VEX_BYTES}")
        if not layers.take():
            break
        blob = fetcher.blob(layer, min(MAX_VEX_BYTES, MAX_ATTESTATION_BYTES))
        try:
            document = json.loads(blob)
        except (ValueError, RecursionError):
            raise InputError(f"layer {layer.digest}: not JSON") from None
        if plain_cyclonedx and not _has_vex_analysis(document):
            continue  # a CycloneDX SBOM, not a VEX document
        declared = layer_type or annotated_type(annotations) or annotated_type(descriptor.annotations)
        found.append(judge.judge(layer, blob, document, subject, (descriptor, source, declared)))
    return found


def _raw_vex_type(document: Any) -> str:
    """What a VEX document without an envelope is: its OpenVEX ``@context``, or CycloneDX VEX."""
    context = document.get("@context") if isinstance(document, dict) else None
    if isinstance(context, str) and is_vex_predicate_type(context):
        return context
    return CYCLONEDX_VEX_PREDICATE if isinstance(document, dict) and document.get("bomFormat") else ""


def _has_vex_analysis(document: Any) -> bool:
    vulnerabilities = document.get("vulnerabilities") if isinstance(document, dict) else None
    return isinstance(vulnerabilities, list) and any(
        isinstance(v, dict) and isinstance(v.get("analysis"), dict) for v in vulnerabilities
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
