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


def compare(left: uv.Version, right: uv.Version) -> int:
    """-1, 0 or 1, from ``<`` alone: some univers classes (the Gentoo-derived Alpine ordering)
    define ``<``/``>``/``==`` by the ecosystem's rules but inherit attrs' ``>=``/``<=``, which
    compare the raw strings ("1.37.0-r9" >= "1.37.0-r10")."""
    if left < right:
        return -1
    if right < left:
        return 1
    return 0


_EVENT_ORDER = {"introduced": 0, "fixed": 1, "last_affected": 2, "limit": 3}


def _in_range(ordering: str, version: str, events: Sequence[Mapping[str, Any]]) -> bool:
    mine = parse(ordering, version)
    keyed: list[tuple[int, str, Any]] = []
    limits: list[Any] = []
    for event in events:
        for kind, value in event.items():
            if kind not in _EVENT_ORDER or not isinstance(value, str):
                continue
            if kind == "introduced" and value == "0":
                keyed.append((_EVENT_ORDER[kind], kind, None))
            elif kind == "limit":
                if value != "*":
                    limits.append(parse(ordering, value))
            else:
                keyed.append((_EVENT_ORDER[kind], kind, parse(ordering, value)))
    if any(compare(mine, limit) >= 0 for limit in limits):
        return False
    # Sort by version ("introduced: 0" first); at one version, introduced before fixed.
    keyed.sort(key=_SortKey)
    affected = False
    for _, kind, bound in keyed:
        if kind == "introduced":
            if bound is None or compare(mine, bound) >= 0:
                affected = True
        elif kind == "fixed":
            if compare(mine, bound) >= 0:
                affected = False
        elif kind == "last_affected" and compare(mine, bound) > 0:
            affected = False
    return affected


class _SortKey:
    __slots__ = ("item",)

    def __init__(self, item: tuple[int, str, Any]) -> None:
        self.item = item

    def __lt__(self, other: _SortKey) -> bool:
        a, b = self.item, other.item
        if a[2] is None or b[2] is None:
            return a[2] is None and b[2] is not None
        order = compare(a[2], b[2])
        return a[0] < b[0] if order == 0 else order < 0
