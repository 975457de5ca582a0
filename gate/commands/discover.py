"""``discover``: find production Dockerfiles, check that every image they use is pinned by digest,
and emit the unique images as a job matrix."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.commands import Context
from gate.config import ActionInputs, build_config, parse_assignments
from gate.discover.files import find_dockerfiles, read_dockerfile
from gate.discover.images import Found, references
from gate.discover.matrix import MATRIX_CAP, compact_json, matrix, unique_images
from gate.discover.parser import parse
from gate.discover.policy import DEFAULT_MARKER, Violation, has_marker, violations
from gate.discover.summary import render
from gate.errors import EXIT_OK, EXIT_POLICY
from gate.outcome import Annotation, Outcome

NAME = "discover"
HELP = "find production Dockerfiles, enforce digest pinning of their images and emit a job matrix"

SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path", "marker", "all_dockerfiles", "require_digest", "build_args", "allow_empty", "max_matrix"],
    "properties": {
        "path": {"type": "string", "minLength": 1},
        "marker": {"type": "string", "pattern": r"^[^\r\n]*\S[^\r\n]*$"},
        "all_dockerfiles": {"type": "boolean"},
        "require_digest": {"type": "boolean"},
        "build_args": {"type": "object", "additionalProperties": {"type": "string"}},
        "allow_empty": {"type": "boolean"},
        "max_matrix": {"type": "integer", "minimum": 1},
    },
}


@dataclass(frozen=True)
class DiscoverConfig:
    path: str = "."
    marker: str = DEFAULT_MARKER
    all_dockerfiles: bool = False
    require_digest: bool = True
    build_args: Mapping[str, str] = field(default_factory=dict)
    allow_empty: bool = False
    max_matrix: int = MATRIX_CAP


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", default=".", help="directory to search (default: .)")
    parser.add_argument(
        "--marker",
        default=DEFAULT_MARKER,
        help=f"text after '#' on its own line that marks a production Dockerfile (default: {DEFAULT_MARKER!r})",
    )
    parser.add_argument("--all-dockerfiles", action="store_true", help="treat every Dockerfile as production")
    parser.add_argument(
        "--no-require-digest",
        dest="require_digest",
        action="store_false",
        help="report references without a valid digest but do not fail",
    )
    parser.add_argument(
        "--build-arg",
        dest="build_args",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a global ARG default when FROM lines are expanded (repeatable)",
    )
    parser.add_argument("--allow-empty", action="store_true", help="succeed when no production Dockerfile is found")
    parser.add_argument(
        "--max-matrix",
        type=int,
        default=MATRIX_CAP,
        metavar="N",
        help=f"most matrix entries allowed (default: {MATRIX_CAP}, GitHub's matrix cap)",
    )


def config_from_args(namespace: argparse.Namespace) -> DiscoverConfig:
    values = {
        "path": namespace.path,
        "marker": namespace.marker,
        "all_dockerfiles": namespace.all_dockerfiles,
        "require_digest": namespace.require_digest,
        "build_args": parse_assignments(list(namespace.build_args), "--build-arg"),
        "allow_empty": namespace.allow_empty,
        "max_matrix": namespace.max_matrix,
    }
    return build_config(DiscoverConfig, SCHEMA, values, "command line")


def config_from_inputs(inputs: ActionInputs) -> DiscoverConfig:
    values = {
        "path": inputs.get("path").strip() or ".",
        "marker": inputs.get("marker"),
        "all_dockerfiles": inputs.bool("all_dockerfiles"),
        "require_digest": inputs.bool("require_digest"),
        "build_args": parse_assignments(inputs.get("build_args"), "input build_args"),
        "allow_empty": inputs.bool("allow_empty"),
        "max_matrix": inputs.int("max_matrix"),
    }
    return build_config(DiscoverConfig, SCHEMA, values, "action inputs")


def _annotation_file(root: Path, path: str) -> str:
    """The path GitHub needs for an annotation: relative to the workspace when the file is in it."""
    full = os.path.abspath(root / path)
    relative = os.path.relpath(full, os.getcwd())
    return path if relative.startswith("..") else Path(relative).as_posix()


def _annotation(root: Path, violation: Violation) -> Annotation:
    message = f"{violation.image}: {violation.reason}" if violation.image else violation.reason
    return Annotation(
        "error",
        message,
        file=_annotation_file(root, violation.path),
        line=violation.line,
        title="image-gate discover",
    )


def run(config: DiscoverConfig, context: Context) -> Outcome:
    root = Path(config.path)
    paths = find_dockerfiles(root)
    context.log(f"discover: {len(paths)} Dockerfile(s) under {config.path}")
    dockerfiles: list[tuple[str, bool]] = []
    found: list[Found] = []
    parse_problems: list[Violation] = []
    messages: list[str] = []
    for path in paths:
        dockerfile = parse(read_dockerfile(root, path))
        production = config.all_dockerfiles or has_marker(dockerfile, config.marker)
        dockerfiles.append((path, production))
        problem = dockerfile.error
        if not production:
            if problem:
                messages.append(f"note: {path}:{problem.line}: {problem.message} (not a production Dockerfile)")
            continue
        if problem:
            parse_problems.append(Violation(path, problem.line, "", f"Dockerfile syntax error: {problem.message}"))
        found += references(dockerfile, path, config.build_args)

    images = unique_images(found)
    problems = sorted(violations(found) + parse_problems, key=lambda v: (v.path, v.line, v.image, v.reason))
    production_count = sum(1 for _, flag in dockerfiles if flag)

    failures: list[str] = []
    if production_count == 0 and not config.allow_empty:
        failures.append(
            f"no production Dockerfile found under {config.path} ({len(dockerfiles)} Dockerfile(s) searched, "
            f"none has a line '# {config.marker}'); add the marker, pass --all-dockerfiles, or --allow-empty"
        )
    if len(images) > config.max_matrix:
        failures.append(
            f"{len(images)} unique images exceed the matrix cap of {config.max_matrix}"
            + (" (GitHub's limit for one matrix)" if config.max_matrix == MATRIX_CAP else "")
            + "; split the discovery by path or raise --max-matrix / input max_matrix"
        )
    if problems and config.require_digest:
        failures.append(
            f"{len(problems)} violation(s) in production Dockerfiles: every image must be pinned by a valid digest"
        )

    matrix_document = matrix(images)
    document = {
        "dockerfiles": [{"path": path, "production": flag} for path, flag in dockerfiles],
        "images": [image.to_json() for image in images],
        "violations": [violation.to_json() for violation in problems],
        "matrix": matrix_document,
    }
    verdict = "failed: " + "; ".join(failures) if failures else "passed"
    messages.append(
        f"discover: {len(dockerfiles)} Dockerfile(s), {production_count} production, "
        f"{len(images)} unique image(s), {len(problems)} violation(s)"
        + ("" if config.require_digest or not problems else " (reported only: require_digest is off)")
    )
    messages += [f"error: {failure}" for failure in failures]
    return Outcome(
        exit_code=EXIT_POLICY if failures else EXIT_OK,
        document=document,
        outputs={
            "matrix": compact_json(matrix_document),
            "images": compact_json(document["images"]),
            "violations": compact_json(document["violations"]),
        },
        summary=render(dockerfiles, images, problems, verdict=verdict, marker=config.marker),
        messages=tuple(messages),
        annotations=tuple(_annotation(root, violation) for violation in problems),
    )
