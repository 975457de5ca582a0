"""The Trivy test database: the real Trivy, offline, finds exactly what the OSV records make vulnerable.

Expectations are worked out by hand from tests/data/osv/records (ranges quoted beside each). Trivy is
a peer tool: when it or trivy-db-builder is missing the tests fail (``make install`` builds both).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gate.scanners.osv.severity import base_score
from tests.policy.sarif_samples import real_world
from tests.support.registries import require_tool
from tests.support.trivy_db import (
    REAL_WORLD_FINDINGS,
    RECORDS,
    Finding,
    TrivyDbBuildFailed,
    build_trivy_db,
    pinned_trivy_version,
    run_trivy_sbom,
)

# The small SBOM below: range edges, pre-releases, an explicit version list, an Alpine origin package.
SMALL_FINDINGS: set[Finding] = {
    ("minimist", "0.2.3", "CVE-2021-44906"),  # the second range: < 0.2.4
    ("semver", "7.5.1", "CVE-2022-25883"),  # 7.0.0 - < 7.5.2 (semver is "not affected" in the real SBOM)
    ("brace-expansion", "3.0.0", "CVE-2025-5889"),  # 3.0.0 - < 3.0.1, also listed in "versions"
    ("express", "5.0.0-beta.1", "CVE-2024-43796"),  # 5.0.0-alpha.1 - < 5.0.0
    ("express", "5.0.0-beta.1", "CVE-2024-29041"),  # 5.0.0-alpha.1 - < 5.0.0-beta.3
    ("cookie", "0.6.0", "CVE-2024-47764"),  # < 0.7.0; the record has no CVSS vector
    ("zlib", "1.2.11-r3", "CVE-2026-22184"),  # < 1.3.2-r0; CVE-2026-27171 is introduced at 1.2.12
    ("libcrypto3", "3.5.4-r0", "CVE-2025-15467"),  # origin openssl < 3.5.5-r0; CVE-2025-9230 is fixed in 3.5.4-r0
}
# Not found, as expected: lodash 4.17.21 and qs 6.10.3 (the fixed versions themselves), left-pad (no
# record), and libssl3 3.5.3-r0, whose origin openssl is named only by the purl's "upstream" qualifier:
# Trivy reads the origin of a third-party SBOM's package only from its aquasecurity:trivy:SrcName
# property, so it looks up "libssl3" and finds nothing (the OSV scanner's matching may differ here).


def records_by_vulnerability() -> dict[str, dict[str, Any]]:
    """Each record under the id Trivy reports: its CVE alias (GHSA) or upstream id (Alpine)."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(RECORDS.rglob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        for alias in [*record.get("aliases", []), *record.get("upstream", [])]:
            if alias.startswith("CVE-"):
                found[alias] = record
    return found


def component(name: str, version: str, purl: str, **properties: str) -> dict[str, Any]:
    return {
        "type": "library", "bom-ref": purl, "name": name, "version": version, "purl": purl,
        "properties": [{"name": f"aquasecurity:trivy:{key}", "value": value} for key, value in properties.items()],
    }  # fmt: skip


def small_sbom(path: Path) -> Path:
    alpine = "distro=3.23.3"
    components = [
        {"type": "operating-system", "bom-ref": "os", "name": "alpine", "version": "3.23.3"},
        component("zlib", "1.2.11-r3", f"pkg:apk/alpine/zlib@1.2.11-r3?{alpine}"),
        component("libcrypto3", "3.5.4-r0", f"pkg:apk/alpine/libcrypto3@3.5.4-r0?{alpine}", SrcName="openssl"),
        component("libssl3", "3.5.3-r0", f"pkg:apk/alpine/libssl3@3.5.3-r0?{alpine}&upstream=openssl"),
        component("minimist", "0.2.3", "pkg:npm/minimist@0.2.3"),
        component("semver", "7.5.1", "pkg:npm/semver@7.5.1"),
        component("brace-expansion", "3.0.0", "pkg:npm/brace-expansion@3.0.0"),
        component("express", "5.0.0-beta.1", "pkg:npm/express@5.0.0-beta.1"),
        component("cookie", "0.6.0", "pkg:npm/cookie@0.6.0"),
        component("lodash", "4.17.21", "pkg:npm/lodash@4.17.21"),
        component("qs", "6.10.3", "pkg:npm/qs@6.10.3"),
        component("left-pad", "1.3.0", "pkg:npm/left-pad@1.3.0"),
    ]
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {"component": {"type": "container", "bom-ref": "image", "name": "test/small"}},
        "components": components,
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def trivy_json(sbom: Path, cache: Path) -> list[dict[str, Any]]:
    completed = run_trivy_sbom(sbom, cache, "json")
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    return [vuln for result in report.get("Results") or [] for vuln in result.get("Vulnerabilities") or []]


