"""Which Dockerfiles are production ones, and the image references they hold: the reading that
``discover``, ``outdated`` and ``pin`` share (same marker, ``all_dockerfiles`` and build args).

``read_production(root, selection)`` finds every Dockerfile under ``root``, parses it, keeps the
production ones and their references; ``read`` is how a file is read (``pin`` keeps the bytes it
will rewrite).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gate.discover.files import find_dockerfiles, read_dockerfile
from gate.discover.images import Found, references
from gate.discover.parser import Dockerfile, parse
from gate.discover.policy import DEFAULT_MARKER, Violation, has_marker


@dataclass(frozen=True)
class Selection:
    """What marks a production Dockerfile, and the ``--build-arg`` values its references expand with."""

    marker: str = DEFAULT_MARKER
    all_dockerfiles: bool = False
    build_args: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProductionFile:
    """One production Dockerfile: its path (relative to the searched root), parsed, and its references."""

    path: str
    dockerfile: Dockerfile
    found: tuple[Found, ...]


@dataclass(frozen=True)
class Production:
    """Every Dockerfile found (path, production?), the production ones, their syntax errors as
    violations, and notes on the others."""

    dockerfiles: tuple[tuple[str, bool], ...]
    files: tuple[ProductionFile, ...]
    syntax_errors: tuple[Violation, ...]
    notes: tuple[str, ...]

    @property
    def found(self) -> tuple[Found, ...]:
        return tuple(item for production in self.files for item in production.found)

    def empty_failure(self, path: str, marker: str) -> str | None:
        """Why a run that needs a production Dockerfile fails when there is none (None: there is one)."""
        if self.files:
            return None
        return (
            f"no production Dockerfile found under {path} ({len(self.dockerfiles)} Dockerfile(s) searched, "
            f"none has a line '# {marker}'); add the marker, pass --all-dockerfiles, or --allow-empty"
        )


def read_production(root: Path, selection: Selection, read: Callable[[Path, str], str] = read_dockerfile) -> Production:
    """Read every Dockerfile under ``root`` (``read(root, path)`` gives its text) and keep the production ones."""
    dockerfiles: list[tuple[str, bool]] = []
    files: list[ProductionFile] = []
    syntax_errors: list[Violation] = []
    notes: list[str] = []
    for path in find_dockerfiles(root):
        dockerfile = parse(read(root, path))
        production = selection.all_dockerfiles or has_marker(dockerfile, selection.marker)
        dockerfiles.append((path, production))
        problem = dockerfile.error
        if not production:
            if problem:
                notes.append(f"note: {path}:{problem.line}: {problem.message} (not a production Dockerfile)")
            continue
        if problem:
            syntax_errors.append(Violation(path, problem.line, "", f"Dockerfile syntax error: {problem.message}"))
        files.append(ProductionFile(path, dockerfile, tuple(references(dockerfile, path, selection.build_args))))
    return Production(tuple(dockerfiles), tuple(files), tuple(syntax_errors), tuple(notes))
