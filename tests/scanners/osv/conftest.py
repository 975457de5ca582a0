"""Shared paths for the OSV scanner tests."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
RECORDS = REPO / "tests" / "data" / "osv" / "records"
REAL_WORLD = REPO / ".." / "shared" / "fixtures" / "real-world"


@pytest.fixture
def node_alpine_sbom() -> Path:
    path = REAL_WORLD / "node-alpine-image.cdx.json"
    if not path.is_file():
        pytest.skip("real-world fixtures absent")
    return path
