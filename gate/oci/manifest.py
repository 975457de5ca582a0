"""Reading manifests: media type detection, children, blobs, subject and annotations.

A manifest's bytes are never re-serialised: ``parse_manifest`` only reads them, and
``Manifest.data`` stays the exact bytes whose digest everything is keyed by.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gate.errors import InputError
from gate.oci.reference import (
    compute_digest,
    optional_string,
    parse_annotations,
    parse_descriptor,
    parse_platform_object,
    split_digest,
)
from gate.oci.target import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    INDEX_TYPES,
    MAX_MANIFEST_BYTES,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    DigestMismatch,
    Manifest,
    Platform,
)

OCI_ARTIFACT_MANIFEST = "application/vnd.oci.artifact.manifest.v1+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
KNOWN_MANIFEST_TYPES = frozenset({OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST, OCI_ARTIFACT_MANIFEST})

REF_NAME = "org.opencontainers.image.ref.name"
BUILDKIT_REFERENCE_TYPE = "vnd.docker.reference.type"
BUILDKIT_REFERENCE_DIGEST = "vnd.docker.reference.digest"
BUILDKIT_ATTESTATION = "attestation-manifest"
PREDICATE_TYPE_ANNOTATIONS = ("in-toto.io/predicate-type", "dev.sigstore.bundle.predicateType")
IMAGE_CONFIG_TYPES = frozenset(
    {"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"}
)
MAX_CONFIG_BYTES = 1024 * 1024  # an image config read only to name its platform


def verify_manifest_bytes(data: bytes, digest: str, where: str) -> None:
    """Raise ``DigestMismatch`` unless ``data`` hashes to ``digest`` and fits the size cap."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise DigestMismatch(f"{where}: manifest {digest} is {len(data)} bytes, over the {MAX_MANIFEST_BYTES} byte cap")
    algorithm, _ = split_digest(digest)
    actual = compute_digest(data, algorithm)
    if actual != digest:
        raise DigestMismatch(f"{where}: manifest content hashes to {actual}, expected {digest}")


@dataclass(frozen=True)
class ParsedManifest:
    """What the copy engine and the scanner need of a manifest."""

    media_type: str
    artifact_type: str | None = None
    config: Descriptor | None = None
    layers: tuple[Descriptor, ...] = ()
    manifests: tuple[Descriptor, ...] = ()
    subject: Descriptor | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    @property
    def blobs(self) -> tuple[Descriptor, ...]:
        """The config (when there is one) and the layers: what must exist before the manifest."""
        return ((self.config,) if self.config else ()) + self.layers

    @property
    def effective_artifact_type(self) -> str | None:
        """``artifactType``, else the config's media type (the referrers API rule), else None."""
        if self.artifact_type:
            return self.artifact_type
        if self.config is not None and self.config.media_type not in IMAGE_CONFIG_TYPES:
            return self.config.media_type
        return None

    @property
    def predicate_types(self) -> tuple[str, ...]:
        """In-toto predicate types named by the manifest's or its layers' annotations."""
        found: list[str] = []
        for mapping in (self.annotations, *(layer.annotations for layer in self.layers)):
            for key in PREDICATE_TYPE_ANNOTATIONS:
                value = mapping.get(key)
                if value and value not in found:
                    found.append(value)
        return tuple(found)


def is_attestation_child(descriptor: Descriptor) -> bool:
    """A BuildKit in-index attestation manifest (``vnd.docker.reference.type=attestation-manifest``)."""
    return descriptor.annotations.get(BUILDKIT_REFERENCE_TYPE) == BUILDKIT_ATTESTATION


def attestation_subject(descriptor: Descriptor) -> str | None:
    """The image digest a BuildKit attestation child describes."""
    if not is_attestation_child(descriptor):
        return None
    return descriptor.annotations.get(BUILDKIT_REFERENCE_DIGEST)


