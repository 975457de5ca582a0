"""The outcome of an outdated run: a report (exit 0) unless told to fail, the images as JSON and
outputs, the summary, a warning per failed lookup or scan (at the first place the image is used).

Exit codes: 1 when no production Dockerfile is found (without ``allow_empty``), with
``fail_on_outdated`` when an image is behind its tag, with ``fail_on_fixable`` when an update fixes a
blocking vulnerability; 3 when every tag lookup failed; else 0.
"""

from __future__ import annotations

from gate.discover.matrix import compact_json
from gate.discover.outcome import annotation_file
from gate.discover.outdated_stage import OutdatedImage, OutdatedRun
from gate.discover.outdated_summary import render
from gate.errors import EXIT_OK, EXIT_POLICY, EXIT_RUNTIME
from gate.outcome import Annotation, Outcome
from gate.promote.report import rfc3339


def _verdict(run: OutdatedRun) -> tuple[int, str]:
    request = run.request
    if run.failures:
        return EXIT_POLICY, "failed: " + "; ".join(run.failures)
    if run.report.all_failed:
        return EXIT_RUNTIME, f"failed: every tag lookup failed ({len(run.report.errors)})"
    outdated, fixable = len(run.outdated), len(run.fixable)
    if request.fail_on_fixable and fixable:
        return EXIT_POLICY, f"failed: {fixable} update(s) fix a blocking vulnerability (fail_on_fixable)"
    if request.fail_on_outdated and outdated:
        return EXIT_POLICY, f"failed: {outdated} image(s) behind their tag (fail_on_outdated)"
    if not outdated:
        return EXIT_OK, "every pinned digest is its tag's current one"
    fixes = f", {fixable} fixing a blocking vulnerability" if run.scanned else ""
    return EXIT_OK, f"{outdated} image(s) behind their tag{fixes}"


def _warning(run: OutdatedRun, image: OutdatedImage) -> Annotation | None:
    error = image.entry.error or (image.comparison.error if image.comparison is not None else None)
    if error is None:
        return None
    location = image.entry.locations[0] if image.entry.locations else None
    return Annotation(
        "warning",
        f"{image.entry.image}: {error}",
        file=annotation_file(run.request.path, location.path) if location else None,
        line=location.line if location else None,
        title="image-gate outdated",
    )


def outdated_outcome(run: OutdatedRun) -> Outcome:
    exit_code, verdict = _verdict(run)
    images = [image.to_json() for image in run.images]
    outdated = [image.to_json() for image in run.outdated]
    document = {
        "dockerfiles": [{"path": path, "production": flag} for path, flag in run.production.dockerfiles],
        "checked_at": rfc3339(run.checked_at),
        "scanned": run.scanned,
        "outdated_count": len(outdated),
        "fixable_count": len(run.fixable),
        "images": images,
    }
    messages = [
        *run.production.notes,
        *(
            f"outdated: {image.entry.image} is behind its tag: now {image.entry.current_digest}"
            + (f" (fixes {', '.join(image.comparison.fixes)})" if image.fixable and image.comparison else "")
            for image in run.outdated
        ),
        f"outdated: {verdict}",
    ]
    annotations = tuple(a for a in (_warning(run, image) for image in run.images) if a is not None)
    return Outcome(
        exit_code=exit_code,
        document=document,
        outputs={
            "outdated": compact_json(outdated),
            "outdated_count": str(len(outdated)),
            "fixable_count": str(len(run.fixable)),
        },
        summary=render(run, verdict),
        messages=tuple(messages),
        annotations=annotations,
    )
