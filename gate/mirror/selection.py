"""Which tags of a repository are images to mirror: the include/exclude patterns, and the tags that
never are (the referrers fallback ``sha256-<hex>``, cosign's ``sha256-<hex>.sig|.att|.sbom``, the
``mirror-history`` record, and a name that is not a valid tag: an OCI layout's ref name may be anything).

Patterns are Python regular expressions searched anywhere in the tag (anchor with ``^...$``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from gate.errors import InputError
from gate.oci.reference import is_valid_tag

HISTORY_TAG = "mirror-history"
MAX_PATTERN_CHARS = 1000

DropReason = Literal[
    "referrers-fallback", "cosign-signature", "cosign-attestation", "cosign-sbom", "mirror-history",
    "invalid", "not-included", "excluded",
]  # fmt: skip

_DIGEST_TAG = r"(?:sha256|sha512)-[0-9a-f]{64}"
_FALLBACK = re.compile(_DIGEST_TAG)
_COSIGN = re.compile(rf"{_DIGEST_TAG}\.(sig|att|sbom)")
_COSIGN_REASONS: dict[str, DropReason] = {
    "sig": "cosign-signature",
    "att": "cosign-attestation",
    "sbom": "cosign-sbom",
}
REASON_TEXT: dict[DropReason, str] = {
    "referrers-fallback": "a referrers fallback index (sha256-<hex>)",
    "cosign-signature": "a cosign signature (sha256-<hex>.sig)",
    "cosign-attestation": "a cosign attestation (sha256-<hex>.att)",
    "cosign-sbom": "a cosign SBOM (sha256-<hex>.sbom)",
    "mirror-history": "the mirror history record",
    "invalid": "not a valid tag (an OCI layout's ref name)",
    "not-included": "not matched by the include pattern",
    "excluded": "matched by the exclude pattern",
}


@dataclass(frozen=True)
class Dropped:
    tag: str
    reason: DropReason

    def to_json(self) -> dict[str, str]:
        return {"tag": self.tag, "reason": self.reason}


@dataclass(frozen=True)
class TagSelection:
    """The tags kept (sorted) and those dropped, each with why (in the order listed)."""

    kept: tuple[str, ...]
    dropped: tuple[Dropped, ...]


def reserved_reason(tag: str) -> DropReason | None:
    """Why ``tag`` is never an image to mirror (None: it may be one)."""
    if tag == HISTORY_TAG:
        return "mirror-history"
    if not is_valid_tag(tag):
        return "invalid"
    if _FALLBACK.fullmatch(tag):
        return "referrers-fallback"
    cosign = _COSIGN.fullmatch(tag)
    if cosign:
        return _COSIGN_REASONS[cosign.group(1)]
    return None


def compile_pattern(text: str, where: str) -> re.Pattern[str] | None:
    """The pattern of an option (None when empty); a bad one is an ``InputError`` naming ``where``."""
    if not text:
        return None
    if len(text) > MAX_PATTERN_CHARS:
        raise InputError(f"{where}: the pattern is longer than {MAX_PATTERN_CHARS} characters")
    try:
        return re.compile(text)
    except re.error as exc:
        raise InputError(f"{where}: {text!r} is not a valid regular expression: {exc}") from None


def select_tags(
    tags: Iterable[str], include: re.Pattern[str] | None = None, exclude: re.Pattern[str] | None = None
) -> TagSelection:
    """Keep the tags ``include`` matches (all, without it) and ``exclude`` does not, never a reserved one."""
    kept: list[str] = []
    dropped: list[Dropped] = []
    for tag in dict.fromkeys(tags):
        reason = reserved_reason(tag)
        if reason is None and include is not None and not include.search(tag):
            reason = "not-included"
        if reason is None and exclude is not None and exclude.search(tag):
            reason = "excluded"
        if reason is None:
            kept.append(tag)
        else:
            dropped.append(Dropped(tag, reason))
    return TagSelection(tuple(sorted(kept)), tuple(dropped))
