"""``python -m gate scan``: exit codes, the JSON contract, action inputs/outputs, the summary with hostile scanned
text; and ``evaluate --vex``. Images live in real registries; the scanner is the offline OSV matcher."""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from gate.commands import evaluate as evaluate_command
from gate.commands import scan as command
from gate.config import ActionInputs
from gate.errors import InputError
from gate.outcome import Context
from tests.commands.summary_checks import assert_tables_keep_their_columns
from tests.policy.sarif_samples import sarif_log, trivy_result, trivy_rule, write
from tests.support.images import attach_sbom, build_image, cyclonedx_sbom, openvex_document
from tests.support.registries import Registry

ROOT = Path(__file__).resolve().parents[2]
OSV_DB = str(ROOT / "tests" / "data" / "osv" / "records")
HIGH = "CVE-2021-23337"
DOCUMENT_KEYS = (
    "verdict", "threshold", "severity_source", "counts", "blocking", "excepted", "expired_exceptions",
    "stale_exceptions", "platforms", "image", "digest", "scanner", "predicate_type", "sarif_file", "suppressed",
    "unchecked_components",
)  # fmt: skip
HOSTILE = "<img src=x onerror=alert(1)>|::error::pwned`x`"


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "IMAGE_GATE_"))}
    environ["PYTHONPATH"] = str(ROOT)
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "gate", *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=300
    )


def _namespace(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser.parse_args(argv)


@pytest.fixture
def image(distribution_registry: Registry, unique_repo: str) -> str:
    """A two-platform image with a DSSE CycloneDX SBOM referrer per platform (lodash 4.17.20: CVE-2021-23337)."""
    built = build_image(distribution_registry, unique_repo)
    for digest in built.children.values():
        attach_sbom(distribution_registry, unique_repo, digest)
    return built.ref


def _rendered_text(markdown: str) -> str:
    """The text a reader sees once the summary is rendered (CommonMark + tables), tags dropped."""
    rendered = MarkdownIt("commonmark").enable("table").render(markdown)
    return html.unescape(re.sub(r"<[^>]+>", "", rendered))


def _vex_file(tmp_path: Path, product: str = "pkg:npm/lodash@4.17.20", **fields: str) -> Path:
    document = openvex_document(product, HIGH)
    document["statements"][0].update(fields)
    path = tmp_path / "vex.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_cli_exit_codes_json_and_default_sarif_in_the_working_directory(image: str, tmp_path: Path) -> None:
    failing = _cli("scan", image, "--scanner", "osv", "--osv-db", OSV_DB, "--json", cwd=tmp_path)
    assert failing.returncode == 1, failing.stderr
    document = json.loads(failing.stdout)
    for key in DOCUMENT_KEYS:
        assert key in document, key
    assert document["verdict"] == "fail" and document["image"] == image
    assert document["sarif_file"] == "image-gate.sarif" and (tmp_path / "image-gate.sarif").is_file()
    assert document["scanner"]["name"] == "osv" and document["predicate_type"] == "auto"
    for row in document["platforms"]:
        assert {"platform", "digest", "sbom", "findings", "blocking", "blocking_ids"} <= set(row)
        assert (
            row["sbom_attestation"].startswith("sha256:") and row["sbom_predicate_type"] == "https://cyclonedx.org/bom"
        )
    assert "scan: FAIL" in failing.stderr

    vex = _vex_file(tmp_path)
    out = tmp_path / "reports" / "scan.sarif"
    passing = _cli(
        "scan", image, "--scanner", "osv", "--osv-db", OSV_DB, "--vex", str(vex), "--sarif-output", str(out),
        "--json", cwd=tmp_path,
    )  # fmt: skip
    assert passing.returncode == 0, passing.stderr
    passed = json.loads(passing.stdout)
    assert passed["verdict"] == "pass" and out.is_file()
    assert {(s["id"], s["status"], s["justification"]) for s in passed["suppressed"]} == {
        (HIGH, "not_affected", "vulnerable_code_not_present")
    }
    # Measured: --no-vex silently dropped the --vex files too. Both at once contradict each other: exit 2.
    both = _cli("scan", image, "--scanner", "osv", "--osv-db", OSV_DB, "--vex", str(vex), "--no-vex", cwd=tmp_path)
    assert both.returncode == 2, both.stderr
    assert "--no-vex (input vex: false) and --vex (input vex_files: " in both.stderr
    none = _cli("scan", image, "--scanner", "osv", "--osv-db", OSV_DB, "--no-vex", "--json", cwd=tmp_path)
    assert none.returncode == 1, none.stderr
    assert "VEX disabled (--no-vex)" in " ".join(json.loads(none.stdout)["scan_notes"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["127.0.0.1:5/a/b", "--sbom-predicate-type", "not a uri"], "sbom_predicate_type"),
        (["127.0.0.1:5/a/b", "--scanner", "osv"], "osv-db"),
        (["127.0.0.1:5/a/b", "--severity-threshold", "severe"], "--severity-threshold"),
        (["127.0.0.1:5/a/b", "--platform", "linux"], "platforms"),
        (["127.0.0.1:5/a/b", "--vex", "no-such-vex.json"], "no-such-vex.json"),
        (["127.0.0.1:5/a/b", "--exceptions", "no-such-exceptions.yml"], "no-such-exceptions.yml"),
        (["oci:no-such-layout"], "not an OCI image layout"),
        (["oci:layout", "--source-username", "u", "--source-password", "p"], "image layout, not a registry"),
        (["127.0.0.1:5/a/b", "--source-username", "u"], "both source_username and source_password"),
        (["UPPER/Case"], "UPPER/Case"),
    ],
)
def test_bad_input_exits_2_without_traceback(tmp_path: Path, args: list[str], message: str) -> None:
    completed = _cli("scan", *args, "--json", cwd=tmp_path)
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr
    error = json.loads(completed.stdout)["error"]
    assert error["command"] == "scan" and message in error["message"]


