#!/usr/bin/env python3
"""Print a step-summary markdown file (what a run wrote to ``$GITHUB_STEP_SUMMARY``) readably in a terminal.

    python3 scripts/render_summary.py SUMMARY.md

Handles what image-gate's summaries use: headings, pipe tables (aligned into columns),
``<details><summary>`` blocks (shown expanded, the summary as a sub-heading), ``<code>``,
``**bold**``, entities and backslash escapes. Colours only when stdout is a terminal.
"""

from __future__ import annotations

import html
import re
import shutil
import sys
import unicodedata
from pathlib import Path

_TAG = re.compile(r"</?(?:code|b|strong|em|i|br|sub|sup|kbd|p|span)\b[^>]*>", re.IGNORECASE)
_SUMMARY = re.compile(r"<details[^>]*>\s*<summary>(.*?)</summary>", re.IGNORECASE | re.DOTALL)
_DETAILS_END = re.compile(r"</details\s*>", re.IGNORECASE)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~])")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


class Style:
    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def wrap(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour and text else text

    def bold(self, text: str) -> str:
        return self.wrap(text, "1")

    def heading(self, text: str) -> str:
        return self.wrap(text, "1;36")

    def dim(self, text: str) -> str:
        return self.wrap(text, "2")


def plain(text: str) -> str:
    """Inline markdown/HTML to text: tags dropped, links as ``text <url>``, escapes and entities resolved."""
    text = _TAG.sub("", text)
    text = _LINK.sub(lambda m: f"{m.group(1)} <{m.group(2)}>", text)
    text = _ESCAPE.sub(r"\1", text)
    return html.unescape(text)


def inline(text: str, style: Style) -> str:
    return _BOLD.sub(lambda m: style.bold(m.group(1)), plain(text))


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in re.sub(r"\033\[[0-9;]*m", "", text))


def split_row(line: str) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", body)]


def table(lines: list[str], style: Style, columns: int) -> list[str]:
    rows = [split_row(line) for line in lines]
    rows = [row for number, row in enumerate(rows) if number != 1 or not all(re.fullmatch(r":?-+:?", c) for c in row)]
    cells = [[inline(cell, style) for cell in row] for row in rows]
    count = max(len(row) for row in cells)
    for row in cells:
        row += [""] * (count - len(row))
    widths = [max(width(row[i]) for row in cells) for i in range(count)]
    budget = max(columns - 3 * count, 20)
    while sum(widths) > budget and max(widths) > 12:  # shrink the widest column until it fits
        widest = widths.index(max(widths))
        widths[widest] -= 1
    out = []
    if not any(cells[0]):  # a table without headers: no header line
        cells = cells[1:]
        out.append("  " + "─┼─".join("─" * w for w in widths))
    for number, row in enumerate(cells):
        shown = []
        for i, cell in enumerate(row):
            text = cell if width(cell) <= widths[i] else _cut(cell, widths[i])
            shown.append(text + " " * (widths[i] - width(text)))
        line = "  " + " │ ".join(shown).rstrip()
        out.append(style.bold(line) if number == 0 else line)
        if number == 0:
            out.append("  " + "─┼─".join("─" * w for w in widths))
    return out


def _cut(text: str, limit: int) -> str:
    clean = re.sub(r"\033\[[0-9;]*m", "", text)
    result = ""
    for ch in clean:
        if width(result + ch) > limit - 1:
            break
        result += ch
    return result + "…"


def render(markdown: str, style: Style, columns: int = 120) -> str:
    markdown = _SUMMARY.sub(lambda m: f"\n#### ▸ {m.group(1).strip()}\n", markdown)
    markdown = _DETAILS_END.sub("", markdown)
    out: list[str] = []
    pending: list[str] = []
    blank = False

    def flush() -> None:
        if pending:
            out.extend(table(pending, style, columns))
            pending.clear()

    for raw in markdown.splitlines():
        line = raw.rstrip()
        if line.lstrip().startswith("|"):
            pending.append(line)
            blank = False
            continue
        flush()
        if not line.strip():
            if not blank:
                out.append("")
            blank = True
            continue
        blank = False
        heading = re.match(r"^(#{1,6})\s+(.*)$", line)
        if heading:
            level = len(heading.group(1))
            text = inline(heading.group(2), style)
            out.append(style.heading(text if level > 3 else text.upper()))
            continue
        item = re.match(r"^(\s*)[-*]\s+(.*)$", line)
        if item:
            out.append(f"{item.group(1)}  • {inline(item.group(2), style)}")
            continue
        if line.startswith(">"):
            out.append(style.dim("  " + inline(line.lstrip("> "), style)))
            continue
        out.append(inline(line, style))
    flush()
    return "\n".join(out).strip("\n") + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: render_summary.py SUMMARY.md", file=sys.stderr)
        return 2
    text = Path(argv[0]).read_text(encoding="utf-8")
    columns = shutil.get_terminal_size((120, 40)).columns
    sys.stdout.write(render(text, Style(sys.stdout.isatty()), columns))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
