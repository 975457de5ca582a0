"""``scanner: osv``: match an SBOM's components against an offline OSV database, SARIF like Trivy's.

One rule per vulnerability (records merged through their aliases, so a GHSA and its CVE are one
finding, named by the CVE as Trivy does), ``security-severity`` and tags ``["vulnerability",
"security", "<SEVERITY>"]``; one result per (vulnerability, package, version) whose message
carries ``Package``, ``Installed Version``, ``Vulnerability``, ``Severity``, ``Fixed Version``
and ``Link`` lines, and whose properties carry the same data structured. Components that cannot
be checked are returned in ``ScanResult.unchecked``, never silently passed: no purl, an unsupported
ecosystem, an unparseable version, or an ecosystem (or distribution release) the database holds no
advisory for ("no advisories for npm in the database").
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from gate.errors import InputError
from gate.outcome import ignore
from gate.policy.sarif import gc_paused
from gate.sbom.components import Component, Inventory, read_inventory
from gate.scanners.base import Log, ScanRequest, ScanResult, UncheckedComponent
from gate.scanners.osv import ecosystems, versions
from gate.scanners.osv.db import DownloadLimits, OsvDatabase
from gate.scanners.osv.severity import RecordSeverity, severity_of

LEVELS = {"CRITICAL": "error", "HIGH": "error", "MEDIUM": "warning", "LOW": "note", "UNKNOWN": "note"}
_OS_FAMILIES = frozenset(
    {"Alpine", "Wolfi", "Chainguard", "Debian", "Ubuntu", "AlmaLinux", "Rocky Linux", "Red Hat", "Mariner",
     "Azure Linux", "openSUSE", "SUSE"}
)  # fmt: skip


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where a downloaded database goes unless told: ``$RUNNER_TEMP/image-gate-osv`` in a GitHub
    job (the runner's scratch space, not the caller's workspace), else the user's cache,
    ``$XDG_CACHE_HOME/image-gate`` or ``~/.cache/image-gate`` (created 0700 when first used)."""
    env = os.environ if environ is None else environ
    if env.get("RUNNER_TEMP"):
        return Path(env["RUNNER_TEMP"]) / "image-gate-osv"
    xdg = env.get("XDG_CACHE_HOME", "")
    if xdg and Path(xdg).is_absolute():  # the XDG spec: a relative value is ignored
        return Path(xdg) / "image-gate"
    home = env.get("HOME") or os.path.expanduser("~")
    if not home or home == "~":
        return Path(tempfile.gettempdir()) / f"image-gate-{os.getuid()}"
    return Path(home) / ".cache" / "image-gate"


