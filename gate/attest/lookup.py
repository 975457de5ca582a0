"""Find each platform's SBOM attestation, given content already addressable by descriptor.

Pure selection logic: all I/O goes through a ``SbomFetcher`` (``TargetFetcher`` adapts a
``gate.oci.target.Target``), so the scan command and the tests feed it the same way.

For every platform manifest of the image (index children with a real platform; a lone
manifest is one platform) the candidates are, in this order:
(a) its referrers, newest first (``org.opencontainers.image.created``), and
(b) BuildKit in-index attestation manifests (``vnd.docker.reference.type:
    attestation-manifest`` with ``vnd.docker.reference.digest: <platform digest>``).
A layer's predicate type is read from its ``in-toto.io/predicate-type`` annotation, else
from the manifest's annotations or artifact type, else from the unwrapped statement; the
statement has the last word. The first candidate whose predicate type matches wins.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from gate.attest.unwrap import MAX_ATTESTATION_BYTES, Attestation, unwrap
from gate.errors import InputError
from gate.oci.manifest import MAX_CONFIG_BYTES, platform_from_config
from gate.oci.reference import parse_descriptor
from gate.oci.target import (
    INDEX_TYPES,
    MAX_MANIFEST_BYTES,
    Descriptor,
    Platform,
    Target,
)
from gate.sbom.predicates import CYCLONEDX_PREDICATE, SPDX_PREDICATE, PredicateSelector

PREDICATE_ANNOTATION = "in-toto.io/predicate-type"
SIGSTORE_PREDICATE_ANNOTATION = "dev.sigstore.bundle.predicateType"
REFERENCE_TYPE = "vnd.docker.reference.type"
REFERENCE_DIGEST = "vnd.docker.reference.digest"
ATTESTATION_MANIFEST = "attestation-manifest"
CREATED = "org.opencontainers.image.created"
# A registry lists what it likes: bound the work per platform (real images have a handful of
# attestations) and the platforms of one index. Reaching a cap fails closed: no SBOM found.
MAX_PLATFORMS = 128
MAX_ATTESTATION_MANIFESTS = 64
MAX_ATTESTATION_BLOBS = 64

_MEDIA_TYPE_PREDICATES = {
    "application/vnd.cyclonedx+json": CYCLONEDX_PREDICATE,
    "application/spdx+json": SPDX_PREDICATE,
    "text/spdx+json": SPDX_PREDICATE,
}
_NOT_ATTESTATIONS = frozenset(
    {
        "application/vnd.dev.cosign.artifact.sig.v1+json",
        "application/vnd.dev.cosign.simplesigning.v1+json",
        "application/vnd.cncf.notary.signature",
    }
)

SbomSource = Literal["referrer", "in-index"]


class SbomFetcher(Protocol):
    """The content access the lookup needs; every method may raise a ``GateError``."""

    def manifest(self, descriptor: Descriptor) -> bytes:
        """A manifest's exact bytes, digest-verified and size-capped."""
        ...

    def blob(self, descriptor: Descriptor, limit: int) -> bytes:
        """A whole blob, digest-verified; larger than ``limit`` bytes is an ``InputError``."""
        ...

    def referrers(self, descriptor: Descriptor) -> Sequence[Descriptor]:
        """The manifests whose subject is ``descriptor``."""
        ...


@dataclass(frozen=True)
class PlatformSbom:
    """One platform of the image and the SBOM attestation found for it (or why none was)."""

    platform: str
    digest: str
    sbom: Attestation | None
    source: SbomSource | None = None
    attestation_digest: str | None = None
    """The referrer manifest or in-index attestation manifest that carried it."""
    layer_digest: str | None = None
    reason_missing: str | None = None
    seen_predicate_types: tuple[str, ...] = ()
    """Predicate types of the attestations looked at, for the reason and the summary."""


def find_platform_sboms(
    root: Descriptor, root_data: bytes, fetcher: SbomFetcher, selector: PredicateSelector
) -> tuple[PlatformSbom, ...]:
    """For the image whose root manifest is ``root`` (with bytes ``root_data``), one entry per platform."""
    document = _json_object(root_data, f"manifest {root.digest}", MAX_MANIFEST_BYTES)
    media_type = document.get("mediaType")
    media_type = media_type if isinstance(media_type, str) and media_type else root.media_type
    if media_type in INDEX_TYPES or ("manifests" in document and "layers" not in document):
        platforms, attestations = split_index(document, root.digest)
        if not platforms:
            raise InputError(f"index {root.digest}: no platform manifests (only attestations or unknown/unknown)")
        if len(platforms) > MAX_PLATFORMS:
            raise InputError(
                f"index {root.digest}: {len(platforms)} platform manifests, more than the {MAX_PLATFORMS} "
                "image-gate reads"
            )
        results = []
        for child in platforms:
            if child.media_type in INDEX_TYPES:
                results.append(
                    PlatformSbom(_platform_text(child.platform), child.digest, None, reason_missing="nested index")
                )
                continue
            name = _platform_text(child.platform) if child.platform else _config_platform(child, fetcher)
            results.append(select_sbom(child, name, fetcher, selector, in_index=attestations, root_digest=root.digest))
        return tuple(results)
    name = _config_platform(root, fetcher, document)
    return (select_sbom(root, name, fetcher, selector, in_index=(), root_digest=root.digest),)


