"""A clean quarantine: what goes with the quarantine tag once the promoted copy is verified.

``plan_cleanup(source, tag, root, destination)`` reads the quarantine repository and plans; an executor
carries the plan out (``run_plan`` through the registry API; ``gate.promote.github_packages`` on GHCR).
``gate.promote.tag_deletion`` deletes the quarantine tag itself, last.

What is planned, for every manifest of the image (the root, its children, nested indexes and BuildKit
in-index attestations) and, recursively, for every referrer found:

- its referrers (the OCI 1.1 referrers API, else the ``sha256-<hex>`` fallback index): each one is deleted
  by digest after its own referrers (leaves first, so a crash never leaves a referrer whose subject is
  gone); on a fallback registry the entries are first dropped from the ``sha256-<hex>`` index (the tag is
  deleted once the index would be empty), then the manifests: an index never names a manifest that is
  gone, which would break the next promotion of the tag;
- its cosign tags ``sha256-<hex>.sig|.att|.sbom``: the tagged manifest is deleted with its tag.

What stays:

- the image's own manifests (the root and its children): untagged once the tag is gone, for the registry's
  garbage collection, like every blob (``registry garbage-collect --delete-untagged`` on distribution);
- everything reachable from another tag of the repository (its index children, their referrers and
  cosign tags): a platform manifest shared with another image keeps its SBOMs and signatures, a referrer
  that another tag names stays, and so does everything below it;
- a referrer or signature the destination does not hold (it was added to quarantine after the copy), and
  the referrer chain it hangs from.

Nothing is deleted that was not read first: a listed referrer whose manifest does not name the subject is
left alone with a warning, and every digest comes from the registry's own answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from gate.errors import GateError, InputError, RuntimeFailure
from gate.oci.copy import COSIGN_SUFFIXES, MAX_GRAPH_DEPTH, MAX_GRAPH_NODES
from gate.oci.http import Denied, NotFound
from gate.oci.manifest import parse
from gate.oci.reference import fallback_tag, split_digest
from gate.oci.tags import TagDeletionRefused
from gate.oci.target import INDEX_TYPES, Descriptor, Target
from gate.outcome import ignore

Log = Callable[[str], None]
ActionKind = Literal["manifest", "tag", "index"]
SHARED_WORKERS = 8


class CleanableTarget(Target, Protocol):
    """A registry repository (``gate.oci.registry.RegistryTarget``): what the cleanup needs beyond ``Target``."""

    def delete_manifest(self, digest: str) -> None: ...

    def remove_referrers(self, subject: str, digests: Sequence[str]) -> tuple[str | None, int]: ...


def cleanable(target: Target) -> CleanableTarget | None:
    """``target`` when it can be cleaned (a registry repository), else None (an OCI layout: the tag only)."""
    needed = ("delete_manifest", "remove_referrers")
    return target if all(callable(getattr(target, name, None)) for name in needed) else None  # type: ignore[return-value]


@dataclass(frozen=True)
class Deleted:
    """A manifest deleted by digest, a tag deleted (``digest``: the manifest it named), or both at once."""

    digest: str
    tag: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"digest": self.digest, **({"tag": self.tag} if self.tag else {})}

    def __str__(self) -> str:
        return f"{self.tag} ({self.digest})" if self.tag else self.digest


@dataclass(frozen=True)
class Left:
    """Something of the image that stays in quarantine, and why."""

    digest: str
    reason: str
    tag: str | None = None
    shared: bool = False
    """Kept on purpose: another tag of the repository reaches it (not a warning)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            **({"tag": self.tag} if self.tag else {}),
            "reason": self.reason,
            "shared": self.shared,
        }

    def __str__(self) -> str:
        return f"{self.tag} ({self.digest})" if self.tag else self.digest


@dataclass(frozen=True)
class Action:
    """One step of the plan. ``manifest``: delete ``digest`` (and ``tag``, a cosign tag on it; ``subject``: what
    the referrer refers to); ``tag``: delete only ``tag`` (its manifest stays); ``index``: drop ``drop`` from
    ``subject``'s fallback index ``tag`` (``digest``), deleting it when nothing else is listed."""

    kind: ActionKind
    digest: str
    tag: str | None = None
    subject: str | None = None
    drop: tuple[str, ...] = ()

    @property
    def what(self) -> str:
        if self.kind == "index":
            return f"referrers index {self.tag} ({self.digest})"
        if self.kind == "tag":
            return f"tag {self.tag} ({self.digest})"
        kind = "cosign artifact" if self.tag else "referrer"
        return f"{kind} {self.tag} ({self.digest})" if self.tag else f"{kind} {self.digest}"