def findings(vulns: list[dict[str, Any]]) -> set[Finding]:
    return {(v["PkgName"], v["InstalledVersion"], v["VulnerabilityID"]) for v in vulns}


def expected_severity(record: dict[str, Any]) -> str:
    label = (record.get("database_specific") or {}).get("severity", "UNKNOWN")
    return {"MODERATE": "MEDIUM"}.get(label, label)


def cvss_v3(record: dict[str, Any]) -> str | None:
    return next((s["score"] for s in record.get("severity", []) if s["type"] == "CVSS_V3"), None)


def test_the_tests_run_the_pinned_trivy() -> None:
    completed = subprocess.run([require_tool("trivy"), "--version"], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert f"Version: {pinned_trivy_version()}" in completed.stdout.splitlines()


def test_builder_writes_a_schema_2_database_dated_by_the_newest_record(tmp_path: Path) -> None:
    cache = build_trivy_db(tmp_path / "trivy")
    metadata = json.loads((cache / "db" / "metadata.json").read_text(encoding="utf-8"))
    newest = max(json.loads(p.read_text(encoding="utf-8"))["modified"] for p in RECORDS.rglob("*.json"))
    assert metadata["Version"] == 2
    assert metadata["UpdatedAt"] == newest == "2026-02-18T00:00:00Z"  # ALPINE-CVE-2026-27171
    assert (cache / "db" / "trivy.db").stat().st_size > 0
    assert sorted(p.name for p in (cache / "db").iterdir()) == ["metadata.json", "trivy.db"]


def test_trivy_finds_the_records_findings_in_the_real_world_sbom(tmp_path: Path) -> None:
    sbom = real_world("node-alpine-image.cdx.json")
    vulns = trivy_json(sbom, build_trivy_db(tmp_path / "trivy"))
    assert findings(vulns) == REAL_WORLD_FINDINGS
    assert len(vulns) == len(REAL_WORLD_FINDINGS)  # no duplicates


def test_trivy_finds_the_records_findings_in_a_small_sbom(tmp_path: Path) -> None:
    sbom = small_sbom(tmp_path / "small.cdx.json")
    vulns = trivy_json(sbom, build_trivy_db(tmp_path / "trivy"))
    assert findings(vulns) == SMALL_FINDINGS
    assert len(vulns) == len(SMALL_FINDINGS)


def test_findings_carry_the_records_data(tmp_path: Path) -> None:
    """Severity, CVSS, title, fixed versions and data source come from the record, as Trivy's GHSA and
    Alpine secdb sources would give them."""
    sbom = small_sbom(tmp_path / "small.cdx.json")
    records = records_by_vulnerability()
    vulns = trivy_json(sbom, build_trivy_db(tmp_path / "trivy"))
    for vuln in vulns:
        record = records[vuln["VulnerabilityID"]]
        assert vuln["Severity"] == expected_severity(record), vuln["VulnerabilityID"]
        if record["id"].startswith("GHSA-"):
            assert vuln["VendorIDs"] == [record["id"]]
            assert vuln["DataSource"]["ID"] == "ghsa"
            assert vuln["DataSource"]["Name"] == "GitHub Security Advisory npm"
            assert vuln["SeveritySource"] == "ghsa"
            assert vuln["Title"] == record["summary"]
            vector = cvss_v3(record)
            assert vuln.get("CVSS", {}).get("ghsa", {}).get("V3Vector") == vector
        else:
            assert vuln["DataSource"] == {
                "ID": "alpine",
                "Name": "Alpine Secdb",
                "URL": "https://secdb.alpinelinux.org/",
            }
            assert vuln["Description"] == record["details"]
    fixed = {(v["PkgName"], v["InstalledVersion"], v["VulnerabilityID"]): v.get("FixedVersion") for v in vulns}
    assert fixed[("minimist", "0.2.3", "CVE-2021-44906")] == "1.2.6, 0.2.4"
    assert fixed[("express", "5.0.0-beta.1", "CVE-2024-29041")] == "4.19.2, 5.0.0-beta.3"
    assert fixed[("zlib", "1.2.11-r3", "CVE-2026-22184")] == "1.3.2-r0"
    assert fixed[("libcrypto3", "3.5.4-r0", "CVE-2025-15467")] == "3.5.5-r0"


def test_sarif_rules_carry_the_records_severities(tmp_path: Path) -> None:
    sbom = small_sbom(tmp_path / "small.cdx.json")
    completed = run_trivy_sbom(sbom, build_trivy_db(tmp_path / "trivy"), "sarif")
    assert completed.returncode == 0, completed.stderr
    (run,) = json.loads(completed.stdout)["runs"]
    rules = {rule["id"]: rule["properties"] for rule in run["tool"]["driver"]["rules"]}
    records = records_by_vulnerability()
    assert set(rules) == {vuln_id for _, _, vuln_id in SMALL_FINDINGS}
    for vuln_id, properties in rules.items():
        record = records[vuln_id]
        severity = expected_severity(record)
        assert severity in properties["tags"], vuln_id
        vector = cvss_v3(record)
        # Trivy's security-severity: the source's CVSS v3 score, else a score for the severity label.
        score = base_score("CVSS_V3", vector) if vector else None
        expected = f"{score:.1f}" if score is not None else {"LOW": "2.0", "UNKNOWN": "0.0"}[severity]
        assert properties["security-severity"] == expected, vuln_id


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"x.json": "not json"}, "x.json: not an OSV record"),
        ({"x.json": json.dumps({"id": "X", "affected": [{"package": {"ecosystem": "Debian:12", "name": "zlib"}}]})},
         'x.json: X: unsupported ecosystem "Debian:12"'),
        ({"a.json": json.dumps({"id": "A", "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N"}], "affected": [
            {"package": {"ecosystem": "Alpine:v3.23", "name": "zlib"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.3.2-r0"}]}]}]})},
         "a.json: A: an Alpine record carries a severity"),
        ({"a.json": json.dumps({"id": "A", "affected": [
            {"package": {"ecosystem": "Alpine:v3.23", "name": "zlib"},
             "ranges": [{"type": "ECOSYSTEM", "events": [
                 {"introduced": "0"}, {"fixed": "1.3.1-r0"}, {"introduced": "1.3.1-r1"}, {"fixed": "1.3.2-r0"}]}]}]})},
         "a.json: A: 2 ranges for zlib in Alpine:v3.23"),
        ({"a.json": json.dumps({"id": "A", "affected": [{"package": {"ecosystem": "npm", "name": "x"}}], "withdrawn": "2024-01-01T00:00:00Z"})},
         "a.json: A: withdrawn records are not imported"),
        ({"readme.txt": "no records here"}, "no OSV records"),
    ],
)  # fmt: skip
def test_builder_refuses_what_it_cannot_represent_and_keeps_the_old_database(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    cache = build_trivy_db(tmp_path / "trivy")
    before = (cache / "db" / "trivy.db").read_bytes()
    records = tmp_path / "records"
    records.mkdir()
    for name, text in files.items():
        (records / name).write_text(text, encoding="utf-8")
    with pytest.raises(TrivyDbBuildFailed, match="trivy-db-builder exited 2: ") as raised:
        build_trivy_db(cache, records)
    assert message in str(raised.value)
    assert (cache / "db" / "trivy.db").read_bytes() == before
    assert sorted(p.name for p in cache.iterdir()) == ["db"]  # no half-built directory left beside it
