from __future__ import annotations

import pytest
from hypothesis import given, settings

from gate.discover.parser import heredoc_names, parse, split_flags
from tests.discover.test_fuzz import TEXT


def keywords(text: str) -> list[tuple[str, int, int]]:
    return [(i.keyword, i.line, i.end_line) for i in parse(text).instructions]


def test_line_numbers_follow_buildkit() -> None:
    text = "\n\n# c\nFROM a\n\nRUN x \\\n  y \\\n\n  # inner\n  z\nCMD w \\\n"
    assert keywords(text) == [("from", 4, 4), ("run", 6, 10), ("cmd", 11, 11)]
    run = parse(text).instructions[1]
    assert run.original == "RUN x   y   z"


def test_instructions_are_case_insensitive_and_keep_flags() -> None:
    (copy,) = parse("CoPy --from=build --chown=1:1 a b\n").instructions
    assert copy.keyword == "copy"
    assert copy.flags == ("--from=build", "--chown=1:1")
    assert copy.args == "a b"
    assert copy.flag_values("from") == ("build",)


def test_flags_with_quotes_and_escapes() -> None:
    assert split_flags('--a="x y" --b=\\"q --  rest', "\\") == (["--a=x y", '--b="q'], "  rest")
    assert split_flags("--only", "\\") == (["--only"], "")
    assert split_flags("plain --notflag", "\\") == ([], "plain --notflag")


def test_directives_only_at_the_top() -> None:
    parsed = parse("# SYNTAX=x\n# Escape = `\nFROM a `\n AS b\n# escape=\\\n")
    assert parsed.directives == (("syntax", "x"), ("escape", "`"))
    assert parsed.escape == "`"
    assert [i.original for i in parsed.instructions] == ["FROM a  AS b"]
    after_blank = parse("\n# escape=`\nFROM a `\nRUN b\n")
    assert after_blank.directives == ()
    assert len(after_blank.instructions) == 2


def test_directive_errors_are_reported_not_raised() -> None:
    repeated = parse("# escape=`\n# escape=`\nFROM a\n")
    assert repeated.error is not None and repeated.error.line == 2
    bad = parse("# escape=x\nFROM a\n")
    assert bad.error is not None and "escape" in bad.error.message


def test_bom_and_crlf() -> None:
    parsed = parse("\ufeff# escape=`\r\nFROM a `\r\n  AS b\r\n")
    assert parsed.escape == "`"
    assert parsed.instructions[0].args == "a   AS b"


def test_heredocs_several_per_line_quoted_and_chomped() -> None:
    text = "COPY <<A <<-'B B' <<\"C\" /dst/\nFROM x\nA\n\tFROM y\n\tB B\nC\nFROM z\n"
    parsed = parse(text)
    assert [(i.keyword, i.line) for i in parsed.instructions] == [("copy", 1), ("from", 7)]
    assert [(h.name, h.chomp, h.body) for h in parsed.instructions[0].heredocs] == [
        ("A", False, "FROM x"),
        ("B B", True, "\tFROM y"),
        ("C", False, ""),
    ]


def test_heredoc_only_on_run_copy_add_and_not_json() -> None:
    assert keywords("LABEL a=<<EOF\nFROM b\n") == [("label", 1, 1), ("from", 2, 2)]
    assert keywords('RUN ["cat", "<<EOF"]\nFROM b\n') == [("run", 1, 1), ("from", 2, 2)]
    assert keywords("ONBUILD RUN <<EOF\nFROM b\nEOF\nFROM c\n") == [("onbuild", 1, 3), ("from", 4, 4)]
    assert keywords("RUN echo '<<EOF'\nFROM b\n") == [("run", 1, 1), ("from", 2, 2)]


def test_heredoc_names() -> None:
    assert heredoc_names("RUN 3<<EOF cat <<-\"END\" x<<no") == [("EOF", False), ("END", True)]
    assert heredoc_names("RUN << EOF") == []


def test_unterminated_heredoc_keeps_what_came_before() -> None:
    parsed = parse("FROM a\nRUN <<EOF\nbody\n")
    assert parsed.error is not None and parsed.error.line == 2
    assert [i.keyword for i in parsed.instructions] == ["from"]


def test_comments_are_top_level_lines_only() -> None:
    parsed = parse("# one\nRUN a \\\n# two\n b\nRUN <<E\n# three\nE\n   # four\n")
    assert [(c.line, c.text) for c in parsed.comments] == [(1, "# one"), (8, "   # four")]


def test_empty_and_comment_only_files() -> None:
    assert parse("").instructions == ()
    assert parse("# only\n\n").instructions == ()
    assert parse("\\\n").instructions == ()


def test_segments_map_the_logical_line_back_to_the_text() -> None:
    text = "\ufeff# escape=`\r\nFROM alpine:3 `\r\n  # inside\r\n\r\n  AS x\r\nRUN <<EOF\r\nbody\r\nEOF\r\n  COPY --from=x a b\n"
    parsed = parse(text)
    from_, run, copy = parsed.instructions
    assert from_.original == "FROM alpine:3   AS x"
    assert text[from_.source_offset(0) :].startswith("FROM alpine:3 `\r\n")
    assert text[from_.source_offset(from_.original.index("AS")) :].startswith("AS x\r\n")
    assert text[copy.source_offset(0) :] == "COPY --from=x a b\n"
    with pytest.raises(IndexError):
        run.source_offset(len(run.original))


@settings(max_examples=300)
@given(TEXT)
def test_every_character_of_an_instruction_comes_from_its_segments(text: str) -> None:
    for instruction in parse(text).instructions:
        assert "".join(text[instruction.source_offset(k)] for k in range(len(instruction.original))) == (
            instruction.original
        )
