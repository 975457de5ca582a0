"""The graph copy: an image, every child manifest, its blobs and (optionally) every referrer.

Works over any two ``Target`` s (registry repository, OCI layout). The order keeps a
destination consistent at every instant a reader could look:

1. discover: the root, every child manifest (platform filter applied), and with
   ``copy_referrers`` the referrers of the root, of each child and of each referrer
   (recursively, each digest once), BuildKit in-index attestations (children of the
   index), and cosign-style tags ``sha256-<hex>.sig|.att|.sbom`` of every digest found;
2. blobs of every manifest the destination lacks, in parallel (bounded pool), mounted
   when source and destination share a registry, skipped when already present;
3. manifests bottom-up (children before their index, siblings by digest);
4. referrers (subject first), pushed, then linked with ``add_referrer`` (one batch per subject
   with ``add_referrers`` when the destination has it);
5. cosign tags, then the destination tag, last.

A manifest the destination holds is skipped with its subtree of blobs (a registry
only accepts a manifest whose content is present), but referrers are always
enumerated: they change without the image digest changing. A digest mismatch fails
the subtree that needs the bad content (nothing of it is pushed); the copy then
fails and the tag is not pushed. Any other error stops the copy at once, also
before the tag.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from gate.errors import GateError, InputError
from gate.oci.http import RegistryFailure
from gate.oci.manifest import (
    MAX_CONFIG_BYTES,
    attestation_subject,
    is_attestation_child,
    parse,
    parse_manifest,
    platform_from_config,
    platform_matches,
)
from gate.oci.reference import compute_digest, descriptor_to_json, split_digest
from gate.oci.target import DEFAULT_CONCURRENCY as DEFAULT_CONCURRENCY  # the copy's default, defined with the contracts
from gate.oci.target import Descriptor, DigestMismatch, Manifest, Platform, Target
from gate.oci.transfer import Counts, Node, Role, Transfer
from gate.outcome import ignore

COSIGN_SUFFIXES = ("sig", "att", "sbom")
MAX_GRAPH_NODES = 10_000  # manifests in one copy: images, children, referrers, cosign artifacts
MAX_GRAPH_DEPTH = 8  # index nesting, and referrers of referrers

_UNSEEN = object()
_T = TypeVar("_T")
_R = TypeVar("_R")
ReferrerKind = Literal["referrer", "attestation", "cosign"]


@dataclass(frozen=True)
class CopyOptions:
    """How to copy. ``mount_from`` is the source repository (``repo/name``, no host) when
    the source and the destination are on the same registry; ``referrers_mount_from``
    likewise for ``referrers_source``."""

    copy_referrers: bool = False
    referrers_source: Target | None = None
    platforms: tuple[Platform, ...] = ()
    concurrency: int = DEFAULT_CONCURRENCY
    mount_from: str | None = None
    referrers_mount_from: str | None = None
    cosign_tags: bool = True
    max_nodes: int = MAX_GRAPH_NODES
    max_depth: int = MAX_GRAPH_DEPTH


@dataclass(frozen=True)
class ReferrerInfo:
    """One referrer in the copied graph (an OCI referrer, a BuildKit attestation child, or a cosign tag)."""

    digest: str
    subject: str
    media_type: str
    artifact_type: str | None
    predicate_types: tuple[str, ...]
    kind: ReferrerKind
    copied: bool
    tag: str | None = None


@dataclass(frozen=True)
class PlatformEntry:
    """One platform's image in the copied graph, with the referrers that reach it."""

    platform: str
    digest: str
    media_type: str
    layers: int
    size: int
    referrers: tuple[ReferrerInfo, ...]


