"""Where an image lives: a registry reference or an OCI image layout directory (``oci:PATH[:tag]``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gate.errors import InputError
from gate.reference import ImageReference, is_valid_digest, parse_reference

LAYOUT_PREFIX = "oci:"
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")


@dataclass(frozen=True)
class LayoutReference:
    """``oci:PATH[:tag][@digest]``: an OCI image layout directory and what to read or write in it."""

    path: Path
    tag: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str:
        """The digest when there is one, else the tag (``latest`` by default)."""
        return self.digest or self.tag or "latest"

    @property
    def name(self) -> str:
        return f"{LAYOUT_PREFIX}{self.path}"

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


TargetReference = ImageReference | LayoutReference


def parse_target_reference(text: str, *, default_tag: str | None = "latest") -> TargetReference:
    """A registry reference (``gate.reference.parse_reference``) or ``oci:PATH[:tag][@digest]``.

    In a layout reference the text after the last ``:`` of the last path component is the
    tag when it is a valid tag; without tag and digest the tag is ``default_tag``.
    """
    stripped = text.strip()
    if not stripped.startswith(LAYOUT_PREFIX):
        return parse_reference(stripped, default_tag=default_tag)
    rest = stripped[len(LAYOUT_PREFIX) :]
    digest: str | None = None
    if "@" in rest:
        rest, _, digest = rest.rpartition("@")
        if not is_valid_digest(digest):
            raise InputError(f"invalid digest {digest!r} in {text!r}: expected sha256: and 64 lowercase hex digits")
    tag: str | None = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        candidate = rest[colon + 1 :]
        if not _TAG.match(candidate):
            raise InputError(f"invalid tag {candidate!r} in image layout reference {text!r}")
        rest, tag = rest[:colon], candidate
    if not rest:
        raise InputError(f"invalid image layout reference {text!r}: expected oci:PATH[:tag]")
    if tag is None and digest is None:
        tag = default_tag
    return LayoutReference(Path(rest), tag, digest)
