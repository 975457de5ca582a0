"""The one outcome ``gate.pipeline.summary.combine`` makes of every stage: document, outputs, messages,
annotations and the one step summary."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gate.errors import RuntimeFailure
from gate.pipeline.chain import run_pipeline
from gate.pipeline.summary import OUTPUT_NAMES, Names, combine, summary
from tests.pipeline.recorder import DIGEST, Recorder

NAMES = Names("src.example/app:1", "reg.example/quarantine/app:1", "reg.example/production/app:1")


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
