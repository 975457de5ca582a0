"""The scan stage: an image in, one SARIF log (one run per platform) and a gate verdict out.

``scan_image(request)`` is the whole stage (the ``scan``, ``promote`` and ``pipeline`` commands call
it): a frozen ``ImageScanRequest`` in, a frozen ``ScanOutcome`` out, progress through ``log``; it
prints nothing and exits nothing (its step summary is ``gate.scan.summary``).

1. open the image (registry repository or ``oci:`` layout) and resolve it to its root digest;
2. find each platform's SBOM attestation (``gate.attest.lookup``: referrers API or tag fallback,
   and BuildKit in-index attestation manifests), matched by in-toto predicate type;
3. extract each BOM into a private temporary directory and run the chosen scanner
   (``gate.scanners``) on it;
4. find VEX documents among the referrers and ``.att`` tags of the index and of every platform (and in-index
   attestation manifests; ``gate.attest.vex_referrers``; in verified mode only signed ones count), add ``--vex``
   files (which win over attached ones), and mark the results they cover as suppressed;
5. assemble ONE SARIF log (``automationDetails.id`` ``<category>/<repository>/<platform>/``, run properties
   image, platform, digest, and imageName/imageDigest: the root reference and digest, so that
   ``evaluate`` of this SARIF names the image), validate and write it;
6. gate it (``gate.policy.verdict.evaluate``): platforms without SBOM are ``MissingSbom``, VEX suppresses,
   unchecked components block with ``fail_on_unchecked``.

``_scan_target`` is steps 2-4 over an already open ``Target`` (no files written but the BOMs).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gate.attest.lookup import (
    LeftOut,
    PlatformSbom,
    TargetFetcher,
    find_platform_sboms,
)
from gate.attest.verify.policy import Verification, VerificationPolicy
from gate.attest.vex_referrers import VexDocument, find_attached_vex
from gate.errors import InputError
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
from gate.sbom.predicates import parse_predicate_type
from gate.scan.defaults import DEFAULT_PREDICATE_TYPE, DEFAULT_SARIF_OUTPUT, DEFAULT_SBOM_FALLBACK, DEFAULT_SCANNER
from gate.scan.layers import LAYERS_SOURCE, LayerFallback
from gate.scan.sboms import SBOMS_PROPERTY, ScannedSbom, merge_runs, scan_sboms
from gate.scanners.base import Scanner, UncheckedComponent, get_scanner

Log = Callable[[str], None]


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
    attached_vex: bool = True
    """False (``--no-attached-vex``): VEX attached to the image is not read; the ``--vex`` files still apply."""
    fail_on_unchecked: bool = False
    allow_empty_sbom: bool = False
    """An SBOM with no components does not block its platform (``--allow-empty-sbom``)."""
    verification: VerificationPolicy = field(default_factory=VerificationPolicy)
    """Who may sign the SBOMs and VEX used; empty: verified mode off (``gate.options.trust``)."""
    category: str = DEFAULT_SARIF_CATEGORY
    """The prefix of each run's ``automationDetails.id`` (``--sarif-category``)."""
    sbom_fallback: str = DEFAULT_SBOM_FALLBACK
    """``layers``: a platform without SBOM is inventoried from its layers (``gate.scan.layers``)."""
    trivy_options: Mapping[str, Any] = field(default_factory=dict)
    """Trivy's options for that inventory (Trivy makes it whatever the scanner)."""


