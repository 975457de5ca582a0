"""The scan report: built from real gate verdicts, validated by its JSON Schema (its referrer: test_referrer.py)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.errors import InputError
from gate.oci.target import OCI_INDEX
from gate.policy.sarif import parse_sarif
from gate.policy.verdict import GateOptions, MissingSbom, evaluate
from gate.policy.vex import parse_vex
from gate.policy.waivers import parse_exceptions
from gate.promote.report import (
    ANNOTATION_CREATED,
    ANNOTATION_METHOD,
    ANNOTATION_PREDICATE_TYPE,
    ANNOTATION_VERDICT,
    ANNOTATION_VERDICT_DIGEST,
    SCHEMA_PATH,
    build_scan_report,
    load_verdict,
    rfc3339,
    validate_scan_report,
    verdict_digest,
)
from tests.policy.sarif_samples import sarif_log, trivy_result, trivy_rule

TODAY = dt.date(2025, 6, 1)
ROOT = "sha256:" + "a" * 64
AMD = "sha256:" + "b" * 64
ARM = "sha256:" + "c" * 64
IMAGE = "registry.example/team/app:1.0"
CYCLONEDX = "https://cyclonedx.org/bom"
CREATED = dt.datetime(2025, 6, 1, 12, 30, 5, 123456, tzinfo=dt.UTC)

EXCEPTIONS = """
exceptions:
  - id: CVE-2024-0002
    reason: not reachable in our build
  - id: CVE-2019-9999
    reason: old and gone
    expires: 2020-01-01
  - id: CVE-2024-7777
    reason: matches nothing any more
"""


def _run_log(platform: str, digest: str) -> dict[str, Any]:
    rules = [
        trivy_rule("CVE-2024-0001", "LOW", "3.1", "zlib"),
        trivy_rule("CVE-2024-0002", "HIGH", "8.1", "openssl"),
        trivy_rule("CVE-2024-0003", "CRITICAL", "9.8", "busybox"),
    ]
    results = [
        trivy_result(0, "CVE-2024-0001", "LOW", "zlib"),
        trivy_result(1, "CVE-2024-0002", "HIGH", "openssl"),
        trivy_result(2, "CVE-2024-0003", "CRITICAL", "busybox"),
    ]
    return sarif_log(rules, results, properties={"image": f"{IMAGE}@{ROOT}", "platform": platform, "digest": digest})


def _vex_for_busybox() -> dict[str, Any]:
    return {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.invalid/vex/1",
        "author": "platform team",
        "timestamp": "2025-01-01T00:00:00Z",
        "version": 1,
        "statements": [
            {
                "vulnerability": {"name": "CVE-2024-0003"},
                "products": [{"@id": ROOT}],
                "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path",
            }
        ],
    }


def gate_document(*, missing_arm: bool = False) -> dict[str, Any]:
    """A real ``evaluate --json`` document: one finding excepted, one suppressed by VEX, one below the threshold."""
    runs = parse_sarif(_run_log("linux/amd64", AMD), "amd64.sarif")
    if not missing_arm:
        runs += parse_sarif(_run_log("linux/arm64", ARM), "arm64.sarif")
    result = evaluate(
        runs,
        GateOptions(severity_threshold="high"),
        exceptions=parse_exceptions(EXCEPTIONS, "exceptions.yml"),
        vex=parse_vex(_vex_for_busybox(), "vex.json"),
        missing_sbom=[MissingSbom("linux/arm64", ARM, "no SBOM attestation")] if missing_arm else (),
        today=TODAY,
    )
    return result.to_json()


def scan_document(**kwargs: Any) -> dict[str, Any]:
    """A ``scan --json``-shaped document: the gate document plus the scan's fields (gate.scan.stage.ScanOutcome)."""
    document = gate_document(**kwargs)
    for row, (attestation, layer) in zip(
        document["platforms"],
        (("sha256:" + "d" * 64, "sha256:" + "e" * 64), ("sha256:" + "f" * 64, None)),
        strict=False,
    ):
        row.update(
            sbom_attestation=attestation,
            sbom_layer=layer,
            sbom_source="referrer",
            sbom_predicate_type=CYCLONEDX,
            sbom_envelope="dsse",
        )
    document.update(
        image=IMAGE,
        digest=ROOT,
        media_type=OCI_INDEX,
        scanner={"name": "osv", "version": "1.2.3"},
        predicate_type=CYCLONEDX,
        sarif_file="image-gate.sarif",
    )
    return document


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text()))


