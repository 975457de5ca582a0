"""What an update fixes: the pinned and the current digest of an outdated image scanned with one policy.

``compare_updates(entries, scan)`` scans both digests of every outdated entry through the scan stage
(``gate.scan.stage.scan_image``: the same scanner, SBOM predicate type, threshold, exceptions and
VEX for both) and compares their blocking vulnerability ids:
- ``fixes``: blocking at the pinned digest, not at the current one;
- ``introduces``: blocking at the current digest, not at the pinned one.

Bad scan input (a VEX or exceptions file, the scanner or its database) fails the whole run before
anything is scanned. A scan that fails for one image (registry error), or a platform of either digest
whose vulnerabilities were not checked (no SBOM, without ``--sbom-fallback layers``; an empty or, in
verified mode, unverified SBOM), is that entry's ``error``; each digest is scanned once however many
entries name it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gate.discover.outdated import OutdatedEntry
from gate.errors import GateError
from gate.oci.reference import parse_reference
from gate.outcome import ignore

if TYPE_CHECKING:
    from gate.scan.stage import ImageScanRequest, ScanOutcome

Log = Callable[[str], None]


@dataclass(frozen=True)
class Comparison:
    """The blocking vulnerability ids an update removes (``fixes``) and adds (``introduces``), in the
    order the scans list them; ``error`` says why the two digests could not be compared."""

    fixes: tuple[str, ...] = ()
    introduces: tuple[str, ...] = ()
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"fixes": list(self.fixes), "introduces": list(self.introduces), "scan_error": self.error}


def compared_references(entry: OutdatedEntry) -> tuple[str, str] | None:
    """The pinned and the current reference (``name:tag@digest``) of an outdated entry; None when it is
    not one whose two digests can be compared."""
    if not entry.outdated or entry.digest is None or entry.current_digest is None:
        return None
    name = parse_reference(entry.image).name
    return f"{name}:{entry.tag}@{entry.digest}", f"{name}:{entry.tag}@{entry.current_digest}"


def check_scan_input(scan: ImageScanRequest) -> None:
    """Read the VEX and exceptions files the scans will use: bad input fails before any network work."""
    from gate.policy.vex import load_vex_files
    from gate.policy.waivers import load_exceptions

    if scan.settings.use_vex:
        load_vex_files([Path(path) for path in scan.settings.vex_files])
    if scan.gate.exceptions_file:
        load_exceptions(scan.gate.exceptions_file)


def compare_updates(
    entries: Iterable[OutdatedEntry],
    scan: ImageScanRequest,
    *,
    log: Log = ignore,
    mask: Log = ignore,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Comparison]:
    """image -> its ``Comparison``, for every outdated entry (see the module docstring)."""
    from gate.scan.stage import make_scanner, scan_image

    pairs = {entry.image: refs for entry in entries if (refs := compared_references(entry)) is not None}
    if not pairs:
        return {}
    scanner = make_scanner(scan.settings, log)
    results: dict[str, ScanOutcome | str] = {}
    with tempfile.TemporaryDirectory(prefix="image-gate-outdated-") as workdir:

        def scanned(reference: str) -> ScanOutcome | str:
            if reference not in results:
                request = replace(
                    scan,
                    settings=replace(scan.settings, image=reference),
                    sarif_output=str(Path(workdir) / f"{len(results)}.sarif"),
                )
                log(f"outdated: scanning {reference}")
                try:
                    results[reference] = scan_image(request, log=log, mask=mask, environ=environ, scanner=scanner)
                except GateError as exc:
                    results[reference] = f"{reference}: {exc.message}"
            return results[reference]

        return {image: _compare(scanned(pinned), scanned(current)) for image, (pinned, current) in pairs.items()}


def _unscanned(side: str, outcome: ScanOutcome) -> list[str]:
    """Why a platform of one side blocks on something other than a vulnerability (no SBOM, an empty or
    unverified one): its vulnerabilities were not checked, so no id can be said to be fixed or introduced."""
    return [
        f"{side} {platform.platform or 'image'}: {platform.reason}"
        for platform in outcome.gate.platforms
        if platform.reason is not None
    ]


def _compare(pinned: ScanOutcome | str, current: ScanOutcome | str) -> Comparison:
    if isinstance(pinned, str) or isinstance(current, str):
        return Comparison(error="; ".join(result for result in (pinned, current) if isinstance(result, str)))
    unscanned = _unscanned("pinned digest", pinned) + _unscanned("current digest", current)
    if unscanned:
        return Comparison(error="not compared: " + "; ".join(unscanned))
    before, after = pinned.gate.blocking_ids, current.gate.blocking_ids
    return Comparison(
        fixes=tuple(vid for vid in before if vid not in after),
        introduces=tuple(vid for vid in after if vid not in before),
    )
