"""Config building shared by the CLI and the action entrypoint.

Each command has a frozen config dataclass and declares its options once (``gate.options``):
the CLI turns its argparse namespace into a plain dict, the entrypoint turns ``INPUT_*``
variables into the same dict, and ``build_config`` validates that dict against the schema
the options give and freezes it. So both edges produce the same, validated config.

``action.yml`` is the one source of truth for input defaults: ``ActionInputs``
reads them from there when the runner did not set a variable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import MISSING, fields, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

from gate.errors import InputError

T = TypeVar("T")

ACTION_YML = Path(__file__).resolve().parent.parent / "action.yml"

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_INT = re.compile(r"[+-]?[0-9]+")


def build_config(cls: type[T], schema: Mapping[str, Any], values: Mapping[str, Any], source: str) -> T:
    """Validate ``values`` against ``schema`` and build the frozen ``cls``.

    ``source`` names where the values came from ("command line", "action inputs")
    so an error tells the user where to look.
    """
    if not is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    if not _plainly_valid(schema, dict(values)):
        _raise_schema_error(schema, values, source)
    names = {f.name for f in fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise InputError(f"invalid {source}: unknown option(s) {', '.join(sorted(unknown))}")
    missing = sorted(
        f.name
        for f in fields(cls)
        if f.name not in values and f.default is MISSING and f.default_factory is MISSING and f.init
    )
    if missing:
        raise InputError(f"invalid {source}: missing option(s) {', '.join(missing)}")
    return cls(**{k: _freeze(v) for k, v in values.items()})


def _raise_schema_error(schema: Mapping[str, Any], values: Mapping[str, Any], source: str) -> None:
    """jsonschema's verdict and first error, named for the user (jsonschema is imported only here)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(dict(values)), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first.path) or "(options)"
        raise InputError(f"invalid {source}: {where}: {first.message}")


_TYPES: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}
_PLAIN_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "enum", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "minItems", "minLength", "pattern", "description", "default",
    }
)  # fmt: skip


def _plainly_valid(schema: Any, value: Any) -> bool:
    """True only when ``value`` certainly satisfies ``schema``, checked for the keywords the options
    use (``_PLAIN_KEYWORDS``, as JSON Schema 2020-12 defines them). Anything else, and every failure, is
    left to jsonschema, which gives the verdict and the message: importing it and building a validator
    cost more than the rest of a command's start-up, on every start, for input that is nearly always valid."""
    if not isinstance(schema, Mapping) or not _PLAIN_KEYWORDS.issuperset(schema):
        return False
    kinds = schema.get("type", ())
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if not isinstance(kinds, list | tuple) or not all(isinstance(k, str) and k in _TYPES for k in kinds):
        return False
    if "type" in schema and not any(_TYPES[kind](value) for kind in kinds):
        return False
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number:
        if "minimum" in schema and not value >= schema["minimum"]:
            return False
        if "maximum" in schema and not value <= schema["maximum"]:
            return False
        if "exclusiveMinimum" in schema and not value > schema["exclusiveMinimum"]:
            return False
        if "exclusiveMaximum" in schema and not value < schema["exclusiveMaximum"]:
            return False
    if "enum" in schema and not any(type(value) is type(v) and value == v for v in schema["enum"]):
        return False
    if isinstance(value, str):
        if "minLength" in schema and not len(value) >= schema["minLength"]:
            return False
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            return False
    if isinstance(value, list):
        if "minItems" in schema and not len(value) >= schema["minItems"]:
            return False
        if "items" in schema and not all(_plainly_valid(schema["items"], item) for item in value):
            return False
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        if not isinstance(properties, Mapping) or not all(key in value for key in schema.get("required", ())):
            return False
        for key, item in value.items():
            if key in properties:
                if not _plainly_valid(properties[key], item):
                    return False
            elif extra is False or (extra is not True and not _plainly_valid(extra, item)):
                return False
    return True


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return {k: _freeze(v) for k, v in value.items()}
    return value


def parse_bool(text: str, name: str) -> bool:
    """An action boolean input: true/false (yes/no, on/off, 1/0), case-insensitive."""
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InputError(f"input {name}: expected true or false, got {text!r}")


def parse_list(text: str) -> list[str]:
    """A list input: one item per line or comma-separated; blanks and ``#`` comments skipped."""
    items: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        items += [part.strip() for part in line.split(",") if part.strip()]
    return items


