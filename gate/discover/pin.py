"""``pin``'s rewriter: write image digests into a Dockerfile and change no other byte.

For each external reference discovery finds and the digest its tag resolves to now:
- an unpinned ``name:tag`` gets ``@<digest>`` after its tag; a reference without a tag gets
  ``:latest@<digest>``, so the tag being followed stays written;
- with ``update``, a ``name:tag@<old>`` whose tag has moved gets the new digest in place of ``<old>``.

The edit is made where the reference is written, found through the parser's segments, so line
endings, spacing, comments, continuation lines, heredocs and the escape directive stay as they
are. Where pin writes: the image word of a FROM (bare or inside one pair of quotes), a
``--from=`` flag and a ``from=`` field of a ``--mount`` flag written without quotes or escapes.
A reference written as ``$NAME`` or ``${NAME}`` is pinned in the default of the global
``ARG NAME=...`` when that default is such a literal, no ``--build-arg`` sets it, and no other
reference or ARG default of the file uses ``NAME``. Everything else is refused with its reason.

``read_snapshot`` and ``write_pinned`` do the file I/O: the file is replaced atomically with its
mode and owner kept, and not at all (``FileChanged``, exit 3) when it is not what was read.
"""

from __future__ import annotations

import bisect
import difflib
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.discover.files import decode_dockerfile, inside_root
from gate.discover.images import Found, references
from gate.discover.outdated import tag_reference
from gate.discover.parser import GO_SPACE, Dockerfile, Instruction, parse, split_flags
from gate.errors import GateError, InputError, RuntimeFailure
from gate.files import read_capped, write_atomic
from gate.oci.reference import ImageReference, is_valid_digest, parse_reference

MAX_DOCKERFILE_BYTES = 4 * 1024 * 1024
_VARIABLE = re.compile(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})")
_BY_HAND = "pin it by hand"


@dataclass(frozen=True)
class Change:
    """One rewritten reference text (``before`` -> ``after``) at ``line`` of ``path``."""

    path: str
    line: int
    before: str
    after: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.path, "line": self.line, "from": self.before, "to": self.after}


@dataclass(frozen=True)
class Refusal:
    """A reference pin did not rewrite, and why."""

    path: str
    line: int
    image: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.path, "line": self.line, "image": self.image, "reason": self.reason}


@dataclass(frozen=True)
class PinnedFile:
    """A Dockerfile before (``original``) and after (``data``) pinning."""

    path: str
    original: bytes
    data: bytes
    changes: tuple[Change, ...] = ()
    refused: tuple[Refusal, ...] = ()

    @property
    def changed(self) -> bool:
        return self.data != self.original


class FileChanged(GateError):
    """A Dockerfile changed between reading and writing: it is not overwritten."""

    exit_code = RuntimeFailure.exit_code


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Literal:
    """A reference written as plain text: characters ``start:end`` of an instruction's logical line."""

    instruction: Instruction
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.instruction.original[self.start : self.end]


@dataclass(frozen=True)
class _Edit:
    start: int  # offsets in the file's text
    end: int
    replacement: str
    before: str
    after: str


@dataclass(frozen=True)
class _Default:
    """The last assignment of a global ARG: the instruction and the raw ``NAME=default`` word."""

    instruction: Instruction
    start: int
    end: int


