"""The options of ``discover``: where to look, what marks a production Dockerfile, what fails."""

from __future__ import annotations

from gate.discover.matrix import MATRIX_CAP
from gate.discover.policy import DEFAULT_MARKER
from gate.options.base import Group, Option

PATH = Option(
    "path",
    "directory to search (default: .)",
    {"type": "string", "minLength": 1},
    default=".",
    positional=True,
    empty_default=True,
)
MARKER = Option(
    "marker",
    f"text after '#' on its own line that marks a production Dockerfile (default: {DEFAULT_MARKER!r})",
    {"type": "string", "pattern": r"^[^\r\n]*\S[^\r\n]*$"},
    default=DEFAULT_MARKER,
    flag="--marker",
    strip=False,
)
ALL_DOCKERFILES = Option(
    "all_dockerfiles",
    "treat every Dockerfile as production",
    {"type": "boolean"},
    kind="bool",
    default=False,
    flag="--all-dockerfiles",
)
REQUIRE_DIGEST = Option(
    "require_digest",
    "report references without a valid digest but do not fail",
    {"type": "boolean"},
    kind="bool",
    default=True,
    flag="--no-require-digest",
)
BUILD_ARGS = Option(
    "build_args",
    "override a global ARG default when FROM lines are expanded (repeatable)",
    {"type": "object", "additionalProperties": {"type": "string"}},
    kind="assignments",
    default={},
    flag="--build-arg",
    metavar="NAME=VALUE",
)
ALLOW_EMPTY = Option(
    "allow_empty",
    "succeed when no production Dockerfile is found",
    {"type": "boolean"},
    kind="bool",
    default=False,
    flag="--allow-empty",
)
MAX_MATRIX = Option(
    "max_matrix",
    f"most matrix entries allowed (default: {MATRIX_CAP}, GitHub's matrix cap)",
    {"type": "integer", "minimum": 1},
    kind="int",
    default=MATRIX_CAP,
    flag="--max-matrix",
    metavar="N",
)

DISCOVER = Group(None, (PATH, MARKER, ALL_DOCKERFILES, REQUIRE_DIGEST, BUILD_ARGS, ALLOW_EMPTY, MAX_MATRIX))
