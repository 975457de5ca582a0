"""The options of ``outdated`` (and what ``pin`` shares with it): which Dockerfiles (discover's options),
how the tags are looked up (registry access), what fails the report, and the scan that compares the
pinned and the current digest (a subset of the scan stage's options: the SARIF and verdict-only
options do not apply).

``DockerfileFields`` and ``LookupFields`` are the config parts both commands fill; ``check_outdated_values``
is outdated's last check across options.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from gate.discover.policy import DEFAULT_MARKER
from gate.discover.production import Selection
from gate.errors import InputError
from gate.oci.copy import DEFAULT_CONCURRENCY
from gate.oci.open import Access
from gate.options.access import CONCURRENCY, INSECURE_REGISTRIES, REGISTRY_AUTH, config_secrets
from gate.options.base import Group, Option
from gate.options.discover import ALL_DOCKERFILES, ALLOW_EMPTY, BUILD_ARGS, MARKER, PATH
from gate.options.policy import EXCEPTIONS_FILE, IGNORE_UNFIXED, SEVERITY_SOURCE, SEVERITY_THRESHOLD, VEX
from gate.options.scan import OSV_DB, SBOM_PREDICATE_TYPE, SCANNER, check_scan_values
from gate.options.trivy import TRIVY

LOOKUPS = replace(CONCURRENCY, help=f"parallel tag lookups, 1-64 (default: {DEFAULT_CONCURRENCY})")

DOCKERFILES = Group(None, (PATH, MARKER, ALL_DOCKERFILES, BUILD_ARGS, ALLOW_EMPTY))
LOOKUP_ACCESS = Group("registry access", (LOOKUPS, INSECURE_REGISTRIES, REGISTRY_AUTH))

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
    Group("scan options (with --scan)", (SCAN, SBOM_PREDICATE_TYPE, SCANNER, OSV_DB)),
    TRIVY,
    Group(
        "gate options (with --scan: what blocks)",
        (SEVERITY_THRESHOLD, SEVERITY_SOURCE, EXCEPTIONS_FILE, IGNORE_UNFIXED),
    ),
    VEX,
)


def check_outdated_values(values: dict[str, Any], source: str) -> None:
    """--fail-on-fixable needs --scan; with --scan, the scanner and its database are usable."""
    if values["fail_on_fixable"] and not values["scan"]:
        raise InputError(f"invalid {source}: fail_on_fixable needs scan: --scan (input scan: true)")
    if values["scan"]:
        check_scan_values(values, source)


@dataclass(frozen=True, kw_only=True)
class DockerfileFields:
    """Which Dockerfiles a command reads, as discover: where, the production marker, build args."""

    path: str = "."
    marker: str = DEFAULT_MARKER
    all_dockerfiles: bool = False
    build_args: Mapping[str, str] = field(default_factory=dict)
    allow_empty: bool = False

    def selection(self) -> Selection:
        return Selection(self.marker, self.all_dockerfiles, self.build_args)


@dataclass(frozen=True, kw_only=True)
class LookupFields:
    """How a command reaches the registries of every image it finds: the hosts' credentials come from
    ``registry_auth`` and Docker's config; ``concurrency`` bounds the lookups in flight."""

    concurrency: int = DEFAULT_CONCURRENCY
    insecure_registries: tuple[str, ...] = ()
    registry_auth: str = ""

    def access(self) -> Access:
        return Access(
            registry_auth=self.registry_auth,
            insecure_registries=self.insecure_registries,
            concurrency=self.concurrency,
        )

    def secrets(self) -> tuple[str, ...]:
        """Every password the config carries (masked before anything is printed)."""
        return config_secrets(registry_auth=self.registry_auth)
