"""Report-only mode (``--no-enforce`` / input ``enforce: false``) in every command that gates: a blocking verdict
exits 0 with warning annotations instead of errors; the verdict, outputs, SARIF and summary stay as enforced, the
summary's first line says the gate was not enforced and the JSON ``enforced: false``; bad input still exits 2 and
a runtime failure 3; a blocked image is never promoted. Real registries, the offline OSV scanner, the CLI as a
runner runs it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from gate.commands import evaluate, pipeline, promote, scan
from gate.config import ActionInputs
from gate.errors import InputError
from gate.outcome import Context, Outcome
from gate.policy.outcome import NOT_ENFORCED
from tests.policy.sarif_samples import sarif_log, trivy_result, trivy_rule, write
from tests.support.client import RegistryClient
from tests.support.images import attach_sbom, build_image
from tests.support.registries import Registry
from tests.support.runner import read_outputs, run_on_runner

ROOT = Path(__file__).resolve().parents[2]
OSV_DB = str(ROOT / "tests" / "data" / "osv" / "records")
HIGH = "CVE-2021-23337"  # lodash 4.17.20 in the support SBOM: blocks at the default threshold


def run_cli(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], dict[str, str], str]:
    """``python -m gate ARGS --json`` as on a runner: (process, document, outputs, step summary)."""
    completed, document, outputs, summary = run_on_runner(*args, cwd=cwd)
    return completed, document, read_outputs(outputs), summary


def workflow_commands(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("::") and not line.startswith("::add-mask")]


def blocking_sarif(tmp_path: Path) -> Path:
    rules = [trivy_rule("CVE-2024-0001", "CRITICAL", "9.8", "openssl")]
    results = [trivy_result(0, "CVE-2024-0001", "CRITICAL", "openssl")]
    return write(tmp_path, sarif_log(rules, results, properties={"platform": "linux/amd64"}), "scan.sarif")


def without_enforced(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "enforced"}


@pytest.fixture
def vulnerable(distribution_registry: Registry, unique_repo: str) -> str:
    """Two platforms, each with a CycloneDX SBOM referrer holding lodash 4.17.20 (CVE-2021-23337, high)."""
    built = build_image(distribution_registry, f"{unique_repo}/quarantine", "1.0")
    for digest in built.children.values():
        attach_sbom(distribution_registry, f"{unique_repo}/quarantine", digest)
    return built.ref


# --- evaluate -------------------------------------------------------------------------------------


def test_evaluate_reports_a_failing_verdict_with_warnings_and_exits_0(tmp_path: Path) -> None:
    sarif = blocking_sarif(tmp_path)
    (tmp_path / "enforced").mkdir(), (tmp_path / "report").mkdir()
    enforced, enforced_doc, enforced_outputs, enforced_summary = run_cli(
        "evaluate", str(sarif), cwd=tmp_path / "enforced"
    )
    report, report_doc, report_outputs, report_summary = run_cli(
        "evaluate", str(sarif), "--no-enforce", cwd=tmp_path / "report"
    )

    assert enforced.returncode == 1 and report.returncode == 0, report.stderr
    assert enforced_doc["enforced"] is True and report_doc["enforced"] is False
    assert without_enforced(report_doc) == without_enforced(enforced_doc)  # the verdict as enforced: fail
    assert report_doc["verdict"] == "fail" and report_doc["blocking"][0]["id"] == "CVE-2024-0001"
    assert report_outputs == enforced_outputs and report_outputs["verdict"] == "fail"

    assert [line.split(" ", 1)[0] for line in workflow_commands(enforced.stderr)] == ["::error"]
    [warning] = workflow_commands(report.stderr)
    assert warning.startswith("::warning title=image-gate%3A CVE-2024-0001 (critical) (not enforced)::")
    assert "Blocking critical finding CVE-2024-0001 in package openssl" in warning

    first, _, rest = report_summary.partition("\n")
    assert first == NOT_ENFORCED and "not enforced" in first
    assert rest.lstrip("\n") == enforced_summary  # the rest of the summary as enforced
    assert "report only (--no-enforce): the gate blocks, but it is not enforced: exit 0" in report.stderr


def test_a_pass_is_a_pass_and_still_says_it_was_not_enforced(tmp_path: Path) -> None:
    rules = [trivy_rule("CVE-2024-0002", "LOW", "2.0", "zlib")]
    sarif = write(tmp_path, sarif_log(rules, [trivy_result(0, "CVE-2024-0002", "LOW", "zlib")]), "low.sarif")
    config = evaluate.config_from_inputs(ActionInputs({"INPUT_SARIF_FILE": str(sarif), "INPUT_ENFORCE": "false"}))
    assert config.enforce is False
    outcome = evaluate.run(config, Context())
    assert outcome.exit_code == 0 and outcome.document["verdict"] == "pass" and outcome.document["enforced"] is False
    assert outcome.summary.startswith(NOT_ENFORCED) and outcome.annotations == ()
    enforced = evaluate.run(evaluate.config_from_inputs(ActionInputs({"INPUT_SARIF_FILE": str(sarif)})), Context())
    assert enforced.document["enforced"] is True and not enforced.summary.startswith(NOT_ENFORCED)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no-such.sarif"), ('{"version": "2.1.0", "runs": [{"tool": {}}]}', "$.runs[0].tool")],
)
def test_bad_input_still_exits_2(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "no-such.sarif"
    if content is not None:
        path.write_text(content)
    completed, document, _, _ = run_cli("evaluate", str(path), "--no-enforce", cwd=tmp_path)
    assert completed.returncode == 2, completed.stderr
    assert message in document["error"]["message"] and "Traceback" not in completed.stderr
    assert workflow_commands(completed.stderr)[0].startswith("::error ")
    with pytest.raises(InputError, match="input enforce"):
        evaluate.config_from_inputs(ActionInputs({"INPUT_SARIF_FILE": str(path), "INPUT_ENFORCE": "maybe"}))


# --- scan ---------------------------------------------------------------------------------------


def test_scan_writes_the_same_sarif_and_outputs_and_exits_0(vulnerable: str, tmp_path: Path) -> None:
    (tmp_path / "enforced").mkdir(), (tmp_path / "report").mkdir()
    common = ("scan", vulnerable, "--scanner", "osv", "--osv-db", OSV_DB)
    enforced, enforced_doc, enforced_outputs, enforced_summary = run_cli(*common, cwd=tmp_path / "enforced")
    report, report_doc, report_outputs, report_summary = run_cli(*common, "--no-enforce", cwd=tmp_path / "report")

    assert enforced.returncode == 1 and report.returncode == 0, report.stderr
    assert report_doc["verdict"] == "fail" and report_doc["enforced"] is False and enforced_doc["enforced"] is True
    assert [b["id"] for b in report_doc["blocking"]] == [b["id"] for b in enforced_doc["blocking"]] == [HIGH, HIGH]
    sarif = "image-gate.sarif"
    assert (tmp_path / "report" / sarif).read_bytes() == (tmp_path / "enforced" / sarif).read_bytes()
    assert report_outputs == enforced_outputs
    assert report_outputs["verdict"] == "fail" and report_outputs["blocking_ids"] == HIGH
    commands = workflow_commands(report.stderr)
    assert commands and all(c.startswith("::warning title=image-gate%3A ") for c in commands)
    assert all("(not enforced)::" in c for c in commands)
    assert len(commands) == len(workflow_commands(enforced.stderr))
    assert report_summary.startswith(NOT_ENFORCED + "\n\n## image-gate scan: ❌ **FAIL**")
    assert report_summary.endswith(enforced_summary)


def test_scan_bad_input_and_runtime_failure_still_fail(tmp_path: Path) -> None:
    bad, document, _, _ = run_cli("scan", "UPPER/Case", "--no-enforce", cwd=tmp_path)
    assert bad.returncode == 2 and "UPPER/Case" in document["error"]["message"]
    gone, document, _, _ = run_cli(
        "scan", "127.0.0.1:1/nobody/here:1", "--scanner", "osv", "--osv-db", OSV_DB, "--no-enforce", cwd=tmp_path
    )
    assert gone.returncode == 3, gone.stderr
    assert document["error"]["exit_code"] == 3 and "Traceback" not in gone.stderr
    assert workflow_commands(gone.stderr)[0].startswith("::error ")


# --- pipeline and promote: report only never promotes what blocks ----------------------------------


def test_pipeline_reports_a_blocked_image_keeps_it_in_quarantine_and_exits_0(
    distribution_registry: Registry, unique_repo: str, tmp_path: Path
) -> None:
    registry = distribution_registry
    built = build_image(registry, f"{unique_repo}/upstream", "1.0")
    for digest in built.children.values():
        attach_sbom(registry, f"{unique_repo}/upstream", digest)
    config = pipeline.config_from_inputs(
        ActionInputs(
            {
                "INPUT_SOURCE": built.ref,
                "INPUT_QUARANTINE": registry.ref(f"{unique_repo}/quarantine"),
                "INPUT_PRODUCTION": registry.ref(f"{unique_repo}/production"),
                "INPUT_SCANNER": "osv",
                "INPUT_OSV_DB": OSV_DB,
                "INPUT_SARIF_OUTPUT": str(tmp_path / "pipeline.sarif"),
                "INPUT_ENFORCE": "false",
            }
        )
    )
    outcome = pipeline.run(config, Context())
    assert outcome.exit_code == 0
    document = outcome.document
    assert document["verdict"] == "fail" and document["promoted"] is False and document["enforced"] is False
    assert document["stage_failed"] is None and document["promote"] is None
    assert document["scan"]["enforced"] is False
    assert outcome.outputs["promoted"] == "false" and outcome.outputs["verdict"] == "fail"
    assert RegistryClient(registry).tags(f"{unique_repo}/production") == []
    assert outcome.summary.startswith(NOT_ENFORCED + "\n\n## image-gate pipeline: BLOCKED")
    assert outcome.summary.count(NOT_ENFORCED) == 1  # said once, at the top: not again in the scan's part
    assert sum("report only" in message for message in outcome.messages) == 1
    assert outcome.annotations and all(a.level == "warning" for a in outcome.annotations)
    assert any(HIGH in a.message for a in outcome.annotations)


def test_pipeline_runtime_failure_still_fails(tmp_path: Path) -> None:
    config = pipeline.config_from_inputs(
        ActionInputs(
            {
                "INPUT_SOURCE": "127.0.0.1:1/nobody/here:1",
                "INPUT_QUARANTINE": "127.0.0.1:1/nobody/quarantine",
                "INPUT_PRODUCTION": "127.0.0.1:1/nobody/production",
                "INPUT_SCANNER": "osv",
                "INPUT_OSV_DB": OSV_DB,
                "INPUT_SARIF_OUTPUT": str(tmp_path / "pipeline.sarif"),
                "INPUT_ENFORCE": "false",
            }
        )
    )
    outcome: Outcome = pipeline.run(config, Context())
    assert outcome.exit_code == 3 and outcome.document["stage_failed"] == "mirror"
    assert any(a.level == "error" for a in outcome.annotations)


def test_promote_of_its_own_failing_scan_refuses_with_exit_0(
    distribution_registry: Registry, unique_repo: str, vulnerable: str, tmp_path: Path
) -> None:
    production = distribution_registry.ref(f"{unique_repo}/production")
    argv = (vulnerable, production, "--scanner", "osv", "--osv-db", OSV_DB, "--sarif-output", str(tmp_path / "s"))
    completed, document, outputs, summary = run_cli("promote", *argv, "--no-enforce", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert document["promoted"] is False and "'fail'" in document["refused"] and document["enforced"] is False
    assert outputs["promoted"] == "false"
    assert RegistryClient(distribution_registry).tags(f"{unique_repo}/production") == []
    assert summary.startswith(NOT_ENFORCED)
    assert all(c.startswith("::warning ") for c in workflow_commands(completed.stderr))


def test_promote_refuses_no_enforce_with_a_verdict_file(tmp_path: Path) -> None:
    verdict = tmp_path / "verdict.json"
    verdict.write_text('{"verdict": "fail", "digest": null}')
    completed, document, _, _ = run_cli(
        "promote", "127.0.0.1:1/a/q:1", "127.0.0.1:1/a/p", "--verdict", str(verdict), "--no-enforce", cwd=tmp_path
    )
    assert completed.returncode == 2, completed.stderr
    assert "--no-enforce" in document["error"]["message"] and "--verdict" in document["error"]["message"]
    with pytest.raises(InputError, match="input enforce: false"):
        promote.config_from_inputs(
            ActionInputs(
                {
                    "INPUT_SOURCE": "127.0.0.1:1/a/q:1",
                    "INPUT_DESTINATION": "127.0.0.1:1/a/p",
                    "INPUT_VERDICT_FILE": str(verdict),
                    "INPUT_ENFORCE": "false",
                }
            )
        )


def test_every_gating_command_reads_enforce() -> None:
    for command in (evaluate, scan, promote, pipeline):
        assert "enforce" in {option.field for option in command.OPTIONS.options}, command.NAME