@dataclass(frozen=True)
class PlatformScan:
    """One scanned platform: its SBOMs (each scanned, ``gate.scan.sboms``) and their merged run as written
    in the SARIF."""

    platform: str
    digest: str
    sbom: PlatformSbom
    sboms: tuple[ScannedSbom, ...]
    run: Mapping[str, Any]
    vex_suppressed: int = 0

    @property
    def bom_format(self) -> str:
        return self.sboms[0].bom_format

    @property
    def bom_spec_version(self) -> str:
        return self.sboms[0].bom_spec_version

    @property
    def unchecked(self) -> tuple[UncheckedComponent, ...]:
        """Every SBOM's unchecked components, each (name, version, purl, reason) once."""
        return tuple(dict.fromkeys(item for scanned in self.sboms for item in scanned.unchecked))

    @property
    def components(self) -> int:
        """Components of every SBOM scanned (one package listed by two SBOMs counts twice)."""
        return sum(scanned.components for scanned in self.sboms)

    @property
    def empty(self) -> tuple[ScannedSbom, ...]:
        """The SBOMs that list no component at all."""
        return tuple(scanned for scanned in self.sboms if scanned.empty)

    def to_json(self) -> dict[str, Any]:
        attestation = self.sbom.sbom
        return {
            "sbom_attestation": self.sbom.attestation_digest or None,  # none for an inventory of the layers
            "sbom_layer": self.sbom.layer_digest or None,
            "sbom_source": self.sbom.source,
            "sbom_predicate_type": attestation.predicate_type if attestation else None,
            "sbom_envelope": attestation.envelope if attestation else None,
            "sbom_subject": self.sbom.subject,
            "sbom_verified": self.sbom.verified,
            "sbom_signer": ", ".join(self.sbom.signers) or None,
            "sboms": [scanned.to_json() for scanned in self.sboms],
            "bom_format": self.bom_format,
            "bom_spec_version": self.bom_spec_version,
            "components": self.components,
            "empty_sboms": len(self.empty),
            "unchecked": len(self.unchecked),
            "vex_suppressed": self.vex_suppressed,
        }


