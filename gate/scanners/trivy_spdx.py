"""An SPDX SBOM made readable to Trivy's OS-package scanning.

Trivy (v0.74, ``pkg/sbom/spdx/unmarshal.go`` ``parseType``) takes a package for the operating system only when
its ``SPDXID`` starts with ``SPDXRef-OperatingSystem``, the convention of its own SPDX writer. An SPDX SBOM
written by anyone else (syft, BuildKit's SBOM scanner: the in-index SBOMs of Docker Official Images) names the
distribution only in its packages' purls (``distro=debian-12``) or in a package of purpose ``OPERATING-SYSTEM``,
so Trivy finds no operating system and scans none of the OS packages (apk, deb, rpm): silently, only the
language packages are checked.

``prepare_spdx`` gives Trivy the document with one package added, ``SPDXRef-OperatingSystem-image-gate``, named
after the distribution the SBOM itself states (its ``OPERATING-SYSTEM`` package, else the one ``distro`` its OS
packages' purls agree on). Nothing else changes: no package is added, removed or altered. When the SBOM states no
single distribution, its OS packages are reported unchecked rather than passed as clean.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gate.sbom.components import Component, OperatingSystem, inventory_from_document
from gate.scanners.base import UncheckedComponent

TRIVY_OS_PREFIX = "SPDXRef-OperatingSystem"
ADDED_OS_ID = "SPDXRef-OperatingSystem-image-gate"
OS_PURL_TYPES = frozenset({"apk", "deb", "rpm"})
NO_OPERATING_SYSTEM = (
    "trivy: the SPDX SBOM states no single operating system (a package of purpose OPERATING-SYSTEM, or one "
    "distro qualifier on its OS packages' purls), so Trivy does not scan its OS packages"
)
# os-release IDs (what syft writes in the distro qualifier) whose Trivy OS family is spelled otherwise.
_TRIVY_FAMILIES = {
    "rhel": "redhat",
    "almalinux": "alma",
    "amzn": "amazon",
    "ol": "oracle",
    "sles": "suse linux enterprise server",
    "sle-micro": "suse linux enterprise micro",
    "opensuse-leap": "opensuse.leap",
    "opensuse-tumbleweed": "opensuse.tumbleweed",
    "mariner": "cbl-mariner",
}
_DISTRO = re.compile(r"^([a-z][a-z0-9._-]*?)-(\d[\w.+~-]*)$")


@dataclass(frozen=True)
class SpdxForTrivy:
    """What Trivy is given for an SPDX SBOM."""

    document: Mapping[str, Any] | None
    """The document to scan instead of the SBOM as it is; None: the SBOM as it is."""
    operating_system: OperatingSystem | None = None
    """The operating system added for Trivy (its family name and version)."""
    unchecked: tuple[UncheckedComponent, ...] = ()
    """OS packages Trivy cannot scan: the SBOM states no single operating system."""


def prepare_spdx(document: Mapping[str, Any], source: str) -> SpdxForTrivy:
    """The SPDX ``document`` as Trivy should read it (see the module docstring)."""
    packages = document.get("packages")
    if not isinstance(packages, list):
        return SpdxForTrivy(None)
    if any(isinstance(p, dict) and str(p.get("SPDXID", "")).startswith(TRIVY_OS_PREFIX) for p in packages):
        return SpdxForTrivy(None)  # Trivy's own SPDX, or one that follows its convention
    inventory = inventory_from_document(document, source, "spdx")
    os_packages = [c for c in inventory.components if c.purl_type in OS_PURL_TYPES]
    if not os_packages:
        return SpdxForTrivy(None)
    stated = inventory.operating_system or _from_distro(os_packages)
    if stated is None:
        return SpdxForTrivy(
            None, None, tuple(UncheckedComponent(c.name, c.version, c.purl, NO_OPERATING_SYSTEM) for c in os_packages)
        )
    system = OperatingSystem(_TRIVY_FAMILIES.get(stated.name, stated.name), stated.version)
    added = {
        "SPDXID": ADDED_OS_ID,
        "name": system.name,
        "versionInfo": system.version,
        "downloadLocation": "NOASSERTION",
        "primaryPackagePurpose": "OPERATING-SYSTEM",
    }
    return SpdxForTrivy({**document, "packages": [*packages, added]}, system)


def _from_distro(components: Sequence[Component]) -> OperatingSystem | None:
    """The one distribution the OS packages' ``distro`` qualifiers name (``debian-12``; Trivy's own purls write
    the version alone, ``distro=3.23.3``, beside the namespace ``alpine``), or None."""
    found: set[OperatingSystem] = set()
    for component in components:
        distro = (component.qualifier("distro") or "").strip().lower()
        if not distro:
            continue
        match = _DISTRO.match(distro)
        if match:
            found.add(OperatingSystem(match.group(1), match.group(2)))
        elif component.namespace and distro[0].isdigit():
            found.add(OperatingSystem(component.namespace.lower(), distro))
        else:
            return None
    return found.pop() if len(found) == 1 else None
