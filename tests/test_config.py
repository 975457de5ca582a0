"""Config building shared by both edges: input names, action.yml defaults, value parsing, validation."""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.config import (
    ACTION_YML,
    ActionInputs,
    build_config,
    input_env_name,
    load_action_inputs,
    parse_assignments,
    parse_bool,
    parse_int,
    parse_list,
    parse_structured,
)
from gate.errors import InputError
from tests.test_yamlsafe import alias_bomb

ACTION = """\
name: t
description: t
inputs:
  path:
    description: where
    default: "."
  flag:
    description: a boolean
    default: "true"
  off_flag:
    description: a boolean without default
  count:
    description: a number
    default: 256
  yaml_bool:
    description: an unquoted YAML boolean default
    default: false
  token:
    description: a token
    default: ${{ github.token }}
  mixed:
    description: an expression inside text
    default: "prefix-${{ github.sha }}"
  dry-run:
    description: a hyphenated input
    default: "false"
  build args:
    description: a name with a space
    default: ""
  bare:
runs:
  using: docker
  image: Dockerfile
"""


@pytest.fixture
def action_yml(tmp_path: Path) -> Path:
    path = tmp_path / "action.yml"
    path.write_text(ACTION, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "variable"),
    [
        ("path", "INPUT_PATH"),
        ("require_digest", "INPUT_REQUIRE_DIGEST"),
        ("build args", "INPUT_BUILD_ARGS"),
        ("dry-run", "INPUT_DRY-RUN"),
        ("Mixed-Case name", "INPUT_MIXED-CASE_NAME"),
    ],
)
def test_input_env_name_as_the_runner_sets_it(name: str, variable: str) -> None:
    assert input_env_name(name) == variable


def test_defaults_come_from_action_yml(action_yml: Path) -> None:
    assert load_action_inputs(action_yml) == {
        "path": ".",
        "flag": "true",
        "off_flag": "",
        "count": "256",
        "yaml_bool": "false",
        "token": "",
        "mixed": "",
        "dry-run": "false",
        "build args": "",
        "bare": "",
    }


def test_variables_override_defaults(action_yml: Path) -> None:
    inputs = ActionInputs({"INPUT_PATH": "src", "INPUT_DRY-RUN": "true", "INPUT_BUILD_ARGS": "A=1"}, action_yml)
    assert inputs.get("path") == "src"
    assert inputs.bool("dry-run") is True
    assert inputs.assignments("build args") == {"A": "1"}
    assert inputs.get("token") == ""  # off-runner the expression default is empty
    assert ActionInputs({"INPUT_TOKEN": "ghs_x"}, action_yml).get("token") == "ghs_x"


def test_absent_and_empty_values(action_yml: Path) -> None:
    absent = ActionInputs({}, action_yml)
    assert absent.get("path") == "." and absent.bool("flag") is True and absent.int("count") == 256
    assert absent.bool("yaml_bool") is False and absent.bool("off_flag") is False
    empty = ActionInputs({"INPUT_PATH": "", "INPUT_FLAG": " ", "INPUT_COUNT": ""}, action_yml)
    assert empty.get("path") == ""  # a string input given as empty stays empty
    assert empty.bool("flag") is True  # an empty boolean means "not given": the default
    assert empty.int("count") == 256


def test_undeclared_input_is_an_error(action_yml: Path) -> None:
    with pytest.raises(InputError, match=r"'nope' is not declared in action\.yml"):
        ActionInputs({"INPUT_NOPE": "x"}, action_yml).get("nope")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("flag", "maybe", "input flag: expected true or false, got 'maybe'"),
        ("count", "many", "input count: expected a whole number, got 'many'"),
        ("count", "1_000", "input count: expected a whole number"),
        ("build args", "no equals sign", "input build args: expected NAME=VALUE, got 'no equals sign'"),
    ],
)
def test_typed_input_errors_name_the_input(action_yml: Path, name: str, value: str, message: str) -> None:
    inputs = ActionInputs({input_env_name(name): value}, action_yml)
    with pytest.raises(InputError) as info:
        if name == "flag":
            inputs.bool(name)
        elif name == "count":
            inputs.int(name)
        else:
            inputs.assignments(name)
    assert info.value.exit_code == 2
    assert message in info.value.message


@pytest.mark.parametrize(
    "text",
    ["not: yaml: [", "a:\n\t- b", "- a\n  - b: ] x"],
)
def test_unreadable_structured_inputs(text: str) -> None:
    with pytest.raises(InputError) as info:
        parse_structured(text, "registry_auth")
    assert info.value.message.startswith("input registry_auth: not valid JSON or YAML")
    assert text not in info.value.message  # a credential document is never quoted back


def test_structured_inputs_refuse_alias_bombs_and_repeated_keys() -> None:
    with pytest.raises(InputError, match=r"input trivy_options: aliases \(\*name\) expand the YAML document"):
        parse_structured(alias_bomb("skip_db_update: true", use="db_repositories: *l8"), "trivy_options")
    with pytest.raises(InputError) as info:
        parse_structured('{"cache_dir": "/a", "cache_dir": "/b"}', "trivy_options")
    assert info.value.message == "input trivy_options: a key is given twice in one JSON object; keys must be unique"
    with pytest.raises(InputError) as info:
        parse_structured("cache_dir: /a\ncache_dir: /b\n", "trivy_options")
    assert info.value.message.startswith("input trivy_options: line 2: a key is given twice in one mapping")


