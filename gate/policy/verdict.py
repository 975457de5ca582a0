"""The gate's policy: severity threshold (parsed by ``gate.policy.severity``), severity source, exceptions,
and the verdict.

``evaluate(runs, options, missing_sbom=...)`` judges the findings of every SARIF run (all
platforms, all files) and returns a frozen ``GateResult``; ``GateResult.to_json()`` is the
``--json`` document of ``evaluate`` (and of the gate part of ``scan``/``pipeline``).

The options that fill ``GateOptions`` (``--severity-threshold``, ``--exceptions``, ...) are declared
in ``gate.options.policy``.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

from gate.policy.sarif import SarifFinding, SarifRun
from gate.policy.severity import SEVERITIES, Severity, Threshold, band, parse_threshold
from gate.policy.vex import VexSet, VexStatement
from gate.policy.vex_match import statement_for
from gate.policy.waivers import ExceptionEntry, load_exceptions

SeveritySource = Literal["cvss", "label"]

# One annotation per blocking finding, up to this many (GitHub shows few per step anyway).
MAX_ANNOTATIONS = 50


@dataclass(frozen=True)
class GateOptions:
    """The gate's options, shared by ``evaluate``, ``scan`` and ``pipeline``."""

    severity_threshold: str = "high"
    severity_source: str = "cvss"
    exceptions_file: str | None = None
    ignore_unfixed: bool = False
    allow_missing_sbom: bool = False

    @classmethod
    def from_config(cls, config: Any) -> GateOptions:
        """The gate options of any command config that has these fields (``gate.options.policy.GateFields``)."""
        return cls(**{option.name: getattr(config, option.name) for option in fields(cls)})

    @property
    def threshold(self) -> Threshold:
        return parse_threshold(self.severity_threshold)


@dataclass(frozen=True)
class MissingSbom:
    """A platform the scan found no SBOM for (the scan stage reports these)."""

    platform: str
    digest: str | None
    reason: str
    none_verified: bool = False
    """Verified mode: SBOM attestations were found for it and none verified (it blocks, even when missing
    SBOMs are allowed)."""


@dataclass(frozen=True)
class Judged:
    """A finding with the severity the gate gave it."""

    finding: SarifFinding
    severity: Severity
    rated_by: SeveritySource
    exception: ExceptionEntry | None = None
    vex: VexStatement | None = None
    """The VEX statement that suppressed this finding (``evaluate(..., vex=...)``)."""

    def suppressed_json(self) -> dict[str, Any]:
        """An entry of ``suppressed``: the finding plus status, justification and source of its suppression.

        ``source`` is the VEX document (file, or ``<image>@<referrer digest>``) for a VEX suppression,
        the SARIF file for a suppression the scanner wrote; ``sarif_source`` is always the SARIF file.
        A VEX suppression also says where its statement came from (``vex_origin``: ``file``, the
        operator's, or ``attached`` to the image) and, when attached, whether its signature was verified
        (``vex_verified``; null for a file).
        """
        data = self.to_json()
        data["sarif_source"] = self.finding.source
        if self.vex is not None:
            data.update(
                status=self.vex.status,
                justification=self.vex.justification,
                impact=self.vex.impact,
                source=self.vex.source,
                suppressed_by="vex",
                vex_format=self.vex.format,
                vex_origin=self.vex.origin,
                vex_verified=self.vex.verified,
            )
        else:
            data.update(status="accepted", justification=None, impact=None, suppressed_by="sarif")
        return data

    def to_json(self) -> dict[str, Any]:
        f = self.finding
        data: dict[str, Any] = {
            "id": f.id,
            "severity": self.severity,
            "score": f.score,
            "package": f.package,
            "installed": f.installed,
            "fixed": f.fixed,
            "platform": f.platform,
            "aliases": list(f.aliases),
            "kind": f.kind,
            "rated_by": self.rated_by,
            "title": f.title,
            "location": f.location,
            "source": f.source,
        }
        if self.exception is not None:
            data["exception"] = {
                "id": self.exception.id,
                "reason": self.exception.reason,
                "where": self.exception.where,
            }
        return data


@dataclass(frozen=True)
class PlatformVerdict:
    """One row of the per-platform table."""

    platform: str | None
    digest: str | None
    sbom: bool | None
    findings: int
    blocking: int
    blocking_ids: tuple[str, ...]
    sources: tuple[str, ...]
    reason: str | None = None

    @property
    def passed(self) -> bool:
        return self.blocking == 0 and self.reason is None

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "digest": self.digest,
            "sbom": self.sbom,
            "findings": self.findings,
            "blocking": self.blocking,
            "blocking_ids": list(self.blocking_ids),
            "verdict": "pass" if self.passed else "fail",
            "reason": self.reason,
            "sources": list(self.sources),
        }


