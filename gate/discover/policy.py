"""Which Dockerfiles are production, and the digest-pinning rule for their references."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gate.discover.images import Found
from gate.discover.parser import Dockerfile

DEFAULT_MARKER = "image-gate: production-image"
NOT_PINNED = "not pinned by digest"
INVALID_DIGEST = "invalid digest"


def has_marker(dockerfile: Dockerfile, marker: str) -> bool:
    """True when a top-level line is exactly ``#``, optional blanks, ``marker``, optional blanks.

    Only comment lines BuildKit sees as comments count: not continuation lines of an
    instruction, not heredoc bodies, not text after an instruction.
    """
    wanted = marker.strip()
    return any(comment.text.startswith("#") and comment.text[1:].strip() == wanted for comment in dockerfile.comments)


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    image: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "image": self.image, "reason": self.reason}


def violation_for(item: Found) -> Violation | None:
    """The violation of one production reference, or None when it is pinned by a valid digest."""
    where = item.location
    if item.reference is None:
        return Violation(where.path, where.line, item.image, item.problem or "invalid image reference")
    if item.reference.pinned:
        return None
    reason = INVALID_DIGEST if item.reference.digest is not None else NOT_PINNED
    return Violation(where.path, where.line, item.image, reason)


def violations(found: Iterable[Found]) -> list[Violation]:
    """Every violation, ordered by path and line."""
    result = [v for v in (violation_for(item) for item in found) if v is not None]
    return sorted(result, key=lambda v: (v.path, v.line, v.image, v.reason))
