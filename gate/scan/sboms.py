"""Scan every SBOM that counts for a platform, and merge their findings into the platform's one SARIF run.

No SBOM wins over another: each is scanned, and the platform's run holds every finding once per
vulnerability, package and installed version, naming each SBOM it came from (result property
``sbomAttestations``: the attestation manifests' digests). A component an SBOM lists but no scanner can
check (a file, an image, an entry without name or purl: ``gate.sbom.components``) is listed unchecked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.attest.lookup import FoundSbom, PlatformSbom
from gate.attest.unwrap import bom_from_attestation
from gate.errors import GateError
from gate.policy.sarif import SarifFinding, parse_run
from gate.sbom.bom import BomDocument, write_bom
from gate.sbom.components import Inventory, inventory_from_document
from gate.scanners.base import Scanner, ScanRequest, UncheckedComponent

SBOMS_PROPERTY = "sbomAttestations"
_RESULT_INDEX = re.compile(r"\.results\[(\d+)\]$")


@dataclass(frozen=True)
class ScannedSbom:
    """One SBOM of a platform, scanned: where it came from, what it holds, the scanner's run of it."""

    found: FoundSbom
    bom_format: str
    bom_spec_version: str
    components: int
    run: Mapping[str, Any] = field(repr=False)
    """The scanner's run, each result with its purl (when the BOM names it) and this SBOM's digest."""
    unchecked: tuple[UncheckedComponent, ...]
    scanner_version: str
    result_keys: Mapping[int, tuple[str, ...]] = field(default_factory=dict, repr=False)
    """A finding's identity by its result's position in ``run``: (rule, package, installed version)."""

    @property
    def empty(self) -> bool:
        """The SBOM lists no component at all: it checks nothing."""
        return self.components == 0

    def to_json(self) -> dict[str, Any]:
        """An entry of a platform row's ``sboms``."""
        found = self.found
        return {
            "attestation": found.attestation_digest,
            "layer": found.layer_digest,
            "source": found.source,
            "subject": found.subject,
            "predicate_type": found.attestation.predicate_type,
            "envelope": found.attestation.envelope,
            "verified": found.verified,
            "signer": found.signer or None,
            "bom_format": self.bom_format,
            "bom_spec_version": self.bom_spec_version,
            "components": self.components,
            "unchecked": len(self.unchecked),
        }


def scan_sboms(
    entry: PlatformSbom, scanner: Scanner, folder: Path, image: str, log: Callable[[str], None]
) -> tuple[ScannedSbom, ...]:
    """Each SBOM of ``entry`` written into ``folder`` (private, the caller's to remove) and scanned."""
    scanned = []
    for number, found in enumerate(entry.sboms):
        bom = bom_from_attestation(found.attestation)
        path = write_bom(bom, folder / f"sbom-{number}{bom.suffix}")
        origin = f"{found.source} {found.attestation_digest}" if found.attestation_digest else found.source
        log(
            f"scan: {entry.platform}: {bom.format} {bom.spec_version} SBOM ({bom.package_count} component(s)) "
            f"from {origin}"
            + (" (attested on the index)" if found.subject == "index" else "")
            + (f", signed by {found.signer}" if found.verified else "")
            + f"; scanning with {scanner.name}"
        )
        result = scanner.scan(ScanRequest(path, bom.format, image, entry.platform, entry.digest))
        run: dict[str, Any] = json.loads(json.dumps(result.run))
        findings = _findings(run)
        inventory = _inventory(bom, path)
        if inventory is not None:
            _add_purls(run, inventory, findings)
        if found.attestation_digest:
            _name_sbom(run, found.attestation_digest)
        skipped = tuple(
            UncheckedComponent(item.name, item.version, item.purl, item.reason)
            for item in (inventory.skipped if inventory else ())
        )
        scanned.append(
            ScannedSbom(
                found,
                bom.format,
                bom.spec_version,
                bom.package_count,
                run,
                (*result.unchecked, *skipped),
                result.scanner_version,
                _result_keys(findings),
            )
        )
    return tuple(scanned)


