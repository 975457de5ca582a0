"""Every option is declared once (gate/options/) and action.yml agrees with the declarations: the same
inputs, the same defaults, descriptions that name the commands reading them. Each command's config
has exactly its options' fields, with the same defaults, and each schema takes its default."""

from __future__ import annotations

import re
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from gate.commands import COMMANDS, declared_options, load
from gate.options.base import Option

ROOT = Path(__file__).resolve().parents[2]
ACTION_INPUTS: dict[str, dict[str, Any]] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))["inputs"]
DECLARED = declared_options()
# "scan/promote/pipeline with scanner osv: ..." -> the commands named before the first colon
PREFIX = re.compile(r"^([a-z]+(?:/[a-z]+)*)(?: with [^:]*)?:")


def readers() -> dict[str, dict[str, list[Option]]]:
    """input name -> command -> the options of that command that read it."""
    found: dict[str, dict[str, list[Option]]] = {}
    for command, options in DECLARED.items():
        for option in options:
            if option.input_name is not None:
                found.setdefault(option.input_name, {}).setdefault(command, []).append(option)
    return found


def action_text(value: Any) -> str:
    """A default as action.yml writes it (and ActionInputs reads it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or value in ((), [], {}):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def json_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def test_every_command_is_declared() -> None:
    assert list(DECLARED) == list(COMMANDS)


def test_every_declared_input_is_in_action_yml() -> None:
    missing = {name: sorted(by) for name, by in readers().items() if name not in ACTION_INPUTS}
    assert not missing, f"inputs declared but not in action.yml: {missing}"


def test_every_action_yml_input_is_declared() -> None:
    undeclared = sorted(set(ACTION_INPUTS) - set(readers()))
    assert not undeclared, f"inputs in action.yml that no option reads: {undeclared}"


@pytest.mark.parametrize("name", sorted(ACTION_INPUTS))
def test_action_yml_has_the_declared_default(name: str) -> None:
    wanted = action_text(ACTION_INPUTS[name].get("default", ""))
    for command, options in readers().get(name, {}).items():
        for option in options:
            declared = option.action_default if option.action_default is not None else action_text(option.default)
            assert declared == wanted, f"{command} {option.field}: declared {declared!r}, action.yml {wanted!r}"


@pytest.mark.parametrize("name", sorted(ACTION_INPUTS))
def test_the_description_names_the_commands_reading_the_input(name: str) -> None:
    description = ACTION_INPUTS[name]["description"]
    read_by = set(readers().get(name, {}))
    if description.startswith("Every command"):
        assert read_by == set(COMMANDS), name
        return
    prefix = PREFIX.match(description)
    if prefix is None:
        return  # a general input (credentials, hosts): no command named
    named = set(prefix.group(1).split("/"))
    assert named <= read_by, f"{name}: {sorted(named - read_by)} named in action.yml but do not read it"
    unnamed = {command for command in read_by if not re.search(rf"\b{command}\b", description)}
    assert not unnamed, f"{name}: read by {sorted(unnamed)}, which its description does not name"


@pytest.mark.parametrize("command", COMMANDS)
def test_the_config_has_exactly_the_options_fields_with_their_defaults(command: str) -> None:
    spec = load(command).OPTIONS
    config_fields = {f.name: f for f in fields(spec.config)}
    options = [option for option in spec.options if option.is_field]
    assert sorted(config_fields) == sorted(option.field for option in options)
    for option in options:
        field = config_fields[option.field]
        if field.default is not MISSING:
            assert json_value(field.default) == json_value(option.default), option.field
        elif field.default_factory is not MISSING:
            assert field.default_factory() == option.default, option.field
    feeds = {name for option in spec.options for name in option.feeds}
    assert feeds <= set(config_fields)


@pytest.mark.parametrize("command", COMMANDS)
def test_each_schema_takes_its_default(command: str) -> None:
    for option in load(command).OPTIONS.options:
        jsonschema.Draft202012Validator.check_schema(dict(option.schema))
        if option.default is not None and option.is_field and not option.required:
            jsonschema.validate(json_value(option.default), dict(option.schema))


def test_an_option_is_declared_once_per_flag() -> None:
    """The same flag means the same field, input and value in every command (only help and defaults differ)."""
    by_flag: dict[str, Option] = {}
    for options in DECLARED.values():
        for option in options:
            if option.flag is None:
                continue
            first = by_flag.setdefault(option.flag, option)
            assert (option.field, option.kind, option.schema) == (first.field, first.kind, first.schema), option.flag