def test_report_from_a_scan_verdict_carries_everything_the_gate_decided() -> None:
    verdict = scan_document()
    assert verdict["verdict"] == "pass"
    report = build_scan_report(verdict, created=CREATED)
    doc = report.document
    validate_scan_report(json.loads(report.data))
    assert doc["image"] == IMAGE and doc["digest"] == ROOT
    assert doc["verdict"] == "pass" and doc["threshold"] == "high" and doc["severity_source"] == "cvss"
    assert doc["created"] == "2025-06-01T12:30:05Z"
    assert doc["scan"] == {
        "method": "sbom",
        "scanner": {"name": "osv", "version": "1.2.3"},
        "predicate_type": CYCLONEDX,
    }
    assert doc["counts"] == {"critical": 2, "high": 2, "medium": 0, "low": 2, "none": 0}
    assert doc["blocking"] == []
    assert doc["exceptions"]["applied"] == [
        {
            "id": "CVE-2024-0002",
            "reason": "not reachable in our build",
            "where": "exceptions.yml: exceptions[0]",
            "findings": 2,
        }
    ]
    assert [e["id"] for e in doc["exceptions"]["expired"]] == ["CVE-2019-9999"]
    assert doc["exceptions"]["expired"][0]["expires"] == "2020-01-01"
    assert [e["id"] for e in doc["exceptions"]["stale"]] == ["CVE-2024-7777"]
    assert [(v["id"], v["status"], v["justification"]) for v in doc["vex"]["applied"]] == [
        ("CVE-2024-0003", "not_affected", "vulnerable_code_not_in_execute_path")
    ] * 2
    assert [(p["platform"], p["digest"], p["verdict"]) for p in doc["platforms"]] == [
        ("linux/amd64", AMD, "pass"),
        ("linux/arm64", ARM, "pass"),
    ]
    assert doc["platforms"][0]["sbom"] == {
        "attestation": "sha256:" + "d" * 64,
        "layer": "sha256:" + "e" * 64,
        "predicate_type": CYCLONEDX,
        "source": "referrer",
    }
    assert doc["platforms"][1]["sbom"]["layer"] is None
    assert report.annotations() == {
        ANNOTATION_METHOD: "sbom",
        ANNOTATION_PREDICATE_TYPE: CYCLONEDX,
        ANNOTATION_VERDICT: "pass",
        ANNOTATION_CREATED: "2025-06-01T12:30:05Z",
        ANNOTATION_VERDICT_DIGEST: verdict_digest(verdict),
    }


def test_a_failing_verdict_lists_its_blocking_findings_and_the_platform_without_sbom() -> None:
    verdict = gate_document(missing_arm=True)
    verdict["excepted"] = []  # as if no exceptions file: nothing applied
    report = build_scan_report(verdict, image=IMAGE, digest=ROOT, method="image", created=CREATED)
    assert report.verdict == "fail" and report.method == "image"
    arm = next(p for p in report.document["platforms"] if p["platform"] == "linux/arm64")
    assert arm["verdict"] == "fail" and arm["reason"] == "no SBOM: no SBOM attestation" and arm["sbom"] is None


def test_an_evaluate_verdict_is_a_sarif_report_without_predicate_type() -> None:
    verdict = gate_document()
    report = build_scan_report(verdict, image=IMAGE, digest=ROOT, created=CREATED)
    assert report.method == "sarif" and report.predicate_type is None
    assert report.document["scan"]["scanner"] == {"name": None, "version": None}
    assert report.annotations()[ANNOTATION_PREDICATE_TYPE] == ""


