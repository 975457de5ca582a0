"""GitHub runner I/O: job outputs, step summary, annotations, masks and groups.

This is one of the three I/O edges of the package. The pure helpers (escaping,
formatting) are tested exhaustively; ``RunnerIO`` writes them where the runner
reads them. Outside GitHub Actions the same calls print plain text to stderr.

Workflow commands go to stderr: the runner reads commands from both streams,
and stdout stays clean for the ``--json`` document.
"""

from __future__ import annotations

import html
import os
import re
import secrets
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TextIO

from gate.errors import InputError
from gate.outcome import Annotation

# GitHub refuses step summaries over 1 MiB; stay well under it.
SUMMARY_LIMIT_BYTES = 512 * 1024
TRUNCATION_NOTE = "\n\n> **Note:** this summary was truncated to stay under GitHub's size limit; the full result is in the JSON output.\n"

_OUTPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_COMMAND_START = re.compile(r"^\s*(::|##\[)")


def escape_data(text: str) -> str:
    """Escape a workflow-command message as @actions/core does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow-command property value (``file=``, ``title=``...)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_command(command: str, message: str, properties: Mapping[str, str | int | None] | None = None) -> str:
    """``::command key=value,...::message`` with every part escaped."""
    props = ",".join(
        f"{key}={escape_property(str(value))}"
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
            "file": annotation.file,
            "line": annotation.line,
            "endLine": annotation.end_line,
            "title": annotation.title,
        },
    )


def format_plain_annotation(annotation: Annotation) -> str:
    """The same annotation as a plain line, for terminals outside Actions."""
    where = ""
    if annotation.file:
        where = annotation.file + (f":{annotation.line}" if annotation.line else "") + ": "
    title = f"{annotation.title}: " if annotation.title else ""
    return neutralize(f"{annotation.level}: {where}{title}{annotation.message}")


def format_mask(secret: str) -> list[str]:
    """``::add-mask::`` lines for a secret, one per line of a multi-line secret too."""
    values = [secret] + [line for line in secret.splitlines() if line.strip() and line != secret]
    return [f"::add-mask::{escape_data(value)}" for value in values if value.strip()]


def format_output(name: str, value: str, delimiter: str | None = None) -> str:
    """A ``name<<DELIM`` block for ``$GITHUB_OUTPUT``.

    The delimiter is random and is checked not to occur in the name or the value,
    so a value can never close its block early and inject another output.
    """
    if not _OUTPUT_NAME.match(name):
        raise InputError(f"invalid output name {name!r}")
    delimiter = delimiter or f"ghadelimiter_{secrets.token_hex(16)}"
    if delimiter in name or delimiter in value:
        raise InputError(f"output {name!r}: the delimiter occurs in the value; refusing to write it")
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def neutralize(text: str) -> str:
    """Make untrusted text safe to print in a log: no line may start a workflow command."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(f"| {line}" if _COMMAND_START.match(line) else line for line in lines)


def md_text(text: object) -> str:
    """Untrusted text for markdown: no HTML, no table break, no line break, no link/image syntax."""
    value = html.escape(str(text), quote=True)
    value = value.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    for char in "\\`*_[]|!":
        value = value.replace(char, "\\" + char)
    return value


def md_code(text: object) -> str:
    """Untrusted text as inline code (HTML-escaped: GitHub renders entities inside <code>)."""
    value = str(text).replace("\r", " ").replace("\n", " ")
    return f"<code>{html.escape(value, quote=True).replace('|', '&#124;')}</code>"


def md_table(headers: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """A markdown table; cells must already be escaped with ``md_text``/``md_code``."""
    head = list(headers)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def md_details(summary: str, body: str) -> str:
    """A collapsed ``<details>`` block; ``summary`` must already be escaped."""
    return f"<details><summary>{summary}</summary>\n\n{body}\n</details>\n"


def cap_summary(markdown: str, limit: int = SUMMARY_LIMIT_BYTES) -> str:
    """Cut the summary at a line boundary under ``limit`` bytes and say so."""
    data = markdown.encode("utf-8")
    if len(data) <= limit:
        return markdown
    budget = limit - len(TRUNCATION_NOTE.encode("utf-8"))
    cut = data[:budget].decode("utf-8", errors="ignore")
    if "\n" in cut:
        cut = cut[: cut.rfind("\n")]
    # An open <details> or code fence would swallow the note.
    if cut.count("<details>") > cut.count("</details>"):
        cut += "\n</details>" * (cut.count("<details>") - cut.count("</details>"))
    if cut.count("```") % 2:
        cut += "\n```"
    return cut + TRUNCATION_NOTE


class RunnerIO:
    """Writes what a command produced where the runner (or a terminal) reads it."""

    def __init__(self, environ: Mapping[str, str] | None = None, stream: TextIO | None = None) -> None:
        env = os.environ if environ is None else environ
        self.in_actions = env.get("GITHUB_ACTIONS") == "true"
        self.output_path = env.get("GITHUB_OUTPUT") or None
        self.summary_path = env.get("GITHUB_STEP_SUMMARY") or None
        self.stream = stream or sys.stderr
        self._masked: set[str] = set()

    def mask(self, secret: str | None) -> None:
        """Register a secret with the runner before anything else is printed."""
        if not secret or secret in self._masked:
            return
        self._masked.add(secret)
        if self.in_actions:
            for line in format_mask(secret):
                self._write(line)

    def redact(self, text: str) -> str:
        """Replace every registered secret in ``text`` (for our own logs, Actions or not)."""
        for secret in sorted(self._masked, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def log(self, text: str) -> None:
        """A human line on stderr; untrusted parts cannot start a workflow command."""
        self._write(neutralize(self.redact(text)))

    def annotate(self, annotation: Annotation) -> None:
        if self.in_actions:
            self._write(format_annotation(annotation))
        else:
            self._write(format_plain_annotation(annotation))

    def set_outputs(self, outputs: Mapping[str, str]) -> None:
        if not self.output_path or not outputs:
            return
        blocks = "".join(format_output(name, self.redact(value)) for name, value in outputs.items())
        with open(self.output_path, "a", encoding="utf-8") as handle:
            handle.write(blocks)

    def append_summary(self, markdown: str) -> None:
        if not self.summary_path or not markdown:
            return
        with open(self.summary_path, "a", encoding="utf-8") as handle:
            handle.write(cap_summary(self.redact(markdown)) + "\n")

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        if self.in_actions:
            self._write(format_command("group", title))
        else:
            self._write(f"== {neutralize(title)}")
        try:
            yield
        finally:
            if self.in_actions:
                self._write("::endgroup::")

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()