def split_index(index: Mapping[str, Any], source: str) -> tuple[list[Descriptor], list[Descriptor]]:
    """An index's children -> (platform manifests, BuildKit attestation manifests)."""
    children = index.get("manifests")
    if not isinstance(children, list):
        raise InputError(f"index {source}: manifests must be a list")
    platforms: list[Descriptor] = []
    attestations: list[Descriptor] = []
    for i, item in enumerate(children):
        child = parse_descriptor(item, f"index {source} manifests[{i}]")
        if child.annotations.get(REFERENCE_TYPE) == ATTESTATION_MANIFEST:
            attestations.append(child)
        elif child.platform is not None and (child.platform.os, child.platform.architecture) == ("unknown", "unknown"):
            continue
        else:
            platforms.append(child)
    return platforms, attestations


def select_sbom(
    platform: Descriptor,
    name: str,
    fetcher: SbomFetcher,
    selector: PredicateSelector,
    *,
    in_index: Sequence[Descriptor] = (),
    root_digest: str | None = None,
) -> PlatformSbom:
    """The SBOM of one platform manifest among its referrers, then the in-index attestations."""
    seen: list[str] = []
    notes: list[str] = []
    reads = _Reads()
    subjects = {platform.digest.lower()} | ({root_digest.lower()} if root_digest else set())

    referrers = sorted(fetcher.referrers(platform), key=lambda d: d.annotations.get(CREATED, ""), reverse=True)
    candidates: list[tuple[SbomSource, Descriptor]] = [("referrer", d) for d in referrers]
    candidates += [
        ("in-index", d) for d in in_index if d.annotations.get(REFERENCE_DIGEST, "").lower() == platform.digest.lower()
    ]
    for source, manifest_descriptor in candidates:
        if reads.exhausted:
            break
        for layer, attestation in _attestations(manifest_descriptor, platform, fetcher, selector, seen, notes, reads):
            if attestation.subjects and not (attestation.subject_digests & subjects):
                notes.append(f"{layer.digest}: its subject does not name {platform.digest}")
                continue
            return PlatformSbom(
                name, platform.digest, attestation, source, manifest_descriptor.digest, layer.digest, None, tuple(seen)
            )
    if not candidates:
        reason = "no referrers and no in-index attestation manifest"
    elif seen:
        found = ", ".join(s[:200] for s in sorted(set(seen))[:10])
        reason = f"no attestation with predicate type {selector} (found: {found})"
    else:
        reason = f"no attestation with predicate type {selector} among {len(candidates)} attached manifest(s)"
    if reads.exhausted:
        reason += (
            f"; stopped after {reads.manifests} attestation manifest(s) and {reads.blobs} layer(s) "
            f"(caps {MAX_ATTESTATION_MANIFESTS} and {MAX_ATTESTATION_BLOBS}) of {len(candidates)} candidate(s)"
        )
    if notes:
        reason += "; " + "; ".join(notes[:5])
    return PlatformSbom(name, platform.digest, None, None, None, None, reason, tuple(seen))


class _Reads:
    """What one platform's lookup has fetched, against the caps."""

    def __init__(self) -> None:
        self.manifests = 0
        self.blobs = 0
        self.exhausted = False

    def take_manifest(self) -> bool:
        if self.manifests >= MAX_ATTESTATION_MANIFESTS:
            self.exhausted = True
            return False
        self.manifests += 1
        return True

    def take_blob(self) -> bool:
        if self.blobs >= MAX_ATTESTATION_BLOBS:
            self.exhausted = True
            return False
        self.blobs += 1
        return True