def test_a_verdict_without_image_or_digest_is_refused() -> None:
    verdict = gate_document()
    with pytest.raises(InputError, match="no image digest"):
        build_scan_report(verdict, image=IMAGE)
    with pytest.raises(InputError, match="no image:"):
        build_scan_report(verdict, digest=ROOT)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"verdict": "maybe"}, "verdict"),
        ({"counts": None}, "counts"),
        ({"counts": {"critical": -1, "high": 0, "medium": 0, "low": 0, "none": 0}}, "counts.critical"),
        ({"severity_source": "guess"}, "severity_source"),
        ({"digest": "sha256:short"}, "digest"),
        ({"blocking": [{"id": "CVE-1", "severity": "urgent"}]}, "blocking[0]"),
    ],
)
def test_a_malformed_verdict_names_the_path(change: dict[str, Any], where: str) -> None:
    verdict = {**scan_document(), **change}
    with pytest.raises(InputError) as caught:
        build_scan_report(verdict, source="verdict file v.json")
    assert caught.value.message.startswith(f"verdict file v.json: {where}")


def test_unknown_method_is_refused() -> None:
    with pytest.raises(InputError, match="unknown scan method"):
        build_scan_report({**scan_document(), "method": "telepathy"})


def test_rfc3339_is_utc_whole_seconds() -> None:
    moment = dt.datetime(2025, 1, 2, 3, 4, 5, 999, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert rfc3339(moment) == "2025-01-02T01:04:05Z"
    with pytest.raises(ValueError):
        rfc3339(dt.datetime(2025, 1, 1))
    now = build_scan_report(scan_document()).created
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", now)


def test_the_verdict_digest_ignores_key_order() -> None:
    assert verdict_digest({"a": 1, "b": [1, 2]}) == verdict_digest({"b": [1, 2], "a": 1})
    assert verdict_digest({"a": 1}) != verdict_digest({"a": 2})


def test_load_verdict(tmp_path: Path) -> None:
    good = tmp_path / "verdict.json"
    good.write_text(json.dumps(scan_document()))
    assert load_verdict(good)["digest"] == ROOT
    with pytest.raises(InputError, match=r"missing\.json: cannot read the verdict file"):
        load_verdict(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not JSON"):
        load_verdict(bad)
    array = tmp_path / "array.json"
    array.write_text("[]")
    with pytest.raises(InputError, match="expected a JSON object"):
        load_verdict(array)
    error = tmp_path / "error.json"
    error.write_text(json.dumps({"error": {"command": "scan", "exit_code": 3, "message": "x"}}))
    with pytest.raises(InputError, match="error document"):
        load_verdict(error)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
_KEYS = st.sampled_from(
    ["verdict", "threshold", "severity_source", "counts", "blocking", "excepted", "expired_exceptions",
     "stale_exceptions", "suppressed", "platforms", "scanner", "predicate_type", "image", "digest", "method"]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_KEYS, _JSON, max_size=8))
def test_fuzzed_verdicts_fail_only_with_input_errors(changes: dict[str, Any]) -> None:
    verdict = {**scan_document(), **changes}
    try:
        report = build_scan_report(verdict, created=CREATED)
    except InputError as error:
        assert error.message.startswith("verdict document:")
    else:
        validate_scan_report(json.loads(report.data))


def test_the_verification_status_is_recorded_when_the_scan_reports_it() -> None:
    plain = build_scan_report(scan_document(), created=CREATED).document
    assert "verification" not in plain and "verified" not in plain["platforms"][0]["sbom"]
    verdict = scan_document()
    verdict.update(attestations_verified=True, unverified_attestations=[{"digest": "sha256:" + "9" * 64}])
    verdict["platforms"][0].update(sbom_verified=True, sbom_signer="sha256:" + "8" * 64)
    verdict["platforms"][1].update(sbom_verified="yes", sbom_signer=None)  # not a bool: unknown
    document = build_scan_report(verdict, created=CREATED).document
    assert document["verification"] == {"attestations_verified": True, "unverified_attestations": 1}
    assert document["platforms"][0]["sbom"]["verified"] is True
    assert document["platforms"][0]["sbom"]["signer"] == "sha256:" + "8" * 64
    assert document["platforms"][1]["sbom"]["verified"] is None and document["platforms"][1]["sbom"]["signer"] is None
    unverified = build_scan_report({**scan_document(), "attestations_verified": False}, created=CREATED).document
    assert unverified["verification"] == {"attestations_verified": False, "unverified_attestations": 0}
