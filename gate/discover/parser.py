"""A Dockerfile parser that splits a file into instructions the way BuildKit does.

It follows moby/buildkit ``frontend/dockerfile/parser``: parser directives
(``syntax``, ``escape``, ``check``) only before the first other line, a BOM on the
first line, continuation lines ending in the escape character (trailing blanks
allowed), comment and empty lines skipped inside a continuation, and heredocs
(``<<EOF``, ``<<-EOF``, quoted delimiters, several per line) on RUN, COPY and ADD
whose bodies are data, not instructions.

It never raises on content: a problem BuildKit would refuse (an unterminated
heredoc, a repeated directive, a bad escape token) is returned as
``Dockerfile.error`` with the instructions parsed up to it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from itertools import accumulate
from typing import NamedTuple

# Go's unicode.IsSpace, which BuildKit uses to trim lines (Python's isspace() differs).
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_COMMAND_SPLIT = re.compile(r"[\t\v\f\r ]+")
_DIRECTIVE = re.compile(r"^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$", re.DOTALL)
_PLAIN_WORD = re.compile(f"[^'\"{re.escape(GO_SPACE)}]+(?=[{re.escape(GO_SPACE)}]|$)")
_HEREDOC = re.compile(r"^(\d*)<<(-?)\s*([^<]*)$", re.DOTALL)
DIRECTIVES = ("syntax", "escape", "check")
HEREDOC_INSTRUCTIONS = frozenset({"run", "copy", "add"})


@dataclass(frozen=True)
class Heredoc:
    """One heredoc attached to an instruction: its delimiter and body."""

    name: str
    chomp: bool
    body: str


class Segment(NamedTuple):
    """A piece of an instruction's logical line: ``length`` characters from ``logical`` in
    ``Instruction.original`` are those from ``source`` in the parsed text (a byte order mark included)."""

    logical: int
    source: int
    length: int


@dataclass(frozen=True)
class Instruction:
    """One instruction: ``keyword`` lower-cased, ``line``/``end_line`` 1-based.

    ``original`` is the logical line: the physical lines joined without their continuation
    characters, comment and empty lines inside the continuation left out. ``segments`` map it
    back to the parsed text (``source_offset``), for a caller that rewrites the file in place.
    """

    keyword: str
    line: int
    end_line: int
    original: str
    flags: tuple[str, ...]
    args: str
    heredocs: tuple[Heredoc, ...] = ()
    segments: tuple[Segment, ...] = field(default=(), compare=False, repr=False)

    def flag_values(self, name: str) -> tuple[str, ...]:
        """Every value of ``--name=value`` among the flags, in order."""
        prefix = f"--{name}="
        return tuple(flag[len(prefix) :] for flag in self.flags if flag.startswith(prefix))

    def source_offset(self, position: int) -> int:
        """Where character ``position`` of ``original`` is in the parsed text."""
        for segment in self.segments:
            if segment.logical <= position < segment.logical + segment.length:
                return segment.source + position - segment.logical
        raise IndexError(f"position {position} is outside the instruction at line {self.line}")


@dataclass(frozen=True)
class Comment:
    """A comment line at the top level (not inside a continuation or a heredoc)."""

    line: int
    text: str


@dataclass(frozen=True)
class ParseProblem:
    line: int
    message: str


@dataclass(frozen=True)
class Dockerfile:
    instructions: tuple[Instruction, ...]
    comments: tuple[Comment, ...]
    directives: tuple[tuple[str, str], ...]
    escape: str
    error: ParseProblem | None = None


class _Problem(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _Directives:
    """BuildKit's directive parser: directives end at the first line that is not one."""

    def __init__(self) -> None:
        self.done = False
        self.seen: dict[str, str] = {}
        self.escape = "\\"

    def feed(self, line: str, number: int) -> bool:
        if self.done:
            return False
        if not line.startswith("#"):
            self.done = True
            return False
        match = _DIRECTIVE.match(line[1:].lstrip(GO_SPACE))
        if not match or match.group(1).lower() not in DIRECTIVES:
            self.done = True
            return False
        key, value = match.group(1).lower(), match.group(2)
        if key in self.seen:
            raise _Problem(number, f"only one {key} parser directive can be used")
        if key == "escape":
            if value not in ("\\", "`"):
                raise _Problem(number, f"invalid escape token {value!r}: it must be ` or \\")
            self.escape = value
        self.seen[key] = value
        return True


def _is_comment(line: str) -> bool:
    return line.lstrip(GO_SPACE).startswith("#")


def _trim_newline(line: str) -> str:
    return line.rstrip("\r\n")


def _continues(line: str, escape: str) -> tuple[str, bool]:
    """Strip a trailing continuation character; True when the line continues."""
    stripped = line.rstrip(" \t")
    if stripped.endswith(escape) and (len(stripped) == 1 or stripped[-2] != escape):
        return stripped[:-1], True
    return line, False


def split_flags(text: str, escape: str) -> tuple[list[str], str]:
    """BuildKit's extractBuilderFlags: leading ``--flag`` words (quotes removed) and the rest."""
    words: list[str] = []
    pos, length = 0, len(text)
    while True:
        while pos < length and text[pos] in GO_SPACE:
            pos += 1
        if pos >= length:
            return words, ""
        if not text.startswith("--", pos):
            return words, text[pos:]
        plain = _PLAIN_WORD.match(text, pos)
        if plain and escape not in plain.group(0):
            # The common case, a flag without quotes or escapes: take it whole.
            pos = plain.end()
            if plain.group(0) == "--" and pos < length:
                return words, text[pos:]
            if plain.group(0) != "--":
                words.append(plain.group(0))
            continue
        word: list[str] = []
        blank_ok = False
        quote = ""
        while pos < length:
            ch = text[pos]
            if quote:
                if ch == quote:
                    quote = ""
                    pos += 1
                    continue
            elif ch in GO_SPACE:
                break
            elif ch in "'\"":
                quote, blank_ok = ch, True
                pos += 1
                continue
            if ch == escape:
                if pos + 1 == length:
                    pos += 1
                    quote = ""
                    continue
                pos += 1
                ch = text[pos]
            word.append(ch)
            pos += 1
        value = "".join(word)
        if value == "--" and pos < length:
            return words, text[pos:]
        if value != "--" and (blank_ok or value):
            words.append(value)


