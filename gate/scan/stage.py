"""The scan stage: an image in, one SARIF log (one run per platform) and a gate verdict out.

``scan_image(request)`` is the whole stage (the ``scan``, ``promote`` and ``pipeline`` commands call
it): a frozen ``ImageScanRequest`` in, a frozen ``ScanOutcome`` out, progress through ``log``; it
prints nothing and exits nothing (its step summary is ``gate.scan.summary``).

1. open the image (registry repository or ``oci:`` layout) and resolve it to its root digest;
2. find each platform's SBOM attestation (``gate.attest.lookup``: referrers API or tag fallback,
   and BuildKit in-index attestation manifests), matched by in-toto predicate type;
3. extract each BOM into a private temporary directory and run the chosen scanner
   (``gate.scanners``) on it;
4. find VEX documents among the referrers of the index and of every platform (and in-index
   attestation manifests; ``gate.attest.vex_referrers``), add ``--vex`` files, and mark the results they cover as suppressed;
5. assemble ONE SARIF log (``automationDetails.id`` ``<category>/<repository>/<platform>/``, run properties
   image, platform, digest, and imageName/imageDigest: the root reference and digest, so that
   ``evaluate`` of this SARIF names the image), validate and write it;
6. gate it (``gate.policy.verdict.evaluate``): platforms without SBOM are ``MissingSbom``, VEX suppresses,
   unchecked components block with ``fail_on_unchecked``.

``_scan_target`` is steps 2-4 over an already open ``Target`` (no files written but the BOMs).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gate.attest.lookup import (
    PlatformSbom,
    TargetFetcher,
    find_platform_sboms,
)
from gate.attest.unwrap import bom_from_attestation
from gate.attest.vex_referrers import VexDocument, find_attached_vex
from gate.errors import GateError, InputError
from gate.oci.manifest import parse_platform, platform_matches
from gate.oci.open import Access, open_target, registry_pool
from gate.oci.reference import TargetReference, parse_target_reference
from gate.oci.target import Target
from gate.outcome import ignore
from gate.policy.sarif import PlatformRun, build_sarif_log, parse_run, parse_sarif, write_sarif
from gate.policy.sarif_category import DEFAULT_SARIF_CATEGORY, analysis_path
from gate.policy.verdict import GateOptions, GateResult, MissingSbom, PlatformVerdict, evaluate
from gate.policy.vex import VexSet
from gate.policy.vex_match import load_given_vex, suppress_results
from gate.policy.waivers import ExceptionEntry, load_exceptions
from gate.sbom.bom import write_bom
from gate.sbom.components import read_inventory
from gate.sbom.predicates import parse_predicate_type
from gate.scanners.base import Scanner, ScanRequest, UncheckedComponent, get_scanner

Log = Callable[[str], None]
DEFAULT_SARIF_OUTPUT = "image-gate.sarif"
DEFAULT_PREDICATE_TYPE = "cyclonedx"
DEFAULT_SCANNER = "trivy"


@dataclass(frozen=True)
class ScanSettings:
    """What to scan and how (the scan part of a ``scan``/``pipeline`` config)."""

    image: str
    sbom_predicate_type: str = DEFAULT_PREDICATE_TYPE
    scanner: str = DEFAULT_SCANNER
    scanner_options: Mapping[str, Any] = field(default_factory=dict)
    """The scanner's own options (``gate.scanners.base.get_scanner``): trivy passthrough, or ``{"db": ...}`` for osv."""
    platforms: tuple[str, ...] = ()
    """Only these platforms (``OS/ARCH[/VARIANT]``); empty: every platform of the image."""
    vex_files: tuple[str, ...] = ()
    use_vex: bool = True
    """False (``--no-vex``): neither attached nor given VEX documents are read or applied."""
    fail_on_unchecked: bool = False
    category: str = DEFAULT_SARIF_CATEGORY
    """The prefix of each run's ``automationDetails.id`` (``--sarif-category``)."""


@dataclass(frozen=True)
class PlatformScan:
    """One scanned platform: its SBOM attestation, the BOM, the scanner's run as written in the SARIF."""

    platform: str
    digest: str
    sbom: PlatformSbom
    bom_format: str
    bom_spec_version: str
    components: int
    run: Mapping[str, Any]
    unchecked: tuple[UncheckedComponent, ...] = ()
    vex_suppressed: int = 0

    def to_json(self) -> dict[str, Any]:
        attestation = self.sbom.sbom
        return {
            "sbom_attestation": self.sbom.attestation_digest,
            "sbom_layer": self.sbom.layer_digest,
            "sbom_source": self.sbom.source,
            "sbom_predicate_type": attestation.predicate_type if attestation else None,
            "sbom_envelope": attestation.envelope if attestation else None,
            "bom_format": self.bom_format,
            "bom_spec_version": self.bom_spec_version,
            "components": self.components,
            "unchecked": len(self.unchecked),
            "vex_suppressed": self.vex_suppressed,
        }


