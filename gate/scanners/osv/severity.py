"""Severity of an OSV record: CVSS base score (v3.x preferred, then v4, then v2) or the record's label.

Scores come from the ``cvss`` library (FIRST's formulas); the label is the gate's one CVSS band
(``gate.policy.severity.band``) in Trivy's words: CRITICAL, HIGH, MEDIUM, LOW, and UNKNOWN for a
score below 0.1 (the band's ``none``; Trivy has no NONE, and the gate reads UNKNOWN back as none).
Without a vector the record's ``database_specific.severity`` (GitHub: LOW/MODERATE/HIGH/CRITICAL)
or a per-package ``ecosystem_specific.severity`` gives the label, scored like Trivy's fallback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cvss import CVSS2, CVSS3, CVSS4  # type: ignore[import-untyped]
from cvss.exceptions import CVSSError  # type: ignore[import-untyped]

from gate.policy.severity import Severity, band

# The gate's severities in Trivy's words (the SARIF tags the gate reads back).
TRIVY_LABELS: Mapping[Severity, str] = {
    "critical": "CRITICAL", "high": "HIGH", "medium": "MEDIUM", "low": "LOW", "none": "UNKNOWN",
}  # fmt: skip
LABEL_SCORES = {"CRITICAL": 9.5, "HIGH": 8.0, "MEDIUM": 5.5, "LOW": 2.0, "UNKNOWN": 0.0}
_LABEL_ALIASES = {"MODERATE": "MEDIUM", "IMPORTANT": "HIGH", "NEGLIGIBLE": "LOW", "UNIMPORTANT": "LOW", "NONE": "LOW"}
_PREFERENCE = ("CVSS_V3", "CVSS_V4", "CVSS_V2")


@dataclass(frozen=True)
class RecordSeverity:
    """The severity of an OSV record, as the OSV scanner writes it into its SARIF."""

    label: str
    """CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN."""
    score: float
    """The CVSS base score, or the label's fallback score."""
    vector: str | None = None
    source: str = "none"
    """cvss_v3, cvss_v4, cvss_v2, label or none."""


def label_of_score(score: float) -> str:
    """The label of a CVSS score: its band (``gate.policy.severity.band``) in Trivy's words."""
    return TRIVY_LABELS[band(score)]


def base_score(kind: str, vector: str) -> float | None:
    """The base score of a vector, or None when the vector does not parse."""
    try:
        if kind == "CVSS_V3":
            value: Decimal | float = CVSS3(vector).base_score
        elif kind == "CVSS_V4":
            value = CVSS4(vector).base_score
        elif kind == "CVSS_V2":
            value = CVSS2(vector).base_score
        else:
            return None
    except (CVSSError, ValueError, KeyError, IndexError):
        return None
    return float(value)


def severity_of(record: Mapping[str, Any], affected: Mapping[str, Any] | None = None) -> RecordSeverity:
    """The severity of ``record`` (for one of its ``affected`` entries, whose own severity wins)."""
    entries: list[Mapping[str, Any]] = []
    if affected is not None:
        entries.extend(_severity_list(affected.get("severity")))
    entries.extend(_severity_list(record.get("severity")))
    for kind in _PREFERENCE:
        for entry in entries:
            if entry.get("type") == kind and isinstance(entry.get("score"), str):
                score = base_score(kind, entry["score"])
                if score is not None:
                    return RecordSeverity(label_of_score(score), score, entry["score"], kind.lower())
    for holder in (
        (affected or {}).get("ecosystem_specific"),
        (affected or {}).get("database_specific"),
        record.get("database_specific"),
    ):
        label = _label(holder.get("severity") if isinstance(holder, Mapping) else None)
        if label is not None:
            return RecordSeverity(label, LABEL_SCORES[label], None, "label")
    return RecordSeverity("UNKNOWN", 0.0)


def _severity_list(value: Any) -> Sequence[Mapping[str, Any]]:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, Mapping)]
    return []


def _label(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip().upper()
    text = _LABEL_ALIASES.get(text, text)
    return text if text in LABEL_SCORES and text != "UNKNOWN" else None
