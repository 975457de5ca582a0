"""Runner I/O: escaping, outputs, summary, annotations, masks, groups.

The runner side is modelled on actions/runner (``ActionCommand.TryParseV2`` / ``TryParse``
and the ``$GITHUB_OUTPUT`` heredoc reader) so each test checks what the runner would
actually do with our bytes, not only their shape.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gate.actions import (
    RunnerIO,
    escape_data,
    escape_property,
    format_annotation,
    format_command,
    format_mask,
    format_output,
    format_plain_annotation,
    neutralize,
    redact_document,
    to_command_value,
)
from gate.errors import InputError
from gate.markdown import TRUNCATION_NOTE
from gate.outcome import Annotation
from tests.support.hostile import HOSTILE

# ---------------------------------------------------------------------------------------------
# A model of the runner
# ---------------------------------------------------------------------------------------------

REGISTERED = {
    "set-env",
    "set-output",
    "save-state",
    "add-mask",
    "add-path",
    "add-matcher",
    "remove-matcher",
    "debug",
    "warning",
    "error",
    "notice",
    "group",
    "endgroup",
    "echo",
    "stop-commands",
}
# .NET char.IsWhiteSpace: Zs, Zl, Zp, U+0009-U+000D, U+0085, U+00A0.
DOTNET_WS = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(text: str) -> str:
    for token, replacement in (("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C"), ("%", "%25")):
        text = text.replace(replacement, token)
    return text


def runner_lines(text: str) -> list[str]:
    """How the runner's line reader splits process output (CR, LF, CRLF)."""
    lines = re.split(r"\r\n|\r|\n", text)
    return lines[:-1] if lines and lines[-1] == "" else lines


def parse_v2(line: str) -> tuple[str, dict[str, str], str] | None:
    message = line.lstrip(DOTNET_WS)
    if not message.startswith("::"):
        return None
    end = message.find("::", 2)
    if end < 0:
        return None
    info = message[2:end]
    name, _, props_text = info.partition(" ")
    if name not in REGISTERED:
        return None
    props: dict[str, str] = {}
    for prop in props_text.strip().split(","):
        key, sep, value = prop.partition("=")
        if prop and sep and key and value:
            props[key] = unescape_property(value)
    return name, props, unescape_data(message[end + 2 :])


def parse_v1(line: str) -> tuple[str, dict[str, str], str] | None:
    start = line.find("##[")
    if start < 0:
        return None
    close = line.find("]", start)
    if close < 0:
        return None
    name = line[start + 3 : close].partition(" ")[0]
    if name not in REGISTERED:
        return None
    return name, {}, line[close + 1 :]


def runner_commands(text: str) -> list[tuple[str, dict[str, str], str]]:
    """Every workflow command the runner would execute in this log text."""
    found = []
    for line in runner_lines(text):
        command = parse_v2(line) or parse_v1(line)
        if command:
            found.append(command)
    return found


def read_output_file(text: str) -> dict[str, str]:
    """The runner's ``$GITHUB_OUTPUT`` reader: ``NAME=VALUE`` lines and ``NAME<<DELIM`` heredocs."""
    result: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].removesuffix("\r")
        i += 1
        if not line:
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if eq >= 0 and (heredoc < 0 or eq < heredoc):
            result[line[:eq]] = line[eq + 1 :]
            continue
        assert heredoc >= 0, f"invalid line {line!r}"
        name, delimiter = line[:heredoc], line[heredoc + 2 :]
        body = []
        while True:
            assert i < len(lines), f"unterminated block {name!r}"
            current = lines[i].removesuffix("\r")
            i += 1
            if current == delimiter:
                break
            body.append(lines[i - 1])
        result[name] = "\n".join(body)
    return result


# ---------------------------------------------------------------------------------------------
# Escaping as @actions/core does it
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "data", "prop"),
    [
        ("plain", "plain", "plain"),
        ("100%", "100%25", "100%25"),
        ("a\rb", "a%0Db", "a%0Db"),
        ("a\nb", "a%0Ab", "a%0Ab"),
        ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
        ("a:b", "a:b", "a%3Ab"),
        ("a,b", "a,b", "a%2Cb"),
        ("%0A", "%250A", "%250A"),
        ("%3A", "%253A", "%253A"),
        ("::error::x", "::error::x", "%3A%3Aerror%3A%3Ax"),
        ("file=a,line=2", "file=a,line=2", "file=a%2Cline=2"),
        ("", "", ""),
        ("é ✓ 𝄞", "é ✓ 𝄞", "é ✓ 𝄞"),
    ],
)
def test_escaping_matches_the_toolkit(text: str, data: str, prop: str) -> None:
    assert escape_data(text) == data
    assert escape_property(text) == prop


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, ""), ("s", "s"), (5, "5"), (True, "true"), ({"a": [1, "x"]}, '{"a":[1,"x"]}'), ("", "")],
)
def test_to_command_value_matches_the_toolkit(value: object, expected: str) -> None:
    assert to_command_value(value) == expected


