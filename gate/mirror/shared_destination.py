"""One destination written by several copies at once (the tags of a multi-tag mirror): each blob and
each manifest is written once, whichever copy needs it first, and no two copies write the same thing at
the same time.

``SharedDestination`` wraps the destination ``Target`` every copy of the run writes to.

- **Blobs.** A blob one copy has put in place (uploaded, mounted, or found there) is present for the
  others without a question to the registry; a copy that needs a blob another copy is uploading waits
  for that upload instead of starting its own; a mount is claimed the same way.
- **Manifests.** Tags often share a digest (``latest`` and ``1.3.8``). A manifest one copy has pushed or
  found is present for the others, and pushed again only to set a tag; pushes of one digest take turns,
  and a copy asking whether the destination holds a manifest another copy is pushing waits for that
  push. Why: a registry may rewrite a manifest's records on every push (distribution's filesystem
  store truncates and rewrites the repository's link file), and an index push that reads a child's
  link while another copy rewrites it is refused (``MANIFEST_BLOB_UNKNOWN``).
- **Referrer links.** The links to one subject take turns: on a registry without the referrers API
  each is a read-modify-write of the subject's ``sha256-<hex>`` index, and two at once lose one.

One writer per blob, manifest or subject at a time, and a write never waits for anything once it has
its turn, so a copy waiting for another, even holding a transfer slot, cannot deadlock. Everything else
goes to the wrapped target unchanged (including what the copy engine looks for by name: the per-host
``semaphore``, and ``add_referrers``, which takes the subject's turn too).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from gate.oci.target import BlobSource, Descriptor, Manifest, PushResult, Target


@dataclass
class DestinationLedger:
    """What the copies of one run have put in the destination, and what they moved (each blob once)."""

    blobs: set[str] = field(default_factory=set)  # uploaded, mounted or found by a copy of this run
    manifests: set[str] = field(default_factory=set)  # pushed or found by a copy of this run
    uploaded: int = 0
    uploaded_bytes: int = 0
    mounted: int = 0
    turns: dict[str, threading.Lock] = field(default_factory=dict)  # one writer per blob, manifest or subject
    lock: threading.Lock = field(default_factory=threading.Lock)

    def turn(self, key: str) -> threading.Lock:
        """The lock a writer of ``key`` holds while it writes."""
        with self.lock:
            return self.turns.setdefault(key, threading.Lock())


class SharedDestination:
    """A ``Target`` over ``inner`` whose writes are shared through ``ledger`` (see the module docstring)."""

    def __init__(self, inner: Target, ledger: DestinationLedger) -> None:
        self.inner = inner
        self.ledger = ledger

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.inner, name)
        if name == "add_referrers":
            return self._linking_in_turn(found)
        return found

    @property
    def display_name(self) -> str:
        return self.inner.display_name

    def resolve(self, reference: str) -> Descriptor:
        return self.inner.resolve(reference)

    def fetch_manifest(self, reference: str) -> Manifest:
        return self.inner.fetch_manifest(reference)

    def has_manifest(self, digest: str) -> bool:
        return self._held(self.ledger.manifests, f"manifest {digest}", digest, self.inner.has_manifest)

    def push_manifest(self, manifest: Manifest, tag: str | None = None) -> PushResult:
        ledger = self.ledger
        digest = manifest.descriptor.digest
        with ledger.turn(f"manifest {digest}"):
            if tag is None and self._known(ledger.manifests, digest):
                return PushResult(digest)
            result = self.inner.push_manifest(manifest, tag)
            with ledger.lock:
                ledger.manifests.add(digest)
            return result

    def has_blob(self, digest: str) -> bool:
        return self._held(self.ledger.blobs, f"blob {digest}", digest, self.inner.has_blob)

    def _held(self, found: set[str], turn: str, digest: str, ask: Callable[[str], bool]) -> bool:
        """In ``found`` (put there by a copy of this run), else ``ask`` the destination; a write of it
        under way ends first."""
        ledger = self.ledger
        with ledger.turn(turn):
            if self._known(found, digest):
                return True
            held = ask(digest)
            if held:
                with ledger.lock:
                    found.add(digest)
            return held

    def _known(self, found: set[str], digest: str) -> bool:
        with self.ledger.lock:
            return digest in found

    def open_blob(self, descriptor: Descriptor) -> AbstractContextManager[Iterator[bytes]]:
        return self.inner.open_blob(descriptor)

    def push_blob(self, descriptor: Descriptor, source: BlobSource) -> None:
        ledger = self.ledger
        with ledger.turn(f"blob {descriptor.digest}"):
            if self._known(ledger.blobs, descriptor.digest):
                return
            self.inner.push_blob(descriptor, source)
            with ledger.lock:
                ledger.blobs.add(descriptor.digest)
                ledger.uploaded += 1
                ledger.uploaded_bytes += descriptor.size

    def mount_blob(self, descriptor: Descriptor, from_repository: str) -> bool:
        ledger = self.ledger
        with ledger.turn(f"blob {descriptor.digest}"):
            if self._known(ledger.blobs, descriptor.digest):
                return False  # the copy engine then asks has_blob, which answers from the ledger
            mounted = self.inner.mount_blob(descriptor, from_repository)
            if mounted:
                with ledger.lock:
                    ledger.blobs.add(descriptor.digest)
                    ledger.mounted += 1
            return mounted

    def referrers(self, digest: str, artifact_type: str | None = None) -> list[Descriptor]:
        return self.inner.referrers(digest, artifact_type)

    def add_referrer(self, subject: Descriptor, referrer: Manifest) -> None:
        with self.ledger.turn(f"referrers {subject.digest}"):
            self.inner.add_referrer(subject, referrer)

    def _linking_in_turn(
        self, add_referrers: Callable[[Descriptor, Sequence[Manifest]], set[str]]
    ) -> Callable[[Descriptor, Sequence[Manifest]], set[str]]:
        def in_turn(subject: Descriptor, referrers: Sequence[Manifest]) -> set[str]:
            with self.ledger.turn(f"referrers {subject.digest}"):
                return add_referrers(subject, referrers)

        return in_turn

    def list_tags(self) -> list[str]:
        return self.inner.list_tags()

    def delete_tag(self, tag: str) -> None:
        self.inner.delete_tag(tag)
