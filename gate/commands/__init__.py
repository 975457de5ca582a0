"""The commands. Each module here exposes the same small interface (``Command``):

- ``NAME`` and ``HELP``;
- ``OPTIONS``: its options, each declared once in ``gate.options``, gathered in a ``CommandOptions``
  that gives the three functions below;
- ``add_arguments(parser)``: its argparse options (the CLI adds ``--json`` and ``--json-output``);
- ``config_from_args(namespace)`` and ``config_from_inputs(inputs)``: both build the
  same frozen, schema-validated config (see ``gate.config.build_config``);
- ``run(config, context) -> Outcome``: the work, with no printing and no exiting.

A command is thin: it declares its options, builds its config, runs its stage (the stage packages:
``gate.discover``, ``gate.mirror``, ``gate.scan``, ``gate.policy``, ``gate.promote``, ``gate.pipeline``)
and returns the stage's outcome. No command imports another.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from typing import TYPE_CHECKING, Any, Protocol

from gate.errors import InputError
from gate.outcome import Context, Outcome

if TYPE_CHECKING:  # gate.config loads jsonschema and yaml: only the commands that build a config pay for them
    from gate.config import ActionInputs
    from gate.options.base import CommandOptions, Option

COMMANDS: tuple[str, ...] = (
    "discover", "tags", "mirror", "scan", "evaluate", "promote", "pipeline", "override", "outdated", "pin",
)  # fmt: skip


class Command(Protocol):
    NAME: str
    HELP: str
    OPTIONS: CommandOptions[Any]

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def config_from_args(self, namespace: argparse.Namespace) -> Any: ...

    def config_from_inputs(self, inputs: ActionInputs) -> Any: ...

    def run(self, config: Any, context: Context) -> Outcome: ...


def is_available(name: str) -> bool:
    """``name`` is a command whose module is present; found without importing it (imports are slow)."""
    if name not in COMMANDS:
        return False
    module = f"gate.commands.{name}"
    if module in sys.modules:
        return True
    return importlib.util.find_spec(module) is not None


def available() -> list[str]:
    """The commands whose module is present, in the documented order (none of them is imported)."""
    return [name for name in COMMANDS if is_available(name)]


def load(name: str) -> Command:
    if name not in COMMANDS:
        raise InputError(f"unknown command {name!r}; expected one of: {', '.join(COMMANDS)}")
    try:
        module: Command = importlib.import_module(f"gate.commands.{name}")  # type: ignore[assignment]
    except ModuleNotFoundError as exc:
        if exc.name == f"gate.commands.{name}":
            raise InputError(f"command {name!r} is not available in this version") from None
        raise
    return module


def declared_options() -> dict[str, tuple[Option, ...]]:
    """Every available command's options: ``command``, its own, then ``--json`` and ``--json-output``."""
    from gate.options.run import COMMAND, OUTPUT

    return {name: (COMMAND, *load(name).OPTIONS.options, *OUTPUT.options) for name in available()}
