"""One declaration per option, and what is made from it: argparse arguments, ``INPUT_*`` values, the schema.

An ``Option`` says everything about one option at once: the config field it fills, its CLI flag (or
positional argument), its action input, the JSON Schema of its value, its default and its help. A
``Group`` is options shown under one heading of a command's help; ``CommandOptions`` is a command's
groups with the config class they build, and gives the command its ``add_arguments``,
``config_from_args`` and ``config_from_inputs``.

Both edges produce the same values (one key per config field) and ``gate.config.build_config`` checks
them against the same schema, so the CLI and the action cannot disagree. The action's input defaults
stay in ``action.yml`` (``ActionInputs`` reads them there); tests hold every declaration to it.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from gate.errors import InputError

if TYPE_CHECKING:  # gate.config loads jsonschema and yaml: only building a config pays for them
    from gate.config import ActionInputs

C = TypeVar("C")
Kind = Literal["text", "bool", "int", "float", "list", "assignments", "structured"]
Parser = argparse.ArgumentParser | argparse._ArgumentGroup
Normalise = Callable[[Any, str], Any]
_TYPES: Mapping[str, type] = {"int": int, "float": float}


@dataclass(frozen=True)
class Option:
    """One option, declared once.

    ``field``: the config field (and argparse ``dest``). ``flag``: the CLI flag (``--no-...`` for a
    switch that turns a default-on option off); None with ``positional`` for an argument, None alone
    for an input-only option. ``input``: the action input (True: named like ``field``; False: none, the
    action always uses ``default``). ``kind`` says how both edges read the value.

    Reading: an input is stripped (``strip``), empty means ``default`` when ``empty_default``, an empty
    required input is refused with the message ``required`` once every input is read (on the CLI: a
    required flag), a flag not given falls back to the ``env`` variables (the first one set), and
    ``normalise(value, where)`` checks or rewrites the value from either edge (``where``: the flag or
    ``input NAME``).
    ``expand`` turns a structured input into the values of the fields named by ``feeds``.
    ``split`` says how a list input's text splits into items (default: lines or commas).
    ``action_default``: action.yml's default when it is not ``default`` (an expression).
    """

    field: str
    help: str
    schema: Mapping[str, Any]
    kind: Kind = "text"
    default: Any = None
    flag: str | None = None
    positional: bool = False
    input: str | bool = True
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    nargs: Literal["+"] | None = None
    toggle: bool = False
    required: str = ""
    env: tuple[str, ...] = ()
    strip: bool = True
    empty_default: bool = False
    normalise: Normalise | None = None
    expand: Callable[[Any, str], dict[str, Any]] | None = None
    feeds: tuple[str, ...] = ()
    split: Callable[[str, str], list[str]] | None = None
    action_default: str | None = None

    def __post_init__(self) -> None:  # a declaration the readers below cannot serve is a bug, found at import
        if (self.kind == "structured") != (self.expand is not None):
            raise TypeError(f"option {self.field}: a structured input, and only one, expands into fields")
        if self.kind == "float" and self.input_name is not None:
            raise TypeError(f"option {self.field}: no action input is read as a float")
        if self.positional and self.flag is not None:
            raise TypeError(f"option {self.field}: an argument or a flag, not both")
        if self.split is not None and self.kind != "list":
            raise TypeError(f"option {self.field}: only a list input splits into items")

    @property
    def input_name(self) -> str | None:
        """The action input this option reads (None: it has none)."""
        if self.input is True:
            return self.field
        return self.input or None

    @property
    def on_cli(self) -> bool:
        return self.positional or self.flag is not None

    @property
    def is_field(self) -> bool:
        """Whether the option is a config field of its own (an expanding input fills other fields)."""
        return self.expand is None

    # --- the CLI ---------------------------------------------------------------------------------

    def add_to(self, parser: Parser) -> None:
        """The option's argument on ``parser`` (nothing for an input-only option)."""
        arguments: dict[str, Any] = {"help": self.help}
        if self.metavar is not None:
            arguments["metavar"] = self.metavar
        if self.positional:
            if self.kind == "list":
                arguments["nargs"] = "+"
            elif self.default is not None:
                arguments.update(nargs="?", default=self.default)
            parser.add_argument(self.field, **arguments)
            return
        if self.flag is None:
            return
        arguments["dest"] = self.field
        if self.kind == "bool":
            if self.toggle:
                arguments.update(action=argparse.BooleanOptionalAction, default=self.default)
            else:
                arguments["action"] = "store_false" if self.default else "store_true"
        elif self.kind in ("list", "assignments"):
            arguments.update(action="extend" if self.nargs else "append", default=[])
            if self.nargs:
                arguments["nargs"] = self.nargs
        else:
            arguments["default"] = None if self.env else self.default
            if self.kind in _TYPES:
                arguments["type"] = _TYPES[self.kind]
            if self.choices is not None:
                arguments["choices"] = self.choices
        if self.required:
            arguments["required"] = True
        parser.add_argument(self.flag, **arguments)

    def from_args(self, namespace: argparse.Namespace) -> dict[str, Any]:
        """The option's config value from the parsed command line."""
        if not self.on_cli:
            return {}
        value = getattr(namespace, self.field)
        where = self.flag or self.field
        if value is None and self.env:
            value = next((os.environ[name] for name in self.env if os.environ.get(name)), "")
        if self.kind == "list":
            value = list(value)
        elif self.kind == "bool":
            value = bool(value)
        elif self.kind == "assignments":
            from gate.config import parse_assignments

            value = parse_assignments(list(value), where)
        return {self.field: self.normalise(value, where) if self.normalise else value}

    # --- the action ------------------------------------------------------------------------------

    def from_inputs(self, inputs: ActionInputs) -> dict[str, Any]:
        """The option's config value(s) from the action inputs (``default`` when it has no input)."""
        name = self.input_name
        if name is None:
            return {self.field: list(self.default) if self.kind == "list" else self.default}
        where = f"input {name}"
        if self.expand is not None:
            return self.expand(inputs.structured(name), where)
        value: Any
        if self.kind == "bool":
            value = inputs.bool(name)
        elif self.kind == "int":
            value = inputs.int(name)
        elif self.kind == "list":
            value = self.split(inputs.get(name), where) if self.split else inputs.list(name)
        elif self.kind == "assignments":
            value = inputs.assignments(name)
        else:
            value = inputs.get(name).strip() if self.strip else inputs.get(name)
            if self.empty_default and not value:
                value = self.default
        return {self.field: self.normalise(value, where) if self.normalise else value}

    def check_given(self, values: Mapping[str, Any]) -> None:
        """An ``InputError`` (the ``required`` message) when a required input came empty."""
        if self.required and not values.get(self.field):
            raise InputError(self.required)