@dataclass(frozen=True)
class ImageScan:
    """Everything the scan found before the gate judged it."""

    image: str
    """The normalised reference scanned (``host/repo:tag``, ``oci:PATH:tag``)."""
    pinned: str
    """``<name>[:tag]@<root digest>``: what the SARIF runs name as their image."""
    digest: str
    media_type: str
    predicate_type: str
    scanner: str
    scanner_version: str | None
    platforms: tuple[PlatformScan, ...]
    missing: tuple[MissingSbom, ...]
    looked_up: tuple[PlatformSbom, ...]
    vex: VexSet
    vex_documents: tuple[VexDocument, ...]
    vex_enabled: bool
    notes: tuple[str, ...]
    sarif_log: Mapping[str, Any] = field(compare=False, repr=False)

    @property
    def unchecked(self) -> tuple[tuple[str, UncheckedComponent], ...]:
        """(platform, component) for every component a scanner could not check."""
        return tuple((p.platform, c) for p in self.platforms for c in p.unchecked)


@dataclass(frozen=True)
class ScanOutcome:
    """The stage's result: the scan, the gate's verdict, and the SARIF file written."""

    scan: ImageScan
    gate: GateResult
    sarif_file: Path

    @property
    def verdict(self) -> str:
        return self.gate.verdict

    def to_json(self) -> dict[str, Any]:
        """The ``scan --json`` document: the evaluate document plus the scan's fields."""
        document = self.gate.to_json()
        scans = {(p.platform, p.digest): p for p in self.scan.platforms}
        rows = []
        for row in document["platforms"]:
            found = scans.get((row.get("platform"), row.get("digest")))
            extra = (
                found.to_json()
                if found
                else {
                    "sbom_attestation": None,
                    "sbom_layer": None,
                    "sbom_source": None,
                    "sbom_predicate_type": None,
                    "sbom_envelope": None,
                    "bom_format": None,
                    "bom_spec_version": None,
                    "components": 0,
                    "unchecked": 0,
                    "vex_suppressed": 0,
                }
            )
            rows.append({**row, **extra})
        document["platforms"] = rows
        document.update(
            image=self.scan.image,
            digest=self.scan.digest,
            method="sbom",
            media_type=self.scan.media_type,
            scanner={"name": self.scan.scanner, "version": self.scan.scanner_version},
            predicate_type=self.scan.predicate_type,
            sarif_file=str(self.sarif_file),
            unchecked_components=[
                {
                    "platform": platform,
                    "name": c.name,
                    "version": c.version,
                    "purl": c.purl,
                    "reason": c.reason,
                }
                for platform, c in self.scan.unchecked
            ],
            vex={
                "enabled": self.scan.vex_enabled,
                "statements": len(self.scan.vex),
                "documents": [d.to_json() for d in self.scan.vex_documents],
            },
            scan_notes=list(self.scan.notes),
        )
        return document


@dataclass(frozen=True)
class ImageScanRequest:
    """Everything ``scan_image`` needs: what to scan, how to reach it, how to gate it, where to write."""

    settings: ScanSettings
    gate: GateOptions = field(default_factory=GateOptions)
    access: Access = field(default_factory=Access)
    sarif_output: str = DEFAULT_SARIF_OUTPUT


def scan_image(
    request: ImageScanRequest,
    *,
    log: Log = ignore,
    mask: Log = ignore,
    environ: Mapping[str, str] | None = None,
    scanner: Scanner | None = None,
) -> ScanOutcome:
    """The whole scan stage (see the module docstring). ``scanner`` overrides the one named in settings."""
    settings = request.settings
    reference = parse_target_reference(settings.image)
    output = Path(request.sarif_output or DEFAULT_SARIF_OUTPUT)
    if output.is_dir():
        raise InputError(f"sarif_output {output} is a directory; name a file")
    # Read every input file before any network work, so bad input fails fast (exit 2).
    given_vex = load_given_vex(settings.vex_files, settings.use_vex) or VexSet()
    options = request.gate
    exceptions = load_exceptions(options.exceptions_file) if options.exceptions_file else ()
    chosen = scanner or make_scanner(settings, log)
    with registry_pool(request.access, environ=environ or {}, mask=mask, log=log) as pool:
        target = open_target(reference, pool)
        scanned = _scan_target(target, reference, settings, chosen, log=log, given_vex=given_vex)
    path = write_sarif(output, scanned.sarif_log)
    log(f"scan: wrote {path} ({len(scanned.platforms)} run(s))")
    result = _gate_scan(scanned, options, str(path), fail_on_unchecked=settings.fail_on_unchecked, exceptions=exceptions)
    return ScanOutcome(scanned, result, path)