@dataclass(frozen=True)
class CleanupPlan:
    """The steps in order (leaves first), what stays and why, and every tag the plan deletes."""

    actions: tuple[Action, ...]
    left: tuple[Left, ...]

    @property
    def tags(self) -> frozenset[str]:
        return frozenset(a.tag for a in self.actions if a.tag)


@dataclass(frozen=True)
class CleanupResult:
    """What an executor did: ``deleted`` in order, ``left`` (the plan's, plus the steps not done), and
    ``stopped``: why it stopped early (None: it ran to the end). ``refused``: the registry refuses deletes
    (405 / ``UNSUPPORTED``) or denies them to these credentials (401/403): a re-run would not do better, so
    the tag is still tried; any other stop keeps the tag for a re-run."""

    deleted: tuple[Deleted, ...] = ()
    left: tuple[Left, ...] = ()
    stopped: str | None = None
    refused: bool = False


@dataclass
class _Graph:
    """The image in quarantine as read: image manifests, referrers by subject, cosign tags, fallback indexes."""

    images: list[str] = field(default_factory=list)
    children: dict[str, list[str]] = field(default_factory=dict)
    referrers: dict[str, list[str]] = field(default_factory=dict)
    subject: dict[str, str] = field(default_factory=dict)
    stale: dict[str, list[str]] = field(default_factory=dict)
    cosign: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    fallback: dict[str, tuple[str, str]] = field(default_factory=dict)

    def digests(self) -> set[str]:
        found = set(self.images) | set(self.subject)
        found |= {m for pairs in self.cosign.values() for _, m in pairs}
        return found

    def below(self, digest: str) -> list[str]:
        """What a kept ``digest`` keeps: its index children, its referrers, its cosign artifacts."""
        return [
            *self.children.get(digest, ()),
            *self.referrers.get(digest, ()),
            *(m for _, m in self.cosign.get(digest, ())),
        ]


def plan_cleanup(
    source: CleanableTarget,
    tag: str,
    root: str,
    destination: Target,
    *,
    log: Log = ignore,
    max_nodes: int = MAX_GRAPH_NODES,
) -> CleanupPlan:
    """Read the image ``root`` (tagged ``tag``) in quarantine and plan its cleanup (the module docstring).
    Raises ``GateError`` when the quarantine cannot be read: then nothing is deleted."""
    where = source.display_name
    tags = set(source.list_tags())
    graph = _read_graph(source, root, tags, max_nodes, log)
    ours = {tag} | {t for pairs in graph.cosign.values() for t, _ in pairs} | {t for t, _ in graph.fallback.values()}
    shared = _shared(source, graph, sorted(tags - ours), log)
    left = [Left(d, f"reachable from tag {by}", shared=True) for d, by in shared.items() if d not in graph.images]
    kept = set(shared)
    for digest in sorted(graph.digests() - set(graph.images) - kept):
        if not destination.has_manifest(digest):
            left.append(Left(digest, f"not in the destination {destination.display_name} (added after the copy?)"))
            kept.add(digest)
            chain = graph.subject.get(digest)
            while chain is not None and chain not in graph.images:  # its subject chain stays, or it would dangle
                kept.add(chain)
                chain = graph.subject.get(chain)
    actions: list[Action] = []
    for image in reversed(graph.images):
        _plan_subject(graph, image, set(shared), kept, actions)
    log(f"promote: {where}: quarantine cleanup planned: {len(actions)} step(s), {len(left)} item(s) stay")
    return CleanupPlan(tuple(actions), tuple(left))