@dataclass(frozen=True)
class GateResult:
    """Everything the gate decided; ``to_json()`` is the documented JSON contract."""

    verdict: Literal["pass", "fail"]
    threshold: str
    severity_source: SeveritySource
    counts: Mapping[str, int]
    blocking: tuple[Judged, ...]
    excepted: tuple[Judged, ...]
    suppressed: tuple[Judged, ...]
    unfixed_ignored: tuple[Judged, ...]
    expired_exceptions: tuple[ExceptionEntry, ...]
    stale_exceptions: tuple[ExceptionEntry, ...]
    platforms: tuple[PlatformVerdict, ...]
    notes: tuple[str, ...]
    ignore_unfixed: bool
    allow_missing_sbom: bool

    @property
    def blocking_ids(self) -> tuple[str, ...]:
        """The distinct ids of blocking findings, in order of appearance."""
        return tuple(dict.fromkeys(j.finding.id for j in self.blocking))

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "threshold": self.threshold,
            "severity_source": self.severity_source,
            "counts": dict(self.counts),
            "blocking": [j.to_json() for j in self.blocking],
            "excepted": [j.to_json() for j in self.excepted],
            "expired_exceptions": [e.to_json() for e in self.expired_exceptions],
            "stale_exceptions": [e.to_json() for e in self.stale_exceptions],
            "platforms": [p.to_json() for p in self.platforms],
            "suppressed": [j.suppressed_json() for j in self.suppressed],
            "unfixed_ignored": len(self.unfixed_ignored),
            "ignore_unfixed": self.ignore_unfixed,
            "allow_missing_sbom": self.allow_missing_sbom,
            "notes": list(self.notes),
        }


def rate(finding: SarifFinding, source: SeveritySource) -> tuple[Severity, SeveritySource]:
    """The severity of a finding and the source that gave it (falling back when one is missing).

    Secrets and misconfigurations are always rated by their label: their ``security-severity``
    is the scanner's stand-in for the label, not a CVSS score.
    """
    if finding.kind in ("secret", "misconfiguration"):
        return finding.label, "label"
    if source == "cvss":
        if finding.score is not None:
            return band(finding.score), "cvss"
        return finding.label, "label"
    if finding.label_origin != "default" or finding.score is None:
        return finding.label, "label"
    return band(finding.score), "cvss"


def _matches(entry: ExceptionEntry, finding: SarifFinding) -> bool:
    if entry.id.upper() not in finding.ids():
        return False
    if entry.images and not (finding.image and any(fnmatch.fnmatchcase(finding.image, g) for g in entry.images)):
        return False
    return not entry.packages or bool(
        finding.package and any(fnmatch.fnmatchcase(finding.package, g) for g in entry.packages)
    )


def _exception_index(entries: Iterable[ExceptionEntry]) -> dict[str, list[ExceptionEntry]]:
    index: dict[str, list[ExceptionEntry]] = {}
    for entry in entries:
        index.setdefault(entry.id.upper(), []).append(entry)
    return index