def make_scanner(settings: ScanSettings, log: Log = ignore) -> Scanner:
    """The scanner named by ``settings.scanner`` with its options; ``log`` gets its progress."""
    return get_scanner(settings.scanner, settings.scanner_options, log=log)


def _scan_target(
    target: Target,
    reference: TargetReference,
    settings: ScanSettings,
    scanner: Scanner,
    *,
    log: Log = ignore,
    given_vex: VexSet | None = None,
) -> ImageScan:
    """Look up, extract and scan every platform's SBOM; read the image's VEX; build the SARIF log."""
    selector = parse_predicate_type(settings.sbom_predicate_type)
    wanted = [parse_platform(text) for text in settings.platforms]
    root = target.resolve(reference.reference)
    root_data = target.fetch_manifest(root.digest).data
    fetcher = TargetFetcher(target)
    log(f"scan: {reference} is {root.digest} ({root.media_type})")
    looked_up = find_platform_sboms(root, root_data, fetcher, selector)
    looked_up = _filter_platforms(looked_up, wanted, str(reference))
    image = str(reference)
    pinned = _pinned(reference, root.digest)

    notes: list[str] = []
    vex = VexSet()
    documents: list[VexDocument] = []
    if settings.use_vex:
        attached, attached_docs, vex_notes = find_attached_vex(target, root, root_data, looked_up, log=log)
        vex = attached
        documents += attached_docs
        notes += vex_notes
        if given_vex is not None and len(given_vex):
            vex = vex + given_vex
            by_source: dict[str, int] = {}
            for statement in given_vex.statements:
                by_source[statement.source] = by_source.get(statement.source, 0) + 1
            documents += [VexDocument(s, n, ("file",)) for s, n in by_source.items()]
    else:
        notes.append("VEX disabled (--no-vex): no VEX statement was read or applied.")

    platform_runs: list[PlatformRun] = []
    scans: list[tuple[PlatformSbom, str, str, int, tuple[UncheckedComponent, ...]]] = []
    missing: list[MissingSbom] = []
    version: str | None = None
    with tempfile.TemporaryDirectory(prefix="image-gate-sbom-") as workdir:
        for number, entry in enumerate(looked_up):
            if entry.sbom is None:
                reason = entry.reason_missing or "no SBOM attestation"
                log(f"scan: {entry.platform} ({entry.digest}): no SBOM: {reason}")
                missing.append(MissingSbom(entry.platform, entry.digest, reason))
                continue
            bom = bom_from_attestation(entry.sbom)
            safe = re.sub(r"[^A-Za-z0-9]+", "-", entry.platform).strip("-") or "platform"
            bom_path = write_bom(bom, Path(workdir) / f"{number}-{safe}{bom.suffix}")
            log(
                f"scan: {entry.platform}: {bom.format} {bom.spec_version} SBOM ({bom.package_count} component(s)) "
                f"from {entry.source} {entry.attestation_digest}; scanning with {scanner.name}"
            )
            result = scanner.scan(ScanRequest(bom_path, bom.format, pinned, entry.platform, entry.digest))
            version = version or result.scanner_version
            run = json.loads(json.dumps(result.run))
            _add_purls(run, bom_path, bom.format)
            attestation = entry.sbom
            platform_runs.append(
                PlatformRun(
                    run=run,
                    image=pinned,
                    platform=entry.platform,
                    digest=entry.digest,
                    image_name=pinned,
                    image_digest=root.digest,
                    extra_properties={
                        "sbom": True,
                        "sbomAttestation": entry.attestation_digest,
                        "sbomLayer": entry.layer_digest,
                        "sbomSource": entry.source,
                        "sbomPredicateType": attestation.predicate_type,
                        "bomFormat": bom.format,
                        "scanner": result.scanner,
                        "scannerVersion": result.scanner_version,
                    },
                )
            )
            scans.append((entry, bom.format, bom.spec_version, bom.package_count, tuple(result.unchecked)))

    log_document = build_sarif_log(platform_runs, repository=analysis_path(reference), category=settings.category)
    suppressed_counts = []
    for index, run in enumerate(log_document["runs"]):
        count = suppress_results(run, parse_run(run, source="scan", index=index).findings, vex) if len(vex) else 0
        suppressed_counts.append(count)
    platforms = tuple(
        PlatformScan(entry.platform, entry.digest, entry, fmt, spec, count, log_document["runs"][i], unchecked, sup)
        for i, ((entry, fmt, spec, count, unchecked), sup) in enumerate(zip(scans, suppressed_counts, strict=True))
    )
    return ImageScan(
        image=image,
        pinned=pinned,
        digest=root.digest,
        media_type=root.media_type,
        predicate_type=str(selector),
        scanner=scanner.name,
        scanner_version=version,
        platforms=platforms,
        missing=tuple(missing),
        looked_up=looked_up,
        vex=vex,
        vex_documents=tuple(documents),
        vex_enabled=settings.use_vex,
        notes=tuple(notes),
        sarif_log=log_document,
    )


