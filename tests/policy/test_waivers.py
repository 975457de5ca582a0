"""The exceptions file: YAML with a schema, or .trivyignore-style text; errors name file and line/entry."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.errors import GateError, InputError
from gate.policy.waivers import load_exceptions, parse_exceptions
from tests.test_yamlsafe import alias_bomb

EXAMPLE = """\
# exceptions for the production images
exceptions:
  - id: CVE-2023-44487
    reason: HTTP/2 rapid reset; our ingress terminates HTTP/2
    expires: 2026-03-31
  - id: GHSA-h858-mf2m-8jf4
    reason: zlib contrib code we do not ship
    images: ["ghcr.io/acme/*"]
    packages: ["zlib", "zlib-*"]
"""


def test_yaml_entries(tmp_path: Path) -> None:
    path = tmp_path / "exceptions.yml"
    path.write_text(EXAMPLE, encoding="utf-8")
    first, second = load_exceptions(path)
    assert (first.id, first.expires, first.images, first.packages) == ("CVE-2023-44487", dt.date(2026, 3, 31), (), ())
    assert first.where == f"{path}: exceptions[0]"
    assert (second.images, second.packages) == (("ghcr.io/acme/*",), ("zlib", "zlib-*"))
    assert not first.expired(dt.date(2026, 3, 31)) and first.expired(dt.date(2026, 4, 1))


def test_json_and_empty_documents() -> None:
    assert parse_exceptions('{"exceptions": [{"id": "CVE-1", "reason": "r"}]}', "e.json")[0].id == "CVE-1"
    assert parse_exceptions("exceptions:\n", "e.yml") == ()
    assert parse_exceptions("", "e.txt") == ()
    assert parse_exceptions("# only a comment\n\n", "e.txt") == ()


def test_trivyignore_text() -> None:
    entries = parse_exceptions(
        "# accepted risks\nCVE-2018-14618\n\nCVE-2019-1010305 exp:2024-12-31  # until the base moves\nGHSA-aaaa-bbbb-cccc\n",
        ".trivyignore",
    )
    assert [(e.id, e.expires, e.where) for e in entries] == [
        ("CVE-2018-14618", None, ".trivyignore:2"),
        ("CVE-2019-1010305", dt.date(2024, 12, 31), ".trivyignore:4"),
        ("GHSA-aaaa-bbbb-cccc", None, ".trivyignore:5"),
    ]
    assert entries[1].reason == "until the base moves"
    assert entries[0].reason == "listed in the exceptions file"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("exceptions:\n  - id: CVE-1\n", r"e\.yml: exceptions\[0\]: 'reason' is a required property"),
        ("exceptions:\n  - id: CVE-1\n    reason: ''\n", r"exceptions\[0\]\.reason"),
        (
            "exceptions:\n  - id: CVE-1\n    reason: r\n    expires: 2024-02-30\n",
            r"exceptions\[0\]\.expires: '2024-02-30' is not a date",
        ),
        ("exceptions:\n  - id: CVE-1\n    reason: r\n    expires: tomorrow\n", r"expires: \"tomorrow\" is not a date"),
        ("exceptions:\n  - id: CVE-1\n    reason: r\n    image: [x]\n", r"'image' was unexpected"),
        ("exceptions:\n  - id: CVE 1\n    reason: r\n", r"exceptions\[0\]\.id"),
        ("exceptions:\n  - id: 12345\n    reason: r\n", r"exceptions\[0\]\.id: 12345 is not of type 'string'"),
        ("exceptions:\n  - id: CVE-1\n    reason: r\n    images: x\n", r"exceptions\[0\]\.images"),
        ("exceptions: {id: CVE-1}\n", r"exceptions: .* is not of type 'array'"),
        ("exceptions: [\n", r"e\.yml: line \d+: not valid YAML"),
        ('{"exceptions": 1, "more": 2}', r"Additional properties are not allowed"),
        ("CVE-1 exp:2024-13-01\n", r"e\.yml:1: .*not a date"),
        ("CVE-1\nCVE-2 ignore-me\n", r"e\.yml:2: unexpected 'ignore-me' after the id"),
        ("CVE-1\n- CVE-2\n", r"e\.yml:2: '-' is not a vulnerability id"),
        ("<script>\n", r"e\.yml:1: '<script>' is not a vulnerability id"),
    ],
)
def test_bad_files_name_file_and_line_or_entry(text: str, expected: str) -> None:
    with pytest.raises(InputError, match=expected):
        parse_exceptions(text, "e.yml")


def test_a_key_given_twice_is_bad_input_naming_its_line() -> None:
    # A reviewer reads the first reason; YAML parsers silently keep the last one.
    text = "exceptions:\n  - id: CVE-2024-0001\n    reason: not reachable\n    id: CVE-2024-9999\n"
    with pytest.raises(InputError) as info:
        parse_exceptions(text, "e.yml")
    assert info.value.exit_code == 2
    assert info.value.message.startswith("e.yml: line 4: key 'id' is given twice in one mapping (first at line 2)")
    with pytest.raises(InputError, match=r"e\.yml: line 3: key 'exceptions' is given twice"):
        parse_exceptions("exceptions: []\n# a second list below\nexceptions:\n  - {id: CVE-1, reason: r}\n", "e.yml")
    with pytest.raises(InputError, match=r"e\.json: line 1: key 'reason' is given twice"):
        parse_exceptions('{"exceptions": [{"id": "CVE-1", "reason": "a", "reason": "b"}]}', "e.json")


def test_an_alias_bomb_is_bad_input(tmp_path: Path) -> None:
    # Read as before, this document ran out of memory (exit 3) in the schema check, after a minute.
    bomb = tmp_path / "exceptions.yml"
    head = "exceptions:\n  - id: CVE-2024-0001\n    reason: r"
    bomb.write_text(alias_bomb(head, "    ", use="packages: [*l8]"), encoding="utf-8")
    assert bomb.stat().st_size < 600
    with pytest.raises(InputError, match=r"exceptions\.yml: aliases \(\*name\) expand the YAML document"):
        load_exceptions(bomb)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the exceptions file"):
        load_exceptions(tmp_path / "missing.yml")
    binary = tmp_path / "binary.yml"
    binary.write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(InputError, match="not UTF-8"):
        load_exceptions(binary)


@settings(max_examples=400, deadline=None)
@given(text=st.text(max_size=200))
def test_fuzz_text_raises_only_gate_errors(text: str) -> None:
    with contextlib.suppress(GateError):
        parse_exceptions(text, "fuzz")


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(
        st.one_of(
            st.sampled_from(["exceptions:", "  - id: CVE-1", "    reason: r", "    expires: 2024-01-01", "    images: [a]",
                             "    packages:", "      - '*'", "{", "}", "- x", "exceptions: [", "    expires: 99999-1-1"]),
            st.text(max_size=20),
        ),
        max_size=8,
    )
)  # fmt: skip
def test_fuzz_yaml_shaped_text_raises_only_gate_errors(lines: list[str]) -> None:
    with contextlib.suppress(GateError):
        parse_exceptions("exceptions:\n" + "\n".join(lines), "fuzz.yml")
