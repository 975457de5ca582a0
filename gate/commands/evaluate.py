"""``python -m gate evaluate SARIF... [gate options] [--json]``: gate SARIF from any scanner.

Reads every SARIF file (Trivy, Grype, ours...), rates each finding by CVSS ``security-severity``
or by the scanner's label, removes excepted findings and judges all runs together. Exit 0 pass,
1 fail, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gate.commands import Context
from gate.config import ActionInputs, build_config
from gate.errors import EXIT_OK, EXIT_POLICY, InputError
from gate.gate_summary import blocking_annotations, summary_markdown
from gate.outcome import Outcome
from gate.policy import (
    GATE_SCHEMA,
    GateOptions,
    GateResult,
    add_gate_arguments,
    evaluate,
    gate_values_from_args,
    gate_values_from_inputs,
)
from gate.sarif import SarifRun, load_sarif
from gate.vex_match import (
    VEX_SCHEMA_PROPERTIES,
    add_vex_arguments,
    load_given_vex,
    vex_values_from_args,
    vex_values_from_inputs,
)

NAME = "evaluate"
HELP = "gate SARIF from any scanner (Trivy, Grype, ...) on a severity threshold, minus exceptions"

SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["sarif_files", *GATE_SCHEMA["required"]],
    "properties": {
        "sarif_files": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
        **GATE_SCHEMA["properties"],
        **VEX_SCHEMA_PROPERTIES,
    },
}


@dataclass(frozen=True)
class EvaluateConfig:
    sarif_files: tuple[str, ...] = ()
    severity_threshold: str = "high"
    severity_source: str = "cvss"
    exceptions_file: str | None = None
    ignore_unfixed: bool = False
    allow_missing_sbom: bool = False
    vex_files: tuple[str, ...] = ()
    use_vex: bool = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sarif", nargs="+", metavar="SARIF", help="SARIF 2.1.0 file(s) to evaluate together")
    add_gate_arguments(parser)
    add_vex_arguments(parser)


def config_from_args(namespace: argparse.Namespace) -> EvaluateConfig:
    values = {
        "sarif_files": list(namespace.sarif),
        **gate_values_from_args(namespace),
        **vex_values_from_args(namespace),
    }
    return build_config(EvaluateConfig, SCHEMA, values, "command line")


def config_from_inputs(inputs: ActionInputs) -> EvaluateConfig:
    files = inputs.list("sarif_file")
    if not files:
        raise InputError("input sarif_file: give one or more SARIF files (one per line or comma-separated)")
    values = {"sarif_files": files, **gate_values_from_inputs(inputs), **vex_values_from_inputs(inputs)}
    return build_config(EvaluateConfig, SCHEMA, values, "action inputs")


def gate_outputs(result: GateResult) -> dict[str, str]:
    """The job outputs of a gate result (shared with scan/pipeline)."""
    return {
        "verdict": result.verdict,
        "blocking_count": str(len(result.blocking)),
        "counts": json.dumps(dict(result.counts), separators=(",", ":")),
        "blocking_ids": ",".join(result.blocking_ids),
    }


def run(config: EvaluateConfig, context: Context) -> Outcome:
    options = GateOptions.from_config(config)
    vex = load_given_vex(config.vex_files, config.use_vex)
    runs: list[SarifRun] = []
    for path in config.sarif_files:
        loaded = load_sarif(path)
        context.log(f"evaluate: {path}: {len(loaded)} run(s), {sum(len(r.findings) for r in loaded)} finding(s)")
        runs += loaded
    result = evaluate(runs, options, vex=vex)
    outputs = gate_outputs(result)
    outputs["sarif_file"] = ",".join(config.sarif_files)
    messages = [
        f"evaluate: {result.verdict.upper()}: {len(result.blocking)} blocking finding(s) at or above "
        f"{result.threshold} ({result.severity_source}); " + ", ".join(f"{k} {v}" for k, v in result.counts.items())
    ]
    messages += [f"note: {note}" for note in result.notes]
    messages += [f"expired exception: {e.id} ({e.where})" for e in result.expired_exceptions]
    messages += [f"stale exception (matched nothing): {e.id} ({e.where})" for e in result.stale_exceptions]
    return Outcome(
        exit_code=EXIT_OK if result.verdict == "pass" else EXIT_POLICY,
        document=result.to_json(),
        outputs=outputs,
        summary=summary_markdown(result),
        messages=tuple(messages),
        annotations=blocking_annotations(result),
    )
