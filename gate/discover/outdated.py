"""``outdated``'s core: how far each pinned digest is behind its tag.

For the production references discovery found, every unique ``name:tag`` is resolved once
(``resolve``, concurrently but at most ``concurrency`` at a time) and compared with the digests
pinned in the Dockerfiles. One entry per unique normalised reference (``image``, as discover
writes it); a lookup that fails is that entry's ``error``. ``OutdatedReport.all_failed`` tells the
caller when every tag lookup failed (exit 3); anything less is a report.

The resolver is a parameter (``Resolver``): ``gate.discover.resolve.RegistryResolver`` is the one
over the registry client; tests may pass any callable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from gate.discover.images import Found, Location
from gate.errors import GateError
from gate.oci.reference import ImageReference, is_valid_digest
from gate.promote.report import rfc3339

DEFAULT_CONCURRENCY = 8
_DAY = 86_400


@dataclass(frozen=True)
class ResolvedTag:
    """What a registry says of a tag (or a digest): the manifest digest, and the image config's
    ``created`` when it could be read (None otherwise)."""

    digest: str
    created: dt.datetime | None = None


class Resolver(Protocol):
    def __call__(self, reference: ImageReference) -> ResolvedTag:
        """Resolve ``reference`` (a tag, or a digest) or raise a ``GateError`` saying why not."""
        ...


def tag_reference(reference: ImageReference) -> str | None:
    """``registry/repository:tag``, the key lookups and pins go by; None without a tag."""
    return f"{reference.name}:{reference.tag}" if reference.tag else None


@dataclass(frozen=True)
class OutdatedEntry:
    """One unique reference. ``outdated``: a pinned digest differs from the tag's current one (an
    unpinned reference is never outdated; ``current_digest`` is what ``pin`` would write).
    ``age_days``: whole days from ``created`` to ``current_created`` (0 when up to date, negative
    when the tag moved back to an older image; None when either is unknown or nothing is pinned)."""

    image: str
    tag: str
    digest: str | None
    current_digest: str | None
    outdated: bool
    created: dt.datetime | None
    current_created: dt.datetime | None
    age_days: int | None
    locations: tuple[Location, ...]
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "tag": self.tag,
            "digest": self.digest,
            "current_digest": self.current_digest,
            "outdated": self.outdated,
            "created": rfc3339(self.created) if self.created else None,
            "current_created": rfc3339(self.current_created) if self.current_created else None,
            "age_days": self.age_days,
            "locations": [location.to_json() for location in self.locations],
            "error": self.error,
        }


@dataclass(frozen=True)
class OutdatedReport:
    """The entries (sorted by image); per tag (``tag_reference``) the current digest or the error."""

    entries: tuple[OutdatedEntry, ...]
    digests: Mapping[str, str]
    errors: Mapping[str, str]

    @property
    def lookups(self) -> int:
        return len(self.digests) + len(self.errors)

    @property
    def all_failed(self) -> bool:
        """Every tag lookup failed (and there was at least one): the run's failure, not a report."""
        return bool(self.errors) and not self.digests

    @property
    def outdated(self) -> tuple[OutdatedEntry, ...]:
        return tuple(entry for entry in self.entries if entry.outdated)


@dataclass
class _Group:
    """The references sharing one ``name:tag``: resolved together by one worker."""

    tag_ref: ImageReference
    references: dict[str, ImageReference]  # image -> reference
    locations: dict[str, set[Location]]


@dataclass(frozen=True)
class _Lookup:
    current: ResolvedTag | None
    error: str | None
    pinned: Mapping[str, ResolvedTag | str]  # pinned digest -> what it resolved to, or why not


def _groups(found: Iterable[Found]) -> dict[str, _Group]:
    groups: dict[str, _Group] = {}
    for item in found:
        ref = item.reference
        key = tag_reference(ref) if ref is not None else None
        if ref is None or key is None:
            continue  # unusable (discover reports it) or pinned by digest alone: no tag to follow
        group = groups.setdefault(key, _Group(ImageReference(ref.registry, ref.repository, ref.tag), {}, {}))
        image = str(ref)
        group.references[image] = ref
        group.locations.setdefault(image, set()).add(item.location)
    return groups


def _look_up(group: _Group, resolve: Resolver) -> _Lookup:
    try:
        current = resolve(group.tag_ref)
    except GateError as exc:
        return _Lookup(None, exc.message, {})
    if not is_valid_digest(current.digest):
        return _Lookup(None, f"the registry answered an invalid digest {current.digest[:80]!r}", {})
    pinned: dict[str, ResolvedTag | str] = {}
    for ref in group.references.values():
        digest = ref.digest
        if digest is None or not ref.pinned or digest in pinned:
            continue
        if digest == current.digest:
            pinned[digest] = current
            continue
        try:
            pinned[digest] = resolve(ref.with_tag(None))
        except GateError as exc:
            pinned[digest] = exc.message
    return _Lookup(current, None, pinned)


def _entry(image: str, ref: ImageReference, locations: set[Location], lookup: _Lookup) -> OutdatedEntry:
    pinned = ref.digest if ref.pinned else None
    current = lookup.current
    error = lookup.error
    created: dt.datetime | None = None
    if pinned is not None and current is not None:
        answer = lookup.pinned.get(pinned)
        if isinstance(answer, ResolvedTag):
            created = answer.created
        elif answer is not None:
            error = f"pinned digest {pinned}: {answer}"
    current_digest = current.digest if current is not None else None
    current_created = current.created if current is not None else None
    age_days = None
    if pinned is not None and created is not None and current_created is not None:
        age_days = 0 if pinned == current_digest else int((current_created - created).total_seconds() // _DAY)
    return OutdatedEntry(
        image=image,
        tag=ref.tag or "",
        digest=pinned,
        current_digest=current_digest,
        outdated=pinned is not None and current_digest is not None and pinned != current_digest,
        created=created,
        current_created=current_created,
        age_days=age_days,
        locations=tuple(sorted(locations, key=lambda loc: (loc.path, loc.line, loc.instruction))),
        error=error,
    )


def check_outdated(
    found: Iterable[Found],
    resolve: Resolver,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    log: Callable[[str], None] | None = None,
) -> OutdatedReport:
    """Resolve every unique tag of ``found`` once and compare it with the pinned digests."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    groups = _groups(found)
    lookups: dict[str, _Lookup] = {}
    if groups:
        with ThreadPoolExecutor(max_workers=min(concurrency, len(groups)), thread_name_prefix="outdated") as pool:
            futures = {key: pool.submit(_look_up, group, resolve) for key, group in groups.items()}
            lookups = {key: future.result() for key, future in futures.items()}
    entries: list[OutdatedEntry] = []
    digests: dict[str, str] = {}
    errors: dict[str, str] = {}
    for key, group in groups.items():
        lookup = lookups[key]
        if lookup.current is not None:
            digests[key] = lookup.current.digest
        else:
            errors[key] = lookup.error or "not resolved"
            if log is not None:
                log(f"outdated: {key}: {errors[key]}")
        for image, ref in group.references.items():
            entries.append(_entry(image, ref, group.locations[image], lookup))
    entries.sort(key=lambda entry: entry.image)
    return OutdatedReport(tuple(entries), digests, errors)
