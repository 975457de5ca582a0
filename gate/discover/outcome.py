"""The outcome of a discover run: exit 1 when the stage fails, the matrix, images and violations as
outputs and JSON, the summary, an error annotation per violation (at its file and line)."""

from __future__ import annotations

import os
from pathlib import Path

from gate.discover.matrix import compact_json, matrix
from gate.discover.policy import Violation
from gate.discover.stage import Discovery
from gate.discover.summary import render
from gate.errors import EXIT_OK, EXIT_POLICY
from gate.outcome import Annotation, Outcome


def discovery_outcome(found: Discovery) -> Outcome:
    """The outcome: exit 1 when the stage fails, the matrix, images and violations as outputs and JSON."""
    request = found.request
    matrix_document = matrix(found.images)
    document = {
        "dockerfiles": [{"path": path, "production": flag} for path, flag in found.dockerfiles],
        "images": [image.to_json() for image in found.images],
        "violations": [violation.to_json() for violation in found.violations],
        "matrix": matrix_document,
    }
    verdict = "failed: " + "; ".join(found.failures) if found.failures else "passed"
    messages = [
        *found.notes,
        f"discover: {len(found.dockerfiles)} Dockerfile(s), {found.production_count} production, "
        f"{len(found.images)} unique image(s), {len(found.violations)} violation(s)"
        + ("" if request.require_digest or not found.violations else " (reported only: require_digest is off)"),
        *(f"error: {failure}" for failure in found.failures),
    ]
    root = Path(request.path)
    return Outcome(
        exit_code=EXIT_POLICY if found.failures else EXIT_OK,
        document=document,
        outputs={
            "matrix": compact_json(matrix_document),
            "images": compact_json(document["images"]),
            "violations": compact_json(document["violations"]),
        },
        summary=render(found.dockerfiles, found.images, found.violations, verdict=verdict, marker=request.marker),
        messages=tuple(messages),
        annotations=tuple(_annotation(root, violation) for violation in found.violations),
    )


def annotation_file(root: str | Path, path: str) -> str:
    """The path GitHub needs for an annotation: relative to the workspace when the file is in it."""
    full = os.path.abspath(Path(root) / path)
    relative = os.path.relpath(full, os.getcwd())
    return path if relative.startswith("..") else Path(relative).as_posix()


def _annotation(root: Path, violation: Violation) -> Annotation:
    message = f"{violation.image}: {violation.reason}" if violation.image else violation.reason
    return Annotation(
        "error",
        message,
        file=annotation_file(root, violation.path),
        line=violation.line,
        title="image-gate discover",
    )
