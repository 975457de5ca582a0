"""The scan report as an in-toto statement with cosign's vulnerability predicate, built from real gate verdicts."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import jsonschema
import pytest

from gate.errors import InputError
from gate.promote.report import build_scan_report, validate_scan_report
from gate.promote.vuln import (
    SCHEMA_PATH,
    VULN_PREDICATE_TYPE,
    Invocation,
    VulnContext,
    scanner_uri,
    validate_vuln_statement,
    vuln_statement,
)
from tests.promote.test_report import AMD, ARM, CREATED, IMAGE, ROOT, scan_document

PRODUCTION = "registry.example/production/app"
STARTED = dt.datetime(2025, 6, 1, 12, 0, 0, tzinfo=dt.UTC)
FINISHED = dt.datetime(2025, 6, 1, 12, 1, 30, tzinfo=dt.UTC)


def statement(verdict: dict[str, Any] | None = None, **context: Any) -> dict[str, Any]:
    verdict = verdict or scan_document()
    report = build_scan_report(verdict, created=CREATED)
    built = vuln_statement(report, verdict, VulnContext(PRODUCTION, **context))
    assert json.loads(built.data) == built.document
    return dict(built.document)


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text()))


def test_a_statement_about_the_promoted_root_with_the_vuln_predicate() -> None:
    document = statement(started=STARTED, finished=FINISHED)
    assert document["_type"] == "https://in-toto.io/Statement/v1"
    assert document["subject"] == [{"name": PRODUCTION, "digest": {"sha256": ROOT.removeprefix("sha256:")}}]
    assert document["predicateType"] == VULN_PREDICATE_TYPE
    predicate = document["predicate"]
    assert list(predicate) == ["invocation", "scanner", "metadata", "decision"]
    assert predicate["invocation"] == {
        "parameters": {
            "threshold": "high", "severity_source": "cvss", "method": "sbom", "ignore_unfixed": False,
            "allow_missing_sbom": False,
        },
        "uri": "", "event_id": "", "builder.id": "",
    }  # fmt: skip
    scanner = predicate["scanner"]
    assert (scanner["uri"], scanner["version"]) == ("pkg:generic/image-gate/osv@1.2.3", "1.2.3")
    assert scanner["db"] == {"uri": "", "version": ""}
    assert predicate["metadata"] == {"scanStartedOn": "2025-06-01T12:00:00Z", "scanFinishedOn": "2025-06-01T12:01:30Z"}
    # the decision is the scan-report document itself, valid on its own
    decision = predicate["decision"]
    validate_scan_report(decision)
    assert decision["verdict"] == "pass" and decision["digest"] == ROOT and decision["image"] == IMAGE
    assert [e["id"] for e in decision["exceptions"]["applied"]] == ["CVE-2024-0002"]
    assert [p["sbom"]["attestation"] for p in decision["platforms"]] == ["sha256:" + "d" * 64, "sha256:" + "f" * 64]


def test_the_findings_per_platform_in_the_scanner_result() -> None:
    platforms = statement()["predicate"]["scanner"]["result"]["platforms"]
    assert [(p["platform"], p["digest"], p["verdict"]) for p in platforms] == [
        ("linux/amd64", AMD, "pass"),
        ("linux/arm64", ARM, "pass"),
    ]
    for entry in platforms:
        assert entry["sbom"]["predicate_type"] == "https://cyclonedx.org/bom"
        by_status = {f["status"]: f for f in entry["findings"]}
        assert sorted(by_status) == ["excepted", "suppressed"]  # LOW is below the threshold: counted, not listed
        excepted, suppressed = by_status["excepted"], by_status["suppressed"]
        assert (excepted["id"], excepted["severity"], excepted["package"]) == ("CVE-2024-0002", "high", "openssl")
        assert excepted["exception"] == {"id": "CVE-2024-0002", "reason": "not reachable in our build",
                                         "where": "exceptions.yml: exceptions[0]"}  # fmt: skip
        assert suppressed["id"] == "CVE-2024-0003" and suppressed["suppression"]["by"] == "vex"
        assert suppressed["suppression"]["status"] == "not_affected"
        assert "platform" not in excepted


def test_a_blocking_finding_and_one_of_no_named_platform_are_placed() -> None:
    verdict = scan_document()
    stray = {**verdict["excepted"][0], "platform": None}
    verdict["excepted"].append(stray)
    verdict["blocking"] = [{**verdict["excepted"][0], "platform": "linux/arm64"}]
    platforms = statement(verdict)["predicate"]["scanner"]["result"]["platforms"]
    assert [p["platform"] for p in platforms] == ["linux/amd64", "linux/arm64", None]
    assert platforms[1]["findings"][0]["status"] == "blocking"
    assert [f["status"] for f in platforms[2]["findings"]] == ["excepted"]


def test_without_scan_times_the_decision_time_stands_for_both() -> None:
    metadata = statement()["predicate"]["metadata"]
    assert metadata == {"scanStartedOn": "2025-06-01T12:30:05Z", "scanFinishedOn": "2025-06-01T12:30:05Z"}


def test_the_github_actions_run_is_the_invocation() -> None:
    environ = {
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/app",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_WORKFLOW_REF": "acme/app/.github/workflows/promote.yml@refs/heads/main",
    }
    invocation = statement(invocation=Invocation.from_environ(environ))["predicate"]["invocation"]
    assert invocation["uri"] == "https://github.com/acme/app/actions/runs/4242"
    assert invocation["event_id"] == "4242"
    assert invocation["builder.id"] == "https://github.com/acme/app/.github/workflows/promote.yml@refs/heads/main"
    assert Invocation.from_environ({}) == Invocation()


@pytest.mark.parametrize(
    ("name", "version", "expected"),
    [
        ("Trivy", "0.50.0", "pkg:github/aquasecurity/trivy@0.50.0"),
        ("grype", "0.114.0", "pkg:github/anchore/grype@0.114.0"),
        ("osv", "1.0", "pkg:generic/image-gate/osv@1.0"),
        ("Some Scanner", None, "pkg:generic/Some%20Scanner"),
        (None, None, ""),
    ],
)
def test_the_scanner_as_a_purl(name: str | None, version: str | None, expected: str) -> None:
    assert scanner_uri(name, version) == expected


def test_an_evaluate_verdict_of_another_scanners_sarif() -> None:
    verdict = {**scan_document(), "method": "sarif", "scanner": {"name": "Trivy", "version": "0.69.0"}}
    predicate = statement(verdict)["predicate"]
    assert predicate["invocation"]["parameters"]["method"] == "sarif"
    assert predicate["scanner"]["uri"] == "pkg:github/aquasecurity/trivy@0.69.0"


def test_a_statement_that_breaks_the_schema_is_refused() -> None:
    document = statement()
    document["predicate"]["metadata"]["scanStartedOn"] = "yesterday"
    with pytest.raises(InputError, match=r"predicate\.metadata\.scanStartedOn"):
        validate_vuln_statement(document)
