"""An image shaped like a Docker Official Image scans with default options.

Docker Official Images (python, node, golang...) are built by BuildKit with its SBOM and provenance
attestations: an OCI index whose platform manifests (``linux/amd64``, ``linux/arm64/v8``) each have an
in-index attestation manifest (platform ``unknown/unknown``, annotations ``vnd.docker.reference.type:
attestation-manifest`` and ``vnd.docker.reference.digest``) holding bare in-toto v0.1 statements, one
layer each, annotated ``in-toto.io/predicate-type``: an SPDX SBOM and SLSA provenance. No referrers, no
CycloneDX. Only the scanner's database is given; every other option keeps its default
(``sbom_predicate_type: auto``, ``sbom_fallback: none``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gate.policy.sarif import parse_sarif
from gate.scan.stage import ImageScanRequest, ScanSettings, scan_image
from tests.support.images import SPDX, build_image
from tests.support.registries import Registry, require_tool
from tests.support.trivy_db import build_trivy_db

REPO_ROOT = Path(__file__).resolve().parents[2]
OSV_DB = str(REPO_ROOT / "tests" / "data" / "osv" / "records")
PLATFORMS = ("linux/amd64", "linux/arm64/v8")


def alpine_node_spdx() -> dict[str, Any]:
    """An SPDX 2.3 SBOM shaped like those BuildKit's SBOM scanner (syft) attests in a node:*-alpine image, cut
    down: apk packages whose purls name the distribution (``distro=alpine-3.23.3``), npm packages, no package in
    Trivy's ``SPDXRef-OperatingSystem`` convention. One OS package type only, as in a real image (Trivy refuses an
    SBOM that mixes apk and deb)."""
    distro = "distro=alpine-3.23.3"
    packages = [
        (name, version, purl, "LIBRARY")
        for name, version, purl in (
            ("busybox", "1.37.0-r12", f"pkg:apk/alpine/busybox@1.37.0-r12?arch=x86_64&{distro}"),
            ("zlib", "1.3.1-r2", f"pkg:apk/alpine/zlib@1.3.1-r2?arch=x86_64&{distro}"),
            ("lodash", "4.17.20", "pkg:npm/lodash@4.17.20"),
            ("minimist", "1.2.5", "pkg:npm/minimist@1.2.5"),
            ("semver", "7.6.2", "pkg:npm/semver@7.6.2"),
        )
    ]
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "sbom",
        "documentNamespace": "https://docker.com/docker-sbom/node-alpine-test",
        "creationInfo": {"created": "2026-01-01T00:00:00Z", "creators": ["Tool: syft-v1.0.0", "Tool: buildkit-v0.20"]},
        "packages": [
            {
                "SPDXID": f"SPDXRef-Package-{number}",
                "name": name,
                "versionInfo": version,
                "downloadLocation": "NOASSERTION",
                "primaryPackagePurpose": purpose,
                **(
                    {
                        "externalRefs": [
                            {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}
                        ]
                    }
                    if purl
                    else {}
                ),
            }
            for number, (name, version, purl, purpose) in enumerate(packages)
        ],
    }


# By hand from tests/data/osv/records: lodash 4.17.20 (CVE-2020-28500 moderate, CVE-2021-23337 high), minimist
# 1.2.5 (CVE-2021-44906 critical), zlib 1.3.1-r2 in Alpine v3.23 (CVE-2026-22184: < 1.3.2-r0; CVE-2026-27171:
# 1.2.12 - < 1.3.2-r0; Alpine's records carry no severity). semver 7.6.2 and busybox: nothing.
ALPINE_NODE_FINDINGS = {
    ("lodash", "CVE-2020-28500"),
    ("lodash", "CVE-2021-23337"),
    ("minimist", "CVE-2021-44906"),
    ("zlib", "CVE-2026-22184"),
    ("zlib", "CVE-2026-27171"),
}


def test_an_image_shaped_like_a_docker_official_image_scans_with_default_options(
    distribution_registry: Registry, unique_repo: str, tmp_path: Path
) -> None:
    image = build_image(distribution_registry, unique_repo, "3.13-slim", PLATFORMS, buildkit_attestations=True,
                        sbom_predicate=SPDX)  # fmt: skip
    settings = ScanSettings(image.ref, scanner="osv", scanner_options={"db": OSV_DB})
    document = scan_image(ImageScanRequest(settings, sarif_output=str(tmp_path / "out.sarif"))).to_json()

    rows = {row["platform"]: row for row in document["platforms"]}
    assert set(rows) == set(PLATFORMS)
    for platform, row in rows.items():
        assert row["sbom_source"] == "in-index"
        assert row["sbom_attestation"] == image.attestations[platform]
        assert row["sbom_predicate_type"] == SPDX and row["bom_format"] == "spdx"
        assert row["components"] > 0 and row["reason"] is None
    assert document["method"] == "sbom"
    # The SBOM's lodash 4.17.20 has CVE-2021-23337 (HIGH): the image is scanned and blocked on it.
    assert document["verdict"] == "fail"
    assert {(b["platform"], b["id"]) for b in document["blocking"]} == {(p, "CVE-2021-23337") for p in PLATFORMS}


@pytest.mark.parametrize("scanner", ["trivy", "osv"])
def test_the_command_line_with_default_sbom_options_on_both_registries(
    any_registry: Registry, unique_repo: str, tmp_path: Path, scanner: str
) -> None:
    """``python -m gate scan IMAGE`` as a runner runs it, with no SBOM option at all: the default scanner (the
    real Trivy, offline on the test database) or the OSV scanner; only where the advisories come from is given."""
    image = build_image(any_registry, unique_repo, "22-alpine", PLATFORMS, buildkit_attestations=True,
                        sbom_predicate=SPDX, sbom=alpine_node_spdx())  # fmt: skip
    if scanner == "trivy":
        cache = build_trivy_db(tmp_path / "trivy-db")
        advisories = ["--trivy-skip-db-update", "--trivy-skip-java-db-update", "--trivy-offline-scan",
                      "--trivy-cache-dir", str(cache)]  # fmt: skip
    else:
        advisories = ["--scanner", "osv", "--osv-db", OSV_DB]
    summary = tmp_path / "summary.md"
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "IMAGE_GATE_", "TRIVY_"))}
    environ.update(
        PYTHONPATH=str(REPO_ROOT),
        PATH=f"{Path(require_tool('trivy')).parent}{os.pathsep}{environ.get('PATH', '')}",
        GITHUB_ACTIONS="true",
        GITHUB_STEP_SUMMARY=str(summary),
    )
    completed = subprocess.run(
        [sys.executable, "-m", "gate", "scan", image.ref, *advisories, "--json"],
        cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert completed.returncode == 1, completed.stderr  # scanned, and blocked on what the SBOMs hold
    document = json.loads(completed.stdout)
    assert document["predicate_type"] == "auto" and document["scanner"]["name"] == scanner
    for row in document["platforms"]:
        assert (row["sbom_source"], row["bom_format"], row["sbom_subject"]) == ("in-index", "spdx", "platform")
        assert row["sbom_attestation"] == image.attestations[row["platform"]] and row["reason"] is None
    # The OS packages are scanned too (Trivy sees the SBOM's operating system: gate.scanners.trivy_spdx).
    runs = parse_sarif(json.loads((tmp_path / "image-gate.sarif").read_text()), "the SARIF written")
    for run in runs:
        assert {(f.package, f.id) for f in run.findings} == ALPINE_NODE_FINDINGS, run.platform
    assert {(b["platform"], b["id"]) for b in document["blocking"]} == {
        (p, vuln) for p in PLATFORMS for vuln in ("CVE-2021-23337", "CVE-2021-44906")
    }
    text = summary.read_text()
    assert "in-index" in text and "https://spdx.dev/Document" in text and "no SBOM" not in text
