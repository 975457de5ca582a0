"""The options of ``outdated``: which Dockerfiles and how their tags are looked up (``gate.options.lookup``,
shared with ``pin``), what fails the report, and the scan that compares the pinned and the current digest
(the scan stage's options that change which findings block: which SBOMs, from which signers, how an image
without SBOM is inventoried, which VEX; the SARIF and verdict-only ones do not apply). ``check_outdated_values`` is outdated's last check across options.
"""

from __future__ import annotations

from typing import Any

from gate.errors import InputError
from gate.options.base import Group, Option
from gate.options.lookup import DOCKERFILES, LOOKUP_ACCESS
from gate.options.policy import EXCEPTIONS_FILE, IGNORE_UNFIXED, SCAN_VEX, SEVERITY_SOURCE, SEVERITY_THRESHOLD
from gate.options.scan import OSV_DB, SBOM_FALLBACK, SBOM_PREDICATE_TYPE, SCANNER, check_scan_values
from gate.options.trivy import TRIVY
from gate.options.trust import TRUST

FAIL_ON_OUTDATED = Option(
    "fail_on_outdated",
    "exit 1 when a pinned digest is behind its tag (by default the report exits 0)",
    {"type": "boolean"},
    kind="bool",
    default=False,
    flag="--fail-on-outdated",
)
FAIL_ON_FIXABLE = Option(
    "fail_on_fixable",
    "exit 1 only when an update fixes a blocking vulnerability (needs --scan)",
    {"type": "boolean"},
    kind="bool",
    default=False,
    flag="--fail-on-fixable",
)
SCAN = Option(
    "scan",
    "scan the pinned and the current digest of every outdated image with the options below (the same "
    "policy for both) and list the blocking vulnerabilities the update fixes and introduces",
    {"type": "boolean"},
    kind="bool",
    default=False,
    flag="--scan",
)

OUTDATED_GROUPS = (
    Group(None, (*DOCKERFILES.options, FAIL_ON_OUTDATED, FAIL_ON_FIXABLE)),
    LOOKUP_ACCESS,
    Group("scan options (with --scan)", (SCAN, SBOM_PREDICATE_TYPE, SBOM_FALLBACK, SCANNER, OSV_DB)),
    TRIVY,
    Group(
        "gate options (with --scan: what blocks)",
        (SEVERITY_THRESHOLD, SEVERITY_SOURCE, EXCEPTIONS_FILE, IGNORE_UNFIXED),
    ),
    SCAN_VEX,
    TRUST,
)


def check_outdated_values(values: dict[str, Any], source: str) -> None:
    """--fail-on-fixable needs --scan; with --scan, the scanner and its database are usable."""
    if values["fail_on_fixable"] and not values["scan"]:
        raise InputError(f"invalid {source}: fail_on_fixable needs scan: --scan (input scan: true)")
    if values["scan"]:
        check_scan_values(values, source)
