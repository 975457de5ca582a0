"""Severity: the names the gate rates findings by, the one CVSS qualitative band, and the gate's threshold
(``--severity-threshold``: a band name or a CVSS score; dependency-free, so the options import it for --help).

The band is FIRST's qualitative severity rating scale of CVSS v3.x: none 0.0, low 0.1-3.9,
medium 4.0-6.9, high 7.0-8.9, critical 9.0-10.0. The gate rates SARIF findings by it, and the
OSV scanner labels the findings it writes by it (in Trivy's words, where ``none`` is ``UNKNOWN``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from gate.errors import InputError

Severity = Literal["critical", "high", "medium", "low", "none"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "none")
RANK: Mapping[str, int] = {"none": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
THRESHOLD_PATTERN = r"^(critical|high|medium|low|10(\.0+)?|[0-9](\.[0-9]+)?)$"


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


@dataclass(frozen=True)
class Threshold:
    """``critical|high|medium|low`` or a CVSS score. ``text`` is the normalised form."""

    text: str
    severity: Severity
    score: float | None

    def admits(self, severity: Severity, score: float | None) -> bool:
        """Whether a finding is at or above the threshold.

        A numeric threshold compares the CVSS score when the finding was rated by it; a finding
        rated by a label is compared by band (the threshold's band or above blocks).
        """
        if self.score is not None and score is not None:
            return score >= self.score
        return RANK[severity] >= RANK[self.severity]


def parse_threshold(text: str, name: str = "--severity-threshold") -> Threshold:
    """``text`` as a threshold; anything else is an ``InputError`` naming ``name``."""
    value = str(text).strip().lower()
    if value in RANK and value != "none":
        return Threshold(value, value, None)  # type: ignore[arg-type]
    score = float(value) if re.fullmatch(r"\d{1,2}(\.\d+)?", value) else -1.0
    if not 0.0 <= score <= 10.0:
        raise InputError(f"{name}: expected critical, high, medium, low or a CVSS score 0-10, got {text!r}")
    return Threshold(f"{score:g}", band(score) if score >= 0.1 else "low", score)
