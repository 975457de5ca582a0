"""The chain of the pipeline: mirror -> scan -> gate -> promote, failing closed at every stage.

This module only chains stages; it does no I/O. The stages are given as a ``Stages`` object
(``gate.pipeline.stages`` supplies the real ones):

1. ``mirror()`` copies the source into quarantine and returns the quarantine digest;
2. ``scan(digest)`` scans and gates exactly that digest in quarantine;
3. ``promote(scanned)`` runs only on a ``pass`` verdict for that same digest.

A stage that raises a ``GateError`` stops the chain: nothing after it runs, so nothing is promoted
(``stage_failed`` names it, the exit code is the error's). A scan of a different digest than the
one mirrored, or a promotion of a different digest than the one scanned, is a failure too.
``gate.pipeline.summary.combine`` turns the chain's result into ONE outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from gate.errors import EXIT_OK, EXIT_POLICY, EXIT_RUNTIME, GateError
from gate.outcome import Outcome, ignore

StageName = Literal["mirror", "scan", "promote"]
STAGES: tuple[StageName, ...] = ("mirror", "scan", "promote")
V = TypeVar("V")
V_co = TypeVar("V_co", covariant=True)


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
