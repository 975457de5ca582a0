"""Cross-check: osv-scanner (offline, same records) and our matcher agree per package.

osv-scanner v2 reads a local database from ``<local-db-path>/osv-scalibr/<Ecosystem>/all.zip``
(osv-scalibr's enricher/vulnmatch/osvlocal; older releases used ``osv-scanner/``, so both are
written). It is installed by scripts/install-tools.sh; like every peer tool, a missing binary
fails the test loudly rather than skipping it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest

from gate.scanners.base import ScanRequest
from gate.scanners.osv import OsvOptions, build_osv_scanner
from tests.scanners.osv.conftest import REAL_WORLD, RECORDS, REPO

Groups = dict[tuple[str, str], set[frozenset[str]]]


def _osv_scanner() -> str:
    path = shutil.which("osv-scanner", path=str(REPO / ".cache" / "tools" / "bin")) or shutil.which("osv-scanner")
    if path is None:
        pytest.fail("osv-scanner is not installed: run `bash scripts/install-tools.sh`")
    return path


def _local_db(root: Path) -> Path:
    for layout in ("osv-scalibr", "osv-scanner"):
        for family in RECORDS.iterdir():
            target = root / layout / family.name / "all.zip"
            target.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
                for record in sorted(family.glob("*.json")):
                    archive.write(record, record.name)
    return root


def _theirs(sbom: Path, db: Path) -> Groups:
    env = dict(os.environ, HOME=str(db))  # keep osv-scanner's config and caches out of the user's home
    completed = subprocess.run(
        [_osv_scanner(), "scan", "source", "--offline-vulnerabilities", "--local-db-path", str(db),
         "-L", str(sbom), "--format", "json"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert completed.returncode in (0, 1), completed.stderr  # 1: vulnerabilities found
    groups: Groups = defaultdict(set)
    for result in json.loads(completed.stdout).get("results") or []:
        for package in result.get("packages") or []:
            key = (package["package"]["name"], package["package"]["version"])
            for group in package.get("groups") or []:
                groups[key].add(frozenset(group["ids"]))
    return dict(groups)


def _ours(sbom: Path, bom_format: str) -> Groups:
    scanner = build_osv_scanner(OsvOptions(db=str(RECORDS)), lambda _m: None)
    run = scanner.scan(ScanRequest(sbom, bom_format, "image", "linux/amd64", "sha256:" + "0" * 64)).run  # type: ignore[arg-type]
    groups: Groups = defaultdict(set)
    for result in run["results"]:
        props = result["properties"]
        # osv-scanner names OS packages by the source package it matched (zlib, openssl).
        groups[(props["osvPackage"], props["installed"])].add(frozenset(props["osvIds"]))
    return dict(groups)


def _real(name: str) -> Path:
    path = REAL_WORLD / name
    if not path.is_file():
        pytest.skip("real-world fixtures absent")
    return path


@pytest.mark.parametrize(("name", "bom_format"), [("node-alpine-image.cdx.json", "cyclonedx"), ("node-app-dir.spdx.json", "spdx")])  # fmt: skip
def test_real_sboms_agree(tmp_path: Path, name: str, bom_format: str) -> None:
    sbom = tmp_path / name
    shutil.copy(_real(name), sbom)
    theirs = _theirs(sbom, _local_db(tmp_path / "db"))
    ours = _ours(sbom, bom_format)
    assert ours == theirs
    if bom_format == "cyclonedx":
        assert len(ours) == 15 and sum(len(v) for v in ours.values()) == 20


def test_alpine_subpackages_match_through_their_origin(tmp_path: Path) -> None:
    """libcrypto3/libssl3 (origin openssl) moved back to 3.5.3-r0.

    Explained difference: Alpine's advisories (secdb, hence OSV's Alpine records) are keyed by
    the origin (source) package, here ``openssl``. We read the origin from the purl's
    ``upstream`` qualifier (as Trivy does from its SrcName); osv-scanner 2.6.0, reading a
    CycloneDX SBOM, queries the binary package names ``libcrypto3``/``libssl3`` and so finds
    nothing for them. Everything else agrees.
    """
    document = json.loads(_real("node-alpine-image.cdx.json").read_text())
    for component in document["components"]:
        if component.get("name") in ("libcrypto3", "libssl3"):
            component["version"] = "3.5.3-r0"
            component["purl"] = component["purl"].replace("@3.5.5-r0", "@3.5.3-r0")
    sbom = tmp_path / "downgraded.cdx.json"
    sbom.write_text(json.dumps(document))
    theirs = _theirs(sbom, _local_db(tmp_path / "db"))
    ours = _ours(sbom, "cyclonedx")
    openssl = {frozenset({"ALPINE-CVE-2025-15467"}), frozenset({"ALPINE-CVE-2025-9230"})}
    assert ours.pop(("openssl", "3.5.3-r0")) == openssl
    assert ("openssl", "3.5.3-r0") not in theirs
    assert not any(name in ("libcrypto3", "libssl3") for name, _ in theirs)
    assert ours == theirs
