"""``python -m gate evaluate SARIF... [gate options] [--json]``: gate SARIF from any scanner.

Reads every SARIF file (Trivy, Grype, ours...), rates each finding by CVSS ``security-severity``
or by the scanner's label, removes excepted findings and judges all runs together. Exit 0 pass,
1 fail, 2 bad input.

The document names the image the SARIF covers (``image``, ``digest``: its root digest) when every
run agrees on one (the ``imageDigest`` run property ``scan`` writes, or a Trivy image scan's single
``repoDigests`` digest), or as given by ``--image REF@DIGEST``; ``promote --verdict`` needs it.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gate.commands import Context
from gate.commands.gate_options import (
    GATE_REQUIRED,
    GATE_SCHEMA_PROPERTIES,
    GateFields,
    add_gate_and_vex_arguments,
    gate_and_vex_values_from_args,
    gate_and_vex_values_from_inputs,
)
from gate.config import ActionInputs, build_config
from gate.errors import EXIT_OK, EXIT_POLICY, InputError
from gate.outcome import Outcome
from gate.policy.stage import GateRequest, gate_sarif_files, pinned_image
from gate.policy.summary import blocking_annotations, summary_markdown
from gate.policy.verdict import GateOptions, GateResult

NAME = "evaluate"
HELP = "gate SARIF from any scanner (Trivy, Grype, ...) on a severity threshold, minus exceptions"

SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["sarif_files", *GATE_REQUIRED],
    "properties": {
        "sarif_files": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
        "image": {"type": "string"},
        **GATE_SCHEMA_PROPERTIES,
    },
}


@dataclass(frozen=True)
class EvaluateConfig(GateFields):
    sarif_files: tuple[str, ...] = ()
    image: str = ""
    """``REF@DIGEST``: the image the SARIF covers, for SARIF that does not name it (empty: from the SARIF)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sarif", nargs="+", metavar="SARIF", help="SARIF 2.1.0 file(s) to evaluate together")
    parser.add_argument(
        "--image",
        default="",
        metavar="REF@DIGEST",
        help="the image the SARIF covers, pinned by its root digest, for SARIF that does not name it "
        "(another scanner's); it must not contradict the SARIF. Without it the digest comes from the SARIF "
        "when every run names the same one (promote --verdict needs it)",
    )
    add_gate_and_vex_arguments(parser)


def config_from_args(namespace: argparse.Namespace) -> EvaluateConfig:
    values = {
        "sarif_files": list(namespace.sarif),
        "image": namespace.image.strip(),
        **gate_and_vex_values_from_args(namespace),
    }
    pinned_image(values["image"], "--image")
    return build_config(EvaluateConfig, SCHEMA, values, "command line")


def config_from_inputs(inputs: ActionInputs) -> EvaluateConfig:
    files = inputs.list("sarif_file")
    if not files:
        raise InputError("input sarif_file: give one or more SARIF files (one per line or comma-separated)")
    values = {
        "sarif_files": files,
        "image": inputs.get("image").strip(),
        **gate_and_vex_values_from_inputs(inputs),
    }
    pinned_image(values["image"], "input image")
    return build_config(EvaluateConfig, SCHEMA, values, "action inputs")


def gate_outputs(result: GateResult) -> dict[str, str]:
    """The job outputs of a gate result (shared with scan/pipeline)."""
    return {
        "verdict": result.verdict,
        "blocking_count": str(len(result.blocking)),
        "counts": json.dumps(dict(result.counts), separators=(",", ":")),
        "blocking_ids": ",".join(result.blocking_ids),
    }


def gate_outcome(
    result: GateResult, *, document: Mapping[str, Any], outputs: Mapping[str, str], summary: str, messages: list[str]
) -> Outcome:
    """The outcome of a verdict (evaluate, scan): exit 0 on pass else 1, the gate outputs then ``outputs``,
    ``messages`` then the expired and stale exceptions, an annotation per blocking finding."""
    messages = [
        *messages,
        *(f"expired exception: {e.id} ({e.where})" for e in result.expired_exceptions),
        *(f"stale exception (matched nothing): {e.id} ({e.where})" for e in result.stale_exceptions),
    ]
    return Outcome(
        exit_code=EXIT_OK if result.verdict == "pass" else EXIT_POLICY,
        document=document,
        outputs={**gate_outputs(result), **outputs},
        summary=summary,
        messages=tuple(messages),
        annotations=blocking_annotations(result),
    )


def run(config: EvaluateConfig, context: Context) -> Outcome:
    request = GateRequest(
        sarif_files=tuple(config.sarif_files),
        options=GateOptions.from_config(config),
        vex_files=tuple(config.vex_files),
        use_vex=config.use_vex,
        image=config.image,
    )
    verdict = gate_sarif_files(request, log=context.log)
    result = verdict.result
    messages = [
        f"evaluate: {result.verdict.upper()}: {len(result.blocking)} blocking finding(s) at or above "
        f"{result.threshold} ({result.severity_source}); " + ", ".join(f"{k} {v}" for k, v in result.counts.items())
    ]
    messages += [f"note: {note}" for note in result.notes]
    if verdict.digest is None:
        messages.append(
            "note: the SARIF names no single image digest, so promote --verdict will not accept this verdict; "
            "give --image REF@DIGEST (input image) when it covers one image"
        )
    return gate_outcome(
        result,
        document=verdict.to_json(),
        outputs={"sarif_file": ",".join(config.sarif_files), "digest": verdict.digest or ""},
        summary=summary_markdown(result),
        messages=messages,
    )
