"""One destination seen by several copies at once (the tags of a multi-tag mirror): each blob is
transferred once, whichever tag needs it first.

``SharedDestination`` wraps the destination ``Target`` every copy of the run writes to. A blob one copy
has put in place (uploaded, mounted, or found there) is present for the others without a question to
the registry; a copy that needs a blob another copy is uploading waits for that upload instead of
starting its own; a mount is claimed the same way (one writer per blob at a time). (A write never waits
for anything once it has claimed its blob, so a copy waiting for it, even holding a transfer slot,
cannot deadlock.) Everything else goes to the wrapped target unchanged (including what the copy engine
looks for by name: the per-host ``semaphore``, ``add_referrers``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
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
    lock: threading.Lock = field(default_factory=threading.Lock)


class SharedDestination:
    """A ``Target`` over ``inner`` whose blobs are shared through ``ledger`` (see the module docstring)."""

    def __init__(self, inner: Target, ledger: BlobLedger) -> None:
        self.inner = inner
        self.ledger = ledger

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def display_name(self) -> str:
        return self.inner.display_name

    def resolve(self, reference: str) -> Descriptor:
        return self.inner.resolve(reference)

    def fetch_manifest(self, reference: str) -> Manifest:
        return self.inner.fetch_manifest(reference)

    def has_manifest(self, digest: str) -> bool:
        return self.inner.has_manifest(digest)

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

    def push_manifest(self, manifest: Manifest, tag: str | None = None) -> PushResult:
        return self.inner.push_manifest(manifest, tag)

    def referrers(self, digest: str, artifact_type: str | None = None) -> list[Descriptor]:
        return self.inner.referrers(digest, artifact_type)

    def add_referrer(self, subject: Descriptor, referrer: Manifest) -> None:
        self.inner.add_referrer(subject, referrer)

    def list_tags(self) -> list[str]:
        return self.inner.list_tags()

    def delete_tag(self, tag: str) -> None:
        self.inner.delete_tag(tag)