def _split_command(line: str, escape: str) -> tuple[str, list[str], str]:
    parts = _COMMAND_SPLIT.split(line.strip(GO_SPACE), maxsplit=1)
    if len(parts) < 2:
        return parts[0], [], ""
    flags, args = split_flags(parts[1], escape)
    return parts[0], flags, args.strip(GO_SPACE)


def _is_json_array(args: str) -> bool:
    text = args.lstrip(GO_SPACE)
    if not text.startswith("["):
        return False
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _shell_words(line: str) -> list[str]:
    """Words of a line as BuildKit's heredoc detection sees them: quotes and escapes kept."""
    words: list[str] = []
    word: list[str] = []
    in_word = False
    pos, length = 0, len(line)
    while pos < length:
        ch = line[pos]
        if ch in " \t\r\n\v\f":
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
            pos += 1
            continue
        in_word = True
        if ch == "\\":
            word.append(line[pos : pos + 2])
            pos += 2
            continue
        if ch in "'\"":
            end = pos + 1
            while end < length and line[end] != ch:
                end += 2 if ch == '"' and line[end] == "\\" else 1
            word.append(line[pos : end + 1])
            pos = end + 1
            continue
        word.append(ch)
        pos += 1
    if in_word:
        words.append("".join(word))
    return words


def _unquote(word: str) -> str:
    out: list[str] = []
    pos, quote = 0, ""
    while pos < len(word):
        ch = word[pos]
        if quote == "'":
            if ch == "'":
                quote = ""
            else:
                out.append(ch)
        elif ch == "\\" and pos + 1 < len(word):
            pos += 1
            out.append(word[pos])
        elif ch in "'\"" and quote in ("", ch):
            quote = "" if quote else ch
        else:
            out.append(ch)
        pos += 1
    return "".join(out)


def heredoc_names(line: str) -> list[tuple[str, bool]]:
    """The heredocs a line opens: ``(delimiter, chomp)`` in order."""
    found: list[tuple[str, bool]] = []
    for word in _shell_words(line):
        match = _HEREDOC.match(word)
        if not match or not match.group(3):
            continue
        rest = match.group(3)
        name = _unquote(rest)
        if name:
            found.append((name, match.group(2) == "-"))
    return found


def _heredoc_keyword(keyword: str, args: str, escape: str) -> bool:
    if keyword == "onbuild":
        sub, _, sub_args = _split_command(args, escape)
        keyword, args = sub.lower(), sub_args
    return keyword in HEREDOC_INSTRUCTIONS and not _is_json_array(args)


def parse(text: str) -> Dockerfile:
    """Split Dockerfile text into instructions and top-level comment lines."""
    base = 0
    if text.startswith("\ufeff"):
        text = text[1:]
        base = 1
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    starts = list(accumulate((len(line) + 1 for line in lines), initial=base))
    directives = _Directives()
    instructions: list[Instruction] = []
    comments: list[Comment] = []
    index, total = 0, len(lines)
    try:
        while index < total:
            raw = _trim_newline(lines[index])
            index += 1
            start = index
            if _is_comment(raw):
                comments.append(Comment(start, raw))
            token = raw.lstrip(GO_SPACE)
            directives.feed(token, start)
            if _is_comment(token):
                continue
            current, continues = _continues(token, directives.escape)
            if not continues and not current:
                continue
            parts = [current]
            segments = [Segment(0, starts[start - 1] + len(raw) - len(token), len(current))]
            length = len(current)
            while continues and index < total:
                raw = _trim_newline(lines[index])
                index += 1
                directives.feed(raw, index)
                if _is_comment(raw) or not raw.lstrip(GO_SPACE):
                    continue
                current, continues = _continues(raw, directives.escape)
                parts.append(current)
                segments.append(Segment(length, starts[index - 1], len(current)))
                length += len(current)
            logical = "".join(parts)
            word, flags, args = _split_command(logical, directives.escape)
            keyword = word.lower()
            heredocs: list[Heredoc] = []
            if "<<" in logical and _heredoc_keyword(keyword, args, directives.escape):
                for name, chomp in heredoc_names(logical):
                    body: list[str] = []
                    while True:
                        if index >= total:
                            raise _Problem(start, f"unterminated heredoc {name!r}")
                        line = _trim_newline(lines[index])
                        index += 1
                        candidate = line.lstrip("\t") if chomp else line
                        if candidate == name:
                            break
                        body.append(line)
                    heredocs.append(Heredoc(name, chomp, "\n".join(body)))
            if keyword:
                instructions.append(
                    Instruction(keyword, start, index, logical, tuple(flags), args, tuple(heredocs), tuple(segments))
                )
    except _Problem as problem:
        return Dockerfile(
            tuple(instructions),
            tuple(comments),
            tuple(directives.seen.items()),
            directives.escape,
            ParseProblem(problem.line, problem.message),
        )
    return Dockerfile(tuple(instructions), tuple(comments), tuple(directives.seen.items()), directives.escape)
