"""The scanner interface and the one registry of scanners: a BOM in, one SARIF run out.

A scanner is a module (or package) of ``gate.scanners`` with a factory
``from_options(options, log) -> Scanner``: ``options`` are its own settings (a mapping from the
config; unknown or ill-typed keys are an ``InputError``), ``log`` a progress callback. Adding one
is that module plus its line in ``_SCANNERS``. The registry imports a scanner's module only when
that scanner is asked for, so naming the scanners (``scanner_names``) costs the CLI nothing.

The scan stage (``gate.scan.stage``) calls a scanner once per platform and assembles one SARIF
log with one run per platform.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gate.errors import InputError
from gate.outcome import ignore
from gate.sbom.bom import BomFormat

Log = Callable[[str], None]


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
    """What the scan stage needs of a scanner: its registered ``name``, its version (named in the
    SARIF run), and one BOM scanned into one SARIF run (``InputError`` for bad input,
    ``RuntimeFailure`` when the scanner itself fails)."""

    name: str

    def version(self) -> str: ...

    def scan(self, request: ScanRequest) -> ScanResult: ...


ScannerFactory = Callable[[Mapping[str, Any], Log], Scanner]

_SCANNERS: dict[str, str | ScannerFactory] = {
    "trivy": "gate.scanners.trivy:from_options",
    "osv": "gate.scanners.osv:from_options",
}
"""Every scanner, by name: ``"<module>:<factory>"`` (imported when asked for)."""


def scanner_names() -> tuple[str, ...]:
    """The scanner names ``get_scanner`` accepts, sorted (the ``scanner`` option's choices)."""
    return tuple(sorted(_SCANNERS))


def get_scanner(name: str, options: Mapping[str, Any] | None = None, *, log: Log = ignore) -> Scanner:
    """The scanner called ``name``, configured with ``options`` (its own keys); ``log`` gets its progress."""
    entry = _SCANNERS.get(name)
    if entry is None:
        raise InputError(f"unknown scanner {name!r}: expected one of {', '.join(scanner_names())}")
    if isinstance(entry, str):
        module_name, _, attribute = entry.partition(":")
        factory: ScannerFactory = getattr(importlib.import_module(module_name), attribute)
    else:
        factory = entry
    return factory(options or {}, log)