@dataclass(frozen=True)
class CopyReport:
    """What a copy did. ``to_json()`` is the ``mirror --json`` document (minus nothing)."""

    source: str
    destination: str
    digest: str
    media_type: str
    platforms: tuple[str, ...]
    manifests_copied: int
    manifests_skipped: int
    blobs_copied: int
    blobs_mounted: int
    blobs_skipped: int
    bytes_copied: int
    referrers_copied: int
    referrers_total: int
    up_to_date: bool
    seconds: float
    tag: str | None = None
    graph: tuple[PlatformEntry, ...] = ()
    root_referrers: tuple[ReferrerInfo, ...] = ()
    filtered: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "destination": self.destination,
            "digest": self.digest,
            "media_type": self.media_type,
            "platforms": list(self.platforms),
            "manifests_copied": self.manifests_copied,
            "manifests_skipped": self.manifests_skipped,
            "blobs_copied": self.blobs_copied,
            "blobs_mounted": self.blobs_mounted,
            "blobs_skipped": self.blobs_skipped,
            "bytes_copied": self.bytes_copied,
            "referrers_copied": self.referrers_copied,
            "referrers_total": self.referrers_total,
            "up_to_date": self.up_to_date,
            "seconds": round(self.seconds, 3),
        }


def copy_image(
    source: Target,
    reference: str,
    destination: Target,
    tag: str | None,
    options: CopyOptions | None = None,
    *,
    log: Callable[[str], None] = ignore,
) -> CopyReport:
    """Copy the image ``reference`` (tag or digest) of ``source`` into ``destination``,
    tagged ``tag`` at the very end (``None``: by digest only). Raises ``InputError`` for a
    missing source or a platform filter that matches nothing, ``DigestMismatch`` for
    bad content, other ``GateError`` s for the stores' failures; the tag is pushed only
    when everything else is complete."""
    return _Copy(source, destination, options or CopyOptions(), log).run(reference, tag)