def _attestations(
    manifest_descriptor: Descriptor,
    platform: Descriptor,
    fetcher: SbomFetcher,
    selector: PredicateSelector,
    seen: list[str],
    notes: list[str],
    reads: _Reads,
) -> Iterator[tuple[Descriptor, Attestation]]:
    """Every matching attestation in one referrer or attestation manifest (within ``reads``' caps)."""
    if (manifest_descriptor.artifact_type or "") in _NOT_ATTESTATIONS:
        return
    hint = _annotated_type(manifest_descriptor.annotations)
    if hint is not None and not selector.matches(hint):
        seen.append(hint)
        return
    where = f"attestation manifest {manifest_descriptor.digest} (for {platform.digest})"
    if not reads.take_manifest():
        return
    document = _json_object(fetcher.manifest(manifest_descriptor), where, MAX_MANIFEST_BYTES)
    annotations = _string_map(document.get("annotations"))
    artifact_type = _string(document.get("artifactType")) or _config_type(document) or manifest_descriptor.artifact_type
    if artifact_type in _NOT_ATTESTATIONS:
        return
    hint = _annotated_type(annotations) or hint or _MEDIA_TYPE_PREDICATES.get(_bare(artifact_type))
    layers = document.get("layers")
    if not isinstance(layers, list):
        notes.append(f"{manifest_descriptor.digest}: not an image manifest (no layers)")
        return
    for i, item in enumerate(layers):
        layer = parse_descriptor(item, f"{where} layers[{i}]")
        declared = _annotated_type(layer.annotations) or hint or _MEDIA_TYPE_PREDICATES.get(_bare(layer.media_type))
        if declared is not None and not selector.matches(declared):
            seen.append(declared)
            continue
        if declared is None and not _json_like(layer.media_type):
            continue
        source = f"{layer.digest} (in {manifest_descriptor.digest} for {platform.digest})"
        if layer.size > MAX_ATTESTATION_BYTES:
            raise InputError(f"attestation {source}: {layer.size} bytes exceeds the cap of {MAX_ATTESTATION_BYTES}")
        if not reads.take_blob():
            return
        data = fetcher.blob(layer, MAX_ATTESTATION_BYTES)
        try:
            attestation = unwrap(data, source, predicate_type=declared)
        except InputError as exc:
            if declared is not None:
                raise
            notes.append(f"{layer.digest}: unreadable ({exc.message.split(': ', 1)[-1][:120]})")
            continue
        seen.append(attestation.predicate_type)
        if selector.matches(attestation.predicate_type):
            yield layer, attestation
        elif declared is not None:
            notes.append(f"{layer.digest}: annotated {declared} but its statement says {attestation.predicate_type}")


def _platform_text(platform: Platform | None) -> str:
    return str(platform) if platform else "unknown"


def _config_platform(descriptor: Descriptor, fetcher: SbomFetcher, document: Mapping[str, Any] | None = None) -> str:
    """A manifest without a platform in its descriptor: read os/architecture from its image config."""
    if descriptor.platform is not None:
        return str(descriptor.platform)
    if document is None:
        document = _json_object(fetcher.manifest(descriptor), f"manifest {descriptor.digest}", MAX_MANIFEST_BYTES)
    config = document.get("config")
    if not isinstance(config, dict):
        return "unknown"
    config_descriptor = parse_descriptor(config, f"manifest {descriptor.digest} config")
    if not config_descriptor.media_type.endswith(("image.config.v1+json", "container.image.v1+json")):
        return "unknown"
    if config_descriptor.size > MAX_CONFIG_BYTES:
        return "unknown"
    platform = platform_from_config(
        fetcher.blob(config_descriptor, MAX_CONFIG_BYTES), f"config {config_descriptor.digest}"
    )
    return str(platform) if platform else "unknown"


def _annotated_type(annotations: Mapping[str, str]) -> str | None:
    return annotations.get(PREDICATE_ANNOTATION) or annotations.get(SIGSTORE_PREDICATE_ANNOTATION) or None


def _config_type(document: Mapping[str, Any]) -> str | None:
    config = document.get("config")
    media_type = config.get("mediaType") if isinstance(config, dict) else None
    return media_type if isinstance(media_type, str) and media_type in _MEDIA_TYPE_PREDICATES else None


def _bare(media_type: str | None) -> str:
    return (media_type or "").split(";", 1)[0].strip().lower()


def _json_like(media_type: str) -> bool:
    bare = _bare(media_type)
    return bare.endswith(("+json", "/json")) or "in-toto" in bare


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def _json_object(data: bytes, where: str, cap: int) -> dict[str, Any]:
    if len(data) > cap:
        raise InputError(f"{where}: {len(data)} bytes exceeds the cap of {cap} bytes")
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        raise InputError(f"{where}: not valid JSON") from None
    if not isinstance(value, dict):
        raise InputError(f"{where}: expected a JSON object")
    return value


class TargetFetcher:
    """Feeds the lookup from a ``gate.oci.target.Target`` (registry or OCI layout)."""

    def __init__(self, target: Target) -> None:
        self._target = target

    def manifest(self, descriptor: Descriptor) -> bytes:
        return self._target.fetch_manifest(descriptor.digest).data

    def blob(self, descriptor: Descriptor, limit: int) -> bytes:
        if descriptor.size > limit:
            raise InputError(
                f"blob {descriptor.digest} in {self._target.display_name}: {descriptor.size} bytes exceeds the cap of {limit}"
            )
        parts: list[bytes] = []
        total = 0
        with self._target.open_blob(descriptor) as chunks:
            for chunk in chunks:
                total += len(chunk)
                if total > limit:
                    raise InputError(
                        f"blob {descriptor.digest} in {self._target.display_name}: more than {limit} bytes"
                    )
                parts.append(chunk)
        return b"".join(parts)

    def referrers(self, descriptor: Descriptor) -> Sequence[Descriptor]:
        return self._target.referrers(descriptor.digest)