@given(st.text())
@example("%0A")
@example("%%0D0A")
@example("%250A\r\n")
def test_escaped_data_has_no_line_break_and_round_trips(text: str) -> None:
    escaped = escape_data(text)
    assert "\r" not in escaped and "\n" not in escaped
    assert unescape_data(escaped) == text


@given(st.text())
@example("a:b,c%3A%2C")
def test_escaped_property_has_no_separator_and_round_trips(text: str) -> None:
    escaped = escape_property(text)
    for char in "\r\n:,":
        assert char not in escaped
    assert unescape_property(escaped) == text


def test_format_command_and_annotation_exact() -> None:
    assert format_command("endgroup", "") == "::endgroup::"
    assert format_command("group", "Title: a, b") == "::group::Title: a, b"
    annotation = Annotation(
        "error", "unpinned\nimage", file="dir,x/Dockerfile", line=3, end_line=4, title="image-gate: pin", col=2
    )
    assert format_annotation(annotation) == (
        "::error title=image-gate%3A pin,file=dir%2Cx/Dockerfile,line=3,endLine=4,col=2::unpinned%0Aimage"
    )
    assert format_annotation(Annotation("warning", "m")) == "::warning::m"
    assert format_annotation(Annotation("notice", "m", title="")) == "::notice::m"


annotation_text = st.text(min_size=1).filter(lambda s: s.strip() == s and s != "")


@settings(max_examples=300)
@given(
    level=st.sampled_from(["error", "warning", "notice"]),
    message=st.text(),
    file=st.one_of(st.none(), annotation_text),
    line=st.one_of(st.none(), st.integers(min_value=1, max_value=10**6)),
    title=st.one_of(st.none(), annotation_text),
)
def test_an_annotation_is_one_command_and_round_trips(
    level: str, message: str, file: str | None, line: int | None, title: str | None
) -> None:
    text = format_annotation(Annotation(level, message, file=file, line=line, title=title))  # type: ignore[arg-type]
    commands = runner_commands(text + "\n")
    assert len(commands) == 1
    name, props, data = commands[0]
    assert name == level
    assert data == message
    if file:
        assert props["file"] == file
    if line:
        assert props["line"] == str(line)
    if title:
        assert props["title"] == title


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_text_in_an_annotation_stays_its_message(hostile: str) -> None:
    text = format_annotation(Annotation("error", hostile, file=hostile, title=hostile))
    commands = runner_commands(text + "\n")
    assert commands == [("error", {"file": hostile, "title": hostile}, hostile)]


# ---------------------------------------------------------------------------------------------
# neutralize: untrusted text in the log never runs as a command
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE)
def test_neutralize_defeats_every_hostile_line(hostile: str) -> None:
    assert runner_commands(neutralize(hostile) + "\n") == []


def test_neutralize_leaves_ordinary_text_alone() -> None:
    assert neutralize("pulling alpine: 3 layers, 10 MB") == "pulling alpine: 3 layers, 10 MB"
    assert neutralize("a\r\nb\rc") == "a\nb\nc"
    assert neutralize("x ::error:: not at the start") == "x ::error:: not at the start"
    assert neutralize("  ::error::x") == "|   ::error::x"
    assert neutralize("see ##[error]x") == "see ## [error]x"


command_like = st.lists(
    st.sampled_from(["::", "##[", "]", "error", "add-mask", " ", "\t", "\n", "\r", "\u2028", "\xa0", "x", "%0A", ","]),
    max_size=30,
).map("".join)


@settings(max_examples=500)
@given(st.one_of(st.text(), command_like))
def test_neutralized_text_never_holds_a_command(text: str) -> None:
    assert runner_commands(neutralize(text) + "\n") == []


