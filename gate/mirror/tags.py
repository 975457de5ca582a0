"""The ``tags`` stage: list a repository's tags (every page), keep those to mirror
(``gate.mirror.selection``) and give them as a job matrix, one ``mirror`` per entry.

Each matrix entry is ``{"source", "destination", "tag", "name"}``: ``host/repo:tag``, the same tag in
the destination repository (empty without one), the tag, and a job name (``repo:tag``, the last path
segment of the repository). More entries than ``max_matrix`` fail the stage: a matrix GitHub would
refuse is not written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gate.discover.matrix import MATRIX_CAP
from gate.errors import InputError
from gate.mirror.selection import TagSelection, compile_pattern, select_tags
from gate.oci.open import Access, open_target, registry_pool
from gate.oci.reference import ImageReference, TargetReference, parse_target_reference
from gate.outcome import ignore


@dataclass(frozen=True)
class TagsRequest:
    """Which repository, which of its tags, where the matrix sends them, and how many it may hold."""

    source: TargetReference
    destination: TargetReference | None
    access: Access
    include: str = ""
    exclude: str = ""
    max_matrix: int = MATRIX_CAP


@dataclass(frozen=True)
class TagList:
    """The tags listed, those kept and dropped (with why), and why the stage fails (None: it passes)."""

    request: TagsRequest
    listed: int
    selection: TagSelection

    @property
    def failure(self) -> str | None:
        kept, cap = len(self.selection.kept), self.request.max_matrix
        if kept <= cap:
            return None
        return (
            f"{kept} tags to mirror exceed the matrix cap of {cap}"
            + (" (GitHub's limit for one matrix)" if cap == MATRIX_CAP else "")
            + "; narrow them with --include / input include (or raise --max-matrix / input max_matrix)"
        )

    def matrix(self) -> dict[str, Any]:
        """``{"include": [{"source", "destination", "tag", "name"}, ...]}``, in tag order."""
        source, destination = self.request.source, self.request.destination
        short = _short_name(source)
        return {
            "include": [
                {
                    "source": f"{source.name}:{tag}",
                    "destination": f"{destination.name}:{tag}" if destination is not None else "",
                    "tag": tag,
                    "name": f"{short}:{tag}",
                }
                for tag in self.selection.kept
            ]
        }


def repository(text: str, what: str, hint: str = "give a repository (host/repo or oci:PATH)") -> TargetReference:
    """``text`` as a repository: a reference without tag or digest (else an ``InputError`` ending in ``hint``)."""
    ref = parse_target_reference(text, default_tag=None)
    if ref.tag is not None or ref.digest is not None:
        raise InputError(f"the {what} {ref} names a tag or digest; {hint}")
    return ref


def list_tags(
    request: TagsRequest,
    *,
    environ: Mapping[str, str],
    mask: Callable[[str], None] = ignore,
    log: Callable[[str], None] = ignore,
) -> TagList:
    """List the source repository's tags and select those to mirror."""
    include = compile_pattern(request.include, "--include / input include")
    exclude = compile_pattern(request.exclude, "--exclude / input exclude")
    with registry_pool(request.access, environ=environ, mask=mask, log=log) as pool:
        tags = open_target(request.source, pool).list_tags()
    selection = select_tags(tags, include, exclude)
    log(f"tags: {len(tags)} tag(s) in {request.source.name}, {len(selection.kept)} to mirror")
    return TagList(request, len(tags), selection)


def _short_name(ref: TargetReference) -> str:
    if isinstance(ref, ImageReference):
        return ref.repository.rsplit("/", 1)[-1]
    return ref.path.name or "layout"
