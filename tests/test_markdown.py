"""Markdown for step summaries: untrusted text renders as text, tables keep their columns, the size cap.

Each check renders the markdown with markdown-it (CommonMark with raw HTML and tables, as GitHub
allows) and looks at what a reader would see, not only at the escaped string.
"""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from gate.markdown import (
    SUMMARY_LIMIT_BYTES,
    TRUNCATION_NOTE,
    cap_summary,
    md_code,
    md_code_block,
    md_details,
    md_table,
    md_text,
)
from tests.support.hostile import HOSTILE


def flat(text: str) -> str:
    """What md_text keeps of a text: line breaks and control characters become spaces."""
    return re.sub(r"\r\n|[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]", " ", text)


MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable("table")


# ---------------------------------------------------------------------------------------------
# Markdown for the step summary
# ---------------------------------------------------------------------------------------------


def rendered_cells(markdown: str) -> list[list[str]]:
    """The text of every body cell of the first table, as a renderer sees it."""
    tokens = MARKDOWN.parse(markdown)
    rows: list[list[str]] = []
    in_body = False
    for token in tokens:
        if token.type == "tbody_open":
            in_body = True
        elif token.type == "tr_open" and in_body:
            rows.append([])
        elif token.type == "inline" and in_body and rows:
            rows[-1].append(html.unescape(token.content))
    return rows


def html_tags(rendered: str) -> set[str]:
    return set(re.findall(r"<\s*/?\s*([A-Za-z][A-Za-z0-9-]*)", rendered))


@pytest.mark.parametrize("hostile", HOSTILE)
def test_md_text_is_inert(hostile: str) -> None:
    escaped = md_text(hostile)
    assert "\n" not in escaped and "\r" not in escaped
    for char in "<>|`*_[]!#~$\\":
        assert char not in escaped.replace("&#", "").replace(";", "")  # only inside entities
    rendered = MARKDOWN.render(escaped)
    assert html_tags(rendered) <= {"p"}
    assert html.unescape(re.sub(r"</?p>", "", rendered)).strip() == flat(hostile).strip()


@pytest.mark.parametrize("hostile", HOSTILE)
def test_md_code_is_inert(hostile: str) -> None:
    rendered = MARKDOWN.render(md_code(hostile))
    assert html_tags(rendered) <= {"p", "code"}
    inner = re.sub(r"</?(p|code)>", "", rendered)
    assert html.unescape(inner).strip() == flat(hostile).strip()


def block_text(text: str) -> str:
    """What md_code_block keeps of a text: line breaks as LF, other control characters as spaces."""
    lines = re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]", " ", re.sub(r"\r\n|\r", "\n", text))
    return lines.rstrip("\n")


@settings(max_examples=300)
@given(st.one_of(st.sampled_from(HOSTILE), st.text(), st.text(alphabet="`~\n\r <>&|*_#-a")))
def test_md_code_block_renders_its_text_and_nothing_else(text: str) -> None:
    block = md_code_block(text, "diff")
    tokens = [token for token in MARKDOWN.parse(block) if token.type != "text"]
    assert [token.type for token in tokens] == ["fence"]
    assert tokens[0].info == "diff"
    assert tokens[0].content.rstrip("\n") == block_text(text)


def test_md_code_block_language_is_a_word() -> None:
    assert md_code_block("x", "diff`><script>").startswith("```diffscript\n")


@settings(max_examples=300)
@given(st.text())
def test_md_text_round_trips_through_entities(text: str) -> None:
    escaped = md_text(text)
    assert "\n" not in escaped
    assert not re.search(r"[<>|`*\[\]\\]", escaped)
    assert html.unescape(escaped) == flat(text)


@settings(max_examples=200)
@given(st.lists(st.text(max_size=20), min_size=2, max_size=2))
def test_md_table_cells_stay_in_their_column(cells: list[str]) -> None:
    table = md_table(["A", "B"], [[md_text(cells[0]), md_code(cells[1])]])
    rows = rendered_cells(table)
    assert len(rows) == 1 and len(rows[0]) == 2
    assert rows[0][0].strip() == flat(cells[0]).strip()


@pytest.mark.parametrize("hostile", HOSTILE)
def test_md_table_with_hostile_cells(hostile: str) -> None:
    table = md_table(["Path", "Image"], [[md_text(hostile), md_code(hostile)], [md_text("ok"), md_code("b")]])
    rows = rendered_cells(table)
    assert len(rows) == 2
    assert [len(row) for row in rows] == [2, 2]
    assert "script" not in html_tags(MARKDOWN.render(table))


def test_md_table_shape() -> None:
    assert md_table(["A", "B"], [["1", "2"], ["3"]]) == "| A | B |\n| --- | --- |\n| 1 | 2 |\n| 3 |  |\n"
    assert "\n| x y |" in md_table(["A"], [["x\ny"]])


def test_md_details_keeps_untrusted_summary_and_body_inside() -> None:
    hostile = "</details><script>alert(1)</script>"
    block = md_details(md_text(hostile), md_table(["A"], [[md_text(hostile)]]))
    rendered = MARKDOWN.render("before\n\n" + block + "\nafter\n")
    assert "script" not in html_tags(rendered)
    assert rendered.count("</details>") == 1
    assert rendered.index("</details>") < rendered.index("after")
    assert block.startswith("<details><summary>") and block.endswith("</details>\n")


