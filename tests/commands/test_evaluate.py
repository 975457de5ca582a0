"""``python -m gate evaluate``: exit codes, the JSON contract, outputs, summary, and hostile scanned text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gate.actions import format_annotation
from gate.commands import evaluate as command
from gate.config import ActionInputs
from gate.errors import InputError
from gate.outcome import Context
from tests.commands.summary_checks import assert_tables_keep_their_columns
from tests.policy.sarif_samples import real_world, sarif_log, trivy_result, trivy_rule, write
from tests.test_yamlsafe import alias_bomb

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = [
    "::error::pwned",
    "x%0A::warning::pwned",
    "<img src=x onerror=alert(1)>",
    "a|b|c",
    "line\n::set-output name=verdict::pass",
    "`code` **bold** [link](javascript:alert(1))",
]


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "gate", "evaluate", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _log(tmp_path: Path, critical: bool = True) -> Path:
    rules = [trivy_rule("CVE-2024-0001", "CRITICAL" if critical else "LOW", "9.8" if critical else "2.0")]
    results = [trivy_result(0, "CVE-2024-0001", "CRITICAL" if critical else "LOW", "openssl")]
    return write(tmp_path, sarif_log(rules, results, properties={"platform": "linux/amd64"}), "scan.sarif")


def test_exit_codes_and_json_contract(tmp_path: Path) -> None:
    failing = _cli(str(_log(tmp_path)), "--json")
    assert failing.returncode == 1, failing.stderr
    document = json.loads(failing.stdout)
    for key in ("verdict", "threshold", "severity_source", "counts", "blocking", "excepted", "expired_exceptions",
                "stale_exceptions", "platforms"):  # fmt: skip
        assert key in document
    assert document["verdict"] == "fail" and document["threshold"] == "high" and document["severity_source"] == "cvss"
    assert document["counts"] == {"critical": 1, "high": 0, "medium": 0, "low": 0, "none": 0}
    assert document["blocking"][0] | {} == document["blocking"][0]
    blocking = {
        k: document["blocking"][0][k] for k in ("id", "severity", "score", "package", "installed", "fixed", "platform")
    }
    assert blocking == {"id": "CVE-2024-0001", "severity": "critical", "score": 9.8, "package": "openssl",
                        "installed": "1.0", "fixed": "2.0", "platform": "linux/amd64"}  # fmt: skip
    platform = {
        k: document["platforms"][0][k] for k in ("platform", "digest", "sbom", "findings", "blocking", "blocking_ids")
    }
    assert platform == {"platform": "linux/amd64", "digest": None, "sbom": None, "findings": 1, "blocking": 1,
                        "blocking_ids": ["CVE-2024-0001"]}  # fmt: skip
    passing = _cli(
        str(_log(tmp_path / "p" if (tmp_path / "p").mkdir() is None else tmp_path, critical=False)), "--json"
    )
    assert passing.returncode == 0 and json.loads(passing.stdout)["verdict"] == "pass"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.sarif"], "missing.sarif: cannot read the SARIF file"),
        (["SCAN", "--severity-threshold", "severe"], "--severity-threshold: expected critical, high, medium, low"),
        (["SCAN", "--exceptions", "nope.yml"], "nope.yml: cannot read the exceptions file"),
        (["BAD"], "not valid SARIF 2.1.0"),
        (["EXC"], "exceptions[0]: 'reason' is a required property"),
    ],
)
def test_bad_input_exits_2_without_traceback(tmp_path: Path, args: list[str], message: str) -> None:
    scan = _log(tmp_path)
    bad = write(tmp_path, {"version": "2.1.0", "runs": [{"tool": {}}]}, "bad.sarif")
    exc = tmp_path / "exc.yml"
    exc.write_text("exceptions:\n  - id: CVE-2024-0001\n", encoding="utf-8")
    mapping = {"SCAN": str(scan), "BAD": str(bad), "EXC": str(scan)}
    argv = [mapping.get(a, a) for a in args]
    if args == ["EXC"]:
        argv += ["--exceptions", str(exc)]
    completed = _cli(*argv, "--json")
    assert completed.returncode == 2
    assert message in completed.stderr
    assert "Traceback" not in completed.stderr
    if completed.stdout:  # --json: the error as a document
        assert json.loads(completed.stdout)["error"]["exit_code"] == 2


def test_an_exceptions_alias_bomb_exits_2(tmp_path: Path) -> None:
    # Read as before: a MemoryError (exit 3) after a minute in the schema check.
    bomb = tmp_path / "exceptions.yml"
    head = "exceptions:\n  - id: CVE-2024-0001\n    reason: r"
    bomb.write_text(alias_bomb(head, "    ", use="packages: [*l8]"), encoding="utf-8")
    completed = _cli(str(_log(tmp_path)), "--exceptions", str(bomb), "--json")
    assert completed.returncode == 2, completed.stderr
    assert "aliases (*name) expand the YAML document" in json.loads(completed.stdout)["error"]["message"]


def test_real_world_files_together(tmp_path: Path) -> None:
    files = [
        real_world(n)
        for n in ("trivy-0.69-node-alpine.sarif", "grype-0.114-image.sarif", "trivy-0.50-with-secret.sarif")
    ]
    completed = _cli(*map(str, files), "--severity-threshold", "critical", "--json")
    assert completed.returncode == 1
    document = json.loads(completed.stdout)
    assert len(document["platforms"]) == 3
    assert sum(document["counts"].values()) == 36 + 156 + 7
    assert all(p["platform"] is None and p["sources"] for p in document["platforms"])


def _hostile_log(tmp_path: Path) -> Path:
    rules, results = [], []
    for i, text in enumerate(HOSTILE):
        vuln = f"CVE-2024-{1000 + i}"
        rules.append(trivy_rule(vuln, "CRITICAL", "9.8", package=text, title=text))
        results.append(trivy_result(i, vuln, "CRITICAL", package=text, installed=text, fixed=text))
    secret_rule = {
        "id": "::error::rule",
        "shortDescription": {"text": "<b>x</b>"},
        "properties": {"tags": ["secret", "CRITICAL"]},
    }
    rules.append(secret_rule)
    results.append({"ruleId": "::error::rule", "ruleIndex": len(rules) - 1, "message": {"text": "%0A::error::x"}})
    platform = "linux/amd64|<script>"
    return write(
        tmp_path, sarif_log(rules, results, properties={"platform": platform, "image": "::error::img"}), "hostile.sarif"
    )


def test_hostile_text_cannot_start_commands_break_tables_or_inject_html(tmp_path: Path) -> None:
    path = _hostile_log(tmp_path)
    config = command.config_from_args(_namespace([str(path)]))
    outcome = command.run(config, Context())
    assert outcome.exit_code == 1
    summary = outcome.summary
    assert "<img" not in summary and "<script" not in summary and "<b>" not in summary
    assert "[link](" not in summary and "](javascript" not in summary
    assert_tables_keep_their_columns(summary)
    rendered = [format_annotation(a) for a in outcome.annotations]
    assert len(rendered) == len(HOSTILE) + 1
    for line in rendered:
        assert "\n" not in line and "\r" not in line  # one line: nothing in it can start a command
        assert line.startswith("::error title=image-gate")
    # Run the CLI as on a runner: every stderr line that is a workflow command is one of ours.
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp_path / "out"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "sum"),
    }
    completed = _cli(str(path), env=env)
    assert completed.returncode == 1
    for line in completed.stderr.splitlines():
        if line.lstrip().startswith(("::", "##[")):
            assert line.startswith("::error title=image-gate"), line
    written = (tmp_path / "sum").read_text(encoding="utf-8")
    assert "<img" not in written and "<script" not in written
    outputs = (tmp_path / "out").read_text(encoding="utf-8")
    assert "verdict<<" in outputs and "\nfail\n" in outputs
    assert "set-output" not in outputs


def _namespace(argv: list[str]) -> Any:
    import argparse

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser.parse_args(argv)


def test_action_inputs_outputs_and_summary(tmp_path: Path) -> None:
    scan = _log(tmp_path)
    exceptions = tmp_path / ".trivyignore"
    exceptions.write_text("CVE-2024-0001 # accepted for now\nCVE-1999-0001\n", encoding="utf-8")
    env = {"INPUT_SARIF_FILE": f"{scan}\n", "INPUT_EXCEPTIONS_FILE": str(exceptions), "INPUT_SEVERITY_THRESHOLD": "9.0"}
    config = command.config_from_inputs(ActionInputs(env))
    assert config.sarif_files == (str(scan),) and config.severity_threshold == "9"
    outcome = command.run(config, Context())
    assert outcome.exit_code == 0
    assert outcome.outputs == {
        "verdict": "pass",
        "blocking_count": "0",
        "counts": '{"critical":1,"high":0,"medium":0,"low":0,"none":0}',
        "blocking_ids": "",
        "sarif_file": str(scan),
        "digest": "",
    }
    assert outcome.summary.startswith("## image-gate evaluate: ✅ **PASS**")
    assert "Excepted findings (1)" in outcome.summary and "Stale exceptions (matched no finding) (1)" in outcome.summary
    with pytest.raises(InputError, match="input sarif_file"):
        command.config_from_inputs(ActionInputs({}))
    two = command.config_from_inputs(ActionInputs({"INPUT_SARIF_FILE": f"{scan}, {scan}"}))
    assert two.sarif_files == (str(scan), str(scan))


def test_failing_outputs_list_blocking_ids_once(tmp_path: Path) -> None:
    config = command.config_from_args(_namespace([str(_log(tmp_path)), str(_log(tmp_path))]))
    outcome = command.run(config, Context())
    assert outcome.outputs["verdict"] == "fail"
    assert outcome.outputs["blocking_ids"] == "CVE-2024-0001"
    assert outcome.outputs["blocking_count"] == "1"  # the same finding twice on one platform counts once
    assert outcome.summary.index("FAIL") < outcome.summary.index("| platform |")


ROOT_DIGEST = "sha256:" + "a" * 64
OTHER_DIGEST = "sha256:" + "b" * 64


def _image_log(tmp_path: Path, name: str, platform: str, **properties: Any) -> Path:
    rules = [trivy_rule("CVE-2024-0001", "LOW", "2.0")]
    results = [trivy_result(0, "CVE-2024-0001", "LOW", "openssl")]
    props = {"platform": platform, "digest": "sha256:" + platform[-1] * 64, **properties}
    return write(tmp_path, sarif_log(rules, results, properties=props), name)


def _evaluate(*files: Path, image: str = "") -> Any:
    argv = [*map(str, files), *(["--image", image] if image else [])]
    return command.run(command.config_from_args(_namespace(argv)), Context())


def test_the_document_names_the_image_when_every_run_names_the_same_root_digest(tmp_path: Path) -> None:
    pinned = f"127.0.0.1:5000/q/app:v1@{ROOT_DIGEST}"
    amd = _image_log(tmp_path, "amd.sarif", "linux/amd64", image=pinned, imageName=pinned, imageDigest=ROOT_DIGEST)
    arm = _image_log(tmp_path, "arm.sarif", "linux/arm64", image=pinned, imageName=pinned, imageDigest=ROOT_DIGEST)
    outcome = _evaluate(amd, arm)
    assert outcome.exit_code == 0
    document = outcome.document
    assert document["image"] == "127.0.0.1:5000/q/app:v1" and document["digest"] == ROOT_DIGEST
    assert document["method"] == "sarif"
    assert document["scanner"] == {"name": "Trivy", "version": "0.50.0"}
    assert outcome.outputs["digest"] == ROOT_DIGEST
    # the per-platform digests stay in the rows
    assert {r["platform"]: r["digest"] for r in document["platforms"]} == {
        "linux/amd64": "sha256:" + "4" * 64,
        "linux/arm64": "sha256:" + "4" * 64,
    }
    assert not any("names no single image digest" in m for m in outcome.messages)


@pytest.mark.parametrize("case", ["disagree", "one-without"])
def test_no_digest_when_the_runs_do_not_agree_on_one(tmp_path: Path, case: str) -> None:
    amd = _image_log(tmp_path, "amd.sarif", "linux/amd64", imageDigest=ROOT_DIGEST)
    arm = _image_log(
        tmp_path, "arm.sarif", "linux/arm64", **({"imageDigest": OTHER_DIGEST} if case == "disagree" else {})
    )
    outcome = _evaluate(amd, arm)
    assert outcome.document["digest"] is None and outcome.document["image"] is None
    assert outcome.outputs["digest"] == ""
    assert any("names no single image digest" in m for m in outcome.messages)


def test_a_trivy_image_scan_names_its_image_through_repo_digests(tmp_path: Path) -> None:
    document = _evaluate(real_world("trivy-0.69-node-alpine.sarif")).document
    digest = "sha256:ddc713a3a7663d650dd3b935cfcc9d26341e371190d3fcea95e49a62550e58e3"
    assert document["digest"] == digest and document["image"] == "vulnerable-app:v1"
    # several repositories of one image are still one image; two images are ambiguous
    one = _image_log(tmp_path, "one.sarif", "linux/amd64", repoDigests=[f"a/b@{ROOT_DIGEST}", f"c/d@{ROOT_DIGEST}"])
    assert _evaluate(one).document["digest"] == ROOT_DIGEST
    two = _image_log(tmp_path, "two.sarif", "linux/amd64", repoDigests=[f"a/b@{ROOT_DIGEST}", f"a/b@{OTHER_DIGEST}"])
    assert _evaluate(two).document["digest"] is None
    # Trivy without repoDigests (a locally built image) and Grype name none
    assert _evaluate(real_world("trivy-0.50-with-secret.sarif")).document["digest"] is None
    assert _evaluate(real_world("grype-0.114-image.sarif")).document["digest"] is None


def test_image_names_the_image_of_sarif_that_does_not(tmp_path: Path) -> None:
    grype = real_world("grype-0.114-image.sarif")
    outcome = _evaluate(grype, image=f"ghcr.io/acme/app:1.0@{ROOT_DIGEST}")
    assert outcome.document["image"] == "ghcr.io/acme/app:1.0" and outcome.document["digest"] == ROOT_DIGEST
    assert outcome.document["scanner"]["name"] == "grype"
    # it may agree with the SARIF, never contradict it
    ours = _image_log(tmp_path, "ours.sarif", "linux/amd64", imageDigest=ROOT_DIGEST)
    assert _evaluate(ours, image=f"oci:./layout@{ROOT_DIGEST}").document["digest"] == ROOT_DIGEST
    with pytest.raises(InputError, match=r"ours.sarif run 0 \(linux/amd64\) is of image sha256:aaa.*contradict"):
        _evaluate(ours, grype, image=f"ghcr.io/acme/app@{OTHER_DIGEST}")


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("ghcr.io/acme/app:1.0", "not pinned"),
        ("ghcr.io/acme/app@sha256:xyz", "invalid digest"),
    ],
)
def test_an_image_that_is_not_pinned_is_bad_input(tmp_path: Path, image: str, message: str) -> None:
    scan = _log(tmp_path)
    completed = _cli(str(scan), "--image", image, "--json")
    assert completed.returncode == 2 and message in completed.stderr, completed.stderr
    with pytest.raises(InputError, match=f"input image {image}: not pinned" if message == "not pinned" else message):
        command.config_from_inputs(ActionInputs({"INPUT_SARIF_FILE": str(scan), "INPUT_IMAGE": image}))
    config = command.config_from_inputs(
        ActionInputs({"INPUT_SARIF_FILE": str(scan), "INPUT_IMAGE": f"ghcr.io/acme/app@{ROOT_DIGEST}"})
    )
    assert config.image == f"ghcr.io/acme/app@{ROOT_DIGEST}"


def test_sarif_without_runs_exits_2_unless_allow_empty(tmp_path: Path) -> None:
    empty = write(tmp_path, {"version": "2.1.0", "runs": []}, "empty.sarif")
    refused = _cli(str(empty), "--json")
    assert refused.returncode == 2, refused.stdout
    assert "nothing was evaluated" in refused.stderr and "Traceback" not in refused.stderr
    assert json.loads(refused.stdout)["error"]["exit_code"] == 2
    allowed = _cli(str(empty), "--allow-empty", "--json")
    assert allowed.returncode == 0 and json.loads(allowed.stdout)["verdict"] == "pass"
    config = command.config_from_inputs(ActionInputs({"INPUT_SARIF_FILE": str(empty), "INPUT_ALLOW_EMPTY": "true"}))
    assert config.allow_empty is True
    assert command.config_from_inputs(ActionInputs({"INPUT_SARIF_FILE": str(empty)})).allow_empty is False
