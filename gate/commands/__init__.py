"""The commands. Each module here exposes the same small interface (``Command``):

- ``NAME`` and ``HELP`` (its line in ``SUMMARIES``, which the top-level ``--help`` reads without importing it);
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
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from gate.errors import InputError
from gate.outcome import Context, Outcome

if TYPE_CHECKING:  # gate.config loads jsonschema and yaml: only the commands that build a config pay for them
    from gate.config import ActionInputs
    from gate.options.base import CommandOptions, Option

SUMMARIES: Mapping[str, str] = {
    "discover": "find production Dockerfiles, enforce digest pinning of their images and emit a job matrix",
    "tags": "list a repository's tags (no signatures, attestations or referrer indexes) as a matrix of mirrors",
    "mirror": "copy an image with every platform (and optionally all OCI referrers) into another repository",
    "scan": "scan each platform's SBOM attestation (Trivy or offline OSV), write one SARIF, and gate it",
    "evaluate": "gate SARIF from any scanner (Trivy, Grype, ...) on a severity threshold, minus exceptions",
    "promote": "promote a passing image with all referrers to production, attach a scan report, verify, delete the source tag",
    "pipeline": "mirror into quarantine, scan and gate the quarantine copy, promote to production only on a pass",
    "override": "act on a maintainer's /approve or /deny comment on a tracking issue: promote the recorded digest, or close",
    "outdated": "report pinned digests behind their tag (and, with --scan, the blocking vulnerabilities an update fixes)",
    "pin": "pin every image of the production Dockerfiles to its tag's current digest (--update: re-pin moved tags)",
}
"""Each command's one-line help (its ``HELP``), in the documented order: the top-level ``--help`` lists them
without importing any command module."""
COMMANDS: tuple[str, ...] = tuple(SUMMARIES)


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


def summary(name: str) -> str:
    """A command's one-line help: from ``SUMMARIES`` without importing its module, else its module's ``HELP``."""
    return SUMMARIES[name] if name in SUMMARIES else load(name).HELP


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
