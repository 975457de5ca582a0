"""GitHub runner I/O: job outputs, step summary, annotations, masks and groups.

This is one of the three I/O edges of the package. The pure helpers (escaping,
formatting) are tested exhaustively; ``RunnerIO`` writes them where the runner
reads them. Outside GitHub Actions the same calls print plain text to stderr.

Workflow commands go to stderr: the runner reads commands from both streams,
and stdout stays clean for the ``--json`` document.

How the runner reads a log line (actions/runner ``ActionCommand.cs``): a line is a
command when, after ``TrimStart()``, it starts with ``::`` (v2), or when it holds
``##[`` anywhere (the legacy v1 form, still parsed as a fallback). Lines are split
on CR, LF and CRLF. ``neutralize`` defeats both forms.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

from gate.errors import InputError
from gate.outcome import Annotation

# GitHub refuses step summaries over 1 MiB; stay well under it.
SUMMARY_LIMIT_BYTES = 512 * 1024
TRUNCATION_NOTE = (
    "\n\n> **Note:** this summary was truncated to stay under GitHub's size limit; "
    "the full result is in the JSON output.\n"
)
# Lines of a multi-line secret shorter than this are not masked on their own: "{" or "}"
# of a JSON credential would otherwise blank out every brace in the log. The whole
# secret is always masked.
MIN_MASK_LINE = 4

_OUTPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# What .NET's TrimStart() may remove before "::" (a superset: Python's \s plus a few
# characters some .NET versions also trimmed).
_LEADING = r"[\s\u180e\u200b\ufeff]*"
_V2_COMMAND = re.compile(_LEADING + "::")
_V1_COMMAND = "##["
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

# Markdown/HTML-significant ASCII punctuation, written as numeric character references:
# entities render as the literal character everywhere (table cells, raw HTML blocks such
# as <details>, inline <code>) and never as markup or a table cell break.
_MD_ENTITIES = {ch: f"&#{ord(ch)};" for ch in "\\`*_[]{}()|!#~$<>&\"'"}
_MD_ENTITIES.update({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})
_MD_TRANSLATION = str.maketrans(_MD_ENTITIES)
# Block markup that only matters at the start of a line: a list item, a setext/thematic
# rule, an ordered list ("1." / "1)").
_MD_LEADING = re.compile(r"([-+=]|\d+(?=[.)]))")
# What GitHub's autolink extension turns into a link in plain text: ``scheme://`` (the colon),
# ``www.`` (the dot) and e-mail addresses, ``mailto:``/``xmpp:`` included (the at sign). One of
# those characters as an entity renders alike but no longer matches.
_MD_AUTOLINK = re.compile(r"(?<=[A-Za-z]):(?=/)|(?<=[Ww][Ww][Ww])\.|@")


def to_command_value(value: object) -> str:
    """As @actions/core ``toCommandValue``: None is empty, strings stay, others become JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def escape_data(text: object) -> str:
    """Escape a workflow-command message as @actions/core ``escapeData`` does (``%``, CR, LF)."""
    return to_command_value(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: object) -> str:
    """Escape a workflow-command property value as @actions/core ``escapeProperty`` (also ``:`` and ``,``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_command(command: str, message: object, properties: Mapping[str, object] | None = None) -> str:
    """``::command key=value,...::message`` with every part escaped; empty properties are left out."""
    props = ",".join(
        f"{key}={escape_property(value)}"
        for key, value in (properties or {}).items()
        if value is not None and value != ""
    )
    head = f"::{command} {props}" if props else f"::{command}"
    return f"{head}::{escape_data(message)}"


def format_annotation(annotation: Annotation) -> str:
    """The workflow command for one annotation."""
    return format_command(
        annotation.level,
        annotation.message,
        {
            "title": annotation.title,
            "file": annotation.file,
            "line": annotation.line,
            "endLine": annotation.end_line,
            "col": annotation.col,
            "endColumn": annotation.end_column,
        },
    )


def format_plain_annotation(annotation: Annotation) -> str:
    """The same annotation as plain text, for terminals outside Actions."""
    where = ""
    if annotation.file:
        where = annotation.file
        if annotation.line:
            where += f":{annotation.line}"
            if annotation.col:
                where += f":{annotation.col}"
        where += ": "
    title = f"{annotation.title}: " if annotation.title else ""
    return neutralize(f"{annotation.level}: {where}{title}{annotation.message}")


def format_mask(secret: str) -> list[str]:
    """``::add-mask::`` lines for a secret: the whole value, then each line of a multi-line one."""
    if not secret.strip():
        return []
    values = [secret]
    for line in _LINE_BREAK.split(secret):
        for candidate in (line, line.strip()):
            if len(candidate.strip()) >= MIN_MASK_LINE and candidate not in values:
                values.append(candidate)
    return [f"::add-mask::{escape_data(value)}" for value in values]


def format_output(name: str, value: str, delimiter: str | None = None) -> str:
    """A ``name<<DELIM`` block for ``$GITHUB_OUTPUT``.

    The delimiter is random and is checked not to occur in the name or the value,
    so a value can never close its block early and inject another output.
    """
    if not _OUTPUT_NAME.fullmatch(name):
        raise InputError(f"invalid output name {name!r}: expected letters, digits, '_' or '-'")
    delimiter = delimiter or f"ghadelimiter_{secrets.token_hex(16)}"
    if not delimiter or _LINE_BREAK.search(delimiter):
        raise InputError("output delimiter must be one non-empty line")
    if delimiter in name or delimiter in value:
        raise InputError(f"output {name!r}: the delimiter occurs in the value; refusing to write it")
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def neutralize(text: str) -> str:
    """Make untrusted text safe to print in a log: no line can be read as a workflow command.

    A line that would start with ``::`` once leading white space is trimmed gets a ``| ``
    prefix, and every ``##[`` (a command anywhere in a line) becomes ``## [``. Line breaks
    are normalised to LF.
    """
    lines = _LINE_BREAK.split(text)
    safe = []
    for line in lines:
        line = line.replace(_V1_COMMAND, "## [")
        safe.append(f"| {line}" if _V2_COMMAND.match(line) else line)
    return "\n".join(safe)


def _md_escape(text: str) -> str:
    return text.translate(_MD_TRANSLATION)


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(text: object) -> str:
    """Line breaks and control characters (tab kept) become spaces."""
    return _CONTROL.sub(" ", _LINE_BREAK.sub(" ", str(text)))


def md_text(text: object) -> str:
    """Untrusted text for markdown: no HTML, no table break, no line break, no link (autolinks of bare
    URLs, ``www.`` names and e-mail addresses included), image, list or code block."""
    return _MD_AUTOLINK.sub(lambda m: f"&#{ord(m.group())};", _md_text(text))


def _md_text(text: object) -> str:
    value = _one_line(text)
    body = value.lstrip()
    # Leading white space as entities: it cannot indent a code block yet still shows.
    lead = "".join(f"&#{ord(ch)};" for ch in value[: len(value) - len(body)])
    leading = _MD_LEADING.match(body)
    if not leading:
        return lead + _md_escape(body)
    mark, rest = leading.group(1), body[leading.end() :]
    if mark.isdigit():  # "1. x" -> the dot or parenthesis is what makes a list
        return lead + mark + f"&#{ord(rest[0])};" + _md_escape(rest[1:])
    return lead + f"&#{ord(mark)};" + _md_escape(rest)


def md_code(text: object) -> str:
    """Untrusted text as inline code, entity-escaped so nothing inside renders as markup."""
    return f"<code>{_md_escape(_one_line(text))}</code>"


def md_table(headers: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """A markdown table; cells must already be escaped with ``md_text``/``md_code``.

    Short rows are padded; a line break inside a cell is flattened so it cannot end the table.
    """
    head = [_one_line(h) for h in headers]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    for row in rows:
        cells = [_one_line(cell) for cell in row]
        cells += [""] * (len(head) - len(cells))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def md_details(summary: str, body: str) -> str:
    """A collapsed ``<details>`` block; ``summary`` and ``body`` must already be escaped."""
    return f"<details><summary>{_one_line(summary)}</summary>\n\n{body}\n\n</details>\n"


_OPEN_DETAILS = re.compile(r"<details\b", re.IGNORECASE)
_CLOSE_DETAILS = re.compile(r"</details\s*>", re.IGNORECASE)
_PARTIAL_TAIL = re.compile(r"(&#?[A-Za-z0-9]*|<[^<>]*)\Z")


def cap_summary(markdown: str, limit: int = SUMMARY_LIMIT_BYTES) -> str:
    """Cut the summary under ``limit`` UTF-8 bytes, at a line boundary when there is one, and say so.

    Never splits a character, an entity or a tag; closes an open code fence and open
    ``<details>`` blocks so the note stays visible. The result, note included, is at most
    ``limit`` bytes.
    """
    data = markdown.encode("utf-8")
    if len(data) <= limit:
        return markdown
    note = TRUNCATION_NOTE
    if len(note.encode("utf-8")) > limit:
        return note.encode("utf-8")[:limit].decode("utf-8", errors="ignore")
    # Room for the closers we may add: a fence and one "</details>" per open block.
    opened = len(_OPEN_DETAILS.findall(markdown))
    reserve = len(note.encode("utf-8")) + len("\n```") + opened * len("\n</details>")
    budget = max(0, limit - reserve)
    cut = data[:budget].decode("utf-8", errors="ignore")
    # Prefer a line boundary; without one, drop a half-written entity or tag at the end.
    cut = cut[: cut.rfind("\n")] if "\n" in cut else _PARTIAL_TAIL.sub("", cut)
    if cut.count("```") % 2:
        cut += "\n```"
    unclosed = len(_OPEN_DETAILS.findall(cut)) - len(_CLOSE_DETAILS.findall(cut))
    cut += "\n</details>" * max(0, unclosed)
    return cut + note


def redact_document(document: Any, redact: Callable[[str], str]) -> Any:
    """Apply ``redact`` (str -> str) to every string, key or value, of a JSON-like document."""
    if isinstance(document, str):
        return redact(document)
    if isinstance(document, Mapping):
        return {(redact(k) if isinstance(k, str) else k): redact_document(v, redact) for k, v in document.items()}
    if isinstance(document, list | tuple):
        return [redact_document(v, redact) for v in document]
    return document


class RunnerIO:
    """Writes what a command produced where the runner (or a terminal) reads it.

    Every text it writes (log lines, annotations, outputs, summary) passes through
    ``redact`` first, so a registered secret never leaves in clear, Actions or not.
    """

    def __init__(self, environ: Mapping[str, str] | None = None, stream: TextIO | None = None) -> None:
        env = os.environ if environ is None else environ
        self.in_actions = env.get("GITHUB_ACTIONS") == "true"
        self.output_path = env.get("GITHUB_OUTPUT") or None
        self.summary_path = env.get("GITHUB_STEP_SUMMARY") or None
        self.summary_limit = SUMMARY_LIMIT_BYTES
        self.stream = stream if stream is not None else sys.stderr
        self._masked: set[str] = set()

    def mask(self, secret: str | None) -> None:
        """Register a secret (with the runner too, in Actions) before anything else is printed."""
        if not secret or not secret.strip() or secret in self._masked:
            return
        self._masked.add(secret)
        if self.in_actions:
            for line in format_mask(secret):
                self._write(line)

    @property
    def has_secrets(self) -> bool:
        """Whether any secret is registered (with none, redaction has nothing to do)."""
        return bool(self._masked)

    def redact(self, text: str) -> str:
        """Replace every registered secret (and its JSON-escaped form) in ``text`` with ``***``."""
        for secret in sorted(self._masked, key=len, reverse=True):
            text = text.replace(secret, "***")
            escaped = json.dumps(secret)[1:-1]
            if escaped != secret:
                text = text.replace(escaped, "***")
        return text

    def log(self, text: str) -> None:
        """A human line on stderr; untrusted parts cannot start a workflow command."""
        self._write(neutralize(self.redact(text)))

    def annotate(self, annotation: Annotation) -> None:
        """An annotation: a workflow command in Actions, a plain line elsewhere."""
        clean = Annotation(
            level=annotation.level,
            message=self.redact(annotation.message),
            file=annotation.file,
            line=annotation.line,
            end_line=annotation.end_line,
            title=self.redact(annotation.title) if annotation.title else annotation.title,
            col=annotation.col,
            end_column=annotation.end_column,
        )
        self._write(format_annotation(clean) if self.in_actions else format_plain_annotation(clean))

    def set_outputs(self, outputs: Mapping[str, str]) -> None:
        """Append ``name<<DELIM`` blocks to ``$GITHUB_OUTPUT`` (nothing outside Actions)."""
        if not self.output_path or not outputs:
            return
        blocks = "".join(format_output(name, self.redact(value)) for name, value in outputs.items())
        with open(self.output_path, "a", encoding="utf-8", newline="\n") as handle:
            handle.write(blocks)

    def append_summary(self, markdown: str) -> None:
        """Append markdown to ``$GITHUB_STEP_SUMMARY``, keeping the step's whole summary under the cap."""
        if not self.summary_path or not markdown:
            return
        try:
            used = os.path.getsize(self.summary_path)
        except OSError:
            used = 0
        room = self.summary_limit - used - 1
        if room <= len(TRUNCATION_NOTE.encode("utf-8")):
            return
        with open(self.summary_path, "a", encoding="utf-8", newline="\n") as handle:
            handle.write(cap_summary(self.redact(markdown), room) + "\n")

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A collapsible log group in Actions (``::group::``/``::endgroup::``), a heading line elsewhere."""
        if self.in_actions:
            self._write(format_command("group", self.redact(title)))
        else:
            self._write(neutralize(f"== {self.redact(title)}"))
        try:
            yield
        finally:
            if self.in_actions:
                self._write("::endgroup::")

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()
