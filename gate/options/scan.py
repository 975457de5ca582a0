"""The options of the scan stage, for ``scan``, ``promote`` and ``pipeline``: which SBOM attestations,
which scanner (and its OSV database or Trivy options), ``--fail-on-unchecked``, ``--allow-empty-sbom``, the
SARIF output. ``ScanFields`` is the config part they fill, with the Trivy, gate, VEX and verification
(``gate.options.trust``) fields, and builds the scan stage's request; ``scan_groups`` are the option
groups in help order."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from gate.errors import InputError
from gate.options.base import Group, Option
from gate.options.policy import GATE, SCAN_VEX, GateFields
from gate.options.trivy import TRIVY, TrivyFields, trivy_scanner_options
from gate.options.trust import TRUST, TrustFields
from gate.policy.sarif_category import DEFAULT_SARIF_CATEGORY, check_sarif_category
from gate.sbom.predicates import parse_predicate_type
from gate.scan.defaults import (
    DEFAULT_PREDICATE_TYPE,
    DEFAULT_SARIF_OUTPUT,
    DEFAULT_SBOM_FALLBACK,
    DEFAULT_SCANNER,
    SBOM_FALLBACKS,
    check_sbom_fallback,
)
from gate.scanners.base import scanner_names

if TYPE_CHECKING:  # the scan stage (registry client, cryptography, the scanners) is imported when it runs
    from gate.oci.open import Access
    from gate.scan.stage import ImageScanRequest, ScanSettings

SBOM_PREDICATE_TYPE = Option(
    "sbom_predicate_type",
    "the SBOM attestations to scan, by in-toto predicate type: auto (CycloneDX, else SPDX), cyclonedx, spdx "
    f"or a URI (default: {DEFAULT_PREDICATE_TYPE})",
    {"type": "string", "minLength": 1},
    default=DEFAULT_PREDICATE_TYPE,
    flag="--sbom-predicate-type",
    metavar="auto|cyclonedx|spdx|URI",
    empty_default=True,
)
SBOM_FALLBACK = Option(
    "sbom_fallback",
    "a platform without SBOM: none (it blocks, unless --allow-missing-sbom) or layers (Trivy inventories its "
    f"layers, copied by image-gate into a private temporary layout, and the scanner scans that; default: "
    f"{DEFAULT_SBOM_FALLBACK})",
    {"type": "string", "minLength": 1},
    default=DEFAULT_SBOM_FALLBACK,
    flag="--sbom-fallback",
    choices=SBOM_FALLBACKS,
    empty_default=True,
    normalise=lambda value, source: check_sbom_fallback(value, source),
)
SCANNER = Option(
    "scanner",
    f"scanner run on each SBOM (default: {DEFAULT_SCANNER})",
    {"type": "string", "minLength": 1},
    default=DEFAULT_SCANNER,
    flag="--scanner",
    choices=scanner_names(),
    empty_default=True,
    normalise=lambda value, _: value.lower(),
)
OSV_DB = Option(
    "osv_db",
    "scanner osv: directory of OSV records or all.zip files, one such file, or an https URL of one",
    {"type": "string"},
    default="",
    flag="--osv-db",
    metavar="PATH_OR_URL",
)
FAIL_ON_UNCHECKED = Option(
    "fail_on_unchecked",
    "components the scanner could not check (no purl, unsupported ecosystem) fail the verdict",
    {"type": "boolean"},
    kind="bool",
    default=False,
    flag="--fail-on-unchecked",
)
ALLOW_EMPTY_SBOM = Option(
    "allow_empty_sbom",
    'an SBOM with no components does not block its platform (by default it does: "empty SBOM")',
    {"type": "boolean"},
    kind="bool",
    default=False,
    flag="--allow-empty-sbom",
)
SARIF_OUTPUT = Option(
    "sarif_output",
    f"where to write the SARIF log, one run per platform (default: {DEFAULT_SARIF_OUTPUT})",
    {"type": "string", "minLength": 1},
    default=DEFAULT_SARIF_OUTPUT,
    flag="--sarif-output",
    metavar="FILE",
    empty_default=True,
)
SARIF_CATEGORY = Option(
    "sarif_category",
    "the prefix of each SARIF run's automationDetails.id, <PREFIX>/<repository>/<platform>/: code scanning "
    f"keeps one analysis per category (default: {DEFAULT_SARIF_CATEGORY})",
    {"type": "string", "minLength": 1},
    default=DEFAULT_SARIF_CATEGORY,
    flag="--sarif-category",
    metavar="PREFIX",
    empty_default=True,
    normalise=check_sarif_category,
)


def scan_groups(title: str) -> tuple[Group, ...]:
    """The scan options (under ``title``), then the Trivy, gate, VEX and attestation verification groups."""
    scan: tuple[Option, ...] = (SBOM_PREDICATE_TYPE, SBOM_FALLBACK, SCANNER, OSV_DB, FAIL_ON_UNCHECKED, ALLOW_EMPTY_SBOM)
    scan += (SARIF_OUTPUT, SARIF_CATEGORY)
    return (Group(title, scan), TRIVY, GATE, SCAN_VEX, TRUST)


def check_scan_values(values: dict[str, Any], source: str) -> None:
    """For a command that always scans: the predicate type, the scanner and its database are usable."""
    parse_predicate_type(values["sbom_predicate_type"])
    if values["scanner"] not in scanner_names():
        raise InputError(
            f"invalid {source}: scanner {values['scanner']!r}: expected one of {', '.join(scanner_names())}"
        )
    if values["scanner"] == "osv" and not values["osv_db"]:
        raise InputError(f"invalid {source}: scanner osv needs a database: --osv-db PATH_OR_URL (input osv_db)")


@dataclass(frozen=True, kw_only=True)
class ScannerFields(TrivyFields):
    """The scanner and its options (the OSV database, the Trivy fields): of ``ScanFields``, and of ``outdated``."""

    scanner: str = DEFAULT_SCANNER
    osv_db: str = ""

    def scanner_options(self) -> dict[str, Any]:
        """The backend's options (``gate.scanners.base.get_scanner``)."""
        if self.scanner == "osv":
            return {"db": self.osv_db or None}
        if self.scanner == "trivy":
            return trivy_scanner_options(self)
        return {}


