"""The scan stage's defaults and choices, with no dependency: the scan options (``gate.options.scan``) read
them for ``--help`` without importing the stage (``gate.scan.stage``, ``gate.scan.layers``), which use them too."""

from __future__ import annotations

from typing import Literal

from gate.errors import InputError

DEFAULT_SARIF_OUTPUT = "image-gate.sarif"
DEFAULT_PREDICATE_TYPE = "auto"
DEFAULT_SCANNER = "trivy"

SbomFallback = Literal["none", "layers"]
SBOM_FALLBACKS: tuple[SbomFallback, ...] = ("none", "layers")
DEFAULT_SBOM_FALLBACK: SbomFallback = "none"


def check_sbom_fallback(value: str, source: str = "sbom_fallback") -> SbomFallback:
    """``none`` or ``layers`` (any case); anything else is an ``InputError``."""
    text = value.strip().lower()
    for fallback in SBOM_FALLBACKS:
        if text == fallback:
            return fallback
    raise InputError(f"{source}: {value!r} is not one of {', '.join(SBOM_FALLBACKS)}")
