"""The gate policy: severity bands, thresholds, fallback, exceptions, unfixed, missing SBOMs, options."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from gate.errors import InputError
from gate.policy.sarif import load_sarif, parse_sarif
from gate.policy.severity import parse_threshold
from gate.policy.verdict import GateOptions, MissingSbom, evaluate
from gate.policy.waivers import ExceptionEntry, parse_exceptions
from tests.policy.sarif_samples import real_world, sarif_log, trivy_result, trivy_rule

TODAY = dt.date(2025, 6, 1)
SARIF_FILES = [
    "trivy-0.49-image.sarif",
    "trivy-0.50-with-secret.sarif",
    "trivy-0.69-node-alpine.sarif",
    "grype-0.114-image.sarif",
]


def _band(score: float) -> str:
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low" if score >= 0.1 else "none"


def _independent(path: Path) -> list[dict[str, Any]]:
    """Per result: CVSS band, label and whether it is a secret, by plain JSON walking."""
    document = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for run in document["runs"]:
        rules = run["tool"]["driver"]["rules"]
        by_id = {r["id"]: r for r in rules}
        for result in run["results"]:
            rule = rules[result["ruleIndex"]] if "ruleIndex" in result else by_id[result["ruleId"]]
            props = rule.get("properties", {})
            tags = [t for t in props.get("tags", []) if t in ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")]
            if tags:
                label = tags[0].lower().replace("unknown", "none")
            else:  # Grype: "Severity: x" in the rule's help text
                line = next(x for x in rule["help"]["text"].splitlines() if x.startswith("Severity: "))
                label = {"negligible": "low"}.get(line[10:].lower(), line[10:].lower())
            secret = "secret" in props.get("tags", [])
            score = float(props["security-severity"])
            out.append({"cvss": label if secret else _band(score), "label": label, "score": score, "secret": secret})
    return out


@pytest.mark.parametrize("name", SARIF_FILES)
@pytest.mark.parametrize("source", ["cvss", "label"])
def test_real_world_counts_match_an_independent_count(name: str, source: str) -> None:
    path = real_world(name)
    expected = Counter(item[source] for item in _independent(path))
    result = evaluate(load_sarif(path), GateOptions(severity_source=source), today=TODAY)
    assert result.counts == {s: expected.get(s, 0) for s in ("critical", "high", "medium", "low", "none")}
    assert sum(result.counts.values()) == len(_independent(path))


@pytest.mark.parametrize("threshold", ["critical", "high", "medium", "low", "7.5", "9"])
def test_trivy_069_blocking_differs_between_cvss_and_label_where_they_disagree(threshold: str) -> None:
    path = real_world("trivy-0.69-node-alpine.sarif")
    items = _independent(path)
    rank = {"none": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
    t = parse_threshold(threshold)
    for source in ("cvss", "label"):
        result = evaluate(
            load_sarif(path), GateOptions(severity_threshold=threshold, severity_source=source), today=TODAY
        )
        if source == "cvss" and t.score is not None:
            expected = sum(1 for i in items if i["score"] >= t.score)
        else:
            expected = sum(1 for i in items if rank[i[source]] >= rank[t.severity])
        assert len(result.blocking) == expected, (source, threshold)
        assert result.verdict == ("fail" if expected else "pass")


def test_trivy_069_disagreeing_rules_flip_at_the_medium_threshold() -> None:
    path = real_world("trivy-0.69-node-alpine.sarif")
    cvss = evaluate(load_sarif(path), GateOptions(severity_threshold="medium"), today=TODAY)
    label = evaluate(load_sarif(path), GateOptions(severity_threshold="medium", severity_source="label"), today=TODAY)
    only_cvss = {j.finding.id for j in cvss.blocking} - {j.finding.id for j in label.blocking}
    only_label = {j.finding.id for j in label.blocking} - {j.finding.id for j in cvss.blocking}
    assert only_cvss == {"CVE-2024-43796", "CVE-2024-43799", "CVE-2024-43800"}  # score 5.0, tagged LOW
    assert only_label == {"CVE-2025-15284"}  # score 3.7, tagged MEDIUM


def test_secret_is_rated_by_its_label_and_still_blocks_with_ignore_unfixed() -> None:
    runs = load_sarif(real_world("trivy-0.50-with-secret.sarif"))
    result = evaluate(runs, GateOptions(severity_threshold="high", ignore_unfixed=True), today=TODAY)
    assert [(j.finding.id, j.severity, j.rated_by) for j in result.blocking] == [("private-key", "high", "label")]
    assert any("secret" in note for note in result.notes)
    assert result.to_json()["blocking"][0]["package"] is None


def test_ignore_unfixed_on_real_trivy() -> None:
    path = real_world("trivy-0.49-image.sarif")
    runs = load_sarif(path)
    base = evaluate(runs, GateOptions(severity_threshold="low"), today=TODAY)
    ignoring = evaluate(runs, GateOptions(severity_threshold="low", ignore_unfixed=True), today=TODAY)
    assert len(base.blocking) - len(ignoring.blocking) == 5
    assert len(ignoring.unfixed_ignored) == 5
    assert all(j.finding.fixed for j in ignoring.blocking)
    assert ignoring.to_json()["unfixed_ignored"] == 5


def test_thresholds() -> None:
    assert parse_threshold("HIGH").severity == "high"
    numeric = parse_threshold("7.5")
    assert (numeric.text, numeric.severity, numeric.score) == ("7.5", "high", 7.5)
    assert numeric.admits("high", 7.5) and not numeric.admits("high", 7.4)
    assert numeric.admits("high", None) and not numeric.admits("medium", None)  # label-rated: by band
    assert parse_threshold("10").score == 10.0
    assert parse_threshold("0").severity == "low"
    for bad in ["severe", "none", "11", "-1", "", "nan", "inf", "1e1", "high,low"]:
        with pytest.raises(InputError, match="expected critical, high, medium, low or a CVSS score"):
            parse_threshold(bad)


def _runs(results: list[dict[str, Any]], rules: list[dict[str, Any]], **run: Any) -> Any:
    return parse_sarif(sarif_log(rules, results, **run), "test.sarif")


def test_fallback_to_the_other_source_is_noted() -> None:
    rules = [trivy_rule("CVE-2024-0001", "HIGH", None), trivy_rule("CVE-2024-0002", "LOW", "9.8")]
    results = [trivy_result(0, "CVE-2024-0001", "HIGH", "a"), trivy_result(1, "CVE-2024-0002", "LOW", "b")]
    runs = _runs(results, rules)
    cvss = evaluate(runs, GateOptions(), today=TODAY)
    assert [(j.finding.id, j.severity, j.rated_by) for j in cvss.blocking] == [
        ("CVE-2024-0001", "high", "label"),
        ("CVE-2024-0002", "critical", "cvss"),
    ]
    assert cvss.notes[0].startswith("1 finding(s) had no CVSS security-severity")
    label = evaluate(runs, GateOptions(severity_source="label"), today=TODAY)
    assert [j.finding.id for j in label.blocking] == ["CVE-2024-0001"]
    # No label at all (no tag, no Severity: text, no level): the label source falls back to CVSS.
    bare = _runs(
        [{"ruleId": "CVE-2024-0003", "message": {"text": "x"}}],
        [{"id": "CVE-2024-0003", "properties": {"security-severity": "9.1"}}],
    )
    result = evaluate(bare, GateOptions(severity_source="label"), today=TODAY)
    assert [(j.severity, j.rated_by) for j in result.blocking] == [("critical", "cvss")]
    assert "no severity label" in result.notes[0]


def _two_platforms() -> Any:
    rules = [trivy_rule("CVE-2024-0001", "CRITICAL", "9.8"), trivy_rule("CVE-2024-0002", "HIGH", "7.5")]
    results = [
        trivy_result(0, "CVE-2024-0001", "CRITICAL", "openssl"),
        trivy_result(1, "CVE-2024-0002", "HIGH", "zlib", fixed=""),
    ]
    amd = sarif_log(
        rules,
        results,
        properties={"platform": "linux/amd64", "image": "ghcr.io/acme/app:1", "digest": "sha256:" + "a" * 64},
    )
    arm = sarif_log(
        rules,
        results[:1],
        properties={"platform": "linux/arm64", "image": "ghcr.io/acme/app:1", "digest": "sha256:" + "b" * 64},
    )
    return parse_sarif(amd, "amd.sarif") + parse_sarif(arm, "arm.sarif")


def test_verdict_across_platforms_and_per_platform_rows() -> None:
    result = evaluate(_two_platforms(), GateOptions(), today=TODAY)
    assert result.verdict == "fail"
    rows = {p.platform: p for p in result.platforms}
    assert rows["linux/amd64"].blocking_ids == ("CVE-2024-0001", "CVE-2024-0002")
    assert rows["linux/arm64"].blocking == 1 and rows["linux/arm64"].findings == 1
    assert result.blocking_ids == ("CVE-2024-0001", "CVE-2024-0002")
    document = result.to_json()
    assert list(document)[:9] == [
        "verdict", "threshold", "severity_source", "counts", "blocking", "excepted",
        "expired_exceptions", "stale_exceptions", "platforms",
    ]  # fmt: skip
    assert set(document["blocking"][0]) >= {"id", "severity", "score", "package", "installed", "fixed", "platform"}
    assert set(document["platforms"][0]) >= {"platform", "digest", "sbom", "findings", "blocking", "blocking_ids"}


def test_exceptions_by_id_alias_image_and_package_with_expired_and_stale() -> None:
    entries = parse_exceptions(
        "exceptions:\n"
        "  - id: cve-2024-0001\n    reason: accepted\n    images: ['ghcr.io/acme/*']\n    packages: ['open*']\n"
        "  - id: CVE-2024-0002\n    reason: too late\n    expires: '2025-05-31'\n"
        "  - id: CVE-2024-0002\n    reason: wrong image\n    images: ['docker.io/*']\n"
        "  - id: CVE-1999-0001\n    reason: nothing has it\n",
        "exceptions.yml",
    )
    result = evaluate(_two_platforms(), GateOptions(), exceptions=entries, today=TODAY)
    assert [j.finding.id for j in result.blocking] == ["CVE-2024-0002"]
    assert [(j.finding.platform, j.exception.reason if j.exception else None) for j in result.excepted] == [
        ("linux/amd64", "accepted"),
        ("linux/arm64", "accepted"),
    ]
    assert [e.reason for e in result.expired_exceptions] == ["too late"]
    assert [e.reason for e in result.stale_exceptions] == ["wrong image", "nothing has it"]
    document = result.to_json()
    assert document["expired_exceptions"][0]["expires"] == "2025-05-31"
    assert document["excepted"][0]["exception"]["id"] == "cve-2024-0001"
    # The day of expiry still applies.
    on_the_day = evaluate(_two_platforms(), GateOptions(), exceptions=entries, today=dt.date(2025, 5, 31))
    assert on_the_day.expired_exceptions == () and [j.finding.id for j in on_the_day.blocking] == []


def test_exception_matches_grype_aliases() -> None:
    runs = load_sarif(real_world("grype-0.114-image.sarif"))
    by_cve = (ExceptionEntry("CVE-2026-9256", "r", None, (), (), "x:1"),)
    by_rule = (ExceptionEntry("CVE-2026-9256-nginx-mainline", "r", None, (), (), "x:2"),)
    base = evaluate(runs, GateOptions(severity_threshold="critical"), today=TODAY)
    all_packages = evaluate(runs, GateOptions(severity_threshold="critical"), exceptions=by_cve, today=TODAY)
    one_package = evaluate(runs, GateOptions(severity_threshold="critical"), exceptions=by_rule, today=TODAY)
    hits = sum(1 for j in base.blocking if j.finding.id == "CVE-2026-9256")
    assert hits == 7
    assert len(all_packages.excepted) == hits and len(all_packages.blocking) == len(base.blocking) - hits
    assert [j.finding.package for j in one_package.excepted] == ["nginx-mainline"]


def test_exception_matching_below_threshold_is_not_stale() -> None:
    entries = (ExceptionEntry("CVE-2024-0002", "low priority", None, (), (), "x:1"),)
    result = evaluate(_two_platforms(), GateOptions(severity_threshold="critical"), exceptions=entries, today=TODAY)
    assert result.stale_exceptions == () and result.excepted == ()


def test_missing_sbom_blocks_unless_allowed() -> None:
    missing = [MissingSbom("linux/s390x", "sha256:" + "c" * 64, "no SBOM attestation among 3 referrers")]
    failed = evaluate([], GateOptions(), missing_sbom=missing, today=TODAY)
    assert failed.verdict == "fail" and failed.blocking == ()
    row = failed.platforms[0]
    assert (row.platform, row.sbom, row.passed) == ("linux/s390x", False, False)
    assert "no SBOM attestation" in (row.reason or "")
    allowed = evaluate([], GateOptions(allow_missing_sbom=True), missing_sbom=missing, today=TODAY)
    assert allowed.verdict == "pass" and allowed.platforms[0].reason is None
    assert any("allow_missing_sbom" in n for n in allowed.notes)


def test_suppressed_results_do_not_block() -> None:
    rules = [trivy_rule("CVE-2024-0001", "CRITICAL", "9.8")]
    result = dict(
        trivy_result(0, "CVE-2024-0001", "CRITICAL", "a"), suppressions=[{"kind": "external", "status": "accepted"}]
    )
    rejected = dict(
        trivy_result(0, "CVE-2024-0001", "CRITICAL", "b"), suppressions=[{"kind": "external", "status": "rejected"}]
    )
    gate = evaluate(_runs([result, rejected], rules), GateOptions(), today=TODAY)
    assert [j.finding.package for j in gate.blocking] == ["b"]
    assert [j.finding.package for j in gate.suppressed] == ["a"]


def test_no_runs_passes_with_a_note() -> None:
    result = evaluate([], GateOptions(), today=TODAY)
    assert result.verdict == "pass" and result.notes