# ---------------------------------------------------------------------------------------------
# Masks
# ---------------------------------------------------------------------------------------------


def test_format_mask() -> None:
    assert format_mask("s3cr3t") == ["::add-mask::s3cr3t"]
    assert format_mask("") == []
    assert format_mask("  \n ") == []
    assert format_mask("50%\nsecond-line\n}") == [
        "::add-mask::50%25%0Asecond-line%0A}",
        "::add-mask::second-line",
    ]
    lines = format_mask('{\n  "password": "hunter22"\n}')
    masked = [unescape_data(line.removeprefix("::add-mask::")) for line in lines]
    assert masked[0] == '{\n  "password": "hunter22"\n}'
    assert '"password": "hunter22"' in masked
    assert "{" not in masked and "}" not in masked


@given(st.text(min_size=1))
def test_a_mask_line_registers_the_exact_secret(secret: str) -> None:
    lines = format_mask(secret)
    if not secret.strip():
        assert lines == []
        return
    commands = runner_commands("\n".join(lines) + "\n")
    assert commands[0] == ("add-mask", {}, secret)
    assert all(name == "add-mask" for name, _, _ in commands)


# ---------------------------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------------------------


def test_format_output_block() -> None:
    assert format_output("matrix", '{"include":[]}', delimiter="EOF_1") == 'matrix<<EOF_1\n{"include":[]}\nEOF_1\n'
    block = format_output("images", "a\nb")
    head = block.splitlines()[0]
    assert re.fullmatch(r"images<<ghadelimiter_[0-9a-f]{32}", head)
    assert format_output("images", "x") != format_output("images", "x")  # a new random delimiter each time


@pytest.mark.parametrize("value", ["EOF", "x\nEOF\nevil<<Y", "prefixEOFsuffix"])
def test_output_refuses_a_delimiter_collision(value: str) -> None:
    with pytest.raises(InputError, match="delimiter occurs"):
        format_output("name", value, delimiter="EOF")


@pytest.mark.parametrize("name", ["", "1x", "a b", "a=b", "a<<b", "a\nb", "é"])
def test_output_refuses_bad_names(name: str) -> None:
    with pytest.raises(InputError, match="invalid output name"):
        format_output(name, "v")


def test_output_refuses_a_multi_line_delimiter() -> None:
    with pytest.raises(InputError):
        format_output("n", "v", delimiter="A\nB")


@settings(max_examples=300)
@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,10}", fullmatch=True),
        st.one_of(st.text(), st.sampled_from(["x\nevil=1", "a<<B\nB\n", "EOF", "\n\n", "x\r\ny"])),
        max_size=5,
    )
)
def test_outputs_parse_back_exactly_and_cannot_inject(outputs: dict[str, str]) -> None:
    text = "".join(format_output(name, value) for name, value in outputs.items())
    parsed = read_output_file(text)
    assert set(parsed) == set(outputs)
    for name, value in outputs.items():
        # The runner strips one trailing CR before LF; values here are compared as written.
        assert parsed[name] == value


