"""The stage chaining of ``gate.pipeline`` (pure: stages are given), and the one outcome it combines.

The real stages run end to end in tests/commands/test_pipeline.py; here the stages are small recorders,
so every branch of the chain (each stage failing, a failed verdict, a digest that changed) is covered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.errors import GateError, InputError, RuntimeFailure
from gate.outcome import Annotation, Outcome
from gate.pipeline import (
    OUTPUT_NAMES,
    Mirrored,
    Names,
    Promoted,
    Scanned,
    combine,
    run_pipeline,
    summary,
)

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64
NAMES = Names("src.example/app:1", "reg.example/quarantine/app:1", "reg.example/production/app:1")


@dataclass
class Recorder:
    """Stages that record their calls; ``fail`` names a stage that raises ``error``."""

    fail: str | None = None
    error: GateError = field(default_factory=lambda: RuntimeFailure("boom"))
    verdict: str = "pass"
    scanned_digest: str = DIGEST
    promoted_digest: str = DIGEST
    promoted: bool = True
    calls: list[str] = field(default_factory=list)

    def _maybe_fail(self, stage: str) -> None:
        self.calls.append(stage)
        if self.fail == stage:
            raise self.error

    def mirror(self) -> Mirrored:
        self._maybe_fail("mirror")
        outputs = {"digest": DIGEST, "referrers_copied": "5", "up_to_date": "false"}
        return Mirrored(DIGEST, Outcome(0, {"digest": DIGEST}, outputs, "### image-gate mirror: copied\n", ("m",)))

    def scan(self, digest: str) -> Scanned[str]:
        self._maybe_fail("scan")
        assert digest == DIGEST
        outputs = {"verdict": self.verdict, "blocking_count": "0" if self.verdict == "pass" else "1"}
        outcome = Outcome(
            0 if self.verdict == "pass" else 1,
            {"digest": self.scanned_digest, "verdict": self.verdict},
            {**outputs, "blocking_ids": "" if self.verdict == "pass" else "CVE-1", "sarif_file": "x.sarif"},
            "### image-gate scan: verdict\n#### Blocking findings\n",
            ("s",),
            (Annotation("error", "CVE-1 blocks"),) if self.verdict != "pass" else (),
        )
        return Scanned(self.scanned_digest, self.verdict, "the verdict document", outcome)

    def promote(self, scanned: Scanned[str]) -> Promoted:
        self._maybe_fail("promote")
        assert scanned.value == "the verdict document"
        outputs = {"promoted": "true", "report_digest": OTHER, "source_tag_deleted": "true"}
        return Promoted(self.promoted, self.promoted_digest, Outcome(0, {"promoted": True}, outputs, "### p\n"))


def test_a_pass_runs_every_stage_in_order_and_promotes() -> None:
    stages = Recorder()
    result = run_pipeline(stages)
    assert stages.calls == ["mirror", "scan", "promote"]
    assert result.promoted and result.exit_code == 0 and result.stage_failed is None
    assert result.digest == DIGEST and result.verdict == "pass"


def test_a_failed_verdict_never_calls_promote() -> None:
    stages = Recorder(verdict="fail")
    result = run_pipeline(stages)
    assert stages.calls == ["mirror", "scan"]
    assert not result.promoted and result.exit_code == 1 and result.stage_failed is None
    assert result.promote is None


@pytest.mark.parametrize("stage", ["mirror", "scan", "promote"])
@pytest.mark.parametrize(("error", "code"), [(InputError("bad"), 2), (RuntimeFailure("down"), 3)])
def test_a_stage_error_stops_the_chain(stage: str, error: GateError, code: int) -> None:
    stages = Recorder(fail=stage, error=error)
    result = run_pipeline(stages)
    assert stages.calls == ["mirror", "scan", "promote"][: ["mirror", "scan", "promote"].index(stage) + 1]
    assert result.stage_failed == stage and result.exit_code == code and not result.promoted
    assert result.failure is not None and result.failure.message == error.diagnostics()


def test_an_error_that_is_not_a_gate_error_propagates() -> None:
    class Broken(Recorder):
        def scan(self, digest: str) -> Scanned[str]:
            raise ValueError("a bug")

    with pytest.raises(ValueError):
        run_pipeline(Broken())


def test_a_scan_of_another_digest_fails_closed() -> None:
    stages = Recorder(scanned_digest=OTHER)
    result = run_pipeline(stages)
    assert stages.calls == ["mirror", "scan"]
    assert result.stage_failed == "scan" and result.exit_code == 3 and not result.promoted


@pytest.mark.parametrize("change", [{"promoted_digest": OTHER}, {"promoted": False}])
def test_a_promotion_of_another_digest_or_none_is_a_failure(change: dict[str, object]) -> None:
    result = run_pipeline(Recorder(**change))  # type: ignore[arg-type]
    assert result.stage_failed == "promote" and not result.promoted and result.exit_code == 3


def test_combine_one_document_every_output_and_stage_messages() -> None:
    outcome = combine(run_pipeline(Recorder(verdict="fail")), NAMES)
    document = outcome.document
    assert document["mirror"] == {"digest": DIGEST} and document["scan"]["verdict"] == "fail"
    assert document["promote"] is None and document["promoted"] is False and document["stage_failed"] is None
    assert document["source"] == NAMES.source and document["production"] == NAMES.production
    assert set(OUTPUT_NAMES) <= set(outcome.outputs)
    assert outcome.outputs["promoted"] == "false" and outcome.outputs["verdict"] == "fail"
    assert outcome.outputs["source_tag_deleted"] == "false" and outcome.outputs["stage_failed"] == ""
    assert outcome.outputs["referrers_copied"] == "5" and outcome.outputs["blocking_ids"] == "CVE-1"
    assert outcome.messages[:2] == ("m", "s")
    assert [a.message for a in outcome.annotations] == ["CVE-1 blocks"]


def test_combine_a_failure_names_the_stage_in_the_document_outputs_and_an_annotation() -> None:
    outcome = combine(run_pipeline(Recorder(fail="promote")), NAMES)
    assert outcome.exit_code == 3
    assert outcome.document["error"] == {"stage": "promote", "message": "boom", "exit_code": 3}
    assert outcome.outputs["stage_failed"] == "promote" and outcome.outputs["promoted"] == "false"
    assert outcome.annotations[-1].level == "error" and "promote" in (outcome.annotations[-1].title or "")


def test_the_summary_has_one_top_heading_and_nests_every_stage() -> None:
    text = summary(run_pipeline(Recorder()), NAMES)
    assert text.startswith("## image-gate pipeline: PROMOTED")
    assert text.count("\n## ") == 0
    assert "#### image-gate scan: verdict" in text and "##### Blocking findings" in text
    assert "<details><summary>mirror" in text


def test_the_summary_of_a_blocked_run_says_the_image_stays_in_quarantine() -> None:
    text = summary(run_pipeline(Recorder(verdict="fail")), NAMES)
    assert "BLOCKED" in text and "stays in quarantine" in text and "not run" in text


@given(st.text(min_size=1, max_size=60))
def test_failure_messages_are_escaped_in_the_summary(message: str) -> None:
    text = summary(run_pipeline(Recorder(fail="scan", error=RuntimeFailure(message))), NAMES)
    row = next(line for line in text.splitlines() if line.startswith("| scan |"))
    assert "<" not in row.replace("<code>", "").replace("</code>", "")
    assert row.count("|") == 4  # the message cannot break out of its cell
