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
class BlobLedger:
    """What the copies of one run have put in the destination, and what they moved (each blob once)."""

    present: set[str] = field(default_factory=set)
    uploading: dict[str, threading.Event] = field(default_factory=dict)
    uploaded: int = 0
    uploaded_bytes: int = 0
    mounted: int = 0
    manifests: set[str] = field(default_factory=set)  # pushed or found by a copy of this run
    turns: dict[str, threading.Lock] = field(default_factory=dict)  # one writer per manifest or subject
    lock: threading.Lock = field(default_factory=threading.Lock)

    def turn(self, key: str) -> threading.Lock:
        """The lock a writer of ``key`` holds while it writes."""
        with self.lock:
            return self.turns.setdefault(key, threading.Lock())


class SharedDestination:
    """A ``Target`` over ``inner`` whose writes are shared through ``ledger`` (see the module docstring)."""

    def __init__(self, inner: Target, ledger: BlobLedger) -> None:
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
        ledger = self.ledger
        with ledger.turn(f"manifest {digest}"):  # a push under way ends first
            with ledger.lock:
                if digest in ledger.manifests:
                    return True
            held = self.inner.has_manifest(digest)
            if held:
                with ledger.lock:
                    ledger.manifests.add(digest)
            return held

    def push_manifest(self, manifest: Manifest, tag: str | None = None) -> PushResult:
        ledger = self.ledger
        digest = manifest.descriptor.digest
        with ledger.turn(f"manifest {digest}"):
            with ledger.lock:
                known = digest in ledger.manifests
            if known and tag is None:
                return PushResult(digest)
            result = self.inner.push_manifest(manifest, tag)
            with ledger.lock:
                ledger.manifests.add(digest)
            return result

    def has_blob(self, digest: str) -> bool:
        ledger = self.ledger
        while True:  # a blob another copy is uploading is present once that upload ends
            with ledger.lock:
                if digest in ledger.present:
                    return True
                running = ledger.uploading.get(digest)
            if running is None:
                break
            running.wait()
        if self.inner.has_blob(digest):
            with self.ledger.lock:
                self.ledger.present.add(digest)
            return True
        return False

    def open_blob(self, descriptor: Descriptor) -> AbstractContextManager[Iterator[bytes]]:
        return self.inner.open_blob(descriptor)

    def push_blob(self, descriptor: Descriptor, source: BlobSource) -> None:
        claim = self._claim(descriptor.digest)
        if claim is None:
            return
        done = False
        try:
            self.inner.push_blob(descriptor, source)
            done = True
        finally:
            self._release(descriptor.digest, claim, done, uploaded=descriptor.size if done else None)

    def mount_blob(self, descriptor: Descriptor, from_repository: str) -> bool:
        claim = self._claim(descriptor.digest)
        if claim is None:
            return False  # the copy engine then asks has_blob, which answers from the ledger
        mounted = False
        try:
            mounted = self.inner.mount_blob(descriptor, from_repository)
        finally:
            self._release(descriptor.digest, claim, mounted, mounted=mounted)
        return mounted

    def _claim(self, digest: str) -> threading.Event | None:
        """This copy's turn to write ``digest`` (None: it is present). A write another copy has claimed
        is waited for: two writers of one blob at once (an upload, a mount) can leave a registry's
        blob link half-written for a manifest push (distribution's filesystem storage)."""
        ledger = self.ledger
        while True:
            with ledger.lock:
                if digest in ledger.present:
                    return None
                running = ledger.uploading.get(digest)
                if running is None:
                    mine = ledger.uploading[digest] = threading.Event()
                    return mine
            running.wait()  # present when it ends, else this copy tries

    def _release(
        self, digest: str, claim: threading.Event, done: bool, *, uploaded: int | None = None, mounted: bool = False
    ) -> None:
        ledger = self.ledger
        with ledger.lock:
            if done:
                ledger.present.add(digest)
            if uploaded is not None:
                ledger.uploaded += 1
                ledger.uploaded_bytes += uploaded
            if mounted:
                ledger.mounted += 1
            del ledger.uploading[digest]
        claim.set()

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
