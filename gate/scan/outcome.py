"""The outcome of a scan (``scan``, and pipeline's scan stage): the gate's outcome of its verdict, with
the scan's document, SARIF file, digest, log lines and step summary."""

from __future__ import annotations

from gate.outcome import Outcome
from gate.policy.outcome import gate_outcome
from gate.scan.stage import ScanOutcome
from gate.scan.summary import render


def scan_outcome(outcome: ScanOutcome) -> Outcome:
    result, scanned = outcome.gate, outcome.scan
    messages = [
        f"scan: {result.verdict.upper()}: {scanned.image} ({scanned.digest}): {len(scanned.platforms)} platform(s) "
        f"scanned with {scanned.scanner}, {len(scanned.missing)} without SBOM; {len(result.blocking)} blocking "
        f"finding(s) at or above {result.threshold} ({result.severity_source}); {len(result.suppressed)} suppressed",
        f"scan: SARIF written to {outcome.sarif_file}",
    ]
    messages += [f"note: {note}" for note in (*result.notes, *scanned.notes)]
    return gate_outcome(
        result,
        document=outcome.to_json(),
        outputs={"sarif_file": str(outcome.sarif_file), "digest": scanned.digest},
        summary=render(outcome),
        messages=messages,
    )