@dataclass(frozen=True, kw_only=True)
class ScanFields(GateFields, TrustFields, ScannerFields):
    """The scan, Trivy, gate, VEX and verification fields of a command config that scans."""

    sbom_predicate_type: str = DEFAULT_PREDICATE_TYPE
    attached_vex: bool = True
    sbom_fallback: str = DEFAULT_SBOM_FALLBACK
    fail_on_unchecked: bool = False
    allow_empty_sbom: bool = False
    sarif_output: str = DEFAULT_SARIF_OUTPUT
    sarif_category: str = DEFAULT_SARIF_CATEGORY

    def scan_settings(self, image: str, platforms: tuple[str, ...] = ()) -> ScanSettings:
        """What the scan stage scans (``image``, only ``platforms`` when given) and how."""
        from gate.scan.stage import ScanSettings

        return ScanSettings(
            image=image,
            sbom_predicate_type=self.sbom_predicate_type,
            scanner=self.scanner,
            scanner_options=self.scanner_options(),
            platforms=platforms,
            vex_files=self.vex_files,
            use_vex=self.use_vex,
            attached_vex=self.attached_vex,
            fail_on_unchecked=self.fail_on_unchecked,
            allow_empty_sbom=self.allow_empty_sbom,
            verification=self.verification_policy(),
            category=self.sarif_category,
            sbom_fallback=self.sbom_fallback,
            trivy_options=trivy_scanner_options(self),
        )

    def scan_request(
        self, image: str, access: Access, platforms: tuple[str, ...] = (), *, settings: ScanSettings | None = None
    ) -> ImageScanRequest:
        """The scan stage's request: scan ``image`` (reached with ``access``), gate it, write the SARIF.
        ``settings``: these ``scan_settings``, built earlier (their verification policy read once), for
        ``image`` and ``platforms``; None: built now."""
        from gate.policy.verdict import GateOptions
        from gate.scan.stage import ImageScanRequest

        if settings is None:
            settings = self.scan_settings(image, platforms)
        else:
            settings = replace(settings, image=image, platforms=platforms)
        return ImageScanRequest(
            settings=settings,
            gate=GateOptions.from_config(self),
            access=access,
            sarif_output=self.sarif_output,
        )
