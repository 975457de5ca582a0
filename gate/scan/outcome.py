"""The outcome of a scan (``scan``, and pipeline's scan stage): the gate's outcome of its verdict, with
the scan's document, SARIF file, digest, log lines and step summary."""

from __future__ import annotations

from dataclasses import replace

from gate.outcome import Annotation, Outcome
from gate.policy.outcome import gate_outcome
from gate.scan.stage import ScanOutcome
from gate.scan.summary import render


def scan_outcome(outcome: ScanOutcome, *, enforce: bool = True) -> Outcome:
    """The scan's outcome (report only when not ``enforce``: ``gate.policy.outcome.enforced_outcome``)."""
    result, scanned = outcome.gate, outcome.scan
    messages = [
        f"scan: {result.verdict.upper()}: {scanned.image} ({scanned.digest}): {len(scanned.platforms)} platform(s) "
        f"scanned with {scanned.scanner}, {len(scanned.missing)} without SBOM; {len(result.blocking)} blocking "
        f"finding(s) at or above {result.threshold} ({result.severity_source}); {len(result.suppressed)} suppressed",
        f"scan: SARIF written to {outcome.sarif_file}",
    ]
    messages += [f"note: {note}" for note in (*result.notes, *scanned.notes)]
    messages += [
        f"left out: {item.predicate_type} attestation {item.digest} for {item.platform or 'the index'}: {item.reason}"
        for item in scanned.left_out
    ]
    verified = scanned.verification.enabled
    if not verified:
        messages.append(
            "note: the attestations were not verified: every SBOM and VEX attached to the image counted, whoever "
            "wrote it (give --attestation-key or --certificate-identity to count only signed ones)"
        )
    gated = gate_outcome(
        result,
        document=outcome.to_json(),
        outputs={
            "sarif_file": str(outcome.sarif_file),
            "digest": scanned.digest,
            "attestations_verified": "true" if verified else "false",
        },
        summary=render(outcome),
        messages=messages,
        enforce=enforce,
    )
    if not scanned.left_out:
        return gated
    notice = Annotation(
        "notice",
        f"{len(scanned.left_out)} attestation(s) of {scanned.image} were left out of the verdict: not verified "
        "under the policy, or about another digest (see unverified_attestations in the JSON, and the step summary)",
        title="image-gate: unverified attestations",
    )
    return replace(gated, annotations=(*gated.annotations, notice))