def _gate_scan(
    scanned: ImageScan,
    options: GateOptions,
    sarif_source: str,
    *,
    fail_on_unchecked: bool = False,
    exceptions: Sequence[ExceptionEntry] | None = None,
) -> GateResult:
    """Judge the scan: the SARIF runs, missing SBOMs, VEX, and (with fail_on_unchecked) unchecked components."""
    runs = parse_sarif(scanned.sarif_log, sarif_source, validate=False)
    result = evaluate(runs, options, missing_sbom=scanned.missing, exceptions=exceptions, vex=scanned.vex)
    return _apply_unchecked(result, scanned, fail_on_unchecked)


def _apply_unchecked(result: GateResult, scanned: ImageScan, fail_on_unchecked: bool) -> GateResult:
    """With ``fail_on_unchecked``, every platform with unchecked components fails (with the reason)."""
    unchecked = {p.platform: len(p.unchecked) for p in scanned.platforms if p.unchecked}
    if not unchecked:
        return result
    total = sum(unchecked.values())
    if not fail_on_unchecked:
        note = f"{total} component(s) could not be checked by the scanner (see unchecked_components)."
        return replace(result, notes=(*result.notes, note))
    rows: list[PlatformVerdict] = []
    for row in result.platforms:
        count = unchecked.get(row.platform or "")
        if count and row.reason is None:
            row = replace(row, reason=f"{count} unchecked component(s) (fail_on_unchecked)")
        rows.append(row)
    note = f"{total} component(s) could not be checked by the scanner and block (fail_on_unchecked)."
    return replace(result, verdict="fail", platforms=tuple(rows), notes=(*result.notes, note))


def _filter_platforms(found: Sequence[PlatformSbom], wanted: Sequence[Any], image: str) -> tuple[PlatformSbom, ...]:
    if not wanted:
        return tuple(found)
    kept: list[PlatformSbom] = []
    for platform in wanted:
        matches = [
            e for e in found if _parsed(e.platform) is not None and platform_matches(platform, _parsed(e.platform))
        ]
        if not matches:
            have = ", ".join(e.platform for e in found) or "none"
            raise InputError(f"platform {platform} is not in {image} (it has: {have})")
        kept += [m for m in matches if m not in kept]
    return tuple(kept)


def _parsed(text: str) -> Any:
    try:
        return parse_platform(text)
    except InputError:
        return None


def _pinned(reference: TargetReference, digest: str) -> str:
    tag = reference.tag
    return f"{reference.name}:{tag}@{digest}" if tag else f"{reference.name}@{digest}"


def _add_purls(run: dict[str, Any], bom_path: Path, bom_format: str) -> None:
    """Give each result without a ``purl`` property the purl of its package, when the BOM names one unambiguously."""
    results = run.get("results")
    if not isinstance(results, list) or not results:
        return
    try:
        inventory = read_inventory(bom_path, bom_format)
        findings = parse_run(run, source="scanner", index=0).findings
    except GateError:
        return
    purls: dict[tuple[str, str | None], set[str]] = {}
    for component in inventory.components:
        if component.purl:
            purls.setdefault((component.name, component.version), set()).add(component.purl)
    for finding in findings:
        if finding.purl or not finding.package:
            continue
        candidates = purls.get((finding.package, finding.installed), set())
        match = re.search(r"\.results\[(\d+)\]$", finding.path)
        if len(candidates) != 1 or not match:
            continue
        result = results[int(match.group(1))]
        if isinstance(result, dict):
            properties = dict(result.get("properties") or {})
            properties["purl"] = next(iter(candidates))
            result["properties"] = properties