def test_set_outputs_appends_runner_format(tmp_path: Path) -> None:
    out = tmp_path / "output"
    out.write_text("earlier=1\n", encoding="utf-8")
    runner = RunnerIO({"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(out)}, io.StringIO())
    runner.mask("tok3n-value")
    runner.set_outputs({"matrix": '{"include":[{"image":"a"}]}', "note": "has tok3n-value\nsecond line"})
    runner.set_outputs({})
    parsed = read_output_file(out.read_text(encoding="utf-8"))
    assert parsed == {
        "earlier": "1",
        "matrix": '{"include":[{"image":"a"}]}',
        "note": "has ***\nsecond line",
    }


def test_no_output_file_outside_actions(tmp_path: Path) -> None:
    stream = io.StringIO()
    runner = RunnerIO({}, stream)
    runner.set_outputs({"a": "b"})
    runner.append_summary("# hi")
    assert stream.getvalue() == ""
    assert list(tmp_path.iterdir()) == []


def test_append_summary_caps_the_whole_step(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    runner = RunnerIO({"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}, io.StringIO())
    runner.summary_limit = 3000
    runner.mask("hunter22")
    runner.append_summary("first hunter22\n")
    runner.append_summary("row\n" * 2000)
    runner.append_summary("more\n" * 2000)
    text = summary.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= 3000
    assert text.startswith("first ***\n")
    assert "hunter22" not in text
    assert TRUNCATION_NOTE in text


# ---------------------------------------------------------------------------------------------
# RunnerIO streams
# ---------------------------------------------------------------------------------------------


def actions_io(**env: str) -> tuple[RunnerIO, io.StringIO]:
    stream = io.StringIO()
    return RunnerIO({"GITHUB_ACTIONS": "true", **env}, stream), stream


def test_mask_registers_once_in_actions_and_redacts_everywhere() -> None:
    runner, stream = actions_io()
    runner.mask("pa55word")
    runner.mask("pa55word")
    runner.mask("")
    runner.mask(None)
    runner.mask("   ")
    runner.log("login with pa55word ok")
    assert stream.getvalue() == "::add-mask::pa55word\nlogin with *** ok\n"


def test_mask_outside_actions_prints_nothing_but_still_redacts() -> None:
    stream = io.StringIO()
    runner = RunnerIO({}, stream)
    runner.mask('quo"te\\secret')
    runner.log('value quo"te\\secret')
    runner.annotate(Annotation("error", 'bad quo"te\\secret', title='quo"te\\secret'))
    assert 'quo"te' not in stream.getvalue()
    assert stream.getvalue() == "value ***\nerror: ***: bad ***\n"


def test_redact_catches_the_json_escaped_form() -> None:
    runner, _ = actions_io()
    runner.mask('a"b\\c')
    assert runner.redact('{"password": "a\\"b\\\\c"}') == '{"password": "***"}'
    assert redact_document({"k": ['a"b\\c', 1, {'a"b\\c': None}]}, runner.redact) == {"k": ["***", 1, {"***": None}]}


def test_log_neutralizes_and_redacts() -> None:
    runner, stream = actions_io()
    runner.mask("tok")
    runner.log("::add-mask::tok\n##[error]x")
    assert runner_commands(stream.getvalue().split("\n", 1)[1]) == []
    assert "tok" not in stream.getvalue().split("\n", 1)[1]


def test_annotate_in_actions_is_a_workflow_command() -> None:
    runner, stream = actions_io()
    runner.annotate(Annotation("error", "unpinned alpine", file="svc/Dockerfile", line=4, title="image-gate"))
    assert stream.getvalue() == "::error title=image-gate,file=svc/Dockerfile,line=4::unpinned alpine\n"


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (
            Annotation("error", "unpinned", file="a/Dockerfile", line=4, title="pin"),
            "error: a/Dockerfile:4: pin: unpinned",
        ),
        (Annotation("warning", "w", file="f", line=2, col=7), "warning: f:2:7: w"),
        (Annotation("notice", "n", file="f"), "notice: f: n"),
        (Annotation("error", "plain"), "error: plain"),
        (Annotation("error", "x\n::error::y"), "error: x\n| ::error::y"),
    ],
)
def test_annotation_plain_text_fallback(annotation: Annotation, expected: str) -> None:
    assert format_plain_annotation(annotation) == expected
    stream = io.StringIO()
    RunnerIO({}, stream).annotate(annotation)
    assert stream.getvalue() == expected + "\n"
    assert runner_commands(stream.getvalue()) == []


def test_group_in_actions() -> None:
    runner, stream = actions_io()
    with runner.group("Scan linux/amd64\n::error::x"):
        runner.log("inside")
    assert stream.getvalue() == "::group::Scan linux/amd64%0A::error::x\ninside\n::endgroup::\n"
    assert [c[0] for c in runner_commands(stream.getvalue())] == ["group", "endgroup"]


def test_group_ends_on_error() -> None:
    runner, stream = actions_io()
    with pytest.raises(RuntimeError), runner.group("g"):
        raise RuntimeError("boom")
    assert stream.getvalue().endswith("::endgroup::\n")


def test_group_outside_actions() -> None:
    stream = io.StringIO()
    runner = RunnerIO({}, stream)
    with runner.group("::error::title"):
        runner.log("inside")
    assert stream.getvalue() == "== ::error::title\ninside\n"
    assert runner_commands(stream.getvalue()) == []


def test_runner_io_reads_its_environment() -> None:
    runner = RunnerIO({"GITHUB_ACTIONS": "false", "GITHUB_OUTPUT": "", "GITHUB_STEP_SUMMARY": ""})
    assert not runner.in_actions and runner.output_path is None and runner.summary_path is None
