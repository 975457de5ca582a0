"""The one-step pipeline: mirror -> scan -> gate -> promote, failing closed at every stage.

This module only chains stages and combines what they produced; it does no I/O. The stages
are given as a ``Stages`` object (``gate.commands.pipeline`` supplies the real ones):

1. ``mirror()`` copies the source into quarantine and returns the quarantine digest;
2. ``scan(digest)`` scans and gates exactly that digest in quarantine;
3. ``promote(scanned)`` runs only on a ``pass`` verdict for that same digest.

A stage that raises a ``GateError`` stops the chain: nothing after it runs, so nothing is promoted
(``stage_failed`` names it, the exit code is the error's). A scan of a different digest than the
one mirrored, or a promotion of a different digest than the one scanned, is a failure too.
``combine`` turns the chain's result into ONE outcome: one JSON document, the outputs of every
stage, one step summary, every stage's messages and annotations.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from gate.errors import EXIT_OK, EXIT_POLICY, EXIT_RUNTIME, GateError
from gate.markdown import md_code, md_details, md_table, md_text
from gate.outcome import Annotation, Outcome, ignore

StageName = Literal["mirror", "scan", "promote"]
STAGES: tuple[StageName, ...] = ("mirror", "scan", "promote")
V = TypeVar("V")
V_co = TypeVar("V_co", covariant=True)

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
class Mirrored:
    """The mirror stage's result: the image's digest in quarantine and the stage's own outcome."""

    digest: str
    outcome: Outcome


@dataclass(frozen=True)
class Scanned(Generic[V]):
    """The scan stage's result: the digest scanned, the gate's verdict, and what promote needs (``value``)."""

    digest: str
    verdict: str
    value: V
    outcome: Outcome


@dataclass(frozen=True)
class Promoted:
    """The promote stage's result: whether the image reached production, at which digest."""

    promoted: bool
    digest: str
    outcome: Outcome


class Stages(Protocol[V]):
    def mirror(self) -> Mirrored: ...

    def scan(self, digest: str) -> Scanned[V]: ...

    def promote(self, scanned: Scanned[V]) -> Promoted: ...


@dataclass(frozen=True)
class StageFailure:
    """Why the chain stopped: the stage, its error's message (``diagnostics()``) and exit code."""

    stage: StageName
    message: str
    exit_code: int

    def to_json(self) -> dict[str, Any]:
        return {"stage": self.stage, "message": self.message, "exit_code": self.exit_code}


@dataclass(frozen=True)
class PipelineResult:
    """What the chain did. ``None`` for a stage that did not run."""

    mirror: Outcome | None = None
    scan: Outcome | None = None
    promote: Outcome | None = None
    digest: str | None = None
    verdict: str | None = None
    promoted: bool = False
    failure: StageFailure | None = None
    messages: tuple[str, ...] = field(default=())

    @property
    def stage_failed(self) -> StageName | None:
        return self.failure.stage if self.failure else None

    @property
    def exit_code(self) -> int:
        """0 promoted, 1 blocked, else the failing stage's code (2 bad input, 3 runtime failure)."""
        if self.failure is not None:
            return self.failure.exit_code
        return EXIT_OK if self.promoted else EXIT_POLICY


def run_pipeline(stages: Stages[V], log: Callable[[str], None] = ignore) -> PipelineResult:
    """Run the stages in order; stop at the first error, a failed verdict, or a digest that changed."""
    try:
        mirrored = stages.mirror()
    except GateError as exc:
        return _failed(PipelineResult(), "mirror", exc, log)
    result = PipelineResult(mirror=mirrored.outcome, digest=mirrored.digest)
    try:
        scanned = stages.scan(mirrored.digest)
    except GateError as exc:
        return _failed(result, "scan", exc, log)
    result = _with(result, scan=scanned.outcome, verdict=scanned.verdict)
    if scanned.digest != mirrored.digest:
        return _failed(
            result,
            "scan",
            _Mismatch(f"the scan read {scanned.digest}, not the mirrored {mirrored.digest}; nothing promoted"),
            log,
        )
    if scanned.verdict != "pass":
        log(f"pipeline: verdict {scanned.verdict}: {mirrored.digest} stays in quarantine, nothing promoted")
        return _with(result, messages=(f"pipeline: BLOCKED: {mirrored.digest} stays in quarantine",))
    try:
        promoted = stages.promote(scanned)
    except GateError as exc:
        return _failed(result, "promote", exc, log)
    result = _with(result, promote=promoted.outcome)
    if promoted.digest != scanned.digest:
        return _failed(
            result,
            "promote",
            _Mismatch(f"promote wrote {promoted.digest}, not the scanned {scanned.digest}"),
            log,
        )
    if not promoted.promoted:
        return _failed(result, "promote", _Mismatch("promote did not promote a passing image"), log)
    return _with(result, promoted=True, messages=(f"pipeline: PROMOTED {scanned.digest}",))


class _Mismatch(GateError):
    exit_code = EXIT_RUNTIME


def _with(result: PipelineResult, **changes: Any) -> PipelineResult:
    values = {name: getattr(result, name) for name in PipelineResult.__dataclass_fields__}
    values.update(changes)
    return PipelineResult(**values)


def _failed(result: PipelineResult, stage: StageName, error: GateError, log: Callable[[str], None]) -> PipelineResult:
    failure = StageFailure(stage, error.diagnostics(), error.exit_code)
    log(f"pipeline: stage {stage} failed (exit {failure.exit_code}); nothing promoted")
    return _with(
        result,
        promoted=False,
        failure=failure,
        messages=(f"pipeline: FAILED at {stage}: {failure.message}",),
    )


# --- one outcome of all stages -----------------------------------------------------------------


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
