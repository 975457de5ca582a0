"""Recognise a BOM document (CycloneDX JSON or SPDX 2.x JSON), check its shape, write it for a scanner.

Only as much validation as a scanner needs to not choke: the format marker, the spec
version, and that the component/package list is a list of objects. Anything else is the
scanner's business.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gate.errors import InputError

BomFormat = Literal["cyclonedx", "spdx"]

MAX_BOM_BYTES = 256 * 1024 * 1024
"""Cap on a BOM document (read, extracted or carried by an attestation): SBOMs of big images run to tens of MiB."""

_CDX_VERSION = re.compile(r"1\.\d{1,2}")
_SPDX_VERSION = re.compile(r"SPDX-2\.\d{1,2}")


@dataclass(frozen=True)
class BomDocument:
    """A recognised BOM: its format, spec version, and the parsed JSON document."""

    format: BomFormat
    spec_version: str
    """CycloneDX ``specVersion`` (``1.6``) or SPDX ``spdxVersion`` (``SPDX-2.3``)."""
    document: Mapping[str, Any] = field(compare=False, hash=False, repr=False)
    package_count: int = 0
    """CycloneDX ``components`` (top level) or SPDX ``packages``."""
    source: str = ""

    @property
    def suffix(self) -> str:
        """A conventional file name suffix: ``.cdx.json`` or ``.spdx.json``."""
        return ".cdx.json" if self.format == "cyclonedx" else ".spdx.json"


def read_bom(data: bytes, source: str) -> BomDocument:
    """Parse and recognise a BOM from bytes; ``source`` names it in errors."""
    if len(data) > MAX_BOM_BYTES:
        raise InputError(f"SBOM {source}: {len(data)} bytes exceeds the cap of {MAX_BOM_BYTES} bytes")
    if data.lstrip()[:1] == b"<":
        raise InputError(f"SBOM {source}: XML documents are not supported; attach the CycloneDX or SPDX JSON form")
    try:
        document = json.loads(data)
    except UnicodeDecodeError as exc:
        raise InputError(f"SBOM {source}: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"SBOM {source}: not JSON (line {exc.lineno}: {exc.msg})") from None
    except (RecursionError, ValueError):
        raise InputError(f"SBOM {source}: not readable JSON (nested too deeply or bad numbers)") from None
    return recognise_bom(document, source)


def recognise_bom(document: Any, source: str) -> BomDocument:
    """Recognise an already parsed JSON value as CycloneDX or SPDX 2.x JSON."""
    if not isinstance(document, dict):
        raise InputError(f"SBOM {source}: expected a JSON object, got {type(document).__name__}")
    if "bomFormat" in document:
        if document["bomFormat"] != "CycloneDX":
            raise InputError(f"SBOM {source}: bomFormat is {str(document['bomFormat'])[:60]!r}, expected 'CycloneDX'")
        version = document.get("specVersion")
        if not isinstance(version, str) or not _CDX_VERSION.fullmatch(version):
            raise InputError(f"SBOM {source}: CycloneDX specVersion {str(version)[:40]!r} is not a 1.x version")
        count = _count_objects(document, "components", source)
        return BomDocument("cyclonedx", version, document, count, source)
    if "spdxVersion" in document:
        version = document["spdxVersion"]
        if not isinstance(version, str) or not _SPDX_VERSION.fullmatch(version):
            raise InputError(
                f"SBOM {source}: spdxVersion {str(version)[:40]!r} is not supported (SPDX 2.x JSON expected)"
            )
        count = _count_objects(document, "packages", source)
        return BomDocument("spdx", version, document, count, source)
    if "@context" in document or "@graph" in document:
        raise InputError(f"SBOM {source}: SPDX 3 / JSON-LD documents are not supported (SPDX 2.x JSON expected)")
    raise InputError(f"SBOM {source}: neither CycloneDX (bomFormat) nor SPDX (spdxVersion) JSON")


def write_bom(bom: BomDocument, path: Path) -> Path:
    """Write the BOM as JSON to ``path`` (created or replaced, owner-only) and return it."""
    # ASCII escapes keep lone surrogates (legal in JSON text) writable.
    data = json.dumps(bom.document, separators=(",", ":")).encode("ascii")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        raise InputError(f"cannot write SBOM to {path}: {exc.strerror or exc}") from None
    return path


def _count_objects(document: Mapping[str, Any], key: str, source: str) -> int:
    items = document.get(key)
    if items is None:
        return 0
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise InputError(f"SBOM {source}: {key} must be a list of objects")
    return len(items)
