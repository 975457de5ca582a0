"""The scanner interface: a BOM in, one SARIF run out.

Backends: ``trivy`` (``gate.scan.trivy``, a subprocess) and ``osv`` (``gate.scan.osv``,
an offline matcher). The scan stage calls a backend once per platform and assembles
one SARIF log with one run per platform.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gate.sbom.bom import BomFormat


@dataclass(frozen=True)
class ScanRequest:
    """One platform's BOM to scan. ``bom_path`` is the extracted BOM document (JSON)."""

    bom_path: Path
    bom_format: BomFormat
    image: str
    platform: str
    digest: str
    vex_paths: tuple[Path, ...] = ()


@dataclass(frozen=True)
class UncheckedComponent:
    """A component the scanner could not check (no purl, unsupported ecosystem)."""

    name: str
    version: str | None
    purl: str | None
    reason: str


@dataclass(frozen=True)
class ScanResult:
    """One SARIF 2.1.0 run (a dict as in the SARIF log's ``runs``) and what was not checked."""

    run: Mapping[str, Any]
    scanner: str
    scanner_version: str
    unchecked: tuple[UncheckedComponent, ...] = field(default=())


class Scanner(Protocol):
    name: str

    def version(self) -> str: ...

    def scan(self, request: ScanRequest) -> ScanResult: ...