def parse_manifest(data: bytes, media_type: str | None = None, *, where: str = "manifest") -> ParsedManifest:
    """Parse a manifest's bytes. ``media_type`` is the store's word (a Content-Type or a
    descriptor); the document's own ``mediaType`` wins when present. Raises ``InputError``
    naming ``where`` for anything that is not a supported manifest."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise InputError(f"{where}: not a JSON manifest ({exc.__class__.__name__})") from None
    if not isinstance(document, dict):
        raise InputError(f"{where}: a manifest must be a JSON object")
    declared = document.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        raise InputError(f"{where}: mediaType must be a string")
    kind = declared or media_type or _guess_type(document)
    if kind in {DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED} or document.get("schemaVersion") == 1:
        raise InputError(f"{where}: Docker schema 1 manifests are not supported (deprecated; re-push the image)")
    if kind not in KNOWN_MANIFEST_TYPES:
        raise InputError(f"{where}: unsupported manifest media type {kind!r}")
    if kind != OCI_ARTIFACT_MANIFEST and document.get("schemaVersion") != 2:
        raise InputError(f"{where}: schemaVersion must be 2")
    annotations = parse_annotations(document.get("annotations"), where)
    artifact_type = optional_string(document, "artifactType", where)
    subject = (
        parse_descriptor(document["subject"], f"{where}: subject") if document.get("subject") is not None else None
    )
    if kind in INDEX_TYPES:
        children = _descriptor_list(document.get("manifests"), f"{where}: manifests", required=True)
        return ParsedManifest(kind, artifact_type, None, (), children, subject, annotations)
    if kind == OCI_ARTIFACT_MANIFEST:
        blobs = _descriptor_list(document.get("blobs"), f"{where}: blobs", required=False)
        return ParsedManifest(kind, artifact_type, None, blobs, (), subject, annotations)
    if "config" not in document:
        raise InputError(f"{where}: an image manifest needs a config descriptor")
    config = parse_descriptor(document["config"], f"{where}: config")
    layers = _descriptor_list(document.get("layers"), f"{where}: layers", required=True)
    return ParsedManifest(kind, artifact_type, config, layers, (), subject, annotations)


def parse(manifest: Manifest, where: str | None = None) -> ParsedManifest:
    """``parse_manifest`` for a fetched ``Manifest``."""
    return parse_manifest(manifest.data, manifest.descriptor.media_type, where=where or manifest.descriptor.digest)


def detect_media_type(data: bytes) -> str:
    """The media type of a manifest's bytes (its ``mediaType``, else guessed from its fields)."""
    return parse_manifest(data).media_type


def manifest_from_bytes(data: bytes, media_type: str | None = None, *, where: str = "manifest") -> Manifest:
    """A ``Manifest`` for bytes we hold (digest computed here, media type detected)."""
    parsed = parse_manifest(data, media_type, where=where)
    descriptor = Descriptor(
        media_type=parsed.media_type,
        digest=compute_digest(data),
        size=len(data),
        artifact_type=parsed.effective_artifact_type,
        annotations=dict(parsed.annotations),
    )
    return Manifest(descriptor, data)


def _guess_type(document: Mapping[str, Any]) -> str:
    if "manifests" in document:
        return OCI_INDEX
    if "blobs" in document and "layers" not in document:
        return OCI_ARTIFACT_MANIFEST
    return OCI_MANIFEST


def _descriptor_list(value: Any, where: str, *, required: bool) -> tuple[Descriptor, ...]:
    if value is None:
        if required:
            raise InputError(f"{where}: missing")
        return ()
    if not isinstance(value, list):
        raise InputError(f"{where}: must be a list")
    return tuple(parse_descriptor(item, f"{where}[{i}]") for i, item in enumerate(value))


def parse_platform(text: str) -> Platform:
    """``os/arch[/variant]`` -> ``Platform``; ``InputError`` otherwise."""
    parts = text.strip().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise InputError(f"invalid platform {text!r}: expected OS/ARCH or OS/ARCH/VARIANT (e.g. linux/arm64/v8)")
    return Platform(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


def platform_from_config(data: bytes, where: str) -> Platform | None:
    """The platform an image config declares (``os``, ``architecture``, ``variant``), None when it
    does not name both os and architecture; bytes that are not a JSON object are an ``InputError``
    naming ``where``. For a manifest whose descriptor carries no platform."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InputError(f"{where}: not valid JSON") from None
    if not isinstance(document, dict):
        raise InputError(f"{where}: expected a JSON object")
    try:
        return parse_platform_object(document, where)
    except InputError:
        return None


def platform_matches(wanted: Platform, actual: Platform | None) -> bool:
    """True when ``actual`` is ``wanted`` (a wanted variant must match; none matches any)."""
    if actual is None:
        return False
    if (wanted.os, wanted.architecture) != (actual.os, actual.architecture):
        return False
    return wanted.variant is None or wanted.variant == actual.variant
