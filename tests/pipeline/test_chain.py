"""The stage chaining of ``gate.pipeline.chain`` (pure: stages are given).

The real stages run end to end in tests/commands/test_pipeline.py; here the stages are small recorders,
so every branch of the chain (each stage failing, a failed verdict, a digest that changed) is covered.
"""

from __future__ import annotations

import pytest

from gate.errors import GateError, InputError, RuntimeFailure
from gate.pipeline.chain import Scanned, run_pipeline
from tests.pipeline.recorder import DIGEST, OTHER, Recorder


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