def _read_graph(source: Target, root: str, tags: set[str], max_nodes: int, log: Log) -> _Graph:
    where = source.display_name
    graph = _Graph()
    graph.images = [root, *_index_children(source, root, graph.children)]
    level = list(graph.images)
    seen = set(level)
    depth = 0
    while level:
        depth += 1
        following: list[str] = []
        for subject in level:
            _cosign_of(source, subject, tags, graph)
            if fallback_tag(subject) in tags:
                graph.fallback[subject] = (fallback_tag(subject), source.resolve(fallback_tag(subject)).digest)
            for listed in sorted(source.referrers(subject), key=lambda d: d.digest):
                if listed.digest in seen:
                    continue
                try:
                    manifest = source.fetch_manifest(listed.digest)
                except NotFound:
                    graph.stale.setdefault(subject, []).append(listed.digest)  # listed but gone: a past cleanup
                    continue
                parsed = parse(manifest, f"{where}@{listed.digest}")
                if parsed.subject is None or parsed.subject.digest != subject:
                    log(
                        f"warning: {where}: {listed.digest} is listed as a referrer of {subject} but does not "
                        "name it as its subject; left alone"
                    )
                    continue
                seen.add(listed.digest)
                graph.referrers.setdefault(subject, []).append(listed.digest)
                graph.subject[listed.digest] = subject
                following.append(listed.digest)
            if len(seen) > max_nodes:
                raise RuntimeFailure(f"{where}@{root}: more than {max_nodes} referrers to clean up; nothing deleted")
        if following and depth > MAX_GRAPH_DEPTH:
            raise RuntimeFailure(
                f"{where}@{root}: referrers of referrers nested more than {MAX_GRAPH_DEPTH} deep; nothing deleted"
            )
        level = following
    return graph


def _index_children(source: Target, root: str, children: dict[str, list[str]]) -> list[str]:
    """Every manifest below ``root`` (nested indexes too), each once; ``children`` filled on the way."""
    found: list[str] = []
    level = [root]
    seen = {root}
    for _ in range(MAX_GRAPH_DEPTH + 1):
        following: list[str] = []
        for parent in level:
            parsed = parse(source.fetch_manifest(parent), f"{source.display_name}@{parent}")
            children[parent] = [c.digest for c in parsed.manifests]
            for child in parsed.manifests:
                if child.digest not in seen:
                    seen.add(child.digest)
                    found.append(child.digest)
                    if child.media_type in INDEX_TYPES:
                        following.append(child.digest)
        if not following:
            return found
        level = following
    raise RuntimeFailure(f"{source.display_name}@{root}: indexes nested more than {MAX_GRAPH_DEPTH} deep")


def _cosign_of(source: Target, subject: str, tags: set[str], graph: _Graph) -> None:
    algorithm, hexpart = split_digest(subject)
    for suffix in COSIGN_SUFFIXES:
        cosign_tag = f"{algorithm}-{hexpart}.{suffix}"
        if cosign_tag in tags:
            try:
                graph.cosign.setdefault(subject, []).append((cosign_tag, source.resolve(cosign_tag).digest))
            except NotFound:
                continue


def _shared(source: Target, graph: _Graph, others: Sequence[str], log: Log) -> dict[str, str]:
    """Digests of the graph reachable from another tag (through index children, then, inside the graph,
    children, referrers and cosign artifacts), each with the tag that reaches it. The other tags are
    read in parallel (``SHARED_WORKERS``): a quarantine repository holds many images."""
    ours = graph.digests() | {d for _, d in graph.fallback.values()}

    def reach(other: str) -> list[str]:
        try:
            top = source.resolve(other)
        except InputError:
            return []  # gone since it was listed
        found: list[str] = []
        level, seen = [top], set[str]()
        for _ in range(MAX_GRAPH_DEPTH + 1):
            following: list[Descriptor] = []
            for descriptor in level:
                if descriptor.digest in seen:
                    continue
                seen.add(descriptor.digest)
                if descriptor.digest in ours:
                    found.append(descriptor.digest)
                elif descriptor.media_type in INDEX_TYPES:
                    following += parse(
                        source.fetch_manifest(descriptor.digest), f"{source.display_name}:{other}"
                    ).manifests
            if not following:
                break
            level = following
        return found

    shared: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=SHARED_WORKERS, thread_name_prefix="gate-cleanup") as pool:
        for other, found in zip(others, pool.map(reach, others), strict=True):
            for digest in found:
                shared.setdefault(digest, other)
    queue = list(shared)
    while queue:
        digest = queue.pop()
        for below in graph.below(digest):
            if below not in shared:
                shared[below] = shared[digest]
                queue.append(below)
    if shared:
        log(f"promote: {source.display_name}: {len(shared)} manifest(s) of the image are reachable from other tags")
    return shared


