"""The outcome of a pin run: the files changed and the references pinned as outputs and JSON, the diff
(printed, and in the summary), a warning per reference left as it is (at its file and line).

Exit codes: 0 (written, or nothing to change); with ``check``, 1 when something would change; 1 when
no production Dockerfile is found (without ``allow_empty``); 3 when a file changed since it was read
(not overwritten) or every tag lookup failed.
"""

from __future__ import annotations

from gate.discover.matrix import compact_json
from gate.discover.outcome import annotation_file
from gate.discover.pin_stage import PinRun
from gate.discover.pin_summary import render
from gate.errors import EXIT_OK, EXIT_POLICY, EXIT_RUNTIME
from gate.outcome import Annotation, Outcome


def _verdict(run: PinRun) -> tuple[int, str]:
    changed = len(run.changed)
    if run.failures:
        return EXIT_POLICY, "failed: " + "; ".join(run.failures)
    if run.conflicts:
        return EXIT_RUNTIME, "failed: " + "; ".join(run.conflicts)
    if run.report.all_failed:
        return EXIT_RUNTIME, f"failed: every tag lookup failed ({len(run.report.errors)})"
    if run.request.check:
        if changed:
            return EXIT_POLICY, f"{len(run.changes)} reference(s) in {changed} file(s) would be pinned (--check)"
        return EXIT_OK, "every reference is pinned" + (" to its tag's current digest" if run.request.update else "")
    if changed:
        return EXIT_OK, f"pinned {len(run.changes)} reference(s) in {changed} file(s)"
    return EXIT_OK, "nothing to pin"


def pin_outcome(run: PinRun) -> Outcome:
    exit_code, verdict = _verdict(run)
    changed_files = [pinned.path for pinned in run.changed]
    pinned = [change.to_json() for change in run.changes]
    diff = run.diff
    document = {
        "dockerfiles": [{"path": path, "production": flag} for path, flag in run.production.dockerfiles],
        "check": run.request.check,
        "update": run.request.update,
        "changed_files": changed_files,
        "written": list(run.written),
        "pinned": pinned,
        "refused": [refusal.to_json() for refusal in run.refused],
        "conflicts": list(run.conflicts),
        "diff": diff,
    }
    messages = [*run.production.notes]
    if diff:
        messages.append(diff.rstrip("\n"))
    messages += [*(f"error: {conflict}" for conflict in run.conflicts), f"pin: {verdict}"]
    root = run.request.path
    annotations = [
        Annotation(
            "warning",
            f"{refusal.image}: not pinned: {refusal.reason}" if refusal.image else refusal.reason,
            file=annotation_file(root, refusal.path),
            line=refusal.line,
            title="image-gate pin",
        )
        for refusal in run.refused
    ]
    annotations += [Annotation("error", conflict, title="image-gate pin") for conflict in run.conflicts]
    return Outcome(
        exit_code=exit_code,
        document=document,
        outputs={"changed_files": compact_json(changed_files), "pinned": compact_json(pinned)},
        summary=render(run, verdict),
        messages=tuple(messages),
        annotations=tuple(annotations),
    )
