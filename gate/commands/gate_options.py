"""The gate and VEX options of every command that judges findings (evaluate, scan, promote, pipeline):
``GateFields`` (the config fields, a keyword-only dataclass the configs inherit), their schema properties,
their CLI options and their values from either edge. The options themselves are declared in
``gate.policy.verdict`` (gate) and ``gate.policy.vex_match`` (VEX); this module only bundles them.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gate.policy.verdict import GATE_SCHEMA, add_gate_arguments, gate_values_from_args, gate_values_from_inputs
from gate.policy.vex_match import VEX_SCHEMA_PROPERTIES, add_vex_arguments, vex_values_from_args, vex_values_from_inputs

if TYPE_CHECKING:
    from gate.config import ActionInputs

GATE_SCHEMA_PROPERTIES: Mapping[str, Any] = {**GATE_SCHEMA["properties"], **VEX_SCHEMA_PROPERTIES}
GATE_REQUIRED: tuple[str, ...] = tuple(GATE_SCHEMA["required"])


@dataclass(frozen=True, kw_only=True)
class GateFields:
    """The gate (``gate.policy.verdict.GateOptions.from_config``) and VEX fields of a command config."""

    severity_threshold: str = "high"
    severity_source: str = "cvss"
    exceptions_file: str | None = None
    ignore_unfixed: bool = False
    allow_missing_sbom: bool = False
    vex_files: tuple[str, ...] = ()
    use_vex: bool = True


def add_gate_and_vex_arguments(parser: argparse.ArgumentParser) -> None:
    add_gate_arguments(parser)
    add_vex_arguments(parser)


def gate_and_vex_values_from_args(namespace: argparse.Namespace) -> dict[str, Any]:
    return {**gate_values_from_args(namespace), **vex_values_from_args(namespace)}


def gate_and_vex_values_from_inputs(inputs: ActionInputs) -> dict[str, Any]:
    return {**gate_values_from_inputs(inputs), **vex_values_from_inputs(inputs)}
