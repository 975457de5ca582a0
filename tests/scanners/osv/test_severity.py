"""Severity from CVSS vectors (v3.x, v4, v2) or the record's label (the band itself: tests/policy/test_severity.py)."""

from __future__ import annotations

import pytest

from gate.scanners.osv.severity import RecordSeverity, base_score, severity_of


def test_cvss_v3_vector_gives_the_base_score() -> None:
    record = {"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}]}
    assert severity_of(record) == RecordSeverity("HIGH", 7.5, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", "cvss_v3")


def test_cvss_v4_when_no_v3() -> None:
    vector = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
    result = severity_of({"severity": [{"type": "CVSS_V4", "score": vector}]})
    assert (result.label, result.score, result.source) == ("CRITICAL", 9.3, "cvss_v4")


def test_v3_preferred_over_v4_and_affected_severity_first() -> None:
    record = {
        "severity": [
            {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"},
            {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:L/UI:N/S:U/C:N/I:N/A:L"},
        ]
    }
    assert severity_of(record).score == 3.1
    affected = {"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}
    assert severity_of(record, affected).score == 9.8


@pytest.mark.parametrize(("label", "expected"), [("MODERATE", "MEDIUM"), ("High", "HIGH"), ("LOW", "LOW")])
def test_label_fallback(label: str, expected: str) -> None:
    result = severity_of({"database_specific": {"severity": label}})
    assert result.label == expected and result.source == "label"


def test_bad_vector_falls_back_and_nothing_is_unknown() -> None:
    record = {"severity": [{"type": "CVSS_V3", "score": "garbage"}], "database_specific": {"severity": "CRITICAL"}}
    assert severity_of(record) == RecordSeverity("CRITICAL", 9.5, None, "label")
    assert severity_of({}) == RecordSeverity("UNKNOWN", 0.0)
    assert base_score("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P") == 7.5
    assert base_score("Ubuntu", "high") is None

