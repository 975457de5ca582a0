"""Markdown for step summaries: untrusted text escaped so it renders as text, tables, details, the size cap.

Every stage renders its summary with these helpers; the runner I/O module (gate/actions.py)
only writes the result. Scanned text never reaches a summary except through ``md_text`` or
``md_code``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# GitHub refuses step summaries over 1 MiB; stay well under it.
SUMMARY_LIMIT_BYTES = 512 * 1024
TRUNCATION_NOTE = (
    "\n\n> **Note:** this summary was truncated to stay under GitHub's size limit; "
    "the full result is in the JSON output.\n"
)
LINE_BREAK = re.compile(r"\r\n|\r|\n")

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


def _md_escape(text: str) -> str:
    return text.translate(_MD_TRANSLATION)


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(text: object) -> str:
    """Line breaks and control characters (tab kept) become spaces."""
    return _CONTROL.sub(" ", LINE_BREAK.sub(" ", str(text)))


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


_BACKTICKS = re.compile(r"`+")
_BLOCK_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def md_code_block(text: str, language: str = "") -> str:
    """Untrusted text, several lines, as a fenced code block: nothing inside renders as markup.

    The fence is one backtick longer than the longest run of backticks in ``text``, so no line can
    close it; control characters (a CR included) become spaces, tabs and line breaks stay.
    """
    body = _BLOCK_CONTROL.sub(" ", LINE_BREAK.sub("\n", text)).rstrip("\n")
    fence = "`" * max(3, 1 + max((len(run) for run in _BACKTICKS.findall(body)), default=0))
    info = re.sub(r"[^A-Za-z0-9_+-]", "", language)
    return f"{fence}{info}\n{body}\n{fence}\n"


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