def evaluate(
    runs: Sequence[SarifRun],
    options: GateOptions,
    *,
    missing_sbom: Sequence[MissingSbom] = (),
    exceptions: Sequence[ExceptionEntry] | None = None,
    today: dt.date | None = None,
    vex: VexSet | None = None,
) -> GateResult:
    """Judge every finding of every run; the verdict fails on any blocking finding or missing SBOM.

    ``exceptions`` defaults to the file named by ``options.exceptions_file`` (none when unset).
    ``today`` (UTC) decides which exceptions have expired. ``vex``: a vulnerability with a
    ``not_affected``/``fixed`` statement for its image or package is suppressed (listed under
    ``suppressed`` whatever its severity, counted, never blocking).
    """

    threshold = options.threshold
    source: SeveritySource = "label" if options.severity_source == "label" else "cvss"
    if exceptions is None:
        exceptions = load_exceptions(options.exceptions_file) if options.exceptions_file else ()
    today = today or dt.datetime.now(dt.UTC).date()
    expired = tuple(e for e in exceptions if e.expired(today))
    active = [e for e in exceptions if not e.expired(today)]
    index = _exception_index(active)
    used: set[int] = set()

    counts: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
    blocking: list[Judged] = []
    excepted: list[Judged] = []
    suppressed: list[Judged] = []
    unfixed: list[Judged] = []
    fell_back = {"cvss": 0, "label": 0}
    label_only_kinds = 0
    rows: dict[str, dict[str, Any]] = {}
    seen_blocking: set[tuple[Any, ...]] = set()

    for run in runs:
        key = f"platform:{run.platform}" if run.platform else f"run:{run.source}#{run.index}"
        row = rows.setdefault(
            key,
            {"platform": run.platform, "digest": run.digest, "sbom": run.sbom, "findings": 0, "ids": [], "sources": []},
        )
        row["digest"] = row["digest"] or run.digest
        row["sources"].append(f"{run.source}#{run.index}")
        for finding in run.findings:
            severity, rated_by = rate(finding, source)
            counts[severity] += 1
            if finding.kind in ("secret", "misconfiguration"):
                label_only_kinds += 1
            elif rated_by != source:
                fell_back[source] += 1
            statement = statement_for(vex, finding, run.digest) if vex is not None else None
            if statement is not None:
                if index:  # an exception for a finding VEX already suppresses is not stale
                    for entry in _candidates(index, finding):
                        if _matches(entry, finding):
                            used.add(id(entry))
                suppressed.append(Judged(finding, severity, rated_by, vex=statement))
                continue
            if not threshold.admits(severity, finding.score if rated_by == "cvss" else None):
                if index:  # an exception that matches a finding below the threshold is not stale
                    for entry in _candidates(index, finding):
                        if _matches(entry, finding):
                            used.add(id(entry))
                continue
            row["findings"] += 1
            judged = Judged(finding, severity, rated_by)
            match = next((e for e in _candidates(index, finding) if _matches(e, finding)), None) if index else None
            if match is not None:
                for entry in _candidates(index, finding):
                    if _matches(entry, finding):
                        used.add(id(entry))
                excepted.append(Judged(finding, severity, rated_by, match))
                continue
            if finding.suppressed:
                suppressed.append(judged)
                continue
            if options.ignore_unfixed and finding.kind == "vulnerability" and not finding.fixed:
                unfixed.append(judged)
                continue
            identity = (finding.id, finding.package, finding.installed, finding.platform, finding.location)
            if identity in seen_blocking:
                continue
            seen_blocking.add(identity)
            blocking.append(judged)
            row["ids"].append(finding.id)

    platforms = [
        PlatformVerdict(
            platform=row["platform"],
            digest=row["digest"],
            sbom=row["sbom"],
            findings=row["findings"],
            blocking=len(row["ids"]),
            blocking_ids=tuple(dict.fromkeys(row["ids"])),
            sources=tuple(row["sources"]),
        )
        for row in rows.values()
    ]
    for missing in missing_sbom:
        platforms.append(
            PlatformVerdict(
                platform=missing.platform,
                digest=missing.digest,
                sbom=False,
                findings=0,
                blocking=0,
                blocking_ids=(),
                sources=(),
                reason=None if options.allow_missing_sbom else f"no SBOM: {missing.reason}",
            )
        )

    notes: list[str] = []
    if fell_back["cvss"]:
        notes.append(
            f"{fell_back['cvss']} finding(s) had no CVSS security-severity; rated by the scanner's label instead."
        )
    if fell_back["label"]:
        notes.append(f"{fell_back['label']} finding(s) had no severity label; rated by their CVSS score instead.")
    if label_only_kinds:
        notes.append(f"{label_only_kinds} secret/misconfiguration finding(s) rated by the scanner's label (no CVSS).")
    if missing_sbom and options.allow_missing_sbom:
        notes.append(f"{len(missing_sbom)} platform(s) without an SBOM were allowed (allow_missing_sbom).")
    if unfixed:
        notes.append(f"{len(unfixed)} finding(s) at or above the threshold have no fixed version and were ignored.")
    if not runs and not missing_sbom:
        notes.append("No SARIF runs were given: nothing was evaluated.")

    stale = tuple(e for e in active if id(e) not in used)
    failed = bool(blocking) or any(p.reason for p in platforms)
    return GateResult(
        verdict="fail" if failed else "pass",
        threshold=threshold.text,
        severity_source=source,
        counts=counts,
        blocking=tuple(blocking),
        excepted=tuple(excepted),
        suppressed=tuple(suppressed),
        unfixed_ignored=tuple(unfixed),
        expired_exceptions=expired,
        stale_exceptions=stale,
        platforms=tuple(platforms),
        notes=tuple(notes),
        ignore_unfixed=options.ignore_unfixed,
        allow_missing_sbom=options.allow_missing_sbom,
    )


def _candidates(index: Mapping[str, list[ExceptionEntry]], finding: SarifFinding) -> list[ExceptionEntry]:
    found: list[ExceptionEntry] = []
    for identifier in finding.ids():
        found += index.get(identifier, ())
    return found