@dataclass(frozen=True)
class Group:
    """Options shown together in a command's help, under ``title`` (None: with the command's own)."""

    title: str | None
    options: tuple[Option, ...]

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        target: Parser = parser if self.title is None else parser.add_argument_group(self.title)
        for option in self.options:
            option.add_to(target)


@dataclass(frozen=True)
class CommandOptions(Generic[C]):
    """A command's options: its groups in help order, the config they build, and a last check of the
    values both edges read (``check(values, source)``, for what spans several options)."""

    config: type[C]
    groups: tuple[Group, ...]
    check: Callable[[dict[str, Any], str], None] | None = None

    @property
    def options(self) -> tuple[Option, ...]:
        return tuple(option for group in self.groups for option in group.options)

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of the config values: one property per field, every one of them required."""
        properties = {option.field: dict(option.schema) for option in self.options if option.is_field}
        return {
            "type": "object",
            "additionalProperties": False,
            "required": list(properties),
            "properties": properties,
        }

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        for group in self.groups:
            group.add_to(parser)

    def config_from_args(self, namespace: argparse.Namespace) -> C:
        values: dict[str, Any] = {}
        for option in self.options:
            values.update(option.from_args(namespace))
        return self._build(values, "command line")

    def config_from_inputs(self, inputs: ActionInputs) -> C:
        """Every option read first (a bad value fails there), then the required ones checked, in order."""
        values: dict[str, Any] = {}
        for option in self.options:
            values.update(option.from_inputs(inputs))
        for option in self.options:
            option.check_given(values)
        return self._build(values, "action inputs")

    def _build(self, values: dict[str, Any], source: str) -> C:
        from gate.config import build_config

        if self.check is not None:
            self.check(values, source)
        return build_config(self.config, self.schema(), values, source)