def test_unreachable_registry_exits_3(tmp_path: Path) -> None:
    completed = _cli("scan", "127.0.0.1:1/nobody/here:latest", "--scanner", "osv", "--osv-db", OSV_DB, cwd=tmp_path)
    assert completed.returncode == 3, completed.stderr
    assert "Traceback" not in completed.stderr


def test_missing_trivy_is_a_runtime_failure_naming_it(image: str, tmp_path: Path) -> None:
    nothing = tmp_path / "empty-path"
    nothing.mkdir()
    completed = _cli("scan", image, "--json", cwd=tmp_path, env={"PATH": str(nothing)})  # no trivy anywhere
    assert completed.returncode == 3, completed.stderr
    assert "trivy" in json.loads(completed.stdout)["error"]["message"]


def test_action_inputs_outputs_and_summary(image: str, tmp_path: Path) -> None:
    sarif = tmp_path / "out" / "scan.sarif"
    env = {
        "INPUT_SOURCE": image,
        "INPUT_SCANNER": "osv",
        "INPUT_OSV_DB": OSV_DB,
        "INPUT_SARIF_OUTPUT": str(sarif),
        "INPUT_VEX_FILES": str(_vex_file(tmp_path)),
        "INPUT_PLATFORMS": "linux/arm64",
    }
    config = command.config_from_inputs(ActionInputs(env))
    assert (config.image, config.scanner, config.sbom_predicate_type, config.use_vex) == (
        image,
        "osv",
        "auto",
        True,
    )
    assert config.platforms == ("linux/arm64",) and config.severity_threshold == "high"
    outcome = command.run(config, Context())
    assert outcome.exit_code == 0
    assert set(outcome.outputs) == {
        "verdict", "blocking_count", "counts", "blocking_ids", "sarif_file", "digest", "attestations_verified"
    }  # fmt: skip
    assert outcome.outputs["attestations_verified"] == "false"
    assert outcome.outputs["verdict"] == "pass" and outcome.outputs["sarif_file"] == str(sarif)
    assert outcome.outputs["digest"] == outcome.document["digest"]
    assert json.loads(outcome.outputs["counts"])["high"] == 1
    assert outcome.summary.startswith("## image-gate scan: ✅ **PASS**")
    text = _rendered_text(outcome.summary)
    assert "Suppressed (VEX or SARIF) (1)" in text and "vulnerable_code_not_present" in text

    with pytest.raises(InputError, match=r"--no-vex \(input vex: false\) and --vex \(input vex_files: "):
        command.run(command.config_from_inputs(ActionInputs({**env, "INPUT_VEX": "false"})), Context())
    without_files = {k: v for k, v in env.items() if k != "INPUT_VEX_FILES"}
    off = command.run(command.config_from_inputs(ActionInputs({**without_files, "INPUT_VEX": "false"})), Context())
    assert off.exit_code == 1 and off.outputs["blocking_ids"] == HIGH
    assert off.annotations and HIGH in off.annotations[0].message
    with pytest.raises(InputError, match="input source"):
        command.config_from_inputs(ActionInputs({}))
    with pytest.raises(InputError, match="osv_db"):
        command.config_from_inputs(ActionInputs({"INPUT_SOURCE": image, "INPUT_SCANNER": "osv"}))
    with pytest.raises(InputError, match="scanner"):
        command.config_from_inputs(ActionInputs({"INPUT_SOURCE": image, "INPUT_SCANNER": "grype"}))