@dataclass(frozen=True)
class OsvOptions:
    db: str
    """A directory of OSV records / all.zip files, one such file, or an https URL of one."""
    cache_dir: Path = field(default_factory=default_cache_dir)
    """Where a downloaded database is kept (with its SHA-256); see ``default_cache_dir``."""
    download_limits: DownloadLimits = field(default_factory=DownloadLimits)
    """Size and time caps of a URL database's download."""

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> OsvOptions:
        """Build from config values: ``db`` (required), ``cache_dir``, ``max_download_bytes``,
        ``download_deadline_seconds``."""
        known: dict[str, tuple[type, ...]] = {
            "db": (str, Path),
            "cache_dir": (str, Path),
            "max_download_bytes": (int,),
            "download_deadline_seconds": (int, float),
        }
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise InputError(f"unknown osv option(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        for key, value in options.items():
            if key in known and value is not None and not isinstance(value, known[key]):
                raise InputError(f"osv option {key}: unexpected value {value!r}")
            limit = key in ("max_download_bytes", "download_deadline_seconds") and value is not None
            if limit and (isinstance(value, bool) or value <= 0):
                raise InputError(f"osv option {key}: must be a number above 0, not {value!r}")
        db = options.get("db")
        if not db:
            raise InputError("scanner osv needs a database: --osv-db PATH_OR_URL (input osv_db)")
        values: dict[str, Any] = {"db": str(db)}
        if options.get("cache_dir") is not None:
            values["cache_dir"] = Path(options["cache_dir"])
        limits = DownloadLimits()
        if options.get("max_download_bytes") is not None:
            limits = replace(limits, max_bytes=int(options["max_download_bytes"]))
        if options.get("download_deadline_seconds") is not None:
            limits = replace(limits, deadline_seconds=float(options["download_deadline_seconds"]))
        values["download_limits"] = limits
        return cls(**values)


@dataclass(frozen=True)
class Finding:
    id: str
    aliases: tuple[str, ...]
    record_ids: tuple[str, ...]
    package: str
    installed: str
    fixed: tuple[str, ...]
    purl: str | None
    ecosystem: str
    osv_package: str
    severity: RecordSeverity
    summary: str
    details: str

    @property
    def link(self) -> str:
        return f"https://osv.dev/vulnerability/{self.record_ids[0]}"


@dataclass(frozen=True)
class MatchReport:
    findings: tuple[Finding, ...]
    unchecked: tuple[UncheckedComponent, ...]
    checked: int = 0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def gate_version() -> str:
    try:
        return metadata.version("image-gate")
    except metadata.PackageNotFoundError:
        return "0.0.0"


class OsvScanner:
    name = "osv"

    def __init__(self, database: OsvDatabase, options: OsvOptions, log: Log = ignore) -> None:
        self.database = database
        self.options = options
        self._log = log

    def version(self) -> str:
        return gate_version()

    def scan(self, request: ScanRequest) -> ScanResult:
        with gc_paused():  # the database index and records are 100,000s of acyclic objects
            inventory = read_inventory(request.bom_path, request.bom_format)
            report = self.match(inventory)
        self._log(
            f"osv: {request.platform or request.image}: {report.checked} components checked, "
            f"{len(report.findings)} findings, {len(report.unchecked)} unchecked"
        )
        run = sarif_run(
            report.findings, request.image, self.version(), properties=self._run_properties(request, report)
        )
        return ScanResult(run=run, scanner=self.name, scanner_version=self.version(), unchecked=report.unchecked)

    def match(self, inventory: Inventory) -> MatchReport:
        findings: dict[tuple[str, str, str, str], Finding] = {}
        unchecked: dict[tuple[str, str | None, str | None], UncheckedComponent] = {}
        checked = 0
        for component in inventory.components:
            target = ecosystems.resolve(component, inventory.operating_system)
            if isinstance(target, ecosystems.Unresolved):
                _add_unchecked(unchecked, component, target.reason)
                continue
            if not versions.supports(target.family):
                _add_unchecked(unchecked, component, f"no version ordering for ecosystem {target.ecosystem}")
                continue
            if not self.database.has_ecosystem(target.ecosystem, ecosystem_is_prefix=target.ecosystem_is_prefix):
                # a database without a single record for it would call every such package clean
                _add_unchecked(unchecked, component, f"no advisories for {target.ecosystem} in the database")
                continue
            try:
                matched = self._match_component(target)
            except versions.UnparseableVersion as exc:
                _add_unchecked(unchecked, component, f"{target.ecosystem}: {exc}")
                continue
            checked += 1
            for group in _merge(matched):
                finding = _finding(component, target, group)
                findings.setdefault((finding.id, finding.package, finding.installed, finding.ecosystem), finding)
        ordered = sorted(findings.values(), key=lambda f: (-f.severity.score, f.id, f.package, f.installed))
        return MatchReport(tuple(ordered), tuple(unchecked.values()), checked)

    def _match_component(self, target: ecosystems.OsvPackage) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        prefix = target.ecosystem_is_prefix
        matched = []
        for record in self.database.records_for(target.ecosystem, target.name, ecosystem_is_prefix=prefix):
            entries = self.database.affected_entries(record, target.ecosystem, target.name, ecosystem_is_prefix=prefix)
            hits = [e for e in entries if versions.is_affected(target.family, target.version, e)]
            if hits:
                matched.append((record, hits))
        # Parse the installed version even when no record names the package, so an
        # unparseable version is reported whatever the database holds.
        versions.parse(target.family, target.version)
        return matched

    def _run_properties(self, request: ScanRequest, report: MatchReport) -> dict[str, Any]:
        info = self.database.info
        return {
            "imageName": request.image,
            "platform": request.platform,
            "digest": request.digest,
            "osvDatabase": {"location": info.location, "sha256": info.sha256},
            "checkedComponents": report.checked,
            "uncheckedComponents": len(report.unchecked),
        }


def build_osv_scanner(options: OsvOptions, log: Log) -> OsvScanner:
    """The scanner for ``--scanner osv --osv-db PATH_OR_URL`` (downloads a URL database now, once)."""
    database = OsvDatabase.open(options.db, options.cache_dir, log, limits=options.download_limits)
    return OsvScanner(database, options, log)


def from_options(options: Mapping[str, Any], log: Log = ignore) -> OsvScanner:
    """The registry's factory: ``gate.scanners.base.get_scanner("osv", {"db": ...}, log=...)``."""
    return build_osv_scanner(OsvOptions.from_mapping(options), log)


def _add_unchecked(
    into: dict[tuple[str, str | None, str | None], UncheckedComponent], component: Component, reason: str
) -> None:
    key = (component.name, component.version, component.purl)
    into.setdefault(key, UncheckedComponent(component.name, component.version, component.purl, reason))


def identifiers(record: dict[str, Any]) -> list[str]:
    """A record's id, aliases and (Alpine, Debian...) upstream ids."""
    found = [record["id"]]
    for key in ("aliases", "upstream"):
        values = record.get(key) or []
        if isinstance(values, list):
            found.extend(v for v in values if isinstance(v, str))
    return found


def _merge(
    matched: Sequence[tuple[dict[str, Any], list[dict[str, Any]]]],
) -> list[list[tuple[dict[str, Any], list[dict[str, Any]]]]]:
    """Group records that share an identifier (union-find over id, aliases, upstream)."""
    parent = list(range(len(matched)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for index, (record, _) in enumerate(matched):
        for ident in identifiers(record):
            if ident in owner:
                parent[root(index)] = root(owner[ident])
            else:
                owner[ident] = index
    groups: dict[int, list[tuple[dict[str, Any], list[dict[str, Any]]]]] = {}
    for index, item in enumerate(matched):
        groups.setdefault(root(index), []).append(item)
    return list(groups.values())


def _finding(
    component: Component,
    target: ecosystems.OsvPackage,
    group: list[tuple[dict[str, Any], list[dict[str, Any]]]],
) -> Finding:
    ids: set[str] = set()
    for record, _ in group:
        ids.update(identifiers(record))
    cves = sorted(i for i in ids if i.startswith("CVE-"))
    record_ids = tuple(sorted(record["id"] for record, _ in group))
    primary = cves[0] if cves else record_ids[0]
    severity = max(
        (severity_of(record, entry) for record, entries in group for entry in entries),
        key=lambda s: (s.vector is not None, s.score),  # a CVSS score beats a label's fallback score
    )
    fixed: list[str] = []
    for _, entries in group:
        for entry in entries:
            fixed.extend(v for v in versions.fixed_versions(entry) if v not in fixed)
    summaries = [str(r.get("summary") or "") for r, _ in group]
    details = [str(r.get("details") or "") for r, _ in group]
    return Finding(
        id=primary,
        aliases=tuple(sorted(ids - {primary})),
        record_ids=record_ids,
        package=component.name,
        installed=target.version if target.family != "Go" else (component.version or target.version),
        fixed=tuple(fixed),
        purl=component.purl,
        ecosystem=target.ecosystem,
        osv_package=target.name,
        severity=severity,
        summary=next((s for s in summaries if s), ""),
        details=next((d for d in details if d), ""),
    )


def sarif_run(
    findings: Iterable[Finding], image: str, version: str, *, properties: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One SARIF 2.1.0 run shaped like Trivy's."""
    rules: list[dict[str, Any]] = []
    rule_index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    for finding in findings:
        level = LEVELS[finding.severity.label]
        if finding.id not in rule_index:
            rule_index[finding.id] = len(rules)
            rules.append(_rule(finding, level))
        else:
            rule = rules[rule_index[finding.id]]
            if float(rule["properties"]["security-severity"]) < finding.severity.score:
                rules[rule_index[finding.id]] = _rule(finding, level)
        fixed_text = ", ".join(finding.fixed)
        results.append(
            {
                "ruleId": finding.id,
                "ruleIndex": rule_index[finding.id],
                "level": level,
                "message": {
                    "text": (
                        f"Package: {finding.package}\nInstalled Version: {finding.installed}\n"
                        f"Vulnerability {finding.id}\nSeverity: {finding.severity.label}\n"
                        f"Fixed Version: {fixed_text}\nLink: [{finding.id}]({finding.link})"
                    )
                },
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": image or "sbom", "uriBaseId": "ROOTPATH"},
                            "region": {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1},
                        },
                        "message": {"text": f"{image}: {finding.package}@{finding.installed}"},
                    }
                ],
                "properties": {
                    "package": finding.package,
                    "installed": finding.installed,
                    "fixed": fixed_text,
                    "fixedVersions": list(finding.fixed),
                    "purl": finding.purl,
                    "ecosystem": finding.ecosystem,
                    "osvPackage": finding.osv_package,
                    "aliases": list(finding.aliases),
                    "osvIds": list(finding.record_ids),
                },
            }
        )
    return {
        "tool": {
            "driver": {
                "name": "image-gate-osv",
                "fullName": "image-gate offline OSV matcher",
                "informationUri": "https://osv.dev",
                "version": version,
                "rules": rules,
            }
        },
        "results": results,
        "columnKind": "utf16CodeUnits",
        "originalUriBaseIds": {"ROOTPATH": {"uri": "file:///"}},
        "properties": properties or {},
    }


def _rule(finding: Finding, level: str) -> dict[str, Any]:
    severity = finding.severity
    summary = finding.summary or finding.id
    fixed = ", ".join(finding.fixed)
    properties: dict[str, Any] = {
        "precision": "very-high",
        "security-severity": f"{severity.score:.1f}",
        "tags": ["vulnerability", "security", severity.label],
        "aliases": list(finding.aliases),
    }
    if severity.vector:
        key = severity.source.replace("_", "")  # cvssv3_vector, like Trivy's
        properties[f"{key}_vector"] = severity.vector
        properties[f"{key}_baseScore"] = severity.score
    family = finding.ecosystem.split(":", 1)[0]
    return {
        "id": finding.id,
        "name": "OsPackageVulnerability" if family in _OS_FAMILIES else "LanguageSpecificPackageVulnerability",
        "shortDescription": {"text": summary},
        "fullDescription": {"text": finding.details or summary},
        "defaultConfiguration": {"level": level},
        "helpUri": finding.link,
        "help": {
            "text": (
                f"Vulnerability {finding.id}\nSeverity: {severity.label}\nPackage: {finding.package}\n"
                f"Fixed Version: {fixed}\nLink: [{finding.id}]({finding.link})\n{finding.details or summary}"
            ),
            "markdown": (
                f"**Vulnerability {finding.id}**\n| Severity | Package | Fixed Version | Link |\n"
                f"| --- | --- | --- | --- |\n|{severity.label}|{_cell(finding.package)}|{_cell(fixed)}|"
                f"[{finding.id}]({finding.link})|\n\n{finding.details or summary}"
            ),
        },
        "properties": properties,
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
