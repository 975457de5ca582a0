"""The scan options ``scan``, ``promote`` and ``pipeline`` share, declared once so that their help texts,
defaults, action inputs and schemas cannot diverge: the SBOM predicate type, the scanner (and its OSV
database or Trivy options), ``--fail-on-unchecked``, the SARIF output, then the gate and VEX options.

``ScanFields`` is the config part (a keyword-only dataclass the command configs inherit),
``SCAN_SCHEMA_PROPERTIES`` its JSON Schema properties, ``add_scan_arguments(parser, title)`` the CLI
options, ``scan_values_from_args`` / ``scan_values_from_inputs`` the config values from either edge and
``check_scan_values`` what a command that always scans checks before anything runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gate.commands.gate_options import (
    GATE_SCHEMA_PROPERTIES,
    GateFields,
    add_gate_and_vex_arguments,
    gate_and_vex_values_from_args,
    gate_and_vex_values_from_inputs,
)
from gate.commands.options import (
    TRIVY_SCHEMA_PROPERTIES,
    TRIVY_TIMEOUT,
    add_trivy_arguments,
    trivy_scanner_options,
    trivy_values_from_args,
    trivy_values_from_inputs,
)
from gate.errors import InputError
from gate.policy.verdict import GateOptions
from gate.sbom.predicates import parse_predicate_type
from gate.scan.stage import (
    DEFAULT_PREDICATE_TYPE,
    DEFAULT_SARIF_OUTPUT,
    DEFAULT_SCANNER,
    ImageScanRequest,
    ScanSettings,
)
from gate.scanners.base import scanner_names

if TYPE_CHECKING:
    from gate.config import ActionInputs
    from gate.oci.open import Access

SCAN_SCHEMA_PROPERTIES: Mapping[str, Any] = {
    "sbom_predicate_type": {"type": "string", "minLength": 1},
    "scanner": {"type": "string", "minLength": 1},
    "osv_db": {"type": "string"},
    "fail_on_unchecked": {"type": "boolean"},
    "sarif_output": {"type": "string", "minLength": 1},
    **TRIVY_SCHEMA_PROPERTIES,
    **GATE_SCHEMA_PROPERTIES,
}


@dataclass(frozen=True, kw_only=True)
class ScanFields(GateFields):
    """The scan, Trivy, gate and VEX fields of a command config that scans."""

    sbom_predicate_type: str = DEFAULT_PREDICATE_TYPE
    scanner: str = DEFAULT_SCANNER
    osv_db: str = ""
    fail_on_unchecked: bool = False
    sarif_output: str = DEFAULT_SARIF_OUTPUT
    trivy_db_repositories: tuple[str, ...] = ()
    trivy_java_db_repositories: tuple[str, ...] = ()
    trivy_skip_db_update: bool = False
    trivy_skip_java_db_update: bool = False
    trivy_offline_scan: bool = False
    trivy_cache_dir: str = ""
    trivy_timeout: float = TRIVY_TIMEOUT

    def scanner_options(self) -> dict[str, Any]:
        """The backend's options (``gate.scanners.base.get_scanner``)."""
        if self.scanner == "osv":
            return {"db": self.osv_db or None}
        if self.scanner == "trivy":
            return trivy_scanner_options(self)
        return {}

    def scan_settings(self, image: str, platforms: tuple[str, ...] = ()) -> ScanSettings:
        """What the scan stage scans (``image``, only ``platforms`` when given) and how."""
        return ScanSettings(
            image=image,
            sbom_predicate_type=self.sbom_predicate_type,
            scanner=self.scanner,
            scanner_options=self.scanner_options(),
            platforms=platforms,
            vex_files=self.vex_files,
            use_vex=self.use_vex,
            fail_on_unchecked=self.fail_on_unchecked,
        )

    def scan_request(self, image: str, access: Access, platforms: tuple[str, ...] = ()) -> ImageScanRequest:
        """The scan stage's request: scan ``image`` (reached with ``access``), gate it, write the SARIF."""
        return ImageScanRequest(
            settings=self.scan_settings(image, platforms),
            gate=GateOptions.from_config(self),
            access=access,
            sarif_output=self.sarif_output,
        )


def add_scan_arguments(parser: argparse.ArgumentParser, title: str) -> None:
    """The scan options (in the group ``title``), then the Trivy, gate and VEX option groups."""
    group = parser.add_argument_group(title)
    group.add_argument(
        "--sbom-predicate-type",
        default=DEFAULT_PREDICATE_TYPE,
        metavar="cyclonedx|spdx|URI",
        help=f"the SBOM attestation to scan, by in-toto predicate type (default: {DEFAULT_PREDICATE_TYPE})",
    )
    group.add_argument(
        "--scanner",
        default=DEFAULT_SCANNER,
        choices=scanner_names(),
        help=f"scanner run on each SBOM (default: {DEFAULT_SCANNER})",
    )
    group.add_argument(
        "--osv-db",
        default="",
        metavar="PATH_OR_URL",
        help="scanner osv: directory of OSV records or all.zip files, one such file, or an https URL of one",
    )
    group.add_argument(
        "--fail-on-unchecked",
        action="store_true",
        help="components the scanner could not check (no purl, unsupported ecosystem) fail the verdict",
    )
    group.add_argument(
        "--sarif-output",
        default=DEFAULT_SARIF_OUTPUT,
        metavar="FILE",
        help=f"where to write the SARIF log, one run per platform (default: {DEFAULT_SARIF_OUTPUT})",
    )
    add_trivy_arguments(parser)
    add_gate_and_vex_arguments(parser)


def scan_values_from_args(namespace: argparse.Namespace) -> dict[str, Any]:
    return {
        "sbom_predicate_type": namespace.sbom_predicate_type,
        "scanner": namespace.scanner,
        "osv_db": namespace.osv_db,
        "fail_on_unchecked": bool(namespace.fail_on_unchecked),
        "sarif_output": namespace.sarif_output,
        **trivy_values_from_args(namespace),
        **gate_and_vex_values_from_args(namespace),
    }


def scan_values_from_inputs(inputs: ActionInputs) -> dict[str, Any]:
    return {
        "sbom_predicate_type": inputs.get("sbom_predicate_type").strip() or DEFAULT_PREDICATE_TYPE,
        "scanner": inputs.get("scanner").strip().lower() or DEFAULT_SCANNER,
        "osv_db": inputs.get("osv_db").strip(),
        "fail_on_unchecked": inputs.bool("fail_on_unchecked"),
        "sarif_output": inputs.get("sarif_output").strip() or DEFAULT_SARIF_OUTPUT,
        **trivy_values_from_inputs(inputs),
        **gate_and_vex_values_from_inputs(inputs),
    }


def check_scan_values(values: dict[str, Any], source: str) -> dict[str, Any]:
    """``values`` when the predicate type, the scanner and its database are usable; else an ``InputError``."""
    parse_predicate_type(values["sbom_predicate_type"])
    if values["scanner"] not in scanner_names():
        raise InputError(
            f"invalid {source}: scanner {values['scanner']!r}: expected one of {', '.join(scanner_names())}"
        )
    if values["scanner"] == "osv" and not values["osv_db"]:
        raise InputError(f"invalid {source}: scanner osv needs a database: --osv-db PATH_OR_URL (input osv_db)")
    return values
