"""Is a version affected by an OSV ``affected`` entry? Each ecosystem's own ordering, via ``univers``.

Ranges follow the OSV schema's evaluation: events sorted by version, ``introduced`` opens,
``fixed`` closes (exclusive), ``last_affected`` closes (inclusive), ``limit`` caps the range.
Versions are never compared as strings: a version the ordering cannot parse raises
``UnparseableVersion`` so the caller lists the component as unchecked instead of passing it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from univers import versions as uv

_ORDERING: dict[str, type[uv.Version]] = {
    "Alpine": uv.AlpineLinuxVersion,
    "Wolfi": uv.AlpineLinuxVersion,
    "Chainguard": uv.AlpineLinuxVersion,
    "Debian": uv.DebianVersion,
    "Ubuntu": uv.DebianVersion,
    "AlmaLinux": uv.RpmVersion,
    "Rocky Linux": uv.RpmVersion,
    "Red Hat": uv.RpmVersion,
    "Mariner": uv.RpmVersion,
    "Azure Linux": uv.RpmVersion,
    "openSUSE": uv.RpmVersion,
    "SUSE": uv.RpmVersion,
    "PyPI": uv.PypiVersion,
    "npm": uv.SemverVersion,
    "crates.io": uv.SemverVersion,
    "Hex": uv.SemverVersion,
    "Pub": uv.SemverVersion,
    "Maven": uv.MavenVersion,
    "Go": uv.GolangVersion,
    "NuGet": uv.NugetVersion,
    "RubyGems": uv.RubygemsVersion,
    "Packagist": uv.ComposerVersion,
}


class UnparseableVersion(ValueError):
    def __init__(self, version: str, ordering: str) -> None:
        super().__init__(f"version {version!r} is not a valid {ordering} version")
        self.version = version
        self.ordering = ordering


def supports(family: str) -> bool:
    return family in _ORDERING


@lru_cache(maxsize=200_000)
def parse(family: str, version: str) -> uv.Version:
    """``version`` under ``family``'s ordering ('SEMVER' for the SEMVER range type)."""
    cls = uv.SemverVersion if family == "SEMVER" else _ORDERING.get(family)
    if cls is None:
        raise UnparseableVersion(version, family)
    text = version[1:] if family in ("SEMVER", "Go") and version[:1] == "v" else version
    try:
        return cls(text)
    except Exception as exc:  # univers raises InvalidVersion, ValueError or TypeError by class
        raise UnparseableVersion(version, family) from exc


def is_affected(family: str, version: str, affected: Mapping[str, Any]) -> bool:
    """True when ``version`` is listed in ``affected['versions']`` or falls in one of its ranges.

    ``GIT`` ranges are skipped (commit hashes say nothing about a package version).
    Raises ``UnparseableVersion`` for the component's version or a range event that does not parse.
    """
    listed = affected.get("versions") or []
    if version in listed:
        return True
    ranges = [r for r in affected.get("ranges") or [] if r.get("type") in ("ECOSYSTEM", "SEMVER")]
    if not ranges and not listed:
        return False
    if listed:
        mine = parse(family, version)
        for other in listed:
            try:
                if compare(parse(family, str(other)), mine) == 0:
                    return True
            except UnparseableVersion:
                continue
    for entry in ranges:
        ordering = "SEMVER" if entry.get("type") == "SEMVER" else family
        if _in_range(ordering, version, entry.get("events") or []):
            return True
    return False


def fixed_versions(affected: Mapping[str, Any]) -> list[str]:
    """Every ``fixed`` event of the ECOSYSTEM/SEMVER ranges, in record order."""
    found: list[str] = []
    for entry in affected.get("ranges") or []:
        if entry.get("type") not in ("ECOSYSTEM", "SEMVER"):
            continue
        for event in entry.get("events") or []:
            fixed = event.get("fixed")
            if isinstance(fixed, str) and fixed not in found:
                found.append(fixed)
    return found


_VALUE_ORDER = uv.Version.__lt__


def compare(left: uv.Version, right: uv.Version) -> int:
    """-1, 0 or 1, from ``<`` alone: some univers classes (the Gentoo-derived Alpine ordering)
    define ``<``/``>``/``==`` by the ecosystem's rules but inherit attrs' ``>=``/``<=``, which
    compare the raw strings ("1.37.0-r9" >= "1.37.0-r10")."""
    if type(left).__lt__ is _VALUE_ORDER and type(right) is type(left):
        # univers' own ordering (attrs-generated on ``value`` alone, as the tuple ``(value,)``):
        # the same comparison without building the tuples.
        mine, other = left.value, right.value
        if mine == other:
            return 0
        return -1 if mine < other else (1 if other < mine else 0)
    if left < right:
        return -1
    if right < left:
        return 1
    return 0


_EVENT_ORDER = {"introduced": 0, "fixed": 1, "last_affected": 2, "limit": 3}


def _in_range(ordering: str, version: str, events: Sequence[Mapping[str, Any]]) -> bool:
    """The OSV evaluation: sort the events by version ("introduced: 0" first; at one version
    introduced, fixed, last_affected), then walk them; ``introduced`` at or below the version
    opens, ``fixed`` at or below it and ``last_affected`` below it close.

    The walk ends in the state set by the last event that applies, so this finds that event
    (the greatest applying one) instead of sorting them all: fewer comparisons, same answer.
    """
    mine = parse(ordering, version)
    limited = False
    last: tuple[int, Any] | None = None  # (event order, bound) of the greatest applying event
    for event in events:
        for kind, value in event.items():
            order = _EVENT_ORDER.get(kind)
            if order is None or not isinstance(value, str):
                continue
            if kind == "limit":
                if value != "*" and compare(mine, parse(ordering, value)) >= 0:
                    limited = True  # still parse every event: an unparseable one is an error either way
                continue
            if kind == "introduced" and value == "0":
                if last is None:
                    last = (order, None)
                continue
            bound = parse(ordering, value)
            if limited:
                continue
            position = compare(mine, bound)
            if position < 0 or (position == 0 and kind == "last_affected"):
                continue  # above the version: the walk never reaches it
            if last is None or last[1] is None:
                last = (order, bound)
                continue
            against = compare(bound, last[1])
            if against > 0 or (against == 0 and order > last[0]):
                last = (order, bound)
    return not limited and last is not None and last[0] == _EVENT_ORDER["introduced"]