def _plan_subject(graph: _Graph, subject: str, shared: set[str], kept: set[str], out: list[Action]) -> None:
    """The steps for ``subject``'s referrers (each after its own), cosign tags and fallback index."""
    if subject in shared:
        return
    listed = graph.referrers.get(subject, [])
    for referrer in listed:
        _plan_subject(graph, referrer, shared, kept, out)
    for cosign_tag, manifest in graph.cosign.get(subject, []):
        if manifest in shared:
            out.append(Action("tag", manifest, cosign_tag))  # the manifest stays for the other tag
        elif manifest not in kept:
            out.append(Action("manifest", manifest, cosign_tag))
    gone = [r for r in listed if r not in kept]
    if subject in graph.fallback:
        index_tag, index = graph.fallback[subject]
        if index in shared:  # another tag names this very index: its entries stay listed, so they stay
            return
        drop = (*gone, *graph.stale.get(subject, ()))
        if drop:
            out.append(Action("index", index, index_tag, subject, tuple(drop)))
    out += [Action("manifest", r, subject=subject) for r in gone]


# --- the registry API executor -----------------------------------------------------------------------


def run_plan(source: CleanableTarget, plan: CleanupPlan, *, log: Log = ignore) -> CleanupResult:
    """Carry ``plan`` out through the registry API, in order. Stops at the first refusal (``refused``: the
    registry does not allow deletes, or not to these credentials: a re-run would not do better) or failure;
    what was not done is named in ``left``. Something already gone counts as done (a re-run after an
    interrupted cleanup)."""
    deleted: list[Deleted] = []
    for number, action in enumerate(plan.actions):
        try:
            deleted += _run(source, action)
        except (TagDeletionRefused, Denied) as exc:
            return _stopped(plan, number, deleted, exc.message, refused=True)
        except GateError as exc:
            return _stopped(plan, number, deleted, exc.message)
    if deleted:
        log(f"promote: {source.display_name}: deleted {len(deleted)} referrer(s), index(es) and tag(s) in quarantine")
    return CleanupResult(tuple(deleted), plan.left)


def _stopped(
    plan: CleanupPlan, number: int, deleted: list[Deleted], why: str, *, refused: bool = False
) -> CleanupResult:
    rest = plan.actions[number:]
    left = [*plan.left, *(Left(a.digest, f"not deleted: {why}", a.tag) for a in rest)]
    return CleanupResult(tuple(deleted), tuple(left), f"{rest[0].what}: {why}", refused)


def _run(source: CleanableTarget, action: Action) -> list[Deleted]:
    if action.kind == "tag":
        return [Deleted(action.digest, action.tag)] if _delete_tag(source, action.tag or "", action.digest) else []
    if action.kind == "index":
        index, remaining = source.remove_referrers(action.subject or "", action.drop)
        if index is None or remaining:
            return []  # rewritten without them (or gone already)
        _delete_digest(source, index)
        _delete_tag(source, action.tag or "", index)
        return [Deleted(index, action.tag)]
    done = _delete_digest(source, action.digest)
    if action.tag and _delete_tag(source, action.tag, action.digest):
        done = True  # a registry that keeps tags when their manifest is deleted by digest
    return [Deleted(action.digest, action.tag)] if done else []


def _delete_digest(source: CleanableTarget, digest: str) -> bool:
    try:
        source.delete_manifest(digest)
    except NotFound:
        return False
    return True


def _delete_tag(source: CleanableTarget, tag: str, digest: str) -> bool:
    """Delete ``tag`` when it still names ``digest`` (it may have gone with its manifest)."""
    try:
        if source.resolve(tag).digest != digest:
            return False
        source.delete_tag(tag)
    except NotFound:
        return False
    return True


def left_warning(left: Sequence[Left], limit: int = 10) -> str | None:
    """One warning naming what stays in quarantine that should have gone (shared items are no warning)."""
    unexpected = [item for item in left if not item.shared]
    if not unexpected:
        return None
    named = "; ".join(f"{item}: {item.reason}" for item in unexpected[:limit])
    more = f"; and {len(unexpected) - limit} more" if len(unexpected) > limit else ""
    return f"the quarantine cleanup left {len(unexpected)} item(s): {named}{more}"
