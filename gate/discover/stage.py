"""The discover stage: find production Dockerfiles under a directory, check that every image they use
is pinned by a digest, and give the unique images as a job matrix.

``discover(request)`` reads the tree and returns a frozen ``Discovery``; ``gate.discover.outcome``
turns it into the command's outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gate.discover.files import find_dockerfiles, read_dockerfile
from gate.discover.images import Found, references
from gate.discover.matrix import MATRIX_CAP, Image, unique_images
from gate.discover.parser import parse
from gate.discover.policy import DEFAULT_MARKER, Violation, has_marker, violations
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
    root = Path(request.path)
    paths = find_dockerfiles(root)
    log(f"discover: {len(paths)} Dockerfile(s) under {request.path}")
    dockerfiles: list[tuple[str, bool]] = []
    found: list[Found] = []
    parse_problems: list[Violation] = []
    notes: list[str] = []
    for path in paths:
        dockerfile = parse(read_dockerfile(root, path))
        production = request.all_dockerfiles or has_marker(dockerfile, request.marker)
        dockerfiles.append((path, production))
        problem = dockerfile.error
        if not production:
            if problem:
                notes.append(f"note: {path}:{problem.line}: {problem.message} (not a production Dockerfile)")
            continue
        if problem:
            parse_problems.append(Violation(path, problem.line, "", f"Dockerfile syntax error: {problem.message}"))
        found += references(dockerfile, path, request.build_args)

    images = unique_images(found)
    problems = sorted(violations(found) + parse_problems, key=lambda v: (v.path, v.line, v.image, v.reason))
    production_count = sum(1 for _, production in dockerfiles if production)
    failures: list[str] = []
    if production_count == 0 and not request.allow_empty:
        failures.append(
            f"no production Dockerfile found under {request.path} ({len(dockerfiles)} Dockerfile(s) searched, "
            f"none has a line '# {request.marker}'); add the marker, pass --all-dockerfiles, or --allow-empty"
        )
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
    return Discovery(request, tuple(dockerfiles), tuple(images), tuple(problems), tuple(notes), tuple(failures))