# GitHub's autolink extension (GFM): bare http(s)/ftp URLs, www. names, e-mail addresses. linkify-it
# (markdown-it's linkify option) with fuzzy links off recognises the first and the last alike; it does
# not do "www." without fuzzy links (which would also link any bare domain, as GitHub does not), so
# that case is checked on the text.
AUTOLINKED = [
    "see https://evil.example/login for your fix",
    "HTTP://EVIL.EXAMPLE/x",
    "ftp://files.evil.example/a",
    "mail security@evil.com now",
    "mailto:root@evil.example",
    "xmpp:bot@evil.com",
    "Fixed in 1.2.3 (https://github.com/advisories/GHSA-xxxx-yyyy-zzzz)",
]
WWW = ["www.evil.example", "visit WWW.evil.example/path", "(www.evil.example)", "1. www.evil.example"]


def _linkify_markdown() -> MarkdownIt:
    pytest.importorskip("linkify_it", reason="linkify-it-py is not installed")
    markdown = MarkdownIt("commonmark", {"html": True, "linkify": True}).enable(["table", "linkify"])
    markdown.linkify.set({"fuzzy_link": False})
    return markdown


@pytest.mark.parametrize("text", AUTOLINKED)
def test_md_text_defeats_autolinks(text: str) -> None:
    linkify = _linkify_markdown()
    assert "<a " in linkify.render(text)  # the renderer would link the raw text
    rendered = linkify.render(md_text(text))
    assert "<a " not in rendered and html_tags(rendered) <= {"p"}
    assert html.unescape(re.sub(r"</?p>", "", rendered)).strip() == text  # still reads the same
    table = md_table(["Title"], [[md_text(text)]])
    assert "<a " not in linkify.render(table)


@pytest.mark.parametrize("text", AUTOLINKED + WWW)
def test_md_text_leaves_no_autolink_trigger(text: str) -> None:
    escaped = md_text(text)
    assert "@" not in escaped
    assert not re.search(r"[A-Za-z]:/", escaped)
    assert not re.search(r"(?i)www\.", escaped)
    assert html.unescape(escaped) == text


def test_md_text_keeps_ordinary_colons_and_dots_readable() -> None:
    assert md_text("Severity: HIGH, app:1.4.2 in lodash.merge") == "Severity: HIGH, app:1.4.2 in lodash.merge"


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from("wW.:/@ab1 -"), max_size=40))
def test_md_text_never_leaves_an_autolink_trigger(text: str) -> None:
    escaped = md_text(text)
    assert "@" not in escaped and not re.search(r"[A-Za-z]:/|(?i:www)\.", escaped)
    assert html.unescape(escaped) == flat(text)


# ---------------------------------------------------------------------------------------------
# Summary cap
# ---------------------------------------------------------------------------------------------


def test_cap_summary_leaves_small_summaries_alone() -> None:
    assert cap_summary("# a\n") == "# a\n"
    exact = "x" * SUMMARY_LIMIT_BYTES
    assert cap_summary(exact) == exact


def test_cap_summary_is_well_under_one_mib() -> None:
    assert SUMMARY_LIMIT_BYTES <= 1024 * 1024 // 2


def test_cap_summary_cuts_at_a_line_and_keeps_the_note() -> None:
    markdown = "".join(f"| row {i} | ✓ |\n" for i in range(100_000))
    capped = cap_summary(markdown)
    assert len(capped.encode("utf-8")) <= SUMMARY_LIMIT_BYTES
    assert capped.endswith(TRUNCATION_NOTE)
    body = capped.removesuffix(TRUNCATION_NOTE)
    assert markdown.startswith(body)
    assert re.fullmatch(r"\| row \d+ \| ✓ \|", body.splitlines()[-1])


def test_cap_summary_closes_open_blocks() -> None:
    markdown = "intro\n" + md_details("Images", "```\n" + "line\n" * 10_000) + "tail\n"
    capped = cap_summary(markdown, limit=4096)
    assert len(capped.encode("utf-8")) <= 4096
    assert capped.endswith(TRUNCATION_NOTE)
    assert capped.count("```") % 2 == 0
    assert capped.count("<details>") == capped.count("</details>")
    rendered = MARKDOWN.render(capped)
    assert "truncated" in rendered.split("</details>")[-1]


def test_cap_summary_without_newlines_does_not_split_an_entity() -> None:
    capped = cap_summary(md_text("<" * 10_000), limit=2000)
    assert len(capped.encode("utf-8")) <= 2000
    body = capped.removesuffix(TRUNCATION_NOTE)
    assert re.fullmatch(r"(&lt;)+", body)


@settings(max_examples=200)
@given(
    st.lists(
        st.sampled_from(["a", "é", "✓", "𝄞", "\n", "<details>", "</details>", "```", "&lt;", "x" * 200]), max_size=400
    ).map("".join),
    st.integers(min_value=len(TRUNCATION_NOTE.encode()) + 64, max_value=4000),
)
def test_cap_summary_never_exceeds_the_limit_nor_splits_a_character(markdown: str, limit: int) -> None:
    capped = cap_summary(markdown, limit)
    data = capped.encode("utf-8")  # a str cannot hold a split character; check the bytes count
    assert len(data) <= limit
    if len(markdown.encode("utf-8")) > limit:
        assert capped.endswith(TRUNCATION_NOTE)
        assert "\ufffd" not in capped
    else:
        assert capped == markdown


def test_cap_summary_with_a_tiny_limit() -> None:
    capped = cap_summary("x" * 100, limit=10)
    assert len(capped.encode()) <= 10