def merge_runs(scanned: Sequence[ScannedSbom]) -> Mapping[str, Any]:
    """One run of the same scanner's runs on several SBOMs of one platform.

    Rules once per id (the highest ``security-severity`` kept); results once per (rule, package,
    installed version), with the SBOMs of every copy in ``sbomAttestations``; ``ruleIndex`` renumbered.
    The first run's tool and properties are kept. The runs are left as they are: the merged run shares
    what it does not change with them (``build_sarif_log`` copies it).
    """
    runs = [sbom.run for sbom in scanned]
    if len(runs) == 1:
        return runs[0]
    rules: dict[str, dict[str, Any]] = {}
    results: dict[tuple[str, ...], dict[str, Any]] = {}
    for sbom in scanned:
        run = sbom.run
        driver = (run.get("tool") or {}).get("driver") or {}
        for rule in driver.get("rules") or []:
            if isinstance(rule, dict) and isinstance(rule.get("id"), str):
                kept = rules.get(rule["id"])
                if kept is None or _severity(rule) > _severity(kept):
                    rules[rule["id"]] = rule
        for position, result in enumerate(run.get("results") or []):
            key = sbom.result_keys.get(position) or ("result", json.dumps(result, sort_keys=True))
            if key not in results:
                results[key] = dict(result)
                continue
            kept_result = results[key]
            properties = kept_result["properties"] = dict(kept_result.get("properties", {}))
            named = properties[SBOMS_PROPERTY] = list(properties.get(SBOMS_PROPERTY, []))
            for digest in (result.get("properties") or {}).get(SBOMS_PROPERTY) or []:
                if digest not in named:
                    named.append(digest)
    order = {rule_id: index for index, rule_id in enumerate(rules)}
    for result in results.values():
        rule_id = result.get("ruleId")
        if isinstance(rule_id, str) and rule_id in order:
            result["ruleIndex"] = order[rule_id]
    merged = dict(runs[0])
    tool = merged["tool"] = dict(merged.get("tool", {}))
    driver = tool["driver"] = dict(tool.get("driver", {}))
    driver["rules"] = list(rules.values())
    merged["results"] = list(results.values())
    return merged


def _findings(run: Mapping[str, Any]) -> tuple[SarifFinding, ...]:
    """The findings of a scanner's run (none when it does not parse: its results are then kept as they are)."""
    try:
        return parse_run(run, source="scanner", index=0).findings
    except GateError:
        return ()


def _result_keys(findings: Sequence[SarifFinding]) -> dict[int, tuple[str, ...]]:
    """A finding's identity, by its result's position: (rule, package, installed version)."""
    keys: dict[int, tuple[str, ...]] = {}
    for finding in findings:
        match = _RESULT_INDEX.search(finding.path)
        if match and finding.package:
            keys[int(match.group(1))] = ("finding", finding.rule_id, finding.package, finding.installed or "")
    return keys


def _severity(rule: Mapping[str, Any]) -> float:
    value = (rule.get("properties") or {}).get("security-severity")
    try:
        return float(value) if isinstance(value, (str, int, float)) else -1.0
    except ValueError:
        return -1.0


def _inventory(bom: BomDocument, path: Path) -> Inventory | None:
    try:
        return inventory_from_document(bom.document, str(path), bom.format)
    except GateError:
        return None  # the scanner read it: what it could not, its run says


def _name_sbom(run: dict[str, Any], digest: str) -> None:
    for result in run.get("results") or []:
        if isinstance(result, dict):
            properties = dict(result.get("properties") or {})
            properties[SBOMS_PROPERTY] = [digest]
            result["properties"] = properties


def _add_purls(run: dict[str, Any], inventory: Inventory, findings: Sequence[SarifFinding]) -> None:
    """Give each result without a ``purl`` property the purl of its package, when the BOM names one unambiguously."""
    results = run.get("results")
    if not isinstance(results, list) or not results:
        return
    purls: dict[tuple[str, str | None], set[str]] = {}
    for component in inventory.components:
        if component.purl:
            purls.setdefault((component.name, component.version), set()).add(component.purl)
    for finding in findings:
        if finding.purl or not finding.package:
            continue
        candidates = purls.get((finding.package, finding.installed), set())
        match = _RESULT_INDEX.search(finding.path)
        if len(candidates) != 1 or not match:
            continue
        result = results[int(match.group(1))]
        if isinstance(result, dict):
            properties = dict(result.get("properties") or {})
            properties["purl"] = next(iter(candidates))
            result["properties"] = properties
