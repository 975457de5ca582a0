"""The outcome of a verdict, for every command that gates (evaluate, scan, and pipeline's scan stage):
exit 0 on pass else 1, the gate's outputs, the exception notes and an annotation per blocking finding."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from gate.errors import EXIT_OK, EXIT_POLICY
from gate.outcome import Outcome
from gate.policy.stage import SarifVerdict
from gate.policy.summary import blocking_annotations, summary_markdown
from gate.policy.verdict import GateResult


def gate_outputs(result: GateResult) -> dict[str, str]:
    """The job outputs of a gate result."""
    return {
        "verdict": result.verdict,
        "blocking_count": str(len(result.blocking)),
        "counts": json.dumps(dict(result.counts), separators=(",", ":")),
        "blocking_ids": ",".join(result.blocking_ids),
    }


def gate_outcome(
    result: GateResult,
    *,
    document: Mapping[str, Any],
    outputs: Mapping[str, str],
    summary: str,
    messages: Sequence[str],
) -> Outcome:
    """The outcome of a verdict: exit 0 on pass else 1, the gate outputs then ``outputs``, ``messages``
    then the expired and stale exceptions, an annotation per blocking finding."""
    notes = [
        *messages,
        *(f"expired exception: {e.id} ({e.where})" for e in result.expired_exceptions),
        *(f"stale exception (matched nothing): {e.id} ({e.where})" for e in result.stale_exceptions),
    ]
    return Outcome(
        exit_code=EXIT_OK if result.verdict == "pass" else EXIT_POLICY,
        document=document,
        outputs={**gate_outputs(result), **outputs},
        summary=summary,
        messages=tuple(notes),
        annotations=blocking_annotations(result),
    )


def sarif_verdict_outcome(verdict: SarifVerdict, sarif_files: Sequence[str]) -> Outcome:
    """The outcome of gating SARIF files (``evaluate``)."""
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
        outputs={"sarif_file": ",".join(sarif_files), "digest": verdict.digest or ""},
        summary=summary_markdown(result),
        messages=messages,
    )
