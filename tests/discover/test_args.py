from __future__ import annotations

import pytest

from gate.discover.args import PLATFORM_ARGS, ExpansionError, expand, global_args, split_words
from gate.discover.parser import parse

ENV = {"SET": "value", "EMPTY": ""}


@pytest.mark.parametrize(
    ("word", "value", "unset"),
    [
        ("plain", "plain", ()),
        ("$SET", "value", ()),
        ("${SET}x", "valuex", ()),
        ("$UNSET/x", "/x", ("UNSET",)),
        ("${UNSET}", "", ("UNSET",)),
        ("${UNSET:-w}", "w", ()),
        ("${EMPTY:-w}", "w", ()),
        ("${EMPTY-w}", "", ()),
        ("${UNSET-w}", "w", ()),
        ("${SET:+w}", "w", ()),
        ("${EMPTY:+w}", "", ()),
        ("${EMPTY+w}", "w", ()),
        ("${UNSET+w}", "", ()),
        ("${UNSET:-${SET}}", "value", ()),
        ("'$SET'", "$SET", ()),
        ('"$SET"', "value", ()),
        ('"a\\"b"', 'a"b', ()),
        ("a\\$SET", "a$SET", ()),
        ("$", "$", ()),
        ("${SET:?}", "value", ()),
    ],
)
def test_expand(word: str, value: str, unset: tuple[str, ...]) -> None:
    result = expand(word, ENV)
    assert result.value == value
    assert result.unset == unset


def test_backtick_escape() -> None:
    assert expand("a`$SET", ENV, "`").value == "a$SET"


@pytest.mark.parametrize("word", ["${", "${}", "${:x}", "${SET", "${SET%x}", "${SET/a/b}", "'open", '"open', "${SET:-x"])
def test_expand_errors(word: str) -> None:
    with pytest.raises(ExpansionError):
        expand(word, ENV)


def test_required_variable() -> None:
    with pytest.raises(ExpansionError) as info:
        expand("${UNSET:?needed}", ENV)
    assert info.value.unset == ("UNSET",)
    with pytest.raises(ExpansionError):
        expand("${EMPTY:?}", ENV)


def test_split_words_keeps_quotes() -> None:
    assert split_words("A=1 B=\"x y\" C='q' D") == ["A=1", 'B="x y"', "C='q'", "D"]
    assert split_words("A\\ B") == ["A\\ B"]


def test_global_args_before_first_from_only() -> None:
    dockerfile = parse('ARG A=one B="$A-two" NODEFAULT\nFROM x\nARG A=three\n')
    scope = global_args(dockerfile, {})
    assert scope.values["A"] == "one"
    assert scope.values["B"] == "one-two"
    assert "NODEFAULT" not in scope.values
    assert scope.declared == {"A", "B", "NODEFAULT"}


def test_build_args_override_declared_only() -> None:
    dockerfile = parse("ARG A=one\nARG B\nFROM x\n")
    scope = global_args(dockerfile, {"A": "over", "B": "given", "C": "ignored", "TARGETARCH": "arm64"})
    assert scope.values["A"] == "over"
    assert scope.values["B"] == "given"
    assert "C" not in scope.values
    assert scope.values["TARGETARCH"] == "arm64"
    assert global_args(dockerfile, {}).values["TARGETPLATFORM"] == PLATFORM_ARGS["TARGETPLATFORM"]


def test_bad_default_leaves_argument_unset() -> None:
    scope = global_args(parse("ARG A=${\nFROM x\n"), {})
    assert "A" not in scope.values