_NO_SBOM_ROW: Mapping[str, Any] = {
    "sbom_attestation": None,
    "sbom_layer": None,
    "sbom_source": None,
    "sbom_predicate_type": None,
    "sbom_envelope": None,
    "sbom_subject": None,
    "sbom_verified": False,
    "sbom_signer": None,
    "sboms": [],
    "bom_format": None,
    "bom_spec_version": None,
    "components": 0,
    "empty_sboms": 0,
    "unchecked": 0,
    "vex_suppressed": 0,
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
    verification: VerificationPolicy = field(default_factory=VerificationPolicy)
    """The policy the attestations were checked under (verified mode when enabled)."""
    left_out: tuple[LeftOut, ...] = ()
    """Verified mode: the SBOM and VEX attestations found and left out of the verdict, with why."""
    index_signature: Verification | None = None
    """Verified mode, when in-index attestations were looked at: whether the index is signed."""

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
            rows.append({**row, **(found.to_json() if found else _NO_SBOM_ROW)})
        document["platforms"] = rows
        for key, judged in (("blocking", self.gate.blocking), ("excepted", self.gate.excepted)):
            for entry, item in zip(document[key], judged, strict=True):
                entry["sboms"] = _finding_sboms(self.scan.sarif_log, item.finding.path)
        for entry, item in zip(document["suppressed"], self.gate.suppressed, strict=True):
            entry["sboms"] = _finding_sboms(self.scan.sarif_log, item.finding.path)
        document.update(
            image=self.scan.image,
            digest=self.scan.digest,
            method="image" if any(p.sbom.source == LAYERS_SOURCE for p in self.scan.platforms) else "sbom",
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
            attestations_verified=self.scan.verification.enabled,
            verification=_verification_json(self.scan),
            unverified_attestations=[item.to_json() for item in self.scan.left_out],
        )
        return document


@dataclass(frozen=True)
class ImageScanRequest:
    """Everything ``scan_image`` needs: what to scan, how to reach it, how to gate it, where to write."""

    settings: ScanSettings
    gate: GateOptions = field(default_factory=GateOptions)
    access: Access = field(default_factory=Access)
    sarif_output: str = DEFAULT_SARIF_OUTPUT
    accepted: tuple[ExceptionEntry, ...] = ()
    """Exceptions beside the exceptions file's: the CVEs a maintainer's override accepted (``gate.github``)."""


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
    exceptions = (*(load_exceptions(options.exceptions_file) if options.exceptions_file else ()), *request.accepted)
    chosen = scanner or make_scanner(settings, log)
    with registry_pool(request.access, environ=environ or {}, mask=mask, log=log) as pool:
        target = open_target(reference, pool)
        scanned = _scan_target(target, reference, settings, chosen, log=log, given_vex=given_vex)
    path = write_sarif(output, scanned.sarif_log)
    log(f"scan: wrote {path} ({len(scanned.platforms)} run(s))")
    result = _gate_scan(
        scanned,
        options,
        str(path),
        fail_on_unchecked=settings.fail_on_unchecked,
        allow_empty_sbom=settings.allow_empty_sbom,
        exceptions=exceptions,
    )
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
    lookup = find_platform_sboms(root, root_data, fetcher, selector, settings.verification)
    looked_up = _filter_platforms(lookup.platforms, wanted, str(reference))
    kept = {entry.digest for entry in looked_up}
    left_out = tuple(item for item in lookup.left_out if item.platform is None or item.subject in kept)
    for item in left_out:
        log(
            f"scan: left out {item.predicate_type} attestation {item.digest} for {item.platform or 'the index'}: "
            f"{item.reason}: {item.detail}"
        )
    image = str(reference)
    pinned = _pinned(reference, root.digest)

    notes: list[str] = []
    vex = VexSet()
    documents: list[VexDocument] = []
    if settings.use_vex and settings.attached_vex:
        attached = find_attached_vex(
            target, root, root_data, looked_up, policy=settings.verification,
            index_verification=lookup.index_signature, fetcher=fetcher, log=log,
        )  # fmt: skip
        vex = attached.statements
        documents += attached.documents
        notes += attached.notes
        left_out += attached.left_out
    elif settings.use_vex:
        notes.append("Attached VEX not read (--no-attached-vex): only the --vex files were applied.")
    else:
        notes.append("VEX disabled (--no-vex): no VEX statement was read or applied.")
    if given_vex is not None and len(given_vex):
        vex = vex + given_vex
        by_source: dict[str, int] = {}
        for statement in given_vex.statements:
            by_source[statement.source] = by_source.get(statement.source, 0) + 1
        documents += [VexDocument(s, n, ("file",)) for s, n in by_source.items()]

    platform_runs: list[PlatformRun] = []
    scans: list[tuple[PlatformSbom, tuple[ScannedSbom, ...]]] = []
    missing: list[MissingSbom] = []
    version: str | None = None
    with (
        tempfile.TemporaryDirectory(prefix="image-gate-sbom-") as workdir,
        LayerFallback(
            target, Path(workdir), enabled=settings.sbom_fallback == "layers", trivy_options=settings.trivy_options,
            platforms=looked_up, log=log,
        ) as fallback,
    ):  # fmt: skip
        for number, entry in enumerate(looked_up):
            from_layers = fallback.inventory(entry, number)
            if from_layers is not None:
                entry = from_layers.entry
            elif not entry.sboms:
                reason = entry.reason_missing or "no SBOM attestation"
                log(f"scan: {entry.platform} ({entry.digest}): no SBOM: {reason}")
                missing.append(MissingSbom(entry.platform, entry.digest, reason, entry.none_verified))
                continue
            safe = re.sub(r"[^A-Za-z0-9]+", "-", entry.platform).strip("-") or "platform"
            folder = Path(workdir) / f"{number}-{safe}"
            folder.mkdir(mode=0o700)
            scanned = scan_sboms(entry, scanner, folder, pinned, log)
            version = version or scanned[0].scanner_version
            platform_runs.append(
                PlatformRun(
                    run=merge_runs(scanned),
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
                        "sbomPredicateType": entry.sbom.predicate_type if entry.sbom else None,
                        SBOMS_PROPERTY: [item.found.attestation_digest for item in scanned],
                        "sbomSubject": entry.subject,
                        "sbomVerified": entry.verified,
                        "sbomSigner": ", ".join(entry.signers) or None,
                        "bomFormat": scanned[0].bom_format,
                        "scanner": scanner.name,
                        "scannerVersion": scanned[0].scanner_version,
                    },
                )
            )
            scans.append((entry, scanned))
    if missing and settings.sbom_fallback != "layers":
        notes.append(
            f"No SBOM for {', '.join(m.platform for m in missing)}: sbom_fallback layers (--sbom-fallback layers) "
            "would inventory such a platform from its layers and scan that."
        )
    layered = [entry.platform for entry, *_ in scans if entry.source == LAYERS_SOURCE]
    if layered:
        notes.append(
            f"No SBOM, so inventoried from the image's layers by Trivy (sbom_fallback layers): {', '.join(layered)}."
        )

    log_document = build_sarif_log(platform_runs, repository=analysis_path(reference), category=settings.category)
    suppressed_counts = []
    for index, run in enumerate(log_document["runs"]):
        count = suppress_results(run, parse_run(run, source="scan", index=index).findings, vex) if len(vex) else 0
        suppressed_counts.append(count)
    platforms = tuple(
        PlatformScan(entry.platform, entry.digest, entry, scanned, log_document["runs"][i], sup)
        for i, ((entry, scanned), sup) in enumerate(zip(scans, suppressed_counts, strict=True))
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
        verification=settings.verification,
        left_out=left_out,
        index_signature=lookup.index_signature,
    )


