"""One outcome of all the pipeline's stages: ONE JSON document, the outputs of every stage (all of them
set, also when a stage did not run), ONE step summary (a row per stage, then each stage's own summary),
every stage's messages and annotations."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gate.markdown import md_code, md_details, md_table, md_text
from gate.outcome import Annotation, Outcome
from gate.pipeline.chain import STAGES, PipelineResult, StageName

# Every output the pipeline writes, also when a stage did not run (so a workflow can always read them).
OUTPUT_NAMES: tuple[str, ...] = (
    "digest",
    "referrers_copied",
    "up_to_date",
    "verdict",
    "blocking_count",
    "counts",
    "blocking_ids",
    "sarif_file",
    "promoted",
    "report_digest",
    "source_tag_deleted",
    "stage_failed",
)


@dataclass(frozen=True)
class Names:
    """The three references, for the document and the summary."""

    source: str
    quarantine: str
    production: str


def combine(result: PipelineResult, names: Names) -> Outcome:
    """The pipeline's outcome: ONE JSON document, the outputs of every stage, ONE step summary."""
    document: dict[str, Any] = {
        "source": names.source,
        "quarantine": names.quarantine,
        "production": names.production,
        "digest": result.digest,
        "mirror": _document(result.mirror),
        "scan": _document(result.scan),
        "promote": _document(result.promote),
        "verdict": result.verdict,
        "promoted": result.promoted,
        "stage_failed": result.stage_failed,
        "error": result.failure.to_json() if result.failure else None,
    }
    outputs = {name: "" for name in OUTPUT_NAMES}
    for stage in (result.mirror, result.scan, result.promote):
        if stage is not None:
            outputs.update({k: v for k, v in stage.outputs.items()})
    outputs.update(
        digest=result.digest or "",
        verdict=result.verdict or "",
        promoted="true" if result.promoted else "false",
        stage_failed=result.stage_failed or "",
    )
    if not outputs["source_tag_deleted"]:
        outputs["source_tag_deleted"] = "false"
    messages: list[str] = []
    annotations: list[Annotation] = []
    for stage in (result.mirror, result.scan, result.promote):
        if stage is not None:
            messages += stage.messages
            annotations += stage.annotations
    messages += result.messages
    if result.failure is not None:
        annotations.append(
            Annotation("error", result.failure.message, title=f"image-gate pipeline: {result.failure.stage} failed")
        )
    return Outcome(
        exit_code=result.exit_code,
        document=document,
        outputs=outputs,
        summary=summary(result, names),
        messages=tuple(messages),
        annotations=tuple(annotations),
    )


def _document(outcome: Outcome | None) -> dict[str, Any] | None:
    return dict(outcome.document) if outcome is not None else None


def headline(result: PipelineResult) -> str:
    if result.failure is not None:
        return f"FAILED at {result.failure.stage}"
    return "PROMOTED" if result.promoted else "BLOCKED"


def _stage_row(name: StageName, result: PipelineResult) -> list[str]:
    outcome: Outcome | None = getattr(result, name)
    if result.failure is not None and result.failure.stage == name:
        return [md_text(name), "❌ failed", md_text(result.failure.message)]
    if outcome is None:
        reason = "verdict fail" if name == "promote" and result.verdict == "fail" else "an earlier stage failed"
        return [md_text(name), "⏭️ not run", md_text(reason)]
    outputs: Mapping[str, str] = outcome.outputs
    if name == "mirror":
        state = "up to date" if outputs.get("up_to_date") == "true" else "copied"
        detail = f"{state}, {outputs.get('referrers_copied', '0')} referrer(s) copied"
        return [md_text(name), "✅ done", md_text(detail)]
    if name == "scan":
        verdict = outputs.get("verdict", "")
        mark = "✅ pass" if verdict == "pass" else "🚫 fail"
        detail = f"{outputs.get('blocking_count', '0')} blocking finding(s)"
        if outputs.get("blocking_ids"):
            detail += f": {outputs['blocking_ids']}"
        return [md_text(name), mark, md_text(detail)]
    deleted = outputs.get("source_tag_deleted") == "true"
    report = outputs.get("report_digest", "")
    detail = f"scan report {report[:19]}…" if report else "scan report attached"
    detail += "; quarantine tag deleted" if deleted else ""
    return [md_text(name), "✅ promoted", md_text(detail)]


_HEADING = re.compile(r"^(#{1,5}) ", re.MULTILINE)


def _nested(markdown: str) -> str:
    """A stage's summary one heading level down, so the pipeline's heading stays on top."""
    return _HEADING.sub(lambda m: "#" * min(len(m.group(1)) + 1, 6) + " ", markdown)


def summary(result: PipelineResult, names: Names) -> str:
    """ONE step summary: the verdict and the three references, a row per stage, then each stage's own summary."""
    lines = [
        f"## image-gate pipeline: {headline(result)}\n",
        md_table(
            ["", "image"],
            [
                ["source", md_code(names.source)],
                ["quarantine", md_code(names.quarantine)],
                ["production", md_code(names.production)],
                ["digest", md_code(result.digest) if result.digest else "-"],
            ],
        ),
        md_table(["stage", "result", "details"], [_stage_row(name, result) for name in STAGES]),
    ]
    if not result.promoted and result.failure is None and result.verdict == "fail":
        lines.append(
            f"The image stays in quarantine ({md_code(names.quarantine)}); nothing was written to production.\n"
        )
    if result.mirror is not None and result.mirror.summary:
        lines.append(md_details(md_text("mirror: what was copied into quarantine"), _nested(result.mirror.summary)))
    if result.scan is not None and result.scan.summary:
        lines.append(_nested(result.scan.summary) + "\n")
    if result.promote is not None and result.promote.summary:
        lines.append(_nested(result.promote.summary) + "\n")
    return "\n".join(lines)
