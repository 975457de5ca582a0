"""A registry repository as a ``gate.oci.target.Target`` (OCI distribution API v2).

One object for the copy engine, the scanner and the promoter, composed of one client per job
on a shared ``RepositoryClient``: ``Manifests``, ``Blobs``, ``Referrers`` (API or tag
fallback) and ``Tags`` (list, delete exactly one). Targets are opened through a
``gate.oci.pool.RegistryPool``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from gate.oci.blobs import Blobs
from gate.oci.manifests import Manifests
from gate.oci.reference import ImageReference
from gate.oci.referrers import Referrers
from gate.oci.repository import RepositoryClient
from gate.oci.tags import Tags
from gate.oci.target import BlobSource, Descriptor, Manifest, PushResult
from gate.outcome import ignore

if TYPE_CHECKING:
    from gate.oci.pool import RegistryHost


class RegistryTarget:
    """One repository of a registry. Thread-safe: the copy engine may call it from many threads."""

    def __init__(
        self,
        ref: ImageReference,
        host: RegistryHost,
        *,
        log: Callable[[str], None] = ignore,
        force_chunked_upload: int | None = None,
    ) -> None:
        self.client = RepositoryClient(ref, host, log=log)
        self.manifests = Manifests(self.client)
        self.blobs = Blobs(self.client, force_chunked_upload=force_chunked_upload)
        self.referrer_client = Referrers(self.client, self.manifests)
        self.tags = Tags(self.client, self.manifests, self.blobs)

    @property
    def ref(self) -> ImageReference:
        return self.client.ref

    @property
    def repository(self) -> str:
        return self.client.repository

    @property
    def host(self) -> RegistryHost:
        return self.client.host

    @property
    def display_name(self) -> str:
        return self.client.display_name

    @property
    def semaphore(self) -> threading.BoundedSemaphore:
        """Bounds parallel transfers to this host (shared by every target of the pool on it)."""
        return self.client.host.semaphore

    def resolve(self, reference: str) -> Descriptor:
        return self.manifests.resolve(reference)

    def fetch_manifest(self, reference: str) -> Manifest:
        return self.manifests.fetch(reference)

    def has_manifest(self, digest: str) -> bool:
        return self.manifests.exists(digest)

    def push_manifest(self, manifest: Manifest, tag: str | None = None) -> PushResult:
        return self.manifests.push(manifest, tag)

    def has_blob(self, digest: str) -> bool:
        return self.blobs.exists(digest)

    def open_blob(self, descriptor: Descriptor) -> AbstractContextManager[Iterator[bytes]]:
        return self.blobs.open(descriptor)

    def push_blob(self, descriptor: Descriptor, source: BlobSource) -> None:
        self.blobs.push(descriptor, source)

    def mount_blob(self, descriptor: Descriptor, from_repository: str) -> bool:
        return self.blobs.mount(descriptor, from_repository)

    def referrers(self, digest: str, artifact_type: str | None = None) -> list[Descriptor]:
        return self.referrer_client.find(digest, artifact_type)

    def referrers_supported(self, probe_digest: str | None = None) -> bool | None:
        """Known support for the referrers API in this repository (probing with a digest when unknown)."""
        return self.referrer_client.supported(probe_digest)

    def add_referrer(self, subject: Descriptor, referrer: Manifest) -> None:
        self.referrer_client.add(subject, [referrer])

    def add_referrers(self, subject: Descriptor, referrers: Sequence[Manifest]) -> set[str]:
        """``add_referrer`` for several referrers of one subject: on a fallback registry one
        read-modify-write of the ``sha256-<hex>`` index (and one read-back) for all of them.
        Returns the digests that were not findable before."""
        return self.referrer_client.add(subject, referrers)

    def list_tags(self) -> list[str]:
        return self.tags.names()

    def delete_tag(self, tag: str) -> None:
        """Remove exactly ``tag``; the manifest it named stays (``gate.oci.tags``)."""
        self.tags.delete(tag)

    def delete_manifest(self, digest: str) -> None:
        """Delete the manifest ``digest`` (``gate.oci.tags``: its tags may go with it, or stay)."""
        self.tags.delete_manifest(digest)

    def remove_referrers(self, subject: str, digests: Sequence[str]) -> tuple[str | None, int]:
        """Drop ``digests`` from ``subject``'s ``sha256-<hex>`` fallback index (``gate.oci.referrers``)."""
        return self.referrer_client.remove(subject, digests)
