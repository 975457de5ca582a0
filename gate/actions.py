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
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

from gate.errors import InputError
from gate.markdown import LINE_BREAK, SUMMARY_LIMIT_BYTES, TRUNCATION_NOTE, cap_summary
from gate.outcome import Annotation

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
    for line in LINE_BREAK.split(secret):
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
    if not delimiter or LINE_BREAK.search(delimiter):
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
    lines = LINE_BREAK.split(text)
    safe = []
    for line in lines:
        line = line.replace(_V1_COMMAND, "## [")
        safe.append(f"| {line}" if _V2_COMMAND.match(line) else line)
    return "\n".join(safe)


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
