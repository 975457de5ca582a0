"""The discover stage: find production Dockerfiles under a directory, check that every image they use
is pinned by a digest, and give the unique images as a job matrix.

``discover(request)`` reads the tree and returns a frozen ``Discovery``; ``gate.discover.outcome``
turns it into the command's outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gate.discover.matrix import MATRIX_CAP, Image, unique_images
from gate.discover.policy import DEFAULT_MARKER, Violation, violations
from gate.discover.production import Selection, read_production
from gate.outcome import ignore


@dataclass(frozen=True)
class DiscoverRequest:
    """What to search (``path``), what marks a production Dockerfile, and what fails the stage."""

    path: str = "."
    marker: str = DEFAULT_MARKER
    all_dockerfiles: bool = False
    require_digest: bool = True
    build_args: Mapping[str, str] = field(default_factory=dict)
    allow_empty: bool = False
    max_matrix: int = MATRIX_CAP


@dataclass(frozen=True)
class Discovery:
    """What discover found: every Dockerfile (path, production?), the unique images of the production
    ones, the violations, notes on the others, and why the stage fails (empty: it passes)."""

    request: DiscoverRequest
    dockerfiles: tuple[tuple[str, bool], ...]
    images: tuple[Image, ...]
    violations: tuple[Violation, ...]
    notes: tuple[str, ...]
    failures: tuple[str, ...]

    @property
    def production_count(self) -> int:
        return sum(1 for _, production in self.dockerfiles if production)


def discover(request: DiscoverRequest, log: Callable[[str], None] = ignore) -> Discovery:
    """Read every Dockerfile under ``request.path`` and judge the production ones."""
    selection = Selection(request.marker, request.all_dockerfiles, request.build_args)
    production = read_production(Path(request.path), selection)
    log(f"discover: {len(production.dockerfiles)} Dockerfile(s) under {request.path}")
    found = production.found
    images = unique_images(found)
    problems = sorted(
        violations(found) + list(production.syntax_errors), key=lambda v: (v.path, v.line, v.image, v.reason)
    )
    failures: list[str] = []
    empty = production.empty_failure(request.path, request.marker)
    if empty is not None and not request.allow_empty:
        failures.append(empty)
    if len(images) > request.max_matrix:
        failures.append(
            f"{len(images)} unique images exceed the matrix cap of {request.max_matrix}"
            + (" (GitHub's limit for one matrix)" if request.max_matrix == MATRIX_CAP else "")
            + "; split the discovery by path or raise --max-matrix / input max_matrix"
        )
    if problems and request.require_digest:
        failures.append(
            f"{len(problems)} violation(s) in production Dockerfiles: every image must be pinned by a valid digest"
        )
    return Discovery(request, production.dockerfiles, tuple(images), tuple(problems), production.notes, tuple(failures))
