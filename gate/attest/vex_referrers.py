"""VEX documents attached to an image: referrers of the index and of each platform, and in-index attestations.

A referrer is read when its artifact type, config or layer media type, or an
``in-toto.io/predicate-type`` annotation says OpenVEX / CycloneDX VEX; a plain CycloneDX document
is read too and kept when it carries VEX analyses. An unreadable VEX document becomes a note
(without it the gate is only stricter), never a crash.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gate.attest.lookup import (
    PREDICATE_ANNOTATION,
    REFERENCE_DIGEST,
    PlatformSbom,
    TargetFetcher,
    split_index,
)
from gate.attest.unwrap import MAX_ATTESTATION_BYTES
from gate.errors import GateError, InputError
from gate.oci.reference import parse_descriptor
from gate.oci.target import INDEX_TYPES, MAX_MANIFEST_BYTES, Descriptor, Target
from gate.outcome import ignore
from gate.policy.vex import MAX_VEX_BYTES, VexSet, is_vex_predicate_type, parse_vex

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

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "statements": self.statements,
            "formats": list(self.formats),
            "subject": self.subject,
        }


def _vex_hint(*values: str | None) -> bool:
    for value in values:
        if not value:
            continue
        bare = value.split(";", 1)[0].strip().lower()
        if is_vex_predicate_type(value) or value == CYCLONEDX_VEX_PREDICATE or bare in _VEX_MEDIA_TYPES:
            return True
    return False


def find_attached_vex(
    target: Target,
    root: Descriptor,
    root_data: bytes,
    platforms: Iterable[PlatformSbom],
    *,
    log: Callable[[str], None] = ignore,
) -> tuple[VexSet, list[VexDocument], list[str]]:
    """VEX documents attached to the index and to every platform: referrers and in-index attestations.

    Returns the statements, the documents read, and notes on documents that could not be applied.
    """
    subjects = list(dict.fromkeys([root.digest, *(p.digest for p in platforms)]))
    candidates: list[tuple[str, Descriptor]] = []
    for subject in subjects:
        candidates += [(subject, d) for d in target.referrers(subject)]
    if root.media_type in INDEX_TYPES:
        try:
            _, in_index = split_index(json.loads(root_data), root.digest)
        except (ValueError, InputError):
            in_index = []
        candidates += [(d.annotations.get(REFERENCE_DIGEST, root.digest), d) for d in in_index]
    vex = VexSet()
    documents: list[VexDocument] = []
    notes: list[str] = []
    seen: set[str] = set()
    layers = _LayerBudget()
    for subject, descriptor in candidates:
        if descriptor.digest in seen or (descriptor.artifact_type or "") in _SIGNATURES:
            continue
        seen.add(descriptor.digest)
        if len(documents) >= MAX_VEX_DOCUMENTS:
            notes.append(f"more than {MAX_VEX_DOCUMENTS} VEX documents attached; the rest were not read")
            break
        if len(seen) > MAX_VEX_MANIFESTS:
            notes.append(f"more than {MAX_VEX_MANIFESTS} attached manifests; the rest were not read for VEX")
            break
        if layers.refused:
            break
        try:
            found = _vex_in_manifest(target, subject, descriptor, layers)
        except GateError as exc:
            notes.append(f"VEX {target.display_name}@{descriptor.digest} not applied: {exc.message[:300]}")
            continue
        for document, statements in found:
            documents.append(document)
            vex = vex + statements
            log(f"scan: VEX {document.source}: {document.statements} statement(s)")
    if layers.refused:
        notes.append(f"{MAX_VEX_LAYERS} attached layers read; the rest were not read for VEX")
    return vex, documents, notes


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


def _vex_in_manifest(
    target: Target, subject: str, descriptor: Descriptor, layers: _LayerBudget
) -> list[tuple[VexDocument, VexSet]]:
    hinted = _vex_hint(descriptor.artifact_type, descriptor.annotations.get(PREDICATE_ANNOTATION))
    data = target.fetch_manifest(descriptor.digest).data
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
        _text(annotations.get(PREDICATE_ANNOTATION)),
    )
    found: list[tuple[VexDocument, VexSet]] = []
    fetcher = TargetFetcher(target)
    for i, item in enumerate(manifest["layers"]):
        layer = parse_descriptor(item, f"manifest {descriptor.digest} layers[{i}]")
        layer_type = layer.annotations.get(PREDICATE_ANNOTATION)
        media = layer.media_type.split(";", 1)[0].strip().lower()
        if layer_type is not None and not _vex_hint(layer_type):
            continue  # an SBOM or provenance layer beside a VEX one (BuildKit attestation manifests)
        plain_cyclonedx = media in _CYCLONEDX_MEDIA_TYPES and layer_type is None and not hinted
        if not (hinted or _vex_hint(layer_type, media) or plain_cyclonedx):
            continue
        if layer.size > MAX_VEX_BYTES:
            raise InputError(f"layer {layer.digest}: {layer.size} bytes exceeds the VEX cap of {MAX_VEX_BYTES}")
        source = f"{target.display_name}@{descriptor.digest}"
        if not layers.take():
            break
        blob = fetcher.blob(layer, min(MAX_VEX_BYTES, MAX_ATTESTATION_BYTES))
        try:
            document = json.loads(blob)
        except (ValueError, RecursionError):
            raise InputError(f"layer {layer.digest}: not JSON") from None
        if plain_cyclonedx and not _has_vex_analysis(document):
            continue  # a CycloneDX SBOM, not a VEX document
        statements = parse_vex(document, source)
        formats = tuple(sorted({s.format for s in statements.statements}))
        found.append((VexDocument(source, len(statements), formats, subject), statements))
    return found


def _has_vex_analysis(document: Any) -> bool:
    vulnerabilities = document.get("vulnerabilities") if isinstance(document, dict) else None
    return isinstance(vulnerabilities, list) and any(
        isinstance(v, dict) and isinstance(v.get("analysis"), dict) for v in vulnerabilities
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