def word_spans(text: str, escape: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each white-space separated word of ``text``, quotes and escapes kept
    (as BuildKit splits an instruction's words)."""
    spans: list[tuple[int, int]] = []
    pos, length = 0, len(text)
    while pos < length:
        if text[pos] in GO_SPACE:
            pos += 1
            continue
        start, quote = pos, ""
        while pos < length:
            ch = text[pos]
            if quote:
                if ch == quote:
                    quote = ""
                elif ch == escape and quote == '"':
                    pos += 1
            elif ch in GO_SPACE:
                break
            elif ch in "'\"":
                quote = ch
            elif ch == escape:
                pos += 1
            pos += 1
        spans.append((start, min(pos, length)))
    return spans


def _plain(text: str, escape: str) -> tuple[int, int] | None:
    """The span of a literal inside ``text`` (all of it, or inside one pair of quotes), or None."""
    start, end = 0, len(text)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        start, end = 1, len(text) - 1
    inner = text[start:end]
    if not inner or any(ch in inner for ch in ("'", '"', "$", escape)) or any(ch in GO_SPACE for ch in inner):
        return None
    return start, end


def _dequoted(word: str, escape: str) -> str:
    """A raw flag word as the parser reads it (quotes and escapes removed)."""
    return "".join(split_flags(word, escape)[0])


def _split_instruction(instruction: Instruction, escape: str) -> tuple[list[tuple[int, int]], tuple[int, int] | None]:
    """The raw spans of the flags and of the first word after them; ``_Refused`` when they do not
    read back as the parser's flags."""
    text = instruction.original
    words = word_spans(text, escape)[1:]
    flags: list[tuple[int, int]] = []
    index = 0
    while index < len(words) and text[words[index][0] : words[index][1]].startswith("--"):
        if text[words[index][0] : words[index][1]] == "--":
            index += 1
            break
        flags.append(words[index])
        index += 1
    parsed = [flag for start, end in flags for flag in split_flags(text[start:end], escape)[0]]
    if parsed != list(instruction.flags):
        raise _Refused(f"cannot tell where its flags are written; {_BY_HAND}")
    return flags, words[index] if index < len(words) else None


class _Planner:
    """Where each reference of one file is written and what to write there (or why not)."""

    def __init__(
        self,
        dockerfile: Dockerfile,
        found: list[Found],
        digests: Mapping[str, str],
        errors: Mapping[str, str],
        update: bool,
        build_args: Mapping[str, str],
    ) -> None:
        self.escape = dockerfile.escape
        self.digests = digests
        self.errors = errors
        self.update = update
        self.build_args = build_args
        self.defaults: dict[str, _Default] = {}
        self.default_texts: list[str] = []
        for instruction in dockerfile.instructions:
            if instruction.keyword == "from":
                break
            if instruction.keyword == "arg":
                self._read_arg(instruction)
        self.written = [item.written for item in found]

    def _read_arg(self, instruction: Instruction) -> None:
        text = instruction.original
        for start, end in word_spans(text, self.escape)[1:]:
            name, sep, default = text[start:end].partition("=")
            if sep:
                self.defaults[name] = _Default(instruction, start, end)
                self.default_texts.append(default)

    # --- where a reference is written ----------------------------------------------------------

    def locate(self, item: Found) -> _Literal:
        origin = item.origin
        if origin is None:
            raise _Refused(f"cannot tell where it is written; {_BY_HAND}")
        instruction = origin.instruction
        text = instruction.original
        flags, word = _split_instruction(instruction, self.escape)
        if origin.flag == "":
            if word is None:
                raise _Refused(f"cannot tell where it is written; {_BY_HAND}")
            start, end = word
        else:
            prefix = f"--{origin.flag}="
            chosen = [(s, e) for s, e in flags if _dequoted(text[s:e], self.escape).startswith(prefix)]
            if origin.occurrence >= len(chosen):
                raise _Refused(f"cannot tell where it is written; {_BY_HAND}")
            start, end = chosen[origin.occurrence]
            if _dequoted(text[start:end], self.escape) != text[start:end]:
                raise _Refused(f"its {prefix[:-1]} flag is written with quotes or escapes; {_BY_HAND}")
            start += len(prefix)
            if origin.flag == "mount":
                start, end = self._mount_source(text, start, end, origin.source)
        if text[start:end] != item.written:
            raise _Refused(f"cannot tell where it is written; {_BY_HAND}")
        return self._literal(instruction, start, end, item)

    def _mount_source(self, text: str, start: int, end: int, number: int) -> tuple[int, int]:
        value = text[start:end]
        if '"' in value:
            raise _Refused(f"its --mount flag is written with CSV quotes; {_BY_HAND}")
        sources: list[tuple[int, int]] = []
        offset = start
        for field in value.split(","):
            key, sep, _ = field.partition("=")
            if sep and key.strip().lower() == "from":
                sources.append((offset + len(key) + 1, offset + len(field)))
            offset += len(field) + 1
        if number >= len(sources):
            raise _Refused(f"cannot tell where it is written; {_BY_HAND}")
        return sources[number]

    def _literal(self, instruction: Instruction, start: int, end: int, item: Found) -> _Literal:
        written = instruction.original[start:end]
        span = _plain(written, self.escape)
        if span is not None:
            return _Literal(instruction, start + span[0], start + span[1])
        inner = written[1:-1] if len(written) >= 2 and written[0] == written[-1] == '"' else written
        variable = _VARIABLE.fullmatch(inner)
        if variable is None:
            what = "built from build arguments" if "$" in written else "written with quotes or escapes"
            raise _Refused(f"{what}; only a literal or a lone $NAME / ${{NAME}} is rewritten; {_BY_HAND}")
        return self._arg_default(variable.group(1) or variable.group(2), item)

    def _arg_default(self, name: str, item: Found) -> _Literal:
        if name in self.build_args:
            raise _Refused(f"ARG {name} is set by --build-arg; pin the value you pass")
        default = self.defaults.get(name)
        if default is None:
            raise _Refused(f"ARG {name} has no default before the first FROM; {_BY_HAND}")
        uses = re.compile(rf"\$\{{?{name}(?![A-Za-z0-9_])")
        for other in (*self.written, *self.default_texts):
            if uses.search(other) and _VARIABLE.fullmatch(other.strip('"')) is None:
                raise _Refused(f"ARG {name} is also used in {other!r}; pinning its default would change that too")
        instruction, start, end = default.instruction, default.start, default.end
        start += instruction.original[start:end].index("=") + 1
        span = _plain(instruction.original[start:end], self.escape)
        if span is None:
            raise _Refused(f"the default of ARG {name} (line {instruction.line}) is not a plain literal; {_BY_HAND}")
        literal = _Literal(instruction, start + span[0], start + span[1])
        if parse_reference(literal.text, strict_digest=False) != item.reference:
            raise _Refused(f"ARG {name} does not hold the reference discovery found; {_BY_HAND}")
        return literal

    # --- what to write ---------------------------------------------------------------------------

    def edit(self, ref: ImageReference, literal: _Literal) -> _Edit | None:
        if ref.digest is not None and not ref.pinned:
            raise _Refused(f"invalid digest {ref.digest!r}; correct or remove it, then pin again")
        if ref.pinned and not self.update:
            return None
        key = tag_reference(ref)
        if key is None:
            raise _Refused("pinned by digest without a tag: there is no tag to follow")
        digest = self.digests.get(key)
        if digest is None:
            raise _Refused(self.errors.get(key) or f"the current digest of {key} is unknown")
        if not is_valid_digest(digest):
            raise _Refused(f"{key} resolved to {digest[:80]!r}, not a valid digest")
        if ref.digest == digest:
            return None
        instruction, text = literal.instruction, literal.text
        if ref.digest is None:
            written_tag = parse_reference(text, strict_digest=False, default_tag=None).tag
            added = ("" if written_tag else f":{ref.tag}") + "@" + digest
            position = instruction.source_offset(literal.end - 1) + 1
            return _Edit(position, position, added, text, text + added)
        if not text.endswith("@" + ref.digest):
            raise _Refused(f"cannot tell where its digest is written; {_BY_HAND}")
        first, last = literal.end - len(ref.digest), literal.end - 1
        start, end = instruction.source_offset(first), instruction.source_offset(last) + 1
        if end - start != len(ref.digest):
            raise _Refused(f"its digest is split over continuation lines; {_BY_HAND}")
        return _Edit(start, end, digest, text, text[: -len(ref.digest)] + digest)


def pin_dockerfile(
    path: str,
    data: bytes,
    digests: Mapping[str, str],
    *,
    update: bool = False,
    build_args: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> PinnedFile:
    """Pin the references of one Dockerfile (``path`` names it in the results; ``data`` is its content).

    ``digests`` maps ``tag_reference`` (``registry/repository:tag``) to the digest to write;
    ``errors`` says why a tag has none. ``build_args`` are discover's ``--build-arg`` values.
    A file with a syntax error is left as it is (one refusal says why).
    """
    text = decode_dockerfile(path, data)
    dockerfile = parse(text)
    if dockerfile.error is not None:
        problem = dockerfile.error
        reason = f"Dockerfile syntax error: {problem.message}; the file is left as it is"
        return PinnedFile(path, data, data, (), (Refusal(path, problem.line, "", reason),))
    args = dict(build_args or {})
    found = references(dockerfile, path, args)
    planner = _Planner(dockerfile, found, digests, errors or {}, update, args)
    edits: set[_Edit] = set()  # a default shared by several references is one edit
    refused: list[Refusal] = []
    for item in found:
        try:
            if item.reference is None:
                raise _Refused(item.problem or "invalid image reference")
            edit = planner.edit(item.reference, planner.locate(item))
        except _Refused as exc:
            refused.append(Refusal(path, item.location.line, item.image, exc.reason))
            continue
        if edit is not None:
            edits.add(edit)
    if not edits:
        return PinnedFile(path, data, data, (), tuple(refused))
    starts = [0] + [index + 1 for index, ch in enumerate(text) if ch == "\n"]
    pieces: list[str] = []
    changes: list[Change] = []
    position, last_start = 0, -1
    for edit in sorted(edits, key=lambda e: (e.start, e.end, e.replacement)):
        line = bisect.bisect_right(starts, edit.start)
        if edit.start < position or edit.start == last_start:  # defensive: never guess between two pins
            refused.append(Refusal(path, line, edit.before, f"two different pins overlap here; {_BY_HAND}"))
            continue
        pieces += [text[position : edit.start], edit.replacement]
        changes.append(Change(path, line, edit.before, edit.after))
        position, last_start = edit.end, edit.start
    pieces.append(text[position:])
    return PinnedFile(path, data, "".join(pieces).encode("utf-8"), tuple(changes), tuple(refused))


def _lines(data: bytes) -> list[str]:
    """Lines split at LF only (a CR stays part of its line), each with its ending."""
    parts = data.decode("utf-8").split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def render_diff(files: Iterable[PinnedFile]) -> str:
    """A unified diff (``a/PATH`` -> ``b/PATH``) of every changed file; "" when nothing changes."""
    out: list[str] = []
    for pinned in files:
        if not pinned.changed:
            continue
        diff = difflib.unified_diff(
            _lines(pinned.original), _lines(pinned.data), f"a/{pinned.path}", f"b/{pinned.path}"
        )
        out += [line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in diff]
    return "".join(out)


# --- file I/O ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """A Dockerfile as read for pinning: its content and what identifies that version of it."""

    name: str  # as shown: relative to the searched root
    path: Path  # the file itself (symbolic links resolved)
    data: bytes
    identity: tuple[int, int, int, int]  # device, inode, size, mtime (ns)
    mode: int
    owner: tuple[int, int]


def _identity(status: os.stat_result) -> tuple[int, int, int, int]:
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


def _changed(name: str) -> FileChanged:
    return FileChanged(f"{name}: changed since it was read; not overwritten", hint="run pin again on the new content")


def read_snapshot(root: Path, name: str) -> Snapshot:
    """Read ``root/name`` for pinning: a regular file under ``root`` (a link is followed to a file that
    stays under ``root``), at most ``MAX_DOCKERFILE_BYTES``."""
    if not inside_root(root, name):
        raise InputError(f"{name}: the link leads outside {root}; it is not rewritten")
    path = Path(os.path.realpath(root / name))
    what = "the Dockerfile"
    try:
        before = os.stat(path, follow_symlinks=False)
    except OSError as exc:
        raise InputError(f"{name}: cannot read {what}: {exc.strerror or exc}") from None
    data = read_capped(path, MAX_DOCKERFILE_BYTES, what, follow_symlinks=False)
    after = os.stat(path, follow_symlinks=False)
    if _identity(before) != _identity(after) or len(data) != after.st_size:
        raise _changed(name)
    return Snapshot(name, path, data, _identity(after), after.st_mode, (after.st_uid, after.st_gid))


def write_pinned(snapshot: Snapshot, pinned: PinnedFile) -> bool:
    """Replace the file with ``pinned.data`` (False when nothing changes). ``FileChanged`` when the file
    is no longer what ``snapshot`` read; ``RuntimeFailure`` when it cannot be written."""
    if pinned.original != snapshot.data:
        raise ValueError(f"{snapshot.name}: the pinned content was not made from this snapshot")
    if not pinned.changed:
        return False

    def still_as_read() -> None:
        try:
            status = os.stat(snapshot.path, follow_symlinks=False)
            current = read_capped(snapshot.path, MAX_DOCKERFILE_BYTES, "the Dockerfile", follow_symlinks=False)
        except (OSError, InputError):
            raise _changed(snapshot.name) from None
        if _identity(status) != snapshot.identity or current != snapshot.data:
            raise _changed(snapshot.name)

    # Running as root (a container action) on a workspace another user owns: give the file back to them.
    owner = snapshot.owner if os.geteuid() == 0 else None
    try:
        write_atomic(
            snapshot.path, pinned.data, mode=stat.S_IMODE(snapshot.mode), owner=owner, before_replace=still_as_read
        )
    except OSError as exc:
        raise RuntimeFailure(f"{snapshot.name}: cannot write the pinned Dockerfile: {exc.strerror or exc}") from None
    return True