def test_hostile_scanned_text_is_escaped(distribution_registry: Registry, unique_repo: str, tmp_path: Path) -> None:
    built = build_image(distribution_registry, unique_repo, platforms=("linux/amd64",))
    sbom = cyclonedx_sbom()
    sbom["components"].append({"type": "library", "name": HOSTILE, "version": HOSTILE})
    attach_sbom(distribution_registry, unique_repo, built.child("linux/amd64"), sbom=sbom)
    vex = _vex_file(tmp_path, justification=HOSTILE, impact_statement=HOSTILE)
    argv = [built.ref, "--scanner", "osv", "--osv-db", OSV_DB, "--vex", str(vex), "--sarif-output", str(tmp_path / "s")]
    outcome = command.run(command.config_from_args(_namespace(argv)), Context())
    assert outcome.exit_code == 0
    document: dict[str, Any] = dict(outcome.document)
    assert HOSTILE in {c["name"] for c in document["unchecked_components"]}  # the JSON keeps the data as it is
    summary = outcome.summary
    assert "<img" not in summary and "<img" not in MarkdownIt("commonmark").enable("table").render(summary)
    assert HOSTILE in _rendered_text(summary)  # shown as text, in the unchecked list and the VEX justification
    for line in summary.splitlines():
        assert not line.lstrip().startswith("::")
    assert_tables_keep_their_columns(summary)


def test_evaluate_applies_vex_files(tmp_path: Path) -> None:
    digest = "sha256:" + "ab" * 32
    rules = [trivy_rule("CVE-2024-0001", "CRITICAL", "9.8")]
    results = [trivy_result(0, "CVE-2024-0001", "CRITICAL", "openssl")]
    log = write(tmp_path, sarif_log(rules, results, properties={"platform": "linux/amd64", "digest": digest}))
    vex = tmp_path / "vex.json"
    vex.write_text(json.dumps(openvex_document(f"registry.example/app@{digest}", "CVE-2024-0001", status="fixed")))

    def run(*argv: str) -> Any:
        parser = argparse.ArgumentParser()
        evaluate_command.add_arguments(parser)
        config = evaluate_command.config_from_args(parser.parse_args([str(log), *argv]))
        return evaluate_command.run(config, Context())

    passed = run("--vex", str(vex))
    assert passed.exit_code == 0
    (entry,) = passed.document["suppressed"]
    assert (entry["id"], entry["status"], entry["source"], entry["sarif_source"]) == (
        "CVE-2024-0001", "fixed", str(vex), str(log),
    )  # fmt: skip
    with pytest.raises(InputError, match=r"--no-vex \(input vex: false\) and --vex \(input vex_files: "):
        run("--vex", str(vex), "--no-vex")
    assert run("--no-vex").exit_code == 1
    assert run().exit_code == 1
    inputs = {"INPUT_SARIF_FILE": str(log), "INPUT_VEX_FILES": str(vex)}
    assert evaluate_command.run(evaluate_command.config_from_inputs(ActionInputs(inputs)), Context()).exit_code == 0
    other = tmp_path / "other.json"
    other.write_text(json.dumps(openvex_document("sha256:" + "cd" * 32, "CVE-2024-0001")))
    assert run("--vex", str(other)).exit_code == 1  # a statement about another image does not apply
