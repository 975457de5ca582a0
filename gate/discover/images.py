"""External image references of a Dockerfile: FROM, COPY --from and RUN --mount=...,from=.

Stage names follow BuildKit: a name counts as a stage only when that stage was
declared earlier (case-insensitive); a later stage's name is an external image.
Numeric stage indexes and ``scratch`` are never images. ONBUILD triggers are not
part of this build and are skipped.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from gate.discover.args import ExpansionError, GlobalArgs, expand, global_args
from gate.discover.parser import GO_SPACE, Dockerfile, Instruction
from gate.errors import InputError
from gate.oci.reference import ImageReference, parse_reference

UNRESOLVED = "unresolved build argument"
SCRATCH = "scratch"


@dataclass(frozen=True)
class Location:
    path: str
    line: int
    instruction: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "instruction": self.instruction}


class Origin(NamedTuple):
    """Which word of which instruction a reference was read from (for ``gate.discover.pin``).

    ``flag`` is "" for the image of a FROM, ``from`` for COPY --from, ``mount`` for RUN --mount;
    ``occurrence`` counts that flag's values, ``source`` the ``from=`` fields of one --mount.
    """

    instruction: Instruction
    flag: str = ""
    occurrence: int = 0
    source: int = 0


@dataclass(frozen=True)
class Found:
    """One external reference. ``reference`` is None when ``problem`` says why it is unusable."""

    location: Location
    written: str
    image: str
    reference: ImageReference | None
    problem: str | None = None
    origin: Origin | None = field(default=None, compare=False, repr=False)


def _reference_problem(message: str) -> str:
    prefix = "invalid image reference"
    if message.startswith(prefix) and ": " in message:
        message = message.split(": ", 1)[1]
    return f"{prefix}: {message}"


class _Stages:
    def __init__(self) -> None:
        self.names: set[str] = set()


def _resolve(
    written: str, location: Location, scope: GlobalArgs, escape: str, stages: _Stages, origin: Origin
) -> Found | None:
    try:
        expansion = expand(written, scope.values, escape)
    except ExpansionError as exc:
        reason = UNRESOLVED if exc.unset else _reference_problem(exc.message)
        return Found(location, written, written, None, reason, origin)
    image = expansion.value
    if image.strip(GO_SPACE) == "":
        reason = UNRESOLVED if expansion.unset or "$" in written else _reference_problem("empty image reference")
        return Found(location, written, written, None, reason, origin)
    numeric = origin.flag != ""  # a stage index counts only in --from / from=
    if image.lower() in stages.names or image.lower() == SCRATCH or (numeric and image.isdecimal()):
        return None
    try:
        reference = parse_reference(image, strict_digest=False)
    except InputError as exc:
        if expansion.unset:
            return Found(location, written, written, None, UNRESOLVED, origin)
        return Found(location, written, image, None, _reference_problem(exc.message), origin)
    return Found(location, written, str(reference), reference, None, origin)


def _mount_sources(value: str) -> list[str] | None:
    """The ``from=`` values of one ``--mount`` CSV; None when it is not valid CSV."""
    try:
        rows = list(csv.reader([value], strict=True))
    except csv.Error:
        return None
    fields = rows[0] if rows else []
    sources = []
    for item in fields:
        key, sep, source = item.partition("=")
        if sep and key.strip().lower() == "from":
            sources.append(source)
    return sources


def _from_problem(instruction: Instruction, location: Location, reason: str) -> Found:
    return Found(location, instruction.args, instruction.args, None, reason)


def references(dockerfile: Dockerfile, path: str, build_args: Mapping[str, str]) -> list[Found]:
    """Every external reference of ``dockerfile`` (``path`` is used in the locations)."""
    scope = global_args(dockerfile, build_args)
    stages = _Stages()
    escape = dockerfile.escape
    found: list[Found] = []
    for instruction in dockerfile.instructions:
        keyword = instruction.keyword
        location = Location(path, instruction.line, keyword.upper())
        if keyword == "from":
            words = instruction.args.split()
            if len(words) not in (1, 3) or (len(words) == 3 and words[1].lower() != "as"):
                reason = "invalid FROM instruction: expected FROM [--platform=...] IMAGE [AS NAME]"
                found.append(_from_problem(instruction, location, reason))
                continue
            item = _resolve(words[0], location, scope, escape, stages, Origin(instruction))
            if item is not None:
                found.append(item)
            if len(words) == 3:
                stages.names.add(words[2].lower())
        elif keyword == "copy":
            for occurrence, source in enumerate(instruction.flag_values("from")):
                item = _resolve(source, location, scope, escape, stages, Origin(instruction, "from", occurrence))
                if item is not None:
                    found.append(item)
        elif keyword == "run":
            for occurrence, mount in enumerate(instruction.flag_values("mount")):
                sources = _mount_sources(mount)
                if sources is None:
                    found.append(Found(location, mount, mount, None, f"invalid --mount option {mount!r}"))
                    continue
                for number, source in enumerate(sources):
                    origin = Origin(instruction, "mount", occurrence, number)
                    item = _resolve(source, location, scope, escape, stages, origin)
                    if item is not None:
                        found.append(item)
    return found
