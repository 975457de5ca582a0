"""What the copy engine, the scanner and the promoter need of a place that holds images.

Two implementations: a registry repository (``gate.oci.registry``) and an OCI image
layout directory (``gate.oci.layout``). Both speak in descriptors and raw bytes; the
copy engine (``gate.oci.copy``) walks the graph over any pair of targets.

Rules every implementation keeps:
- manifests are returned as the exact bytes the store holds, with their digest verified
  and their size capped (``MAX_MANIFEST_BYTES``);
- blobs are streamed in chunks, never read whole, and the reader verifies the digest and
  the size as it goes (a mismatch raises ``DigestMismatch`` at the end of the stream);
- ``push_manifest`` with a tag is only called once everything the manifest points to is
  present (the copy engine's job), and returns what the store said about referrers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from gate.errors import GateError, InputError, RuntimeFailure

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
CHUNK_SIZE = 1024 * 1024
# Parallel blob transfers per registry host (the copy engine's default; the options show it in --help).
DEFAULT_CONCURRENCY = 4

# Media types.
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
ALL_MANIFEST_TYPES = INDEX_TYPES | MANIFEST_TYPES


class DigestMismatch(GateError):
    """Content whose digest or size is not what its descriptor says: never trusted, never pushed."""

    exit_code = RuntimeFailure.exit_code


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None
    os_version: str | None = None

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor (the fields image-gate uses)."""

    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    artifact_type: str | None = None
    platform: Platform | None = None


@dataclass(frozen=True)
class Manifest:
    """A manifest (image, index, or artifact) as stored: exact bytes, their digest and type."""

    descriptor: Descriptor
    data: bytes


@dataclass(frozen=True)
class PushResult:
    """What a manifest push told us. ``subject_supported`` is True when the store
    answered with an ``OCI-Subject`` header (it indexes referrers itself), False when
    it is known not to, None when unknown."""

    digest: str
    subject_supported: bool | None = None


BlobSource = Callable[[], AbstractContextManager[Iterator[bytes]]]
"""Opens a fresh stream of a blob's bytes; called again for every retry of an upload."""


class Target(Protocol):
    """A repository-like store of manifests, blobs and referrers."""

    @property
    def display_name(self) -> str:
        """For messages: ``registry/repo`` or ``oci:PATH``."""
        ...

    def resolve(self, reference: str) -> Descriptor:
        """A tag or digest -> the root manifest's descriptor. Raises ``InputError`` when absent."""
        ...

    def fetch_manifest(self, reference: str) -> Manifest:
        """The manifest's exact bytes by tag or digest, digest-verified, size-capped."""
        ...

    def has_manifest(self, digest: str) -> bool: ...

    def has_blob(self, digest: str) -> bool: ...

    def open_blob(self, descriptor: Descriptor) -> AbstractContextManager[Iterator[bytes]]:
        """Stream a blob in chunks; verifies digest and size while streaming."""
        ...

    def push_blob(self, descriptor: Descriptor, source: BlobSource) -> None:
        """Store a blob from a stream; verifies the digest before it is committed."""
        ...

    def mount_blob(self, descriptor: Descriptor, from_repository: str) -> bool:
        """Cross-repository mount on the same store; False when not honoured (caller uploads)."""
        ...

    def push_manifest(self, manifest: Manifest, tag: str | None = None) -> PushResult:
        """Store a manifest by digest, or under ``tag`` when given."""
        ...

    def referrers(self, digest: str, artifact_type: str | None = None) -> list[Descriptor]:
        """Every manifest whose ``subject`` is ``digest`` (referrers API or ``sha256-<hex>`` tag fallback)."""
        ...

    def add_referrer(self, subject: Descriptor, referrer: Manifest) -> None:
        """Make ``referrer`` findable from ``subject`` (after ``push_manifest``): on a
        fallback store, the read-modify-write of the ``sha256-<hex>`` index."""
        ...

    def list_tags(self) -> list[str]: ...

    def delete_tag(self, tag: str) -> None: ...


def read_blob(target: Target, descriptor: Descriptor, limit: int) -> bytes:
    """A small blob whole (an image config, an attestation layer), digest-verified by the target's stream;
    an ``InputError`` naming it when the descriptor says, or the stream proves, it is over ``limit`` bytes."""
    where = f"blob {descriptor.digest} in {target.display_name}"
    if descriptor.size > limit:
        raise InputError(f"{where}: {descriptor.size} bytes exceeds the cap of {limit}")
    parts: list[bytes] = []
    total = 0
    with target.open_blob(descriptor) as chunks:
        for chunk in chunks:
            total += len(chunk)
            if total > limit:
                raise InputError(f"{where}: more than {limit} bytes")
            parts.append(chunk)
    return b"".join(parts)
