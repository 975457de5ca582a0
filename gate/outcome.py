"""What a command produces: a pure value the edges (cli.py, entrypoint.py) turn into I/O."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

AnnotationLevel = Literal["error", "warning", "notice"]


def ignore(_: str) -> None:
    """The log (or mask) callback that drops what it is given: the default where nobody listens."""


@dataclass(frozen=True)
class Annotation:
    """A workflow annotation (``::error file=...,line=...,title=...::message``).

    ``file`` is relative to the workspace (POSIX), lines and columns are 1-based.
    """

    level: AnnotationLevel
    message: str
    file: str | None = None
    line: int | None = None
    end_line: int | None = None
    title: str | None = None
    col: int | None = None
    end_column: int | None = None


@dataclass(frozen=True)
class Outcome:
    """The result of one command.

    ``document`` is the ``--json`` document, ``outputs`` the job outputs (strings),
    ``summary`` the step-summary markdown (already escaped), ``messages`` the human
    lines for stderr, ``annotations`` the workflow annotations.
    """

    exit_code: int
    document: Mapping[str, Any]
    outputs: Mapping[str, str] = field(default_factory=dict)
    summary: str = ""
    messages: tuple[str, ...] = ()
    annotations: tuple[Annotation, ...] = ()


@dataclass(frozen=True)
class Context:
    """What a running command (and the stages it runs) may use of its surroundings.

    ``log`` writes a human progress line (stderr); ``mask`` registers a secret found
    at run time (a token, a password from a Docker config) before it can be printed.
    """

    log: Callable[[str], None] = ignore
    mask: Callable[[str], None] = ignore
    environ: Mapping[str, str] = field(default_factory=dict)