def test_action_yml_problems(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the action definition"):
        load_action_inputs(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("inputs: [\n", encoding="utf-8")
    with pytest.raises(InputError, match="cannot read"):
        load_action_inputs(bad)
    bad.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(InputError, match="no 'inputs' mapping"):
        load_action_inputs(bad)
    bad.write_text("inputs:\n  a: {default: x}\n  a: {default: y}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 3: key 'a' is given twice in one mapping \(first at line 2\)"):
        load_action_inputs(bad)  # an input declared twice: which default would the runner use?


def test_the_real_action_yml_loads() -> None:
    inputs = ActionInputs({})
    assert inputs.get("command") == "discover"
    assert inputs.get("github_token") == ""
    assert set(load_action_inputs(ACTION_YML)) == set(inputs.declared)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("True", True),
        ("TRUE", True),
        (" yes ", True),
        ("on", True),
        ("1", True),
        ("false", False),
        ("False", False),
        ("no", False),
        ("OFF", False),
        ("0", False),
    ],
)
def test_parse_bool(text: str, value: bool) -> None:
    assert parse_bool(text, "x") is value


@pytest.mark.parametrize("text", ["", " ", "truthy", "2", "y", "nope", "tru e"])
def test_parse_bool_refuses(text: str) -> None:
    with pytest.raises(InputError, match="input x: expected true or false"):
        parse_bool(text, "x")


def test_parse_list() -> None:
    assert parse_list("") == []
    assert parse_list("a, b\n\n c \n# comment\nd,,e,") == ["a", "b", "c", "d", "e"]
    assert parse_list("linux/amd64,linux/arm64/v8") == ["linux/amd64", "linux/arm64/v8"]


def test_parse_assignments() -> None:
    assert parse_assignments("A=1\n B = two words \n# c\n\nC=x=y\nD=", "build_args") == {
        "A": "1",
        "B": " two words",
        "C": "x=y",
        "D": "",
    }
    assert parse_assignments(["V=1", "W=2"], "--build-arg") == {"V": "1", "W": "2"}
    for bad in ["=1", "1A=2", "A-B=1", "novalue", "A B=1"]:
        with pytest.raises(InputError, match="build_args: expected NAME=VALUE"):
            parse_assignments(bad, "build_args")


@pytest.mark.parametrize(("text", "value"), [("0", 0), (" 42 ", 42), ("-3", -3), ("+7", 7)])
def test_parse_int(text: str, value: int) -> None:
    assert parse_int(text, "n") == value


@pytest.mark.parametrize("text", ["", "1.5", "1_000", "٣", "0x10", "1e3", "ten"])
def test_parse_int_refuses(text: str) -> None:
    with pytest.raises(InputError, match="input n: expected a whole number"):
        parse_int(text, "n")


def test_parse_structured() -> None:
    assert parse_structured("", "x") is None
    assert parse_structured('{"a": [1]}', "x") == {"a": [1]}
    assert parse_structured("a:\n  - 1\n", "x") == {"a": [1]}
    assert parse_structured("plain", "x") == "plain"


@given(st.text())
def test_parsers_raise_only_input_errors(text: str) -> None:
    for parse in (
        lambda: parse_bool(text, "x"),
        lambda: parse_int(text, "x"),
        lambda: parse_assignments(text, "x"),
        lambda: parse_structured(text, "x"),
        lambda: parse_list(text),
    ):
        with contextlib.suppress(InputError):
            parse()


SCHEMA = {
    "type": "object",
    "properties": {
        "path": {"type": "string", "minLength": 1},
        "platforms": {"type": "array", "items": {"type": "string"}},
        "limit": {"type": "integer", "minimum": 1},
    },
    "required": ["path"],
}


@dataclass(frozen=True)
class Example:
    path: str
    platforms: tuple[str, ...] = ()
    limit: int = 256


def test_build_config_freezes_and_validates() -> None:
    config = build_config(Example, SCHEMA, {"path": ".", "platforms": ["linux/amd64"]}, "command line")
    assert config == Example(path=".", platforms=("linux/amd64",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.path = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"path": ""}, "invalid action inputs: path:"),
        ({"path": ".", "limit": 0}, "invalid action inputs: limit: 0 is less than the minimum of 1"),
        ({"path": ".", "platforms": [1]}, "invalid action inputs: platforms.0:"),
        ({}, "invalid action inputs: (options): 'path' is a required property"),
        ({"path": ".", "extra": 1}, "invalid action inputs: unknown option(s) extra"),
    ],
)
def test_build_config_errors_say_where(values: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as info:
        build_config(Example, SCHEMA, values, "action inputs")
    assert message in info.value.message


def test_build_config_reports_missing_fields_the_schema_does_not_require() -> None:
    with pytest.raises(InputError, match="missing option\\(s\\) path"):
        build_config(Example, {"type": "object"}, {}, "command line")


def test_build_config_needs_a_dataclass() -> None:
    with pytest.raises(TypeError):
        build_config(dict, SCHEMA, {"path": "."}, "command line")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 70) | st.floats(-3, 70, allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


@given(st.data())
def test_the_quick_schema_check_never_passes_what_jsonschema_refuses(data: st.DataObject) -> None:
    """``build_config`` skips jsonschema when a quick check of the options' keywords passes: that check
    must never accept a value jsonschema would refuse (a refusal is always left to jsonschema's message)."""
    import jsonschema

    from gate.commands import available, load
    from gate.config import _plainly_valid

    for name in available():
        schema = load(name).OPTIONS.schema()
        validator = jsonschema.Draft202012Validator(schema)
        for field, property_schema in schema["properties"].items():
            value = data.draw(_JSON, label=f"{name}.{field}")
            if _plainly_valid(property_schema, value):
                assert validator.evolve(schema=property_schema).is_valid(value), (name, field, value)
        document = {field: data.draw(_JSON, label=field) for field in list(schema["properties"])[:3]}
        if _plainly_valid(schema, document):
            assert validator.is_valid(document)
