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

from pathlib import Path

from gate.scan.stage import ImageScanRequest, ScanSettings, scan_image
from tests.support.images import SPDX, build_image
from tests.support.registries import Registry

REPO_ROOT = Path(__file__).resolve().parents[2]
OSV_DB = str(REPO_ROOT / "tests" / "data" / "osv" / "records")
PLATFORMS = ("linux/amd64", "linux/arm64/v8")


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