def parse_assignments(items: list[str] | str, name: str) -> dict[str, str]:
    """``NAME=VALUE`` pairs (lines of an input, or repeated CLI flags) into a dict."""
    lines = items.splitlines() if isinstance(items, str) else items
    result: dict[str, str] = {}
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key.strip()):
            raise InputError(f"{name}: expected NAME=VALUE, got {line!r}")
        result[key.strip()] = value
    return result


def parse_int(text: str, name: str) -> int:
    """A whole number in ASCII digits (no ``1_000``, no other scripts' digits)."""
    if not _INT.fullmatch(text.strip()):
        raise InputError(f"input {name}: expected a whole number, got {text!r}")
    return int(text.strip())


def parse_structured(text: str, name: str) -> Any:
    """A JSON or YAML document given as an input value (``gate.yamlsafe``: a key given twice is an
    error, aliases are capped). The value may be a credential: errors name the position, never the text."""
    if not text.strip():
        return None
    try:
        return json.loads(text, object_pairs_hook=lambda pairs: _unique_keys(pairs, name))
    except ValueError:
        pass
    from gate.yamlsafe import YamlSyntaxError, load_yaml  # YAML costs start-up: only for a YAML value

    try:
        return load_yaml(text, f"input {name}", secret=True)
    except YamlSyntaxError as exc:
        where = f" at line {exc.line}, column {exc.column}" if exc.line else ""
        raise InputError(f"input {name}: not valid JSON or YAML{where}") from None


def _unique_keys(pairs: list[tuple[str, Any]], name: str) -> dict[str, Any]:
    """A JSON object, refused when it repeats a key (``json`` would keep the last value silently)."""
    document = dict(pairs)
    if len(document) != len(pairs):
        raise InputError(f"input {name}: a key is given twice in one JSON object; keys must be unique")
    return document


def input_env_name(name: str) -> str:
    """The variable the runner sets for an input: upper-cased, spaces to ``_``, hyphens kept."""
    return "INPUT_" + name.replace(" ", "_").upper()


class ActionInputs:
    """The action's inputs: ``INPUT_*`` variables, defaults from ``action.yml``."""

    def __init__(self, environ: Mapping[str, str], action_yml: Path = ACTION_YML) -> None:
        self.environ = environ
        self.declared = load_action_inputs(action_yml)

    def get(self, name: str) -> str:
        """The raw value: ``INPUT_<NAME>`` when the runner set it, else the default from action.yml."""
        if name not in self.declared:
            raise InputError(f"input {name!r} is not declared in action.yml")
        value = self.environ.get(input_env_name(name))
        if value is None:
            value = self.declared[name]
        return value

    def _typed(self, name: str) -> str:
        # An empty boolean or number (``flag: ${{ inputs.unset }}``) means "not given":
        # fall back to the declared default rather than guess false or zero.
        value = self.get(name)
        return value if value.strip() else self.declared[name]

    def bool(self, name: str) -> bool:
        """A boolean input; empty means the action.yml default (false when that is empty too)."""
        value = self._typed(name)
        return parse_bool(value, name) if value.strip() else False

    def list(self, name: str) -> list[str]:
        return parse_list(self.get(name))

    def int(self, name: str) -> int:
        return parse_int(self._typed(name), name)

    def assignments(self, name: str) -> dict[str, str]:
        """``NAME=VALUE`` lines (like ``build_args``)."""
        return parse_assignments(self.get(name), f"input {name}")

    def structured(self, name: str) -> Any:
        """A JSON or YAML document; None when empty."""
        return parse_structured(self.get(name), name)


def load_action_inputs(action_yml: Path = ACTION_YML) -> dict[str, str]:
    """Every input declared in ``action.yml`` with its default as a string."""
    from gate.yamlsafe import load_yaml

    try:
        document = load_yaml(action_yml.read_text(encoding="utf-8"), str(action_yml))
    except (OSError, InputError) as exc:
        raise InputError(f"{action_yml}: cannot read the action definition: {exc}") from None
    inputs = document.get("inputs") if isinstance(document, dict) else None
    if not isinstance(inputs, dict):
        raise InputError(f"{action_yml}: no 'inputs' mapping in the action definition")
    result: dict[str, str] = {}
    for name, spec in inputs.items():
        default = spec.get("default", "") if isinstance(spec, dict) else ""
        if isinstance(default, bool):
            default = "true" if default else "false"
        text = "" if default is None else str(default)
        # An expression default (``${{ github.token }}``) only means something on a runner,
        # which always sets the variable; elsewhere it is empty.
        result[name] = "" if "${{" in text else text
    return result
