"""``Option``, ``Group`` and ``CommandOptions``: one declaration gives the argparse argument, the value
from the command line, the value from the action inputs and the schema, and both edges agree."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from gate.config import ActionInputs
from gate.errors import InputError
from gate.options.base import CommandOptions, Group, Option

STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
LIST = {"type": "array", "items": {"type": "string"}}


def checked(value: str, where: str) -> str:
    if value == "bad":
        raise InputError(f"{where}: bad value")
    return value.upper()


NAME = Option("name", "a name", STRING, default="", flag="--name", metavar="N", normalise=checked)
PATH = Option("path", "where", {"type": "string", "minLength": 1}, default=".", positional=True, empty_default=True)
FILES = Option("files", "files", LIST, kind="list", default=(), positional=True, metavar="FILE", input="file")
LEVEL = Option("level", "level", {"type": "integer"}, kind="int", default=3, flag="--level")
RATE = Option("rate", "rate", {"type": "number"}, kind="float", default=1.5, flag="--rate", input=False)
LIGHTS = Option("lights", "turn them off", BOOLEAN, kind="bool", default=True, flag="--no-lights")
VERBOSE = Option("verbose", "say more", BOOLEAN, kind="bool", default=False, flag="--verbose")
BOTH = Option("both", "either way", BOOLEAN, kind="bool", default=True, flag="--both", toggle=True, input=False)
HOSTS = Option("hosts", "hosts", LIST, kind="list", default=(), flag="--host")
ALL = Option("all", "all", LIST, kind="list", default=(), flag="--all", nargs="+")
PAIRS = Option("pairs", "pairs", {"type": "object"}, kind="assignments", default={}, flag="--pair")
SECRET = Option("secret", "secret", STRING, default="", flag="--secret", env=("FIRST", "SECOND"), strip=False)
COLOUR = Option("colour", "colour", STRING, default="red", flag="--colour", choices=("red", "blue"))
TARGET = Option("target", "target", STRING, flag="--target", required="input target is required here")
OPTIONS = (NAME, PATH, FILES, LEVEL, RATE, LIGHTS, VERBOSE, BOTH, HOSTS, ALL, PAIRS, SECRET, COLOUR, TARGET)


def action_yml(tmp_path: Path) -> Path:
    names = [o.input_name for o in OPTIONS if o.input_name] + ["extra"]
    defaults = {"path": ".", "level": "3", "lights": "true", "verbose": "false", "colour": "red"}
    text = "inputs:\n" + "".join(f"  {n}: {{default: '{defaults.get(n, '')}'}}\n" for n in names)
    path = tmp_path / "action.yml"
    path.write_text(text, encoding="utf-8")
    return path


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    Group(None, OPTIONS[:8]).add_to(parser)
    Group("more", OPTIONS[8:]).add_to(parser)
    return parser.parse_args(list(argv))


def from_args(namespace: argparse.Namespace) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for option in OPTIONS:
        values.update(option.from_args(namespace))
    return values


def from_inputs(environ: dict[str, str], action: Path) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for option in OPTIONS:
        values.update(option.from_inputs(ActionInputs(environ, action)))
    return values


def test_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIRST", raising=False)
    monkeypatch.setenv("SECOND", "from second")
    assert from_args(parse("a.txt", "--target", "t")) == {
        "name": "", "path": ".", "files": ["a.txt"], "level": 3, "rate": 1.5, "lights": True, "verbose": False,
        "both": True, "hosts": [], "all": [], "pairs": {}, "secret": "from second", "colour": "red", "target": "t",
    }  # fmt: skip
    argv = ["x", "a", "b", "--name", "n", "--level", "7", "--rate", "0.5", "--no-lights", "--verbose", "--no-both",
            "--host", "h1", "--host", "h2", "--all", "1", "2", "--all", "3", "--pair", "A=1", "--secret", " s ",
            "--colour", "blue", "--target", "t"]  # fmt: skip
    assert from_args(parse(*argv)) == {
        "name": "N", "path": "x", "files": ["a", "b"], "level": 7, "rate": 0.5, "lights": False, "verbose": True,
        "both": False, "hosts": ["h1", "h2"], "all": ["1", "2", "3"], "pairs": {"A": "1"}, "secret": " s ",
        "colour": "blue", "target": "t",
    }  # fmt: skip
    monkeypatch.setenv("FIRST", "from first")
    assert from_args(parse("a", "--target", "t"))["secret"] == "from first"
    assert from_args(parse("a", "--target", "t", "--secret", ""))["secret"] == ""  # given, even empty: no fallback


def test_the_command_line_refuses_what_argparse_refuses(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["a"], ["a", "--target", "t", "--colour", "green"], ["a", "--target", "t", "--level", "x"]):
        with pytest.raises(SystemExit):
            parse(*argv)
    assert "the following arguments are required: --target" in capsys.readouterr().err
    with pytest.raises(InputError, match="--name: bad value"):
        from_args(parse("a", "--target", "t", "--name", "bad"))
    with pytest.raises(InputError, match="--pair"):
        from_args(parse("a", "--target", "t", "--pair", "oops"))


def test_the_action_inputs(tmp_path: Path) -> None:
    action = action_yml(tmp_path)
    assert from_inputs({"INPUT_FILE": "a.txt", "INPUT_TARGET": " t "}, action) == {
        "name": "", "path": ".", "files": ["a.txt"], "level": 3, "rate": 1.5, "lights": True, "verbose": False,
        "both": True, "hosts": [], "all": [], "pairs": {}, "secret": "", "colour": "red", "target": "t",
    }  # fmt: skip
    environ = {"INPUT_NAME": " n ", "INPUT_PATH": "  ", "INPUT_FILE": "a, b", "INPUT_LEVEL": "7", "INPUT_LIGHTS": "false",
               "INPUT_HOSTS": "h1\nh2", "INPUT_PAIRS": "A=1\nB=2", "INPUT_SECRET": " s ", "INPUT_TARGET": "t"}  # fmt: skip
    got = from_inputs(environ, action)
    assert (got["name"], got["path"], got["files"], got["level"], got["lights"]) == ("N", ".", ["a", "b"], 7, False)
    assert (got["hosts"], got["pairs"], got["secret"]) == (["h1", "h2"], {"A": "1", "B": "2"}, " s ")
    assert from_inputs({"INPUT_FILE": "a"}, action)["target"] == ""
    with pytest.raises(InputError, match="input target is required here"):
        TARGET.check_given({"target": ""})
    TARGET.check_given({"target": "t"})
    with pytest.raises(InputError, match="input name: bad value"):
        from_inputs({"INPUT_FILE": "a", "INPUT_TARGET": "t", "INPUT_NAME": "bad"}, action)
    with pytest.raises(InputError, match="input level: expected a whole number"):
        from_inputs({"INPUT_FILE": "a", "INPUT_TARGET": "t", "INPUT_LEVEL": "x"}, action)


def test_an_input_only_option_expands_into_the_fields_it_feeds(tmp_path: Path) -> None:
    def expand(document: Any, where: str) -> dict[str, Any]:
        if document is None:
            return {}
        if not isinstance(document, dict) or set(document) - {"a", "b"}:
            raise InputError(f"{where}: a map of a and b")
        return {f"x_{key}": value for key, value in document.items()}

    structured = Option("xs", "xs", {"type": "object"}, kind="structured", expand=expand, feeds=("x_a", "x_b"))
    action = tmp_path / "action.yml"
    action.write_text("inputs:\n  xs: {default: ''}\n", encoding="utf-8")
    assert not structured.on_cli and not structured.is_field
    assert structured.from_args(argparse.Namespace()) == {}
    assert structured.from_inputs(ActionInputs({}, action)) == {}
    assert structured.from_inputs(ActionInputs({"INPUT_XS": "a: 1\nb: two"}, action)) == {"x_a": 1, "x_b": "two"}
    with pytest.raises(InputError, match="input xs: a map"):
        structured.from_inputs(ActionInputs({"INPUT_XS": "c: 1"}, action))


@dataclass(frozen=True)
class Config:
    name: str = ""
    level: int = 3


def test_command_options_build_one_checked_config(tmp_path: Path) -> None:
    seen: list[str] = []

    def check(values: dict[str, Any], source: str) -> None:
        seen.append(source)
        if values["level"] > 9:
            raise InputError(f"invalid {source}: level above 9")

    spec = CommandOptions(Config, (Group(None, (NAME, LEVEL)),), check=check)
    assert spec.schema() == {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "level"],
        "properties": {"name": STRING, "level": {"type": "integer"}},
    }
    parser = argparse.ArgumentParser()
    spec.add_arguments(parser)
    assert spec.config_from_args(parser.parse_args(["--name", "n"])) == Config("N", 3)
    action = tmp_path / "action.yml"
    action.write_text("inputs:\n  name: {default: ''}\n  level: {default: '3'}\n", encoding="utf-8")
    assert spec.config_from_inputs(ActionInputs({"INPUT_LEVEL": "4"}, action)) == Config("", 4)
    assert seen == ["command line", "action inputs"]
    required = CommandOptions(Config, (Group(None, (LEVEL, replace(NAME, required="input name is required"))),))
    with pytest.raises(InputError, match="input level: expected a whole number"):  # a bad value first,
        required.config_from_inputs(ActionInputs({"INPUT_LEVEL": "x"}, action))
    with pytest.raises(InputError, match="input name is required"):  # then what is missing
        required.config_from_inputs(ActionInputs({}, action))
    with pytest.raises(InputError, match="invalid command line: level above 9"):
        spec.config_from_args(parser.parse_args(["--level", "10"]))
    wrong = CommandOptions(Config, (Group(None, (NAME, LEVEL, VERBOSE)),))  # Config has no "verbose"
    parser = argparse.ArgumentParser()
    wrong.add_arguments(parser)
    with pytest.raises(InputError, match="unknown option"):
        wrong.config_from_args(parser.parse_args([]))


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": "structured"},  # without expand
        {"expand": lambda document, where: {}},  # expand without the structured kind
        {"kind": "float"},  # read from an input
        {"positional": True},  # and a flag
        {"split": lambda text, where: [text]},  # a text input split into items
    ],
)
def test_a_declaration_the_readers_cannot_serve_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="option name"):
        replace(NAME, **changes)


def test_a_list_input_may_say_how_its_text_splits(tmp_path: Path) -> None:
    def blocks(text: str, where: str) -> list[str]:
        if "bad" in text:
            raise InputError(f"{where}: bad item")
        return [part.strip() for part in text.split(";") if part.strip()]

    action = tmp_path / "action.yml"
    action.write_text("inputs:\n  hosts: {default: ''}\n", encoding="utf-8")
    split_hosts = replace(HOSTS, split=blocks)
    assert split_hosts.from_inputs(ActionInputs({"INPUT_HOSTS": "a, b; c\nd"}, action)) == {"hosts": ["a, b", "c\nd"]}
    assert HOSTS.from_inputs(ActionInputs({"INPUT_HOSTS": "a, b; c\nd"}, action)) == {"hosts": ["a", "b; c", "d"]}
    with pytest.raises(InputError, match="input hosts: bad item"):
        split_hosts.from_inputs(ActionInputs({"INPUT_HOSTS": "bad"}, action))
