"""Moving a discovered image graph into the destination, each piece as soon as it can go.

The copy engine (``gate.oci.copy``) discovers manifests and hands them over as ``Node`` s while it
is still discovering; ``Transfer`` then, on the copy's thread pools:

- asks the destination whether it holds each manifest (a held manifest is in place with its whole
  subtree: a store only accepts a manifest whose content it holds);
- copies the blobs of every manifest it lacks, all platforms and referrers at once (bounded by the
  blob pool and the per-host transfer slots), each blob once: mounted when the source shares the
  registry, skipped when present, else streamed;
- pushes a manifest once its blobs are in, its children in place and its subject (a referrer's) in
  place, so indexes go after their children and referrers after their subjects;
- once discovery is over, links the referrers of each subject (one batch per subject; the first
  subject alone, so the destination learns there whether it has the referrers API).

Every decision runs on the caller's thread (``pump``): worker threads only talk to the stores. A blob
whose digest does not verify fails the manifests that need it (``failed``), and whatever needs those;
any other error is raised by ``pump`` and the caller abandons the rest (``abandon``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from gate.errors import RuntimeFailure
from gate.oci.manifest import ParsedManifest
from gate.oci.target import Descriptor, DigestMismatch, Manifest, Target

Role = Literal["image", "referrer", "cosign"]


@dataclass(eq=False)
class Node:
    """One manifest of the copied graph and where it stands in the destination."""

    manifest: Manifest
    parsed: ParsedManifest
    origin: Target
    mount_from: str | None
    role: Role
    subject: Descriptor | None = None
    tag: str | None = None
    children: list[str] = field(default_factory=list)
    checked: bool = False  # the destination was asked (or its holding a parent answered for it)
    present: bool = False  # the destination held it before this copy
    pushing: bool = False
    placed: bool = False  # present, or pushed by this copy

    @property
    def digest(self) -> str:
        return self.manifest.descriptor.digest


@dataclass
class Counts:
    manifests_copied: int = 0
    manifests_skipped: int = 0
    blobs_copied: int = 0
    blobs_mounted: int = 0
    blobs_skipped: int = 0
    bytes_copied: int = 0
    referrers_copied: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Transfer:
    """The destination side of one copy. ``nodes`` is the copy's graph (digest -> node), which the
    discovery extends; ``schedule`` takes up the nodes added since the last call."""

    def __init__(
        self,
        destination: Target,
        nodes: dict[str, Node],
        pool: ThreadPoolExecutor,
        blob_pool: ThreadPoolExecutor,
        counts: Counts,
        *,
        transfers: int,
    ) -> None:
        self.destination = destination
        self.nodes = nodes
        self.pool = pool  # manifests, presence checks, referrer links: small requests
        self.blob_pool = blob_pool  # a blob's check, mount or transfer
        # Blob transfers at once in this copy; the stores' per-host slots bound them across copies too.
        self._transfers = threading.BoundedSemaphore(transfers)
        self.counts = counts
        self.failed: dict[str, str] = {}  # digest (blob or manifest) -> why it was not copied
        self.copied_referrers: set[str] = set()
        self._pending: dict[Future[Any], Callable[[Future[Any]], None]] = {}
        self._scheduled: set[str] = set()
        self._blobs: dict[str, bool | None] = {}  # digest -> copied (True), failed (False), in flight (None)
        self._blob_waiters: dict[str, list[Node]] = {}
        self._dependents: dict[str, list[Node]] = {}  # digest -> parents and referrers waiting for it
        self._referrers_of: dict[str, list[Node]] | None = None  # subject -> referrers, once discovery is over
        self._linking: set[str] = set()
        self._probe: Future[Any] | None = None  # the first link, which runs alone
        self._held_links: list[list[Node]] = []

    # taking nodes up

    def schedule(self) -> None:
        """Take up every node not seen yet: ask the destination for it, unless already known."""
        for node in list(self.nodes.values()):
            if node.digest in self._scheduled:
                continue
            self._scheduled.add(node.digest)
            needs = [*node.children, *([node.subject.digest] if node.subject is not None else [])]
            for digest in needs:
                self._dependents.setdefault(digest, []).append(node)
            if node.checked:
                self._on_checked(node, node.present, known=True)
            else:
                self._submit(self.pool, self.destination.has_manifest, (node.digest,), self._checked_by(node))

    def mark_present(self, digests: list[str]) -> None:
        """The destination holds these (their holding parent answered for them): no question asked."""
        for digest in digests:
            node = self.nodes[digest]
            node.checked = node.present = True

    def mark_absent(self, digest: str) -> None:
        """The destination was asked already and lacks it."""
        node = self.nodes[digest]
        node.checked, node.present = True, False

    def discovery_over(self, referrer_order: list[str]) -> None:
        """Every referrer is known: link each subject's referrers once they are all resolved."""
        self._referrers_of = {}
        for digest in referrer_order:
            node = self.nodes[digest]
            if node.subject is not None:  # else a child of a referrer index: pushed, not linked
                self._referrers_of.setdefault(node.subject.digest, []).append(node)
        for subject in list(self._referrers_of):
            self._link_when_ready(subject)

    def pump(self, *, block: bool = True) -> None:
        """Handle the work that has finished (waiting for some when ``block``)."""
        if not self._pending:
            return
        done, _ = wait(self._pending, timeout=None if block else 0, return_when=FIRST_COMPLETED)
        for future in done:
            self._pending.pop(future)(future)

    def finish(self) -> None:
        """Pump until every node is placed or failed."""
        while True:
            while self._pending:
                self.pump()
            stuck = [n for n in self.nodes.values() if not n.placed and n.digest not in self.failed]
            for node in stuck:
                self._try_push(node)
            if not self._pending:
                if stuck:
                    raise RuntimeFailure(
                        f"copy to {self.destination.display_name}: {len(stuck)} manifest(s) could not be ordered "
                        f"(first: {stuck[0].digest}); nothing tagged"
                    )
                return

    def abandon(self) -> None:
        """Cancel the work not started and wait for the work running (after an error)."""
        for future in self._pending:
            future.cancel()
        wait(self._pending)
        self._pending.clear()

    # events

    def _submit(
        self,
        pool: ThreadPoolExecutor,
        work: Callable[..., Any],
        args: tuple[Any, ...],
        then: Callable[[Future[Any]], None],
    ) -> Future[Any]:
        future = pool.submit(work, *args)
        self._pending[future] = then
        return future

    def _checked_by(self, node: Node) -> Callable[[Future[Any]], None]:
        return lambda future: self._on_checked(node, bool(future.result()))

    def _on_checked(self, node: Node, present: bool, *, known: bool = False) -> None:
        if node.placed or (node.checked and not known):
            return  # a parent that the destination holds answered for it meanwhile
        node.checked, node.present = True, present
        if present:
            self._place_subtree(node)
            return
        for blob in sorted(node.parsed.blobs, key=lambda b: -b.size):  # the big ones first: they finish last
            if blob.digest not in self._blobs:
                self._blobs[blob.digest] = None
                self._submit(self.blob_pool, self._copy_blob, (blob, node), self._blob_done(blob.digest))
            if self._blobs[blob.digest] is None:
                self._blob_waiters.setdefault(blob.digest, []).append(node)
        self._try_push(node)

    def _place_subtree(self, node: Node) -> None:
        """``node`` is held by the destination, and so is everything under it."""
        node.checked = node.present = node.placed = True
        held = [node]
        for current in held:  # breadth first, each node once (marked as it is found)
            for child in (self.nodes[c] for c in current.children):
                if not child.placed:
                    child.checked = child.present = child.placed = True
                    held.append(child)
        for current in held:
            self._placed(current, pushed=False)

    def _blob_done(self, digest: str) -> Callable[[Future[Any]], None]:
        def done(future: Future[Any]) -> None:
            error = future.exception()
            if isinstance(error, DigestMismatch):
                self.failed[digest] = error.message
            elif error is not None:
                raise error
            self._blobs[digest] = error is None
            for node in self._blob_waiters.pop(digest, []):
                self._try_push(node)

        return done

    def _blocked(self, node: Node) -> str | None:
        """Why ``node`` cannot be pushed (content it needs failed to verify), or None."""
        needs = (*(b.digest for b in node.parsed.blobs), *node.children)
        for digest in (*needs, *([node.subject.digest] if node.subject is not None else [])):
            if digest in self.failed:
                return self.failed[digest]
        return None

    def _try_push(self, node: Node) -> None:
        if not node.checked or node.placed or node.pushing or node.digest in self.failed:
            return
        reason = self._blocked(node)
        if reason is not None:
            self.failed[node.digest] = reason
            self._resolved(node)
            return
        if any(self._blobs.get(b.digest) is not True for b in node.parsed.blobs):
            return
        if any(not self.nodes[c].placed for c in node.children):
            return
        subject = self.nodes.get(node.subject.digest) if node.subject is not None else None
        if subject is not None and not subject.placed:
            return
        node.pushing = True
        self._submit(self.pool, self.destination.push_manifest, (node.manifest,), self._pushed(node))

    def _pushed(self, node: Node) -> Callable[[Future[Any]], None]:
        def done(future: Future[Any]) -> None:
            future.result()
            if not node.placed:  # else a parent the destination holds answered for it meanwhile
                self._placed(node, pushed=True)

        return done

    def _placed(self, node: Node, *, pushed: bool) -> None:
        node.placed = True
        node.pushing = False
        if pushed:
            self.counts.manifests_copied += 1
            if node.role != "image":
                self.copied_referrers.add(node.digest)
        else:
            self.counts.manifests_skipped += 1
        self._resolved(node)

    def _resolved(self, node: Node) -> None:
        for dependent in self._dependents.get(node.digest, ()):
            self._try_push(dependent)
        if node.subject is not None and self._referrers_of is not None:
            self._link_when_ready(node.subject.digest)

    # blobs

    def _copy_blob(self, descriptor: Descriptor, node: Node) -> None:
        counts = self.counts
        # Same registry: a mount answers for a blob already there too, so no HEAD before it.
        if node.mount_from and self.destination.mount_blob(descriptor, node.mount_from):
            with counts.lock:
                counts.blobs_mounted += 1
            return
        if self.destination.has_blob(descriptor.digest):
            with counts.lock:
                counts.blobs_skipped += 1
            return
        origin = node.origin
        with self._transfers, _transfer_slots(origin, self.destination):
            self.destination.push_blob(descriptor, lambda: origin.open_blob(descriptor))
        with counts.lock:
            counts.blobs_copied += 1
            counts.bytes_copied += descriptor.size

    # referrer links

    def _link_when_ready(self, subject: str) -> None:
        assert self._referrers_of is not None
        referrers = self._referrers_of.get(subject)
        if not referrers or subject in self._linking:
            return
        if any(not n.placed and n.digest not in self.failed for n in referrers):
            return
        self._linking.add(subject)
        placed = [n for n in referrers if n.placed]
        if not placed:
            return
        if self._probe is None and self._api_known():
            self._submit(self.pool, self._link, (placed,), self._linked(first=False))
        elif self._probe is None:
            self._probe = self._submit(self.pool, self._link, (placed,), self._linked(first=True))
        elif not self._probe.done() or self._probe in self._pending:
            self._held_links.append(placed)
        else:
            self._submit(self.pool, self._link, (placed,), self._linked(first=False))

    def _api_known(self) -> bool:
        """The destination knows already whether it has the referrers API (the copy asked it early, beside
        the discovery): no first link needs to run alone to learn it."""
        supported = getattr(self.destination, "referrers_supported", None)
        return callable(supported) and supported() is not None

    def _linked(self, *, first: bool) -> Callable[[Future[Any]], None]:
        def done(future: Future[Any]) -> None:
            self.copied_referrers |= future.result()
            if first:
                held, self._held_links = self._held_links, []
                for nodes in held:
                    self._submit(self.pool, self._link, (nodes,), self._linked(first=False))

        return done

    def _link(self, nodes: list[Node]) -> set[str]:
        """Make ``nodes`` (referrers of one subject) findable from it; return those that were not."""
        subject = nodes[0].subject
        assert subject is not None
        manifests = [node.manifest for node in nodes]
        add_many = getattr(self.destination, "add_referrers", None)
        if callable(add_many):
            # It reads the subject's list itself (and adds only what is missing).
            added: set[str] = add_many(subject, manifests)
            return added
        listed = {d.digest for d in self.destination.referrers(subject.digest)}
        missing = [manifest for manifest in manifests if manifest.descriptor.digest not in listed]
        for manifest in missing:
            self.destination.add_referrer(subject, manifest)
        return {manifest.descriptor.digest for manifest in missing}


@contextmanager
def _transfer_slots(*targets: Target) -> Iterator[None]:
    """Hold the per-host transfer slot of each target that has one (a registry pool bounds
    parallel transfers per host); one slot per distinct host, taken in a fixed order."""
    semaphores = {id(s): s for s in (getattr(t, "semaphore", None) for t in targets) if s is not None}
    with ExitStack() as stack:
        for key in sorted(semaphores):
            stack.enter_context(semaphores[key])
        yield
