"""A small Trivy vulnerability database for tests, built from the project's own OSV records.

``build_trivy_db(cache_dir)`` runs ``trivy-db-builder`` (tests/support/trivy-db, built by
scripts/install-tools.sh) on tests/data/osv/records, so that Trivy runs offline on the same advisories
the OSV scanner reads::

    trivy sbom --skip-db-update --offline-scan --cache-dir CACHE_DIR --format json SBOM

``offline_trivy_args(cache_dir)`` are those flags, plus the two that keep Trivy v0.74 from calling
home (its version check and telemetry go to check.trivy.dev unless both are off).
``REAL_WORLD_FINDINGS`` is what those records make vulnerable in the real-world node:20-alpine SBOM,
worked out by hand.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.support.registries import REPO_ROOT, require_tool

RECORDS = REPO_ROOT / "tests" / "data" / "osv" / "records"
BUILD_TIMEOUT = 120.0
SCAN_TIMEOUT = 300.0


Finding = tuple[str, str, str]  # package, installed version, vulnerability id

# node-alpine-image.cdx.json (syft, Alpine 3.23.3): 18 npm findings and 2 Alpine ones, the 20 that
# tests/data/osv/SOURCES.md lists; semver 5.7.2 / 7.6.2 and openssl 3.5.5-r0 are already fixed.
REAL_WORLD_FINDINGS: set[Finding] = {
    ("axios", "0.21.1", "CVE-2021-3749"),  # GHSA-cph5-m8f7-6c5x: < 0.21.2
    ("axios", "0.21.1", "CVE-2023-45857"),  # GHSA-wf5p-g6vw-rhxx: 0.8.1 - < 0.28.0
    ("body-parser", "1.19.0", "CVE-2024-45590"),  # < 1.20.3
    ("brace-expansion", "2.0.1", "CVE-2025-5889"),  # 2.0.0 - < 2.0.2
    ("cookie", "0.4.0", "CVE-2024-47764"),  # < 0.7.0
    ("cross-spawn", "7.0.3", "CVE-2024-21538"),  # 7.0.0 - < 7.0.5
    ("express", "4.17.1", "CVE-2024-29041"),  # < 4.19.2
    ("express", "4.17.1", "CVE-2024-43796"),  # < 4.20.0
    ("glob", "10.4.2", "CVE-2025-64756"),  # 10.3.7 - < 10.5.0
    ("jsonwebtoken", "8.5.1", "CVE-2022-23539"),  # < 9.0.0
    ("lodash", "4.17.20", "CVE-2020-28500"),  # < 4.17.21
    ("lodash", "4.17.20", "CVE-2021-23337"),  # < 4.17.21
    ("minimist", "1.2.5", "CVE-2021-44906"),  # 1.0.0 - < 1.2.6
    ("path-to-regexp", "0.1.7", "CVE-2024-45296"),  # < 0.1.10
    ("path-to-regexp", "0.1.7", "CVE-2024-52798"),  # < 0.1.12
    ("qs", "6.7.0", "CVE-2022-24999"),  # 6.7.0 - < 6.7.3
    ("send", "0.17.1", "CVE-2024-43799"),  # < 0.19.0
    ("serve-static", "1.14.1", "CVE-2024-43800"),  # < 1.16.0
    ("zlib", "1.3.1-r2", "CVE-2026-22184"),  # Alpine v3.23: < 1.3.2-r0
    ("zlib", "1.3.1-r2", "CVE-2026-27171"),  # Alpine v3.23: 1.2.12 - < 1.3.2-r0
}


def pinned_trivy_version() -> str:
    """The Trivy version scripts/install-tools.sh builds (the Dockerfile must ship the same)."""
    script = (REPO_ROOT / "scripts" / "install-tools.sh").read_text(encoding="utf-8")
    (version,) = re.findall(r"^trivy_version=([0-9][\w.+-]*)$", script, flags=re.MULTILINE)
    return str(version)


class TrivyDbBuildFailed(RuntimeError):
    """trivy-db-builder refused the records or could not write the database."""


def build_trivy_db(cache_dir: Path, records: Path = RECORDS) -> Path:
    """Write ``cache_dir/db/trivy.db`` and ``metadata.json`` from ``records``; returns ``cache_dir``."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        [require_tool("trivy-db-builder"), "-records", str(records), "-cache-dir", str(cache_dir)],
        cwd=cache_dir,  # trivy-db's file walker reads an "overrides" folder from its working directory
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    if completed.returncode != 0:
        raise TrivyDbBuildFailed(f"trivy-db-builder exited {completed.returncode}: {completed.stderr.strip()}")
    return cache_dir


def offline_trivy_args(cache_dir: Path) -> list[str]:
    return [
        "--skip-db-update", "--skip-java-db-update", "--offline-scan", "--cache-dir", str(cache_dir),
        "--skip-version-check", "--disable-telemetry",
    ]  # fmt: skip


def run_trivy_sbom(sbom: Path, cache_dir: Path, output_format: str = "json") -> subprocess.CompletedProcess[str]:
    """``trivy sbom`` on ``sbom`` with the database in ``cache_dir``, offline; Trivy's config stays in the cache."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRIVY_")}
    env["HOME"] = str(cache_dir)
    command = [require_tool("trivy"), "sbom", "--quiet", "--format", output_format, *offline_trivy_args(cache_dir)]
    return subprocess.run(
        [*command, str(sbom)],
        cwd=cache_dir,  # Trivy reads a trivy.yaml from its working directory
        capture_output=True,
        text=True,
        env=env,
        timeout=SCAN_TIMEOUT,
        check=False,
    )