def _gate_scan(
    scanned: ImageScan,
    options: GateOptions,
    sarif_source: str,
    *,
    fail_on_unchecked: bool = False,
    allow_empty_sbom: bool = False,
    exceptions: Sequence[ExceptionEntry] | None = None,
) -> GateResult:
    """Judge the scan: the SARIF runs, missing SBOMs, VEX, empty and unverified SBOMs, and (with
    fail_on_unchecked) unchecked components."""
    runs = parse_sarif(scanned.sarif_log, sarif_source, validate=False)
    result = evaluate(runs, options, missing_sbom=scanned.missing, exceptions=exceptions, vex=scanned.vex)
    result = _apply_sbom_blocks(result, scanned, allow_empty_sbom)
    return _apply_unchecked(result, scanned, fail_on_unchecked)


def _apply_sbom_blocks(result: GateResult, scanned: ImageScan, allow_empty_sbom: bool) -> GateResult:
    """A platform blocks on an SBOM that lists no component (unless ``allow_empty_sbom``) and, in verified mode,
    when SBOMs were found for it and none verified (even with ``allow_missing_sbom``: that is not a missing SBOM)."""
    blocks: dict[str, str] = {}
    notes: list[str] = []
    for platform in scanned.platforms:
        if not platform.empty:
            continue
        names = ", ".join(item.found.attestation_digest or item.found.source for item in platform.empty)
        if allow_empty_sbom:
            notes.append(f"{platform.platform}: empty SBOM {names} allowed (allow_empty_sbom): it checks nothing.")
        else:
            blocks[platform.platform] = f"empty SBOM: {names} lists no components (allow_empty_sbom lets it pass)"
    if scanned.verification.enabled:
        for missing in scanned.missing:
            if missing.none_verified:
                blocks.setdefault(missing.platform, f"no SBOM: {missing.reason}")
    if not blocks:
        return replace(result, notes=(*result.notes, *notes)) if notes else result
    rows = tuple(
        replace(row, reason=blocks[row.platform or ""]) if row.reason is None and row.platform in blocks else row
        for row in result.platforms
    )
    return replace(result, verdict="fail", platforms=rows, notes=(*result.notes, *notes))


def _finding_sboms(log_document: Mapping[str, Any], path: str) -> list[str]:
    """The SBOMs (attestation digests) a finding was found in, from its SARIF result's properties."""
    match = re.search(r"\.runs\[(\d+)\]\.results\[(\d+)\]$", path)
    if match is None:
        return []
    try:
        result = log_document["runs"][int(match.group(1))]["results"][int(match.group(2))]
    except (KeyError, IndexError, TypeError):
        return []
    named = (result.get("properties") or {}).get(SBOMS_PROPERTY) if isinstance(result, dict) else None
    return [digest for digest in named if isinstance(digest, str)] if isinstance(named, list) else []


def _verification_json(scanned: ImageScan) -> dict[str, Any]:
    """The JSON ``verification`` object: the policy, and the index's signature when it was checked."""
    policy = scanned.verification
    signature = scanned.index_signature
    return {
        "enabled": policy.enabled,
        "keys": [key.fingerprint for key in policy.keys],
        "certificate_identity": policy.identity or policy.identity_regexp,
        "certificate_oidc_issuer": policy.issuer or policy.issuer_regexp,
        "trusted_root": policy.trusted_root_path if policy.keyless or policy.trusted_root_path else None,
        "insecure_ignore_tlog": policy.insecure_ignore_tlog,
        "index_signature": None
        if signature is None
        else {
            "verified": signature.verified,
            "signer": signature.signer or None,
            "reason": str(signature.reason) if signature.reason else None,
            "detail": signature.detail or None,
        },
    }


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
