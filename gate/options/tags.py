"""The options of ``tags`` (list a repository's tags as a job matrix; its ``--max-matrix`` is discover's),
and the tag pattern ``mirror`` shares with it (``--exclude``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gate.mirror.selection import compile_pattern
from gate.options.base import Option
from gate.options.images import SOURCE

_PATTERN = {"type": "string"}


def checked_pattern(value: Any, where: str) -> Any:
    """A regular expression option's value, refused (naming ``where``) when it does not compile."""
    compile_pattern(value, where)
    return value


TAGS_SOURCE = replace(
    SOURCE,
    help="the repository whose tags to list: host/repo or oci:PATH (no tag)",
    required="input source is required for command tags: the repository whose tags to list",
)
INCLUDE = Option(
    "include",
    "keep only the tags this regular expression matches (searched anywhere: anchor with ^...$)",
    _PATTERN,
    default="",
    flag="--include",
    metavar="REGEX",
    normalise=checked_pattern,
)
EXCLUDE = Option(
    "exclude",
    "drop the tags this regular expression matches (searched anywhere: anchor with ^...$)",
    _PATTERN,
    default="",
    flag="--exclude",
    metavar="REGEX",
    normalise=checked_pattern,
)
DESTINATION_REPO = Option(
    "destination",
    "the repository each tag is mirrored to (host/repo or oci:PATH, no tag): the matrix entries' destination",
    {"type": "string"},
    default="",
    flag="--destination-repo",
    metavar="REPO",
)
