"""The one CVSS band (``gate.policy.severity.band``) at every boundary of FIRST's scale, through both of
its users: the gate rating a SARIF finding by its CVSS score, and the OSV scanner labelling the findings
of its SARIF (read back by the gate by that label)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gate.policy.sarif import parse_sarif
from gate.policy.severity import band
from gate.policy.verdict import rate
from gate.scanners.osv.scanner import Finding as OsvFinding
from gate.scanners.osv.scanner import sarif_run
from gate.scanners.osv.severity import RecordSeverity, label_of_score
from tests.policy.sarif_samples import sarif_log, trivy_result, trivy_rule

# FIRST's CVSS v3.x scale: none 0.0, low 0.1-3.9, medium 4.0-6.9, high 7.0-8.9, critical 9.0-10.0;
# 0.05 and 8.99 lie between the one-decimal steps a CVSS score takes.
BAND = [
    (0.0, "none"), (0.05, "none"), (0.1, "low"), (3.9, "low"), (4.0, "medium"), (6.9, "medium"),
    (7.0, "high"), (8.9, "high"), (8.99, "high"), (9.0, "critical"), (10.0, "critical"),
]  # fmt: skip


def gate_rating(score: float) -> str:
    """The gate's severity of a SARIF finding whose security-severity is ``score`` (its label says otherwise)."""
    log = sarif_log(
        [trivy_rule("CVE-2024-0001", "MEDIUM", str(score))], [trivy_result(0, "CVE-2024-0001", "MEDIUM", "pkg")]
    )
    (run,) = parse_sarif(log, "band.sarif")
    severity, rated_by = rate(run.findings[0], "cvss")
    assert rated_by == "cvss"
    return severity


def osv_finding(score: float) -> OsvFinding:
    return OsvFinding(
        id="CVE-2024-0001",
        aliases=(),
        record_ids=("GHSA-aaaa-bbbb-cccc",),
        package="pkg",
        installed="1.0",
        fixed=("2.0",),
        purl="pkg:npm/pkg@1.0",
        ecosystem="npm",
        osv_package="pkg",
        severity=RecordSeverity(label_of_score(score), score, None, "cvss_v3"),
        summary="s",
        details="d",
    )


def osv_sarif(score: float) -> dict[str, Any]:
    return {"version": "2.1.0", "runs": [sarif_run([osv_finding(score)], "registry.test/app", "0")]}


def osv_rating(score: float) -> str:
    """The OSV scanner's label of ``score`` as its SARIF carries it, read back by the gate by label."""
    (run,) = parse_sarif(osv_sarif(score), "osv.sarif")
    severity, rated_by = rate(run.findings[0], "label")
    assert rated_by == "label"
    return severity


@pytest.mark.parametrize("rating", [band, gate_rating, osv_rating], ids=["band", "gate", "osv"])
@pytest.mark.parametrize(("score", "expected"), BAND)
def test_the_band_at_every_boundary(rating: Callable[[float], str], score: float, expected: str) -> None:
    assert rating(score) == expected


def test_the_osv_sarif_says_unknown_for_a_zero_score_as_trivy_does() -> None:
    rule = osv_sarif(0.0)["runs"][0]["tool"]["driver"]["rules"][0]
    assert rule["properties"]["security-severity"] == "0.0"
    assert rule["properties"]["tags"] == ["vulnerability", "security", "UNKNOWN"]
    assert rule["defaultConfiguration"]["level"] == "note"
