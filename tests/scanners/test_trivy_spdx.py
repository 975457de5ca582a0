"""An SPDX SBOM written by anyone but Trivy (syft, BuildKit: Docker Official Images) names its distribution only
in purls or in an OPERATING-SYSTEM package; Trivy v0.74 then scans none of its OS packages, silently. The Trivy
backend states the distribution in Trivy's own way (``gate.scanners.trivy_spdx``), or reports the OS packages
unchecked when the SBOM states no single one. The real Trivy, offline on the test database, is the referee."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from gate.policy.sarif import parse_run
from gate.sbom.components import OperatingSystem
from gate.scanners.base import ScanRequest
from gate.scanners.trivy import TrivyOptions, TrivyScanner
from gate.scanners.trivy_spdx import ADDED_OS_ID, NO_OPERATING_SYSTEM, prepare_spdx
from tests.scan.test_official_images import ALPINE_NODE_FINDINGS, alpine_node_spdx
from tests.support.registries import require_tool
from tests.support.trivy_db import build_trivy_db, run_trivy_sbom


def package(number: int, name: str, version: str, purl: str | None, purpose: str = "LIBRARY") -> dict[str, Any]:
    refs = [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}] if purl else []
    return {"SPDXID": f"SPDXRef-Package-{number}", "name": name, "versionInfo": version,
            "downloadLocation": "NOASSERTION", "primaryPackagePurpose": purpose, "externalRefs": refs}  # fmt: skip


def spdx(*packages: dict[str, Any]) -> dict[str, Any]:
    return {"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "t", "packages": list(packages)}


DEBIAN = package(1, "libc6", "2.36-9+deb12u10", "pkg:deb/debian/libc6@2.36-9+deb12u10?arch=amd64&distro=debian-12")
UBI = package(2, "openssl-libs", "3.0.7-27.el9", "pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rhel-9.4")


@pytest.mark.parametrize(
    ("packages", "expected"),
    [
        ([DEBIAN], OperatingSystem("debian", "12")),  # syft's distro qualifier
        ([UBI], OperatingSystem("redhat", "9.4")),  # os-release ID rhel is Trivy's family redhat
        ([package(3, "zlib", "1.2.11-r3", "pkg:apk/alpine/zlib@1.2.11-r3?distro=3.23.3")], OperatingSystem("alpine", "3.23.3")),  # Trivy's purls
        ([package(4, "Debian", "12.10", None, "OPERATING-SYSTEM"), DEBIAN], OperatingSystem("debian", "12.10")),  # the SBOM's OS package first
    ],
)  # fmt: skip
def test_the_distribution_the_sbom_states_is_added_in_trivys_way(
    packages: list[dict[str, Any]], expected: OperatingSystem
) -> None:
    document = spdx(*packages)
    before = copy.deepcopy(document)
    prepared = prepare_spdx(document, "test")
    assert prepared.operating_system == expected and prepared.unchecked == ()
    assert prepared.document is not None and document == before  # a copy: the SBOM itself is untouched
    *kept, added = prepared.document["packages"]
    assert kept == packages
    assert added == {"SPDXID": ADDED_OS_ID, "name": expected.name, "versionInfo": expected.version,
                     "downloadLocation": "NOASSERTION", "primaryPackagePurpose": "OPERATING-SYSTEM"}  # fmt: skip


def test_nothing_is_changed_when_trivy_reads_it_already_or_there_is_no_os_package() -> None:
    own = package(0, "debian", "12.10", None, "OPERATING-SYSTEM")
    own["SPDXID"] = "SPDXRef-OperatingSystem-5d2c1f"  # Trivy's own SPDX
    assert prepare_spdx(spdx(own, DEBIAN), "test").document is None
    assert prepare_spdx(spdx(package(1, "lodash", "4.17.20", "pkg:npm/lodash@4.17.20")), "test").document is None
    assert prepare_spdx({"spdxVersion": "SPDX-2.3", "packages": "?"}, "test").document is None


def test_no_single_distribution_leaves_the_os_packages_unchecked() -> None:
    other = package(3, "zlib", "1:1.2.13", "pkg:deb/debian/zlib1g@1:1.2.13?distro=debian-11")
    for document in (spdx(DEBIAN, other), spdx(package(5, "libc6", "2.36", "pkg:deb/debian/libc6@2.36"))):
        prepared = prepare_spdx(document, "test")
        assert prepared.document is None and prepared.operating_system is None
        assert prepared.unchecked and all(item.reason == NO_OPERATING_SYSTEM for item in prepared.unchecked)


def test_the_real_trivy_scans_the_os_packages_of_such_an_sbom(tmp_path: Path) -> None:
    cache = build_trivy_db(tmp_path / "trivy-db")
    scanner = TrivyScanner(
        TrivyOptions(executable=require_tool("trivy"), skip_db_update=True, skip_java_db_update=True,
                     offline_scan=True, cache_dir=cache)
    )  # fmt: skip
    sbom = tmp_path / "sbom.spdx.json"
    sbom.write_text(json.dumps(alpine_node_spdx()))
    before = sbom.read_bytes()
    result = scanner.scan(ScanRequest(sbom, "spdx", "test/node", "linux/amd64", "sha256:" + "0" * 64))
    findings = parse_run(result.run, source="trivy").findings
    assert {(f.package, f.id) for f in findings} == ALPINE_NODE_FINDINGS  # zlib's Alpine advisories included
    assert result.unchecked == ()
    assert sbom.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["sbom.spdx.json", "trivy-db"]

    # Trivy alone on the SBOM as attested: no operating system found, its OS packages silently unscanned.
    completed = run_trivy_sbom(sbom, cache)
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report["Metadata"]["OS"] == {"Family": "none", "Name": ""}
    alone = {(v["PkgName"], v["VulnerabilityID"]) for r in report["Results"] for v in r.get("Vulnerabilities") or []}
    assert alone == {finding for finding in ALPINE_NODE_FINDINGS if finding[0] != "zlib"}
