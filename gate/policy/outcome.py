"""The outcome of a verdict, for every command that gates (evaluate, scan, and pipeline's scan stage):
exit 0 on pass else 1, the gate's outputs, the exception notes and an annotation per blocking finding;
and what report-only mode (``--no-enforce``) makes of any gating command's outcome (``enforced_outcome``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from gate.errors import EXIT_OK, EXIT_POLICY
from gate.outcome import Annotation, Outcome
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


NOT_ENFORCED = (
    "⚠️ **The gate was not enforced** (report only: `--no-enforce`, input `enforce: false`): what blocks "
    "is reported as warnings and the step succeeds; nothing that blocks is promoted."
)
"""The first line of a report-only step summary."""


def enforced_outcome(outcome: Outcome, *, enforce: bool, blocked: bool) -> Outcome:
    """A gating command's outcome with ``enforced`` in its document; as it is when ``enforce``.

    Report only (``enforce`` False): when the gate ``blocked`` (a fail verdict, never an error) the exit
    code 1 becomes 0 and the error annotations become warnings; the summary's first line says the gate
    was not enforced. The verdict, the outputs and the SARIF stay as they are.
    """
    document = {**outcome.document, "enforced": enforce}
    if enforce:
        return replace(outcome, document=document)
    relaxed = blocked and outcome.exit_code == EXIT_POLICY
    note = "note: report only (--no-enforce): " + (
        "the gate blocks, but it is not enforced: exit 0" if relaxed else "the gate is not enforced"
    )
    return replace(
        outcome,
        exit_code=EXIT_OK if relaxed else outcome.exit_code,
        document=document,
        summary=f"{NOT_ENFORCED}\n\n{outcome.summary}",
        messages=(*outcome.messages, note),
        annotations=tuple(_as_warning(a) for a in outcome.annotations) if relaxed else outcome.annotations,
    )


def _as_warning(annotation: Annotation) -> Annotation:
    if annotation.level != "error":
        return annotation
    title = f"{annotation.title} (not enforced)" if annotation.title else "image-gate (not enforced)"
    return replace(annotation, level="warning", title=title)


def gate_outcome(
    result: GateResult,
    *,
    document: Mapping[str, Any],
    outputs: Mapping[str, str],
    summary: str,
    messages: Sequence[str],
    enforce: bool = True,
) -> Outcome:
    """The outcome of a verdict: exit 0 on pass else 1, the gate outputs then ``outputs``, ``messages``
    then the expired and stale exceptions, an annotation per blocking finding (``enforced_outcome``:
    report only when not ``enforce``)."""
    notes = [
        *messages,
        *(f"expired exception: {e.id} ({e.where})" for e in result.expired_exceptions),
        *(f"stale exception (matched nothing): {e.id} ({e.where})" for e in result.stale_exceptions),
    ]
    outcome = Outcome(
        exit_code=EXIT_OK if result.verdict == "pass" else EXIT_POLICY,
        document=document,
        outputs={**gate_outputs(result), **outputs},
        summary=summary,
        messages=tuple(notes),
        annotations=blocking_annotations(result),
    )
    return enforced_outcome(outcome, enforce=enforce, blocked=result.verdict == "fail")


def sarif_verdict_outcome(verdict: SarifVerdict, sarif_files: Sequence[str], *, enforce: bool = True) -> Outcome:
    """The outcome of gating SARIF files (``evaluate``; report only when not ``enforce``)."""
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
        enforce=enforce,
    )
