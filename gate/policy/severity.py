"""Severity: the names the gate rates findings by, and the one CVSS qualitative band.

The band is FIRST's qualitative severity rating scale of CVSS v3.x: none 0.0, low 0.1-3.9,
medium 4.0-6.9, high 7.0-8.9, critical 9.0-10.0. The gate rates SARIF findings by it, and the
OSV scanner labels the findings it writes by it (in Trivy's words, where ``none`` is ``UNKNOWN``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Severity = Literal["critical", "high", "medium", "low", "none"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "none")
RANK: Mapping[str, int] = {"none": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


def band(score: float) -> Severity:
    """The CVSS qualitative rating of a score (FIRST): 9.0 critical, 7.0 high, 4.0 medium, 0.1 low, else none."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score >= 0.1:
        return "low"
    return "none"
