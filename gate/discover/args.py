"""ARG expansion for FROM lines, as BuildKit's shell lexer does it for a single word.

Only global ARGs (declared before the first FROM) take part; ``--build-arg`` values
override their defaults. BuildKit also predefines the platform arguments
(``TARGETPLATFORM``, ``BUILDARCH``...); they default here to ``linux/amd64``, the
platform of a GitHub-hosted runner, and can be overridden with ``--build-arg``.

Supported forms: ``$V``, ``${V}``, ``${V:-w}``, ``${V-w}``, ``${V:+w}``, ``${V+w}``,
``${V:?w}``, ``${V?w}``, with single quotes, double quotes and the escape character.
An unset variable expands to the empty string (BuildKit semantics); ``Expansion.unset``
names those, so the caller can say which build argument was missing.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from gate.discover.parser import GO_SPACE, Dockerfile
from gate.errors import InputError

PLATFORM_ARGS: Mapping[str, str] = {
    "BUILDPLATFORM": "linux/amd64",
    "BUILDOS": "linux",
    "BUILDOSVERSION": "",
    "BUILDARCH": "amd64",
    "BUILDVARIANT": "",
    "TARGETPLATFORM": "linux/amd64",
    "TARGETOS": "linux",
    "TARGETOSVERSION": "",
    "TARGETARCH": "amd64",
    "TARGETVARIANT": "",
}
_SPECIAL = "@*#?-$!0"
_SPACES = re.compile(f"[{re.escape(GO_SPACE)}]+")


class ExpansionError(InputError):
    """A word that cannot be expanded: bad syntax, or a ``${V?}`` whose variable is unset."""

    def __init__(self, message: str, *, unset: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.unset = unset


@dataclass(frozen=True)
class Expansion:
    value: str
    unset: tuple[str, ...] = ()


class _Word:
    def __init__(self, text: str, env: Mapping[str, str], escape: str) -> None:
        self.text = text
        self.pos = 0
        self.env = env
        self.escape = escape
        self.unset: list[str] = []

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        ch = self.peek()
        self.pos += 1 if ch else 0
        return ch

    def until(self, stop: str) -> str:
        """Process up to ``stop`` (consumed); ``stop=""`` processes to the end."""
        out: list[str] = []
        while self.peek():
            ch = self.peek()
            if stop and ch == stop:
                self.next()
                return "".join(out)
            if ch == "$":
                out.append(self.dollar())
            elif ch == "'":
                out.append(self.single_quote())
            elif ch == '"':
                out.append(self.double_quote())
            else:
                self.next()
                if ch == self.escape:
                    ch = self.next()
                    if not ch:
                        break
                out.append(ch)
        if stop:
            raise ExpansionError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(out)

    def single_quote(self) -> str:
        self.next()
        out: list[str] = []
        while True:
            ch = self.next()
            if not ch:
                raise ExpansionError("unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                return "".join(out)
            out.append(ch)

    def double_quote(self) -> str:
        self.next()
        out: list[str] = []
        while True:
            ch = self.peek()
            if not ch:
                raise ExpansionError("unexpected end of statement while looking for matching double-quote")
            if ch == '"':
                self.next()
                return "".join(out)
            if ch == "$":
                out.append(self.dollar())
                continue
            self.next()
            if ch == self.escape:
                following = self.peek()
                if not following:
                    continue
                if following in ('"', "$", self.escape):
                    ch = self.next()
            out.append(ch)

    def name(self) -> str:
        start = self.pos
        first = self.peek()
        if first.isdecimal():
            while self.peek().isdecimal():
                self.next()
            return self.text[start : self.pos]
        if first and first in _SPECIAL:
            return self.next()
        while self.peek() and (self.peek().isalnum() or self.peek() == "_"):
            self.next()
        return self.text[start : self.pos]

    def lookup(self, name: str) -> tuple[str, bool]:
        if name in self.env:
            return self.env[name], True
        return "", False

    def dollar(self) -> str:
        self.next()
        if self.peek() != "{":
            name = self.name()
            if not name:
                return "$"
            value, found = self.lookup(name)
            if not found:
                self.unset.append(name)
            return value
        self.next()
        if not self.peek():
            raise ExpansionError("syntax error: missing '}'")
        if self.peek() in "{}:":
            raise ExpansionError("syntax error: bad substitution")
        name = self.name()
        ch = self.next()
        if not ch:
            raise ExpansionError("syntax error: missing '}'")
        if ch == "}":
            value, found = self.lookup(name)
            if not found:
                self.unset.append(name)
            return value
        modifier = ch
        null_is_unset = False
        if ch == ":":
            null_is_unset = True
            ch = self.next()
            modifier += ch
        if ch not in ("-", "+", "?"):
            raise ExpansionError(f"unsupported modifier ({modifier}) in substitution of {name!r}")
        if not self.peek():
            raise ExpansionError("syntax error: missing '}'")
        word = self.until("}")
        value, found = self.lookup(name)
        empty = not found or (null_is_unset and value == "")
        if ch == "-":
            return word if empty else value
        if ch == "+":
            return "" if empty else word
        if empty:
            raise ExpansionError(f"{name}: {word or 'is not allowed to be unset or empty'}", unset=(name,))
        return value


def expand(word: str, env: Mapping[str, str], escape: str = "\\") -> Expansion:
    """Expand one word (quotes removed, variables substituted). Raises ``ExpansionError``."""
    if not any(ch in word for ch in ("$", "'", '"', escape)):
        return Expansion(word)
    lexer = _Word(word, env, escape)
    value = lexer.until("")
    return Expansion(value, tuple(dict.fromkeys(lexer.unset)))


def split_words(text: str, escape: str = "\\") -> list[str]:
    """BuildKit's parseWords: split on white space outside quotes, quotes and escapes kept."""
    if not any(ch in text for ch in ("'", '"', escape)):
        return _SPACES.split(text.strip(GO_SPACE)) if text.strip(GO_SPACE) else []
    words: list[str] = []
    word: list[str] = []
    quote = ""
    blank_ok = False
    in_word = False
    pos, length = 0, len(text)
    while pos < length:
        ch = text[pos]
        if not in_word:
            if ch in GO_SPACE:
                pos += 1
                continue
            in_word = True
        if quote:
            if ch == quote:
                quote = ""
            elif ch == escape and quote != "'":
                if pos + 1 == length:
                    pos += 1
                    continue
                word.append(ch)
                pos += 1
                ch = text[pos]
            word.append(ch)
            pos += 1
            continue
        if ch in GO_SPACE:
            if blank_ok or word:
                words.append("".join(word))
            word, blank_ok, in_word = [], False, False
            pos += 1
            continue
        if ch in "'\"":
            quote, blank_ok = ch, True
        elif ch == escape:
            if pos + 1 == length:
                pos += 1
                continue
            word.append(ch)
            pos += 1
            ch = text[pos]
        word.append(ch)
        pos += 1
    if in_word and (blank_ok or word):
        words.append("".join(word))
    return words


@dataclass(frozen=True)
class GlobalArgs:
    """The global ARG scope: values of the set arguments and every declared name."""

    values: Mapping[str, str]
    declared: frozenset[str]


def global_args(dockerfile: Dockerfile, build_args: Mapping[str, str]) -> GlobalArgs:
    """Evaluate the ARGs before the first FROM in order, with ``build_args`` overriding defaults."""
    values: dict[str, str] = {name: build_args.get(name, value) for name, value in PLATFORM_ARGS.items()}
    declared: set[str] = set()
    for instruction in dockerfile.instructions:
        if instruction.keyword == "from":
            break
        if instruction.keyword != "arg":
            continue
        for word in split_words(instruction.args, dockerfile.escape):
            name, sep, default = word.partition("=")
            if not name:
                continue
            declared.add(name)
            if name in build_args:
                values[name] = build_args[name]
            elif sep:
                # A default that cannot be expanded leaves the argument unset; a FROM that
                # needs it then reports an unresolved build argument.
                with contextlib.suppress(ExpansionError):
                    values[name] = expand(default, values, dockerfile.escape).value
    return GlobalArgs(values, frozenset(declared))
