"""The real Trivy and the built-in OSV scanner on the same SBOMs and the same advisories agree.

Trivy runs offline on the test database that ``trivy-db-builder`` makes of tests/data/osv/records
(tests/support/trivy-db), the OSV scanner reads those records themselves. Both runs are read the way
the gate reads them (``gate.policy.sarif.parse_run``), so what is compared is what the gate judges: each
finding (package, installed version, vulnerability id), its CVSS score and its severity label.

The differences, each asserted below:

- **Fixed versions.** Trivy's ``Fixed Version`` lists the fix of every range of the advisory
  (minimist 1.2.5: ``1.2.6, 0.2.4``); the OSV scanner names the fix of the range that holds the
  installed version (``1.2.6``), which is always one of Trivy's. Neither changes a verdict
  (``ignore_unfixed`` only asks whether there is a fix).
- **An Alpine package named only by its purl's ``upstream`` qualifier.** Alpine's advisories are keyed by
  the origin (source) package. For a package of a third-party SBOM Trivy reads the origin only from its own
  ``aquasecurity:trivy:SrcName`` property, so it looks ``libssl3`` up under its own name and finds nothing;
  the OSV scanner also reads ``upstream=openssl`` and finds openssl's advisories. With ``SrcName`` (Trivy's own
  SBOMs, libcrypto3 below) both find them.
- **SPDX SBOMs not written by Trivy.** Trivy finds an SPDX SBOM's operating system only in its own convention
  (``SPDXRef-OperatingSystem``) and otherwise skips every OS package; the Trivy backend first states the
  distribution the SBOM names (``gate.scanners.trivy_spdx``), after which both agree.
- **Debian.** Trivy's Debian data comes from the Debian security tracker, not from OSV records, so the test
  database holds none (trivy-db-builder refuses ``Debian:12`` records): the Debian layer inventories of
  tests/scan/test_layers.py are compared package by package, not finding by finding.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.policy.sarif import SarifFinding, parse_run
from gate.sbom.bom import BomFormat
from gate.scanners.base import Scanner, ScanRequest
from gate.scanners.osv import OsvOptions, build_osv_scanner
from gate.scanners.trivy import TrivyOptions, TrivyScanner
from tests.policy.sarif_samples import real_world
from tests.scan.test_official_images import ALPINE_NODE_FINDINGS, alpine_node_spdx
from tests.support.registries import require_tool
from tests.support.test_trivy_db import SMALL_FINDINGS, small_sbom
from tests.support.trivy_db import REAL_WORLD_FINDINGS, RECORDS, Finding, build_trivy_db

Key = tuple[str | None, str | None, str]
APP_DIR_ABSENT = {"zlib", "brace-expansion", "cross-spawn", "glob"}


@pytest.fixture(scope="module")
def trivy(tmp_path_factory: pytest.TempPathFactory) -> TrivyScanner:
    cache = build_trivy_db(tmp_path_factory.mktemp("trivy-db"))
    options = TrivyOptions(
        executable=require_tool("trivy"), skip_db_update=True, skip_java_db_update=True, offline_scan=True,
        cache_dir=cache,
    )  # fmt: skip
    return TrivyScanner(options)


def findings(scanner: Scanner, sbom: Path, bom_format: BomFormat) -> dict[Key, SarifFinding]:
    request = ScanRequest(sbom, bom_format, "test/image", "linux/amd64", "sha256:" + "0" * 64)
    run = scanner.scan(request).run
    return {(f.package, f.installed, f.id): f for f in parse_run(run, source=str(sbom)).findings}


def osv() -> Scanner:
    return build_osv_scanner(OsvOptions(db=str(RECORDS)), lambda _message: None)


def assert_same_judgement(theirs: dict[Key, SarifFinding], ours: dict[Key, SarifFinding]) -> None:
    """Each finding both report: the same score and label; the OSV scanner's fix is one of Trivy's."""
    for key in theirs.keys() & ours.keys():
        trivy_finding, osv_finding = theirs[key], ours[key]
        assert (osv_finding.score, osv_finding.label) == (trivy_finding.score, trivy_finding.label), key
        assert trivy_finding.fixed and osv_finding.fixed, key
        trivy_fixes = [part.strip() for part in trivy_finding.fixed.split(",")]
        assert osv_finding.fixed in trivy_fixes, key


@pytest.mark.parametrize(
    ("name", "bom_format", "expected"),
    [
        ("node-alpine-image.cdx.json", "cyclonedx", REAL_WORLD_FINDINGS),  # syft: npm and Alpine (with origins)
        # syft on the app directory: its npm packages, without Alpine's and without npm's own (brace-expansion,
        # cross-spawn, glob live in the image's npm, not in the app)
        ("node-app-dir.spdx.json", "spdx", {f for f in REAL_WORLD_FINDINGS if f[0] not in APP_DIR_ABSENT}),
    ],
)
def test_real_world_sboms_give_the_same_findings(
    trivy: TrivyScanner, tmp_path: Path, name: str, bom_format: BomFormat, expected: set[Finding]
) -> None:
    sbom = real_world(name)
    theirs = findings(trivy, sbom, bom_format)
    ours = findings(osv(), sbom, bom_format)
    assert set(theirs) == set(ours) == {(package, version, vuln) for package, version, vuln in expected}
    assert_same_judgement(theirs, ours)
    minimist = ("minimist", "1.2.5", "CVE-2021-44906")
    # Trivy: the fix of every range of the advisory; the OSV scanner: the fix of the range that holds 1.2.5
    assert (theirs[minimist].fixed, ours[minimist].fixed) == ("1.2.6, 0.2.4", "1.2.6")


def test_a_package_named_only_by_its_upstream_qualifier(trivy: TrivyScanner, tmp_path: Path) -> None:
    sbom = small_sbom(tmp_path / "small.cdx.json")
    theirs = findings(trivy, sbom, "cyclonedx")
    ours = findings(osv(), sbom, "cyclonedx")
    assert set(theirs) == {(package, version, vuln) for package, version, vuln in SMALL_FINDINGS}
    # The one difference: libssl3 3.5.3-r0 names its origin (openssl) only as the purl's upstream qualifier.
    only_osv = {("libssl3", "3.5.3-r0", "CVE-2025-15467"), ("libssl3", "3.5.3-r0", "CVE-2025-9230")}
    assert set(ours) - set(theirs) == only_osv and set(theirs) <= set(ours)
    # libcrypto3 carries Trivy's SrcName property: both look it up as openssl.
    assert ("libcrypto3", "3.5.4-r0", "CVE-2025-15467") in theirs.keys() & ours.keys()
    assert_same_judgement(theirs, ours)


def test_a_buildkit_style_spdx_sbom_of_an_alpine_image(trivy: TrivyScanner, tmp_path: Path) -> None:
    """The OS packages of an SPDX SBOM not written by Trivy: Trivy alone would skip them (no operating system in
    its convention); the backend states the SBOM's distribution for it (tests/scanners/test_trivy_spdx.py)."""
    sbom = tmp_path / "sbom.spdx.json"
    sbom.write_text(json.dumps(alpine_node_spdx()))
    theirs, ours = findings(trivy, sbom, "spdx"), findings(osv(), sbom, "spdx")
    assert set(theirs) == set(ours) and {(package, vuln) for package, _, vuln in ours} == ALPINE_NODE_FINDINGS
    assert_same_judgement(theirs, ours)
