"""Components (packages) of a CycloneDX or SPDX JSON SBOM, by purl.

A ``Component`` is what a matcher needs: name, version, the parsed purl and, for OS packages,
the source package (Alpine origin, Debian source) whose name the distribution's advisories use.
The inventory also carries the SBOM's operating-system component (distribution and release),
the fallback when a package purl has no ``distro`` qualifier, and every entry that is not a package a
scanner can check (``skipped``, each with its reason: a file, an image, an entry without name or purl),
so nothing an SBOM lists passes unseen. Only the SBOM's own subject (CycloneDX ``metadata.component``,
the SPDX packages the document describes) is not listed: it is the image itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packageurl import PackageURL

from gate.errors import InputError
from gate.files import read_capped
from gate.sbom.bom import MAX_BOM_BYTES

# Source-package hints other producers than syft put in CycloneDX properties.
_SOURCE_PROPERTIES = ("aquasecurity:trivy:SrcName", "syft:metadata:source", "syft:metadata:originPackage")
# CycloneDX component types that are not software packages (without a purl nothing can check them).
_NOT_PACKAGES = frozenset({"file", "container", "firmware", "device", "data"})


@dataclass(frozen=True)
class OperatingSystem:
    """The distribution an image is built on, e.g. ``alpine`` ``3.23.3`` or ``debian`` ``12``."""

    name: str
    version: str


@dataclass(frozen=True)
class Component:
    name: str
    version: str | None
    purl: str | None
    purl_type: str | None = None
    namespace: str | None = None
    purl_name: str | None = None
    qualifiers: tuple[tuple[str, str], ...] = ()
    source_name: str | None = None
    """The source package (``upstream`` qualifier or SBOM data), when it differs from the binary package."""
    bom_ref: str | None = None

    def qualifier(self, key: str) -> str | None:
        return dict(self.qualifiers).get(key)

    @property
    def display_version(self) -> str:
        return self.version or ""


@dataclass(frozen=True)
class Skipped:
    """An SBOM entry that is not a package a scanner can check, and why."""

    name: str
    version: str | None
    purl: str | None
    reason: str


@dataclass(frozen=True)
class Inventory:
    components: tuple[Component, ...]
    operating_system: OperatingSystem | None = None
    source: str = ""
    component_by_ref: Mapping[str, Component] = field(default_factory=dict, compare=False, repr=False)
    skipped: tuple[Skipped, ...] = ()
    """Entries that are not checkable packages (files, images, nameless entries), with the reason."""


def parse_purl(text: str) -> PackageURL | None:
    """A purl parsed by ``packageurl-python``; None when the text is not a valid purl."""
    try:
        return PackageURL.from_string(text.strip())
    except ValueError:
        return None


def read_inventory(path: Path, bom_format: str | None = None) -> Inventory:
    """Read a CycloneDX or SPDX JSON file. ``bom_format`` ('cyclonedx'/'spdx') skips detection."""
    data = read_capped(path, MAX_BOM_BYTES, "the SBOM file", regular_only=False)
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"SBOM {path}: not JSON: {exc}") from exc
    return inventory_from_document(document, str(path), bom_format)


def inventory_from_document(document: Any, source: str, bom_format: str | None = None) -> Inventory:
    if not isinstance(document, dict):
        raise InputError(f"SBOM {source}: expected a JSON object")
    if bom_format is None:
        if document.get("bomFormat") == "CycloneDX":
            bom_format = "cyclonedx"
        elif isinstance(document.get("spdxVersion"), str):
            bom_format = "spdx"
        else:
            raise InputError(f"SBOM {source}: neither CycloneDX (bomFormat) nor SPDX (spdxVersion)")
    if bom_format == "cyclonedx":
        return _from_cyclonedx(document, source)
    if bom_format == "spdx":
        return _from_spdx(document, source)
    raise InputError(f"SBOM {source}: unknown BOM format {bom_format!r}")


def component_from_fields(
    name: str,
    version: str | None,
    purl_text: str | None,
    *,
    bom_ref: str | None = None,
    source_hint: str | None = None,
) -> Component:
    purl = parse_purl(purl_text) if purl_text else None
    if purl is None:
        return Component(name=name, version=version or None, purl=purl_text or None, bom_ref=bom_ref)
    qualifiers = purl.qualifiers if isinstance(purl.qualifiers, dict) else {}
    upstream = qualifiers.get("upstream") or source_hint
    source_name = _source_name(upstream) if upstream else None
    return Component(
        name=name or purl.name,
        version=version or purl.version or None,
        purl=purl_text,
        purl_type=purl.type,
        namespace=purl.namespace or None,
        purl_name=purl.name,
        qualifiers=tuple(sorted((str(k), str(v)) for k, v in qualifiers.items())),
        source_name=source_name if source_name and source_name != purl.name else None,
        bom_ref=bom_ref,
    )


def _source_name(value: str) -> str:
    # syft writes `upstream=openssl` and, for Debian, sometimes `upstream=gcc-12@12.2.0-14`.
    name = value.split("@", 1)[0].strip()
    return name.split(" ", 1)[0]


def _from_cyclonedx(document: Mapping[str, Any], source: str) -> Inventory:
    components: list[Component] = []
    skipped: list[Skipped] = []
    by_ref: dict[str, Component] = {}
    operating_system: OperatingSystem | None = None
    metadata = document.get("metadata")
    roots: list[Any] = []
    if isinstance(metadata, dict) and isinstance(metadata.get("component"), dict):
        roots.append(metadata["component"])
    has_subject = bool(roots)
    listed = document.get("components", [])
    if listed is not None and not isinstance(listed, list):
        raise InputError(f"SBOM {source}: 'components' is not a list")
    roots.extend(listed or [])
    for index, raw in _walk_cyclonedx(roots):
        if not isinstance(raw, dict):
            raise InputError(f"SBOM {source}: component #{index} is not an object")
        kind = raw.get("type")
        name = _text(raw.get("name"))
        version = _text(raw.get("version"))
        if kind == "operating-system":
            if operating_system is None and name and version:
                operating_system = OperatingSystem(name.lower(), version)
            continue
        subject = has_subject and index == 0  # metadata.component: what the SBOM describes
        purl = _text(raw.get("purl"))
        if kind in _NOT_PACKAGES and not purl:
            if not subject:
                skipped.append(
                    Skipped(name or "", version, None, f"component type {kind} without a purl: not a package")
                )
            continue
        hint = _property(raw, _SOURCE_PROPERTIES)
        component = component_from_fields(
            name or "", version, purl, bom_ref=_text(raw.get("bom-ref")), source_hint=hint
        )
        if component.bom_ref:
            by_ref[component.bom_ref] = component
        if kind == "container":
            if not subject:
                skipped.append(
                    Skipped(component.name, version, purl, "component type container: an image, not scanned")
                )
            continue
        if component.purl is None and not component.name:
            skipped.append(Skipped("", version, None, "a component without a name or a purl"))
            continue
        components.append(component)
    return Inventory(tuple(components), operating_system, source, by_ref, tuple(skipped))


def _walk_cyclonedx(items: list[Any]) -> Iterator[tuple[int, Any]]:
    stack = list(reversed(items))
    index = 0
    while stack:
        item = stack.pop()
        yield index, item
        index += 1
        if isinstance(item, dict) and isinstance(item.get("components"), list):
            stack.extend(reversed(item["components"]))


def _from_spdx(document: Mapping[str, Any], source: str) -> Inventory:
    packages = document.get("packages", [])
    if not isinstance(packages, list):
        raise InputError(f"SBOM {source}: 'packages' is not a list")
    components: list[Component] = []
    skipped: list[Skipped] = []
    by_ref: dict[str, Component] = {}
    operating_system: OperatingSystem | None = None
    described = _described(document)
    for index, raw in enumerate(packages):
        if not isinstance(raw, dict):
            raise InputError(f"SBOM {source}: packages[{index}] is not an object")
        name = _text(raw.get("name")) or ""
        version = _text(raw.get("versionInfo"))
        if version in ("NOASSERTION", "NONE"):
            version = None
        if raw.get("primaryPackagePurpose") == "OPERATING-SYSTEM":
            if operating_system is None and name and version:
                operating_system = OperatingSystem(name.lower(), version)
            continue
        purl_text = None
        for ref in raw.get("externalRefs") or []:
            if (
                isinstance(ref, dict)
                and ref.get("referenceCategory") in ("PACKAGE-MANAGER", "PACKAGE_MANAGER")
                and ref.get("referenceType") == "purl"
            ):
                purl_text = _text(ref.get("referenceLocator"))
                break
        purpose = raw.get("primaryPackagePurpose")
        if purl_text is None and purpose in ("CONTAINER", "FILE"):
            if raw.get("SPDXID") not in described:
                skipped.append(Skipped(name, version, None, f"package purpose {purpose} without a purl: not a package"))
            continue
        if purl_text is None and not name:
            skipped.append(Skipped("", version, None, "a package without a name or a purl"))
            continue
        component = component_from_fields(name, version, purl_text, bom_ref=_text(raw.get("SPDXID")))
        if component.bom_ref:
            by_ref[component.bom_ref] = component
        components.append(component)
    return Inventory(tuple(components), operating_system, source, by_ref, tuple(skipped))


def _described(document: Mapping[str, Any]) -> frozenset[str]:
    """The SPDX ids the document describes (``documentDescribes``, ``DESCRIBES`` relationships): its subject."""
    found = [item for item in document.get("documentDescribes") or [] if isinstance(item, str)]
    for relationship in document.get("relationships") or []:
        if (
            isinstance(relationship, dict)
            and relationship.get("spdxElementId") == "SPDXRef-DOCUMENT"
            and relationship.get("relationshipType") == "DESCRIBES"
            and isinstance(relationship.get("relatedSpdxElement"), str)
        ):
            found.append(relationship["relatedSpdxElement"])
    return frozenset(found)


def _property(raw: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    for prop in raw.get("properties") or []:
        if isinstance(prop, dict) and prop.get("name") in names and isinstance(prop.get("value"), str):
            return str(prop["value"])
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None
