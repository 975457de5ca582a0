"""Which in-toto predicate types count as "the SBOM" (the ``sbom_predicate_type`` option).

``cyclonedx`` matches ``https://cyclonedx.org/bom`` and its versioned forms
(``https://cyclonedx.org/bom/v1.6``), ``spdx`` matches ``https://spdx.dev/Document`` and
its versioned forms (``https://spdx.dev/Document/v2.3``), ``auto`` (the default) matches both and
prefers CycloneDX (``preferred``); anything else must be an absolute URI and matches exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from gate.errors import InputError
from gate.sbom.bom import BomFormat

CYCLONEDX_PREDICATE = "https://cyclonedx.org/bom"
SPDX_PREDICATE = "https://spdx.dev/Document"

_FAMILIES: dict[str, tuple[str, re.Pattern[str]]] = {
    "cyclonedx": (CYCLONEDX_PREDICATE, re.compile(r"https://cyclonedx\.org/bom(?:/v?\d+(?:\.\d+){0,2})?/?")),
    "spdx": (SPDX_PREDICATE, re.compile(r"https://spdx\.dev/Document(?:/v?\d+(?:\.\d+){0,2})?/?")),
}

SelectorKind = Literal["auto", "cyclonedx", "spdx", "uri"]
AUTO = "auto"


@dataclass(frozen=True)
class PredicateSelector:
    """A validated ``sbom_predicate_type``: a family keyword or one exact URI."""

    kind: SelectorKind
    uri: str
    """The family's base URI, or the exact URI asked for."""

    def matches(self, predicate_type: str) -> bool:
        if self.kind == "uri":
            return predicate_type == self.uri
        if self.kind == "auto":
            return family_of(predicate_type) is not None
        return _FAMILIES[self.kind][1].fullmatch(predicate_type) is not None

    def preferred(self, predicate_types: Iterable[str]) -> frozenset[str]:
        """Which of these (matching) predicate types to use: with ``auto`` the CycloneDX ones when there
        are any, else the SPDX ones; otherwise every one."""
        kinds = frozenset(predicate_types)
        if self.kind != "auto":
            return kinds
        cyclonedx = frozenset(kind for kind in kinds if family_of(kind) == "cyclonedx")
        return cyclonedx or kinds

    @property
    def bom_format(self) -> BomFormat | None:
        """The BOM format the family implies; None for ``auto`` and an exact URI (read from the document)."""
        if self.kind == "cyclonedx":
            return "cyclonedx"
        if self.kind == "spdx":
            return "spdx"
        return None

    def __str__(self) -> str:
        return self.kind if self.kind != "uri" else self.uri


def parse_predicate_type(value: str, *, option: str = "sbom_predicate_type") -> PredicateSelector:
    """``auto`` | ``cyclonedx`` | ``spdx`` | an absolute URI -> a selector; anything else is an ``InputError``."""
    text = value.strip() if isinstance(value, str) else ""
    keyword = text.lower()
    if keyword == AUTO:
        return PredicateSelector("auto", AUTO)
    if keyword in ("cyclonedx", "spdx"):
        family: SelectorKind = "cyclonedx" if keyword == "cyclonedx" else "spdx"
        return PredicateSelector(family, _FAMILIES[family][0])
    if _is_absolute_uri(text):
        return PredicateSelector("uri", text)
    shown = repr(value)[:120]
    raise InputError(
        f"invalid {option} {shown}: expected 'auto', 'cyclonedx', 'spdx' or an absolute URI "
        "such as https://cyclonedx.org/bom/v1.6"
    )


def family_of(predicate_type: str) -> BomFormat | None:
    """The BOM family a predicate type belongs to, if any (used to name what was found)."""
    for name, (_, pattern) in _FAMILIES.items():
        if pattern.fullmatch(predicate_type):
            return "cyclonedx" if name == "cyclonedx" else "spdx"
    return None


def _is_absolute_uri(text: str) -> bool:
    if not text or len(text) > 2048 or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", parts.scheme or ""):
        return False
    if parts.scheme.lower() in ("http", "https"):
        return bool(parts.netloc)
    return bool(parts.netloc or parts.path)
