"""Which OSV ecosystem and package name a component is published under.

OSV names (https://ossf.github.io/osv-schema/#affectedpackage-field): ``Alpine:v3.19``,
``Debian:12``, ``Ubuntu:22.04:LTS``, ``AlmaLinux:9``, ``Rocky Linux:9``, ``Red Hat:...``,
``PyPI``, ``npm``, ``Maven`` (``group:artifact``), ``Go``, ``crates.io``, ``NuGet``,
``RubyGems``, ``Packagist``. Distribution advisories are keyed by the source package
(Alpine origin, Debian source), so OS packages resolve to their source name when known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gate.sbom.components import Component, OperatingSystem

_LANGUAGE = {
    "pypi": "PyPI",
    "npm": "npm",
    "maven": "Maven",
    "golang": "Go",
    "cargo": "crates.io",
    "nuget": "NuGet",
    "gem": "RubyGems",
    "composer": "Packagist",
    "hex": "Hex",
    "pub": "Pub",
}
_DEBIAN_CODENAMES = {
    "buster": "10",
    "bullseye": "11",
    "bookworm": "12",
    "trixie": "13",
    "forky": "14",
}
_RPM_DISTROS = {
    "almalinux": ("AlmaLinux", "major"),
    "rocky": ("Rocky Linux", "major"),
    "rocky-linux": ("Rocky Linux", "major"),
    "mariner": ("Mariner", "minor"),
    "azurelinux": ("Azure Linux", "minor"),
    "opensuse": ("openSUSE", "leap"),
    "opensuse-leap": ("openSUSE", "leap"),
    "suse": ("SUSE", "sles"),
    "sles": ("SUSE", "sles"),
    "redhat": ("Red Hat", "rhel"),
    "rhel": ("Red Hat", "rhel"),
}
SUPPORTED_PURL_TYPES = frozenset({"apk", "deb", "rpm", *_LANGUAGE})


@dataclass(frozen=True)
class OsvPackage:
    """Where to look a component up: exactly ``ecosystem``, or every ecosystem starting with it."""

    ecosystem: str
    name: str
    version: str
    ecosystem_is_prefix: bool = False

    @property
    def family(self) -> str:
        """The ecosystem without its release suffix (``Alpine:v3.19`` -> ``Alpine``)."""
        return self.ecosystem.split(":", 1)[0]


@dataclass(frozen=True)
class Unresolved:
    reason: str


def resolve(component: Component, operating_system: OperatingSystem | None = None) -> OsvPackage | Unresolved:
    """The OSV package for a component, or why it cannot be checked."""
    if component.purl is None:
        return Unresolved("no purl")
    if component.purl_type is None or component.purl_name is None:
        return Unresolved("purl does not parse")
    version = component.version
    if not version:
        return Unresolved("no version")
    kind = component.purl_type
    if kind in _LANGUAGE:
        return OsvPackage(_LANGUAGE[kind], _language_name(component), _language_version(kind, version))
    if kind == "apk" and component.namespace in ("wolfi", "chainguard"):
        return OsvPackage(component.namespace.capitalize(), component.source_name or component.purl_name, version)
    if kind == "apk":
        release = _alpine_release(component.qualifier("distro"), operating_system)
        if release is None:
            return Unresolved("apk package without an Alpine release (no distro qualifier, no OS component)")
        return OsvPackage(f"Alpine:v{release}", component.source_name or component.purl_name, version)
    if kind == "deb":
        ecosystem = _deb_ecosystem(component.namespace, component.qualifier("distro"), operating_system)
        if ecosystem is None:
            return Unresolved("deb package without a known Debian/Ubuntu release")
        return OsvPackage(ecosystem, component.source_name or component.purl_name, version)
    if kind == "rpm":
        return _rpm(component, version, operating_system)
    return Unresolved(f"ecosystem {kind!r} is not supported")


def _language_name(component: Component) -> str:
    name = component.purl_name or component.name
    namespace = component.namespace
    if component.purl_type == "maven":
        return f"{namespace}:{name}" if namespace else name
    if namespace and component.purl_type in ("npm", "golang", "composer"):
        return f"{namespace}/{name}"
    return name


def _language_version(kind: str, version: str) -> str:
    if kind == "golang" and re.match(r"^v\d", version):
        return version[1:]
    return version


def _release_numbers(text: str) -> list[str]:
    match = re.search(r"(\d+(?:\.\d+)*)", text)
    return match.group(1).split(".") if match else []


def _alpine_release(distro: str | None, operating_system: OperatingSystem | None) -> str | None:
    # syft writes distro=alpine-3.23.3, Trivy distro=3.19.1; the OS component says alpine 3.23.3.
    candidates = [distro] if distro else []
    if operating_system and "alpine" in operating_system.name:
        candidates.append(operating_system.version)
    for text in candidates:
        numbers = _release_numbers(text)
        if len(numbers) >= 2:
            return f"{numbers[0]}.{numbers[1]}"
    return None


def _deb_ecosystem(namespace: str | None, distro: str | None, operating_system: OperatingSystem | None) -> str | None:
    family = (namespace or "").lower()
    release_text = distro
    if release_text and "-" in release_text and re.match(r"^[a-z]", release_text):
        family_part, release_text = release_text.split("-", 1)
        family = family or family_part
    if release_text is None and operating_system is not None:
        family = family or operating_system.name
        release_text = operating_system.version
    if release_text is None:
        return None
    if family == "debian":
        release = _DEBIAN_CODENAMES.get(release_text.lower())
        numbers = _release_numbers(release_text)
        release = release or (numbers[0] if numbers else None)
        return f"Debian:{release}" if release else None
    if family == "ubuntu":
        numbers = _release_numbers(release_text)
        if len(numbers) < 2:
            return None
        year, month = int(numbers[0]), numbers[1].zfill(2)
        lts = ":LTS" if month == "04" and year % 2 == 0 else ""
        return f"Ubuntu:{year}.{month}{lts}"
    return None


def _rpm(component: Component, version: str, operating_system: OperatingSystem | None) -> OsvPackage | Unresolved:
    family = (component.namespace or (operating_system.name if operating_system else "")).lower()
    distro = component.qualifier("distro") or (operating_system.version if operating_system else None)
    mapped = _RPM_DISTROS.get(family)
    if mapped is None or not distro:
        return Unresolved(f"rpm distribution {family or '?'!r} is not supported")
    name, style = mapped
    numbers = _release_numbers(distro)
    if not numbers:
        return Unresolved(f"rpm distribution release {distro!r} is not understood")
    package = component.source_name or component.purl_name or component.name
    epoch = component.qualifier("epoch")
    if epoch and ":" not in version:
        version = f"{epoch}:{version}"
    if style == "major":
        return OsvPackage(f"{name}:{numbers[0]}", package, version)
    if style == "minor":
        return OsvPackage(f"{name}:{'.'.join(numbers[:2])}", package, version)
    if style == "leap":
        return OsvPackage(f"{name}:Leap {'.'.join(numbers[:2])}", package, version)
    if style == "sles":
        sp = f" SP{numbers[1]}" if len(numbers) > 1 and numbers[1] != "0" else ""
        return OsvPackage(f"{name}:Linux Enterprise Server {numbers[0]}{sp}", package, version)
    return OsvPackage(f"{name}:enterprise_linux:{numbers[0]}", package, version, ecosystem_is_prefix=True)
