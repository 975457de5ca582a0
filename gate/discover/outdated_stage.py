"""The outdated stage: how far the digests the production Dockerfiles pin are behind their tags, and,
with a scan, which blocking vulnerabilities an update fixes or introduces.

``find_outdated(request)`` reads the production Dockerfiles as discover does
(``gate.discover.production``), resolves every unique tag once through one registry pool
(``gate.discover.outdated.check_outdated`` over ``gate.discover.resolve.RegistryResolver``: the
credentials, insecure-registry and retry rules of mirror; at most ``access.concurrency`` lookups at
a time) and, with ``request.scan``, scans the pinned and the current digest of every outdated image
(``gate.discover.fixes``). It returns a frozen ``OutdatedRun``; ``gate.discover.outdated_outcome``
turns it into the command's outcome. It prints nothing and exits nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gate.discover.fixes import Comparison, check_scan_input, compare_updates
from gate.discover.outdated import OutdatedEntry, OutdatedReport, check_outdated
from gate.discover.production import Production, Selection, read_production
from gate.discover.resolve import RegistryResolver
from gate.oci.open import Access, registry_pool
from gate.outcome import ignore

if TYPE_CHECKING:
    from gate.scan.stage import ImageScanRequest

Log = Callable[[str], None]


@dataclass(frozen=True)
class OutdatedRequest:
    """Where to look and what is production (as discover), how to reach the registries, and what fails.

    ``scan``: when given, the request each compared digest is scanned with (its settings' image is
    replaced by the digest's reference, its SARIF goes to a temporary directory).
    """

    path: str = "."
    selection: Selection = field(default_factory=Selection)
    allow_empty: bool = False
    access: Access = field(default_factory=Access)
    scan: ImageScanRequest | None = None
    fail_on_outdated: bool = False
    fail_on_fixable: bool = False


@dataclass(frozen=True)
class OutdatedImage:
    """One entry of the report, with what its update fixes and introduces (None: not scanned)."""

    entry: OutdatedEntry
    comparison: Comparison | None = None

    @property
    def fixable(self) -> bool:
        return self.comparison is not None and bool(self.comparison.fixes)

    def to_json(self) -> dict[str, Any]:
        document = self.entry.to_json()
        if self.comparison is not None:
            document.update(self.comparison.to_json())
        else:
            document.update(fixes=None, introduces=None, scan_error=None)
        return document


@dataclass(frozen=True)
class OutdatedRun:
    """What the stage found: the Dockerfiles read, the report, and the images with their comparisons.

    ``checked_at`` is when the tags were resolved (the ages in the summary count from it).
    ``failures``: why the run fails whatever the flags say (no production Dockerfile).
    """

    request: OutdatedRequest
    production: Production
    report: OutdatedReport
    images: tuple[OutdatedImage, ...]
    checked_at: dt.datetime
    failures: tuple[str, ...] = ()

    @property
    def outdated(self) -> tuple[OutdatedImage, ...]:
        return tuple(image for image in self.images if image.entry.outdated)

    @property
    def fixable(self) -> tuple[OutdatedImage, ...]:
        return tuple(image for image in self.images if image.fixable)

    @property
    def scanned(self) -> bool:
        return self.request.scan is not None


def find_outdated(
    request: OutdatedRequest,
    *,
    log: Log = ignore,
    mask: Log = ignore,
    environ: Mapping[str, str] | None = None,
) -> OutdatedRun:
    """The whole stage (see the module docstring)."""
    if request.scan is not None:
        check_scan_input(request.scan)
    production = read_production(Path(request.path), request.selection)
    empty = production.empty_failure(request.path, request.selection.marker)
    failures = (empty,) if empty is not None and not request.allow_empty else ()
    found = production.found
    checked_at = dt.datetime.now(dt.UTC)
    if found:
        with registry_pool(request.access, environ=environ or {}, mask=mask, log=log) as pool:
            report = check_outdated(found, RegistryResolver(pool), concurrency=request.access.concurrency, log=log)
    else:
        report = OutdatedReport((), {}, {})
    log(
        f"outdated: {len(production.dockerfiles)} Dockerfile(s), {len(production.files)} production, "
        f"{report.lookups} tag(s) looked up ({len(report.errors)} failed), {len(report.outdated)} outdated"
    )
    comparisons: dict[str, Comparison] = {}
    if request.scan is not None and report.outdated:
        comparisons = compare_updates(report.outdated, request.scan, log=log, mask=mask, environ=environ)
    images = tuple(
        OutdatedImage(entry, comparisons.get(entry.image, Comparison()) if request.scan is not None else None)
        for entry in report.entries
    )
    return OutdatedRun(request, production, report, images, checked_at, failures)