class _Copy:
    def __init__(self, source: Target, destination: Target, options: CopyOptions, log: Callable[[str], None]) -> None:
        if options.concurrency < 1:
            raise InputError(f"concurrency must be at least 1, got {options.concurrency}")
        self.source = source
        self.destination = destination
        self.options = options
        self.log = log
        self.nodes: dict[str, Node] = {}
        self.image_order: list[str] = []
        self.referrer_order: list[str] = []
        self.cosign_order: list[str] = []
        self.counts = Counts()
        self.failed: dict[str, str] = {}
        self.copied_referrers: set[str] = set()
        self.pool: ThreadPoolExecutor | None = None
        self.transfer: Transfer
        self.root_was_present = False
        self.tags: dict[int, set[str] | None] = {}  # id(origin) -> its tags, listed once per copy
        self.tag_lists: dict[int, Future[list[str]]] = {}  # id(origin) -> its tags, asked at the start
        # (root digest, id(origin)) -> the root's referrers, asked while its children are fetched
        self.first_asks: dict[tuple[str, int], Future[list[Descriptor]]] = {}
        # The destination tag, asked at the start beside the source's root (``_seen_tag_digest``).
        self.tag_seen: Future[str | None] | None = None

    def _parallel(self, work: Callable[[_T], _R], items: list[_T]) -> list[_R]:
        """``work`` over ``items`` in the copy's thread pool (results in order; the first error is
        raised once the others have finished or been cancelled). Only ever called from the main thread."""
        if self.pool is None or len(items) < 2:
            return [work(item) for item in items]
        futures = [self.pool.submit(work, item) for item in items]
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            future.cancel()
        wait(futures)
        for future in futures:
            if not future.cancelled() and future.exception() is not None:
                future.result()
        return [future.result() for future in futures]

    # discovery

    def run(self, reference: str, tag: str | None) -> CopyReport:
        started = time.monotonic()
        workers = self.options.concurrency
        # Small requests (manifests, presence checks, referrer lists and links; a blob's HEAD or mount) go
        # twice ``concurrency`` at a time: where a round trip costs, they are most of a copy's time. Blob
        # transfers stay ``concurrency`` at a time (``Transfer``), and per registry host (its slots).
        with (
            ThreadPoolExecutor(max_workers=2 * workers, thread_name_prefix="gate-copy") as pool,
            ThreadPoolExecutor(max_workers=2 * workers, thread_name_prefix="gate-blob") as blob_pool,
        ):
            self.pool = pool
            if tag is not None:
                self.tag_seen = pool.submit(self._tag_digest, tag)
            if self.options.copy_referrers and self.options.cosign_tags:
                for origin, _ in self._referrer_sources():
                    if id(origin) not in self.tag_lists:  # a referrers source may be the source itself
                        self.tag_lists[id(origin)] = pool.submit(origin.list_tags)
            self.transfer = Transfer(self.destination, self.nodes, pool, blob_pool, self.counts, transfers=workers)
            self.failed = self.transfer.failed
            self.copied_referrers = self.transfer.copied_referrers
            try:
                root, filtered = self._copy_graph(reference)
            except BaseException:
                self.transfer.abandon()
                raise
            finally:
                self.pool = None
        if self.failed:
            first = next(iter(self.failed.values()))
            raise DigestMismatch(
                f"copy to {self.destination.display_name} failed: {len(self.failed)} manifest(s) not copied because "
                f"their content did not verify; the tag was not pushed. First: {first}"
            )
        tag_current = self._push_tag(root, tag)
        seconds = time.monotonic() - started
        counts = self.counts
        graph = self._graph(root)
        return CopyReport(
            source=f"{self.source.display_name}{'@' if ':' in reference else ':'}{reference}",
            destination=self.destination.display_name + (f":{tag}" if tag else f"@{root.digest}"),
            digest=root.digest,
            media_type=root.manifest.descriptor.media_type,
            platforms=tuple(entry.platform for entry in graph),
            manifests_copied=counts.manifests_copied,
            manifests_skipped=counts.manifests_skipped,
            blobs_copied=counts.blobs_copied,
            blobs_mounted=counts.blobs_mounted,
            blobs_skipped=counts.blobs_skipped,
            bytes_copied=counts.bytes_copied,
            referrers_copied=counts.referrers_copied,
            referrers_total=len(self.referrer_order) + len(self.cosign_order),
            up_to_date=tag_current
            and counts.manifests_copied == 0
            and counts.blobs_copied == 0
            and counts.blobs_mounted == 0
            and counts.referrers_copied == 0,
            seconds=seconds,
            tag=tag,
            graph=graph,
            root_referrers=self._referrers_reaching(root.digest),
            filtered=filtered,
        )

    def _copy_graph(self, reference: str) -> tuple[Node, bool]:
        """Everything but the tag. The destination side starts as soon as the image is known and
        runs while the referrers are discovered (``gate.oci.transfer``)."""
        root_manifest = self.source.fetch_manifest(reference)
        root_manifest, filtered = self._apply_platform_filter(root_manifest)
        if self.options.copy_referrers and self.pool is not None:
            # The first referrer question of each source (where a store learns whether it has the referrers
            # API: asked alone) goes now, beside the children's manifests, about the root.
            root_digest = root_manifest.descriptor.digest
            for origin, _ in self._referrer_sources():
                if (root_digest, id(origin)) not in self.first_asks:
                    self.first_asks[(root_digest, id(origin))] = self.pool.submit(self._ask, (root_digest, origin))
            # And the destination's: whether it has the referrers API, learnt now, so that its referrer links
            # go at once, in parallel, at the end (``Transfer._api_known``), not a first one alone.
            probe = getattr(self.destination, "referrers_supported", None)  # a registry's; not every Target has it
            if callable(probe):
                self.pool.submit(self._probe_destination, probe, root_digest)
        # A tag that points at the root proves the root (and its subtree) is there: no HEAD of it. Else
        # the root first, alone (an unreachable or refusing destination fails once, not per manifest), asked
        # now, beside the children's manifests, unless the tag has answered for it already.
        root_digest = root_manifest.descriptor.digest
        root_check: Future[bool] | None = None
        tag_done = self.tag_seen is not None and self.tag_seen.done()
        if self.pool is not None and not (tag_done and self._seen_tag_digest() == root_digest):
            root_check = self.pool.submit(self.destination.has_manifest, root_digest)
        root = self._add_image_graph(root_manifest, self.source, self.options.mount_from)
        self.log(f"{self.source.display_name}: {root.digest} ({len(self.image_order)} manifest(s))")
        if self._seen_tag_digest() == root.digest:
            self.root_was_present = True
        else:
            checked = root_check.result() if root_check is not None else self.destination.has_manifest(root.digest)
            self.root_was_present = checked
        if self.root_was_present:
            self.transfer.mark_present(self.image_order)
        else:
            self.transfer.mark_absent(root.digest)
        self.transfer.schedule()
        if self.options.copy_referrers:
            self._discover_referrers(list(self.image_order))
            if self.options.cosign_tags:
                self._discover_cosign_tags()
                self.transfer.schedule()
        self.transfer.discovery_over(self.referrer_order)
        self.transfer.finish()
        for digest in self.referrer_order:
            node = self.nodes[digest]
            if node.placed and node.subject is not None and digest in self.copied_referrers:
                self.counts.referrers_copied += 1
        self._push_cosign_tags()
        return root, filtered

    @staticmethod
    def _probe_destination(probe: Callable[[str], object], digest: str) -> None:
        """Ask the destination whether it has the referrers API (the answer is cached on its host); a failure
        here is not the copy's: the first link then asks again, alone, as without this question."""
        with contextlib.suppress(GateError):
            probe(digest)

    def _apply_platform_filter(self, manifest: Manifest) -> tuple[Manifest, bool]:
        wanted = self.options.platforms
        parsed = parse(manifest, f"{self.source.display_name}@{manifest.descriptor.digest}")
        if not wanted or not parsed.is_index:
            return manifest, False
        kept = {c.digest for c in parsed.manifests if any(platform_matches(w, c.platform) for w in wanted)}
        if not kept:
            available = ", ".join(
                str(c.platform) for c in parsed.manifests if c.platform and not is_attestation_child(c)
            )
            raise InputError(
                f"{self.source.display_name}@{manifest.descriptor.digest}: no platform "
                f"{', '.join(str(w) for w in wanted)} in the image (it has: {available or 'none'})"
            )
        kept |= {c.digest for c in parsed.manifests if attestation_subject(c) in kept}
        if kept == {c.digest for c in parsed.manifests}:
            return manifest, False
        document = json.loads(manifest.data)
        document["manifests"] = [m for m in document["manifests"] if m.get("digest") in kept]
        data = json.dumps(document, indent=2).encode()
        descriptor = Descriptor(parsed.media_type, compute_digest(data), len(data))
        self.log(
            f"platform filter: {len(kept)} of {len(parsed.manifests)} manifests kept; new index {descriptor.digest}"
        )
        return Manifest(descriptor, data), True

    def _fetch_child(self, origin: Target, descriptor: Descriptor, parent: str) -> Manifest:
        manifest = origin.fetch_manifest(descriptor.digest)
        if manifest.descriptor.digest != descriptor.digest or len(manifest.data) != descriptor.size:
            raise DigestMismatch(
                f"{origin.display_name}: {parent} lists {descriptor.digest} ({descriptor.size} bytes) but the store "
                f"returned {manifest.descriptor.digest} ({len(manifest.data)} bytes)"
            )
        return manifest

    def _add_image_graph(
        self,
        manifest: Manifest,
        origin: Target,
        mount_from: str | None,
        role: Role = "image",
        order: list[str] | None = None,
        depth: int = 0,
    ) -> Node:
        """Add a manifest and its children (post-order, siblings by digest) once each."""
        order = self.image_order if order is None else order
        digest = manifest.descriptor.digest
        if digest in self.nodes:
            return self.nodes[digest]
        if depth > self.options.max_depth:
            raise RegistryFailure(
                f"{origin.display_name}@{digest}: indexes nested more than {self.options.max_depth} deep; not copied"
            )
        self._count_node(origin, digest)
        parsed = parse(manifest, f"{origin.display_name}@{digest}")
        node = Node(manifest, parsed, origin, mount_from, role)
        self.nodes[digest] = node
        children = sorted(parsed.manifests, key=lambda d: d.digest)
        unknown = list({c.digest: c for c in children if c.digest not in self.nodes}.values())
        fetched = dict(
            zip(
                (c.digest for c in unknown),
                self._parallel(lambda c: self._fetch_child(origin, c, digest), unknown),
                strict=True,
            )
        )
        for child in children:
            if child.digest in fetched:
                self._add_image_graph(fetched[child.digest], origin, mount_from, role, order, depth + 1)
            node.children.append(child.digest)
        order.append(digest)
        return node

    def _count_node(self, origin: Target, digest: str) -> None:
        if len(self.nodes) >= self.options.max_nodes:
            raise RegistryFailure(
                f"{origin.display_name}@{digest}: the image graph has more than {self.options.max_nodes} manifests "
                "(images, children, referrers and signatures); not copied"
            )

    def _referrer_sources(self) -> list[tuple[Target, str | None]]:
        sources: list[tuple[Target, str | None]] = [(self.source, self.options.mount_from)]
        if self.options.referrers_source is not None:
            sources.append((self.options.referrers_source, self.options.referrers_mount_from))
        return sources

    def _discover_referrers(self, subjects: list[str]) -> None:
        """Breadth first, one level at a time: the level's referrer lists, then the manifests
        they name, are fetched in parallel; the graph is then extended in the sequential order."""
        sources = self._referrer_sources()
        level = list(subjects)
        first = True
        depth = 0
        while level:
            depth += 1
            asks = [(subject, origin) for subject in level for origin, _ in sources]
            keys = [(subject, id(origin)) for subject, origin in asks]
            # The first question of each source alone: a store learns there whether it has the referrers API
            # (the root's, asked beside the children's manifests; else the level's first subject's).
            alone = ([key for key in keys if key in self.first_asks] or keys[: len(sources)]) if first else []
            listed: dict[tuple[str, int], list[Descriptor]] = {}
            for key, item in zip(keys, asks, strict=True):
                if key in alone:
                    asked = self.first_asks.pop(key, None)
                    listed[key] = asked.result() if asked is not None else self._ask(item)
            rest = [(key, item) for key, item in zip(keys, asks, strict=True) if key not in listed]
            answers = self._parallel(self._ask, [item for _, item in rest])
            listed.update(zip((key for key, _ in rest), answers, strict=True))
            first = False
            wanted: dict[tuple[str, int], tuple[Target, Descriptor, str]] = {}
            for subject, origin in asks:
                for descriptor in listed[(subject, id(origin))]:
                    if descriptor.digest not in self.nodes:
                        wanted.setdefault((descriptor.digest, id(origin)), (origin, descriptor, subject))
            if wanted and depth > self.options.max_depth:
                origin, descriptor, subject = next(iter(wanted.values()))
                raise RegistryFailure(
                    f"{origin.display_name}: referrers of referrers nested more than {self.options.max_depth} "
                    f"deep ({descriptor.digest} refers to {subject}); not copied"
                )
            # Fail before fetching a flood of manifests, not after.
            if len(self.nodes) + len({digest for digest, _ in wanted}) > self.options.max_nodes:
                raise RegistryFailure(
                    f"{self.source.display_name}: the image graph has more than {self.options.max_nodes} manifests "
                    f"(images, children, referrers and signatures) at referrer level {depth}; not copied"
                )
            manifests = dict(
                zip(
                    wanted,
                    self._parallel(
                        lambda item: self._fetch_child(item[0], item[1], f"the referrers of {item[2]}"),
                        list(wanted.values()),
                    ),
                    strict=True,
                )
            )
            before = len(self.referrer_order)
            for subject_digest in level:
                self._add_referrers_of(subject_digest, sources, listed, manifests)
            level = self.referrer_order[before:]
            self.transfer.schedule()
            self.transfer.pump(block=False)

    @staticmethod
    def _ask(item: tuple[str, Target]) -> list[Descriptor]:
        """The referrers of ``item``'s subject digest in its store, by digest."""
        return sorted(item[1].referrers(item[0]), key=lambda d: d.digest)

    def _add_referrers_of(
        self,
        subject_digest: str,
        sources: list[tuple[Target, str | None]],
        listed: dict[tuple[str, int], list[Descriptor]],
        manifests: dict[tuple[str, int], Manifest],
    ) -> None:
        subject = self.nodes[subject_digest].manifest.descriptor
        for origin, mount_from in sources:
            for descriptor in listed[(subject_digest, id(origin))]:
                if descriptor.digest in self.nodes:
                    continue
                manifest = manifests[(descriptor.digest, id(origin))]
                parsed = parse(manifest, f"{origin.display_name}@{descriptor.digest}")
                if parsed.subject is None or parsed.subject.digest != subject_digest:
                    self.log(
                        f"warning: {origin.display_name}: {descriptor.digest} is listed as a referrer of "
                        f"{subject_digest} but does not name it as its subject; skipped"
                    )
                    continue
                node = self._add_image_graph(manifest, origin, mount_from, "referrer", self.referrer_order)
                node.subject = Descriptor(subject.media_type, subject.digest, subject.size)

    def _tags_of(self, origin: Target) -> set[str] | None:
        """``origin``'s tags, listed once per copy (the list is capped by the store; asked at the start, beside
        the discovery); None when unlistable."""
        if id(origin) not in self.tags:
            asked = self.tag_lists.get(id(origin))
            try:
                self.tags[id(origin)] = set(asked.result() if asked is not None else origin.list_tags())
            except GateError as exc:
                self.log(f"warning: {origin.display_name}: cannot list tags for cosign signatures: {exc.message}")
                self.tags[id(origin)] = None
        return self.tags[id(origin)]

    def _discover_cosign_tags(self) -> None:
        taken: set[str] = set()
        for origin, mount_from in self._referrer_sources():
            tags = self._tags_of(origin)
            if not tags:
                continue
            for digest in list(self.nodes):
                algorithm, hexpart = split_digest(digest)
                for suffix in COSIGN_SUFFIXES:
                    cosign_tag = f"{algorithm}-{hexpart}.{suffix}"
                    if cosign_tag not in tags or cosign_tag in taken:
                        continue
                    taken.add(cosign_tag)
                    manifest = origin.fetch_manifest(cosign_tag)
                    node = self._add_image_graph(manifest, origin, mount_from, "cosign", self.cosign_order)
                    if node.tag is None:
                        node.tag = cosign_tag
                        node.subject = Descriptor(
                            self.nodes[digest].manifest.descriptor.media_type,
                            digest,
                            self.nodes[digest].manifest.descriptor.size,
                        )

    # copying

    def _push_cosign_tags(self) -> None:
        for digest in self.cosign_order:
            node = self.nodes[digest]
            if node.tag is None or not node.placed:
                continue
            if self._tag_points_to(node.tag, digest):
                continue
            self.destination.push_manifest(node.manifest, node.tag)
            self.copied_referrers.add(digest)
            self.counts.referrers_copied += 1

    def _tag_digest(self, tag: str) -> str | None:
        """What the destination tag points at; None when absent."""
        try:
            return self.destination.resolve(tag).digest
        except InputError:
            return None

    def _seen_tag_digest(self) -> str | object | None:
        """The answer to the question asked at the start; ``_UNSEEN`` when not asked or when it failed (the
        copy then asks again where it always did, and fails there, with the same error, if it must)."""
        if self.tag_seen is None:
            return _UNSEEN
        try:
            return self.tag_seen.result()
        except GateError:
            return _UNSEEN

    def _tag_points_to(self, tag: str, digest: str) -> bool:
        return self._tag_digest(tag) == digest

    def _push_tag(self, root: Node, tag: str | None) -> bool:
        """Tag the root (last of all); True when the tag already pointed at it."""
        if tag is None:
            return True
        # A tag can only point at a manifest the destination held before this copy.
        if self.root_was_present:
            seen = self._seen_tag_digest()
            current = self._tag_points_to(tag, root.digest) if seen is _UNSEEN else seen == root.digest
            if current:
                return True
        self.destination.push_manifest(root.manifest, tag)
        self.log(f"{self.destination.display_name}: tagged {tag} -> {root.digest}")
        return False

    # the report

    def _referrer_info(self, node: Node, subject: str, kind: ReferrerKind) -> ReferrerInfo:
        return ReferrerInfo(
            digest=node.digest,
            subject=subject,
            media_type=node.manifest.descriptor.media_type,
            artifact_type=node.parsed.effective_artifact_type,
            predicate_types=node.parsed.predicate_types,
            kind=kind,
            copied=node.digest in self.copied_referrers,
            tag=node.tag,
        )

    def _referrers_reaching(self, digest: str) -> tuple[ReferrerInfo, ...]:
        """Referrers and cosign artifacts whose subject chain leads to ``digest``."""
        result: list[ReferrerInfo] = []
        frontier = [digest]
        seen = {digest}
        while frontier:
            current = frontier.pop(0)
            for other in (*self.referrer_order, *self.cosign_order):
                node = self.nodes[other]
                if node.subject is None or node.subject.digest != current or other in seen:
                    continue
                seen.add(other)
                result.append(self._referrer_info(node, current, "cosign" if node.role == "cosign" else "referrer"))
                frontier.append(other)
        return tuple(result)

    def _graph(self, root: Node) -> tuple[PlatformEntry, ...]:
        if not root.parsed.is_index:
            return (self._platform_entry(root, None, ()),)
        attestations: dict[str, list[ReferrerInfo]] = {}
        for child in root.parsed.manifests:
            subject = attestation_subject(child)
            if subject and child.digest in self.nodes:
                node = self.nodes[child.digest]
                attestations.setdefault(subject, []).append(self._referrer_info(node, subject, "attestation"))
        entries = []
        for child in root.parsed.manifests:
            if is_attestation_child(child) or child.digest not in self.nodes:
                continue
            entries.append(
                self._platform_entry(self.nodes[child.digest], child.platform, attestations.get(child.digest, ()))
            )
        return tuple(entries)

    def _platform_entry(self, node: Node, platform: Platform | None, extra: Iterable[ReferrerInfo]) -> PlatformEntry:
        name = str(platform) if platform else self._config_platform(node)
        size = sum(layer.size for layer in node.parsed.layers)
        return PlatformEntry(
            platform=name,
            digest=node.digest,
            media_type=node.manifest.descriptor.media_type,
            layers=len(node.parsed.layers),
            size=size,
            referrers=(*extra, *self._referrers_reaching(node.digest)),
        )

    def _config_platform(self, node: Node) -> str:
        config = node.parsed.config
        if config is None or config.size > MAX_CONFIG_BYTES:
            return "unknown"
        try:
            with node.origin.open_blob(config) as chunks:
                platform = platform_from_config(b"".join(chunks), f"config {config.digest}")
        except GateError:
            return "unknown"
        return str(platform) if platform else "unknown"


def build_index(children: Iterable[Descriptor], annotations: dict[str, str] | None = None) -> Manifest:
    """An OCI image index over ``children`` (for tests and the promote stage)."""
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [descriptor_to_json(c) for c in children],
    }
    if annotations:
        document["annotations"] = annotations
    data = json.dumps(document, indent=2).encode()
    parsed = parse_manifest(data)
    return Manifest(Descriptor(parsed.media_type, compute_digest(data), len(data)), data)
