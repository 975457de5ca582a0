"""The action edge: INPUT_* variables -> config, credentials masked before any other output."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import entrypoint
from gate.actions import RunnerIO
from gate.config import ActionInputs
from tests.test_cli import SECRET, fake_command  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[1]

ACTION = """\
name: fake
description: fake
inputs:
  command: {description: stage, default: fake}
  mode: {description: mode, default: ok}
  items: {description: list, default: ""}
  flag: {description: bool, default: "false"}
  count: {description: number, default: "1"}
  build_args: {description: NAME=VALUE lines, default: ""}
  registry_password: {description: a password, default: ""}
  registry_auth: {description: a docker config, default: ""}
  github_token: {description: token, default: "${{ github.token }}"}
  json_output: {description: file, default: ""}
runs: {using: docker, image: Dockerfile}
"""


@pytest.fixture
def action_yml(tmp_path: Path) -> Path:
    path = tmp_path / "action.yml"
    path.write_text(ACTION, encoding="utf-8")
    return path


def run_action(
    capsys: pytest.CaptureFixture[str], action_yml: Path, tmp_path: Path, **inputs: str
) -> tuple[int, list[str], str]:
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
    }
    env.update({f"INPUT_{name.upper()}": value for name, value in inputs.items()})
    code = entrypoint.main(env, action_yml)
    out, err = capsys.readouterr()
    return code, err.splitlines(), out


@pytest.mark.usefixtures("fake_command")
def test_credentials_are_masked_before_any_other_output(
    capsys: pytest.CaptureFixture[str], action_yml: Path, tmp_path: Path
) -> None:
    code, lines, out = run_action(
        capsys, action_yml, tmp_path, mode="log", registry_password=SECRET, github_token="ghs_tokenvalue"
    )
    assert code == 0 and out == ""
    masks = [line for line in lines if line.startswith("::add-mask::")]
    first_other = next(i for i, line in enumerate(lines) if not line.startswith("::add-mask::"))
    assert lines[:2] == [f"::add-mask::{SECRET}", "::add-mask::ghs_tokenvalue"]
    assert all(lines.index(mask) < first_other or mask == "::add-mask::found-at-runtime" for mask in masks)
    everything = "\n".join(lines[2:]) + (tmp_path / "output").read_text() + (tmp_path / "summary").read_text()
    assert SECRET not in everything and "ghs_tokenvalue" not in everything
    assert "password was ***" in lines


@pytest.mark.usefixtures("fake_command")
def test_docker_config_credentials_are_masked(
    capsys: pytest.CaptureFixture[str], action_yml: Path, tmp_path: Path
) -> None:
    auth = base64.b64encode(b"robot:pa55-from-auth").decode()
    config = json.dumps(
        {"auths": {"ghcr.io": {"auth": auth}, "r.example": {"username": "u", "password": "pw-plain-1"}}},
        indent=2,
    )
    code, lines, _ = run_action(capsys, action_yml, tmp_path, registry_auth=config)
    assert code == 0
    masks = {line.removeprefix("::add-mask::") for line in lines if line.startswith("::add-mask::")}
    assert {auth, "pa55-from-auth", "pw-plain-1"} <= masks
    assert lines[0].startswith("::add-mask::{")


@pytest.mark.usefixtures("fake_command")
def test_a_mask_is_written_even_when_the_credential_document_is_unreadable(
    capsys: pytest.CaptureFixture[str], action_yml: Path, tmp_path: Path
) -> None:
    code, lines, _ = run_action(capsys, action_yml, tmp_path, registry_auth="{not: [valid")
    assert code == 0
    assert lines[0] == "::add-mask::{not: [valid"


@pytest.mark.usefixtures("fake_command")
def test_inputs_reach_the_config(capsys: pytest.CaptureFixture[str], action_yml: Path, tmp_path: Path) -> None:
    code, _, _ = run_action(
        capsys, action_yml, tmp_path, items="a\nb, c", flag="TRUE", count="3", build_args="V=1\nW=x=y"
    )
    assert code == 0
    output = (tmp_path / "output").read_text(encoding="utf-8")
    document = json.loads(output.split("\n")[1])
    assert document == {"mode": "ok", "items": ["a", "b", "c"], "echo": "", "args": {"V": "1", "W": "x=y"}}


@pytest.mark.usefixtures("fake_command")
@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"flag": "sometimes"}, "input flag: expected true or false, got 'sometimes'"),
        ({"count": "three"}, "input count: expected a whole number, got 'three'"),
        ({"count": "0"}, "invalid action inputs: count: 0 is less than the minimum of 1"),
        ({"build_args": "JUSTANAME"}, "input build_args: expected NAME=VALUE, got 'JUSTANAME'"),
        ({"mode": "input"}, "bad input file.txt:3"),
        ({"command": "nope"}, "unknown command 'nope'"),
    ],
)
def test_bad_inputs_exit_2_naming_the_input(
    capsys: pytest.CaptureFixture[str], action_yml: Path, tmp_path: Path, inputs: dict[str, str], message: str
) -> None:
    code, lines, out = run_action(capsys, action_yml, tmp_path, registry_password=SECRET, **inputs)
    assert code == 2
    assert lines[0] == f"::add-mask::{SECRET}"
    assert any(message in line for line in lines), lines
    assert SECRET not in "\n".join(lines[1:]) + out


@pytest.mark.usefixtures("fake_command")
def test_internal_error_exit_3_without_the_secret(
    capsys: pytest.CaptureFixture[str], action_yml: Path, tmp_path: Path
) -> None:
    code, lines, _ = run_action(capsys, action_yml, tmp_path, mode="bug", registry_password=SECRET)
    assert code == 3
    assert "::error title=image-gate fake::internal error in image-gate fake" in lines
    assert SECRET not in "\n".join(lines[1:])


def test_secret_input_names() -> None:
    for name in ("github_token", "registry_password", "source_password", "registry_auth", "docker_config", "secret"):
        assert entrypoint.SECRET_INPUT.search(name), name
    for name in ("path", "marker", "require_digest", "source", "registry_username", "sbom_predicate_type"):
        assert not entrypoint.SECRET_INPUT.search(name), name


def test_mask_credentials_reads_only_declared_inputs(action_yml: Path) -> None:
    import io

    stream = io.StringIO()
    runner = RunnerIO({"GITHUB_ACTIONS": "true"}, stream)
    inputs = ActionInputs({"INPUT_REGISTRY_PASSWORD": "p4ss", "INPUT_UNDECLARED_TOKEN": "zzz"}, action_yml)
    entrypoint.mask_credentials(inputs, runner)
    assert stream.getvalue() == "::add-mask::p4ss\n"


def test_entrypoint_as_a_process_masks_first() -> None:
    """The real entrypoint with the real action.yml, as the container runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    env.update({"GITHUB_ACTIONS": "true", "INPUT_COMMAND": "no-such-stage", "INPUT_GITHUB_TOKEN": "ghs_proc3ss"})
    result = subprocess.run(
        [sys.executable, str(ROOT / "entrypoint.py")], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "::add-mask::ghs_proc3ss"
    assert "unknown command 'no-such-stage'" in result.stderr
    assert "ghs_proc3ss" not in "\n".join(lines[1:]) + result.stdout


@pytest.mark.usefixtures("fake_command")
def test_json_output_writes_the_redacted_document_and_names_it(
    capsys: pytest.CaptureFixture[str], action_yml: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the workspace
    code, _, out = run_action(
        capsys, action_yml, tmp_path, mode="policy", registry_password=SECRET, json_output="reports/fake.json"
    )
    assert code == 1 and out == ""  # the file, not stdout: the runner shows stdout in the log
    document = json.loads((tmp_path / "reports" / "fake.json").read_text(encoding="utf-8"))
    assert document == {"mode": "policy", "items": [], "echo": "***", "args": {}}
    output = (tmp_path / "output").read_text(encoding="utf-8")
    assert "json_file<<" in output and "\nreports/fake.json\n" in output
    assert SECRET not in (tmp_path / "reports" / "fake.json").read_text() + output


@pytest.mark.usefixtures("fake_command")
def test_without_json_output_no_file_and_no_output(
    capsys: pytest.CaptureFixture[str], action_yml: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, _ = run_action(capsys, action_yml, tmp_path)
    assert code == 0
    assert "json_file" not in (tmp_path / "output").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["action.yml", "output", "summary"]


def test_an_evaluate_verdict_file_from_the_real_action(tmp_path: Path) -> None:
    """The real entrypoint and action.yml: evaluate's json_output is a verdict file promote can read."""
    from gate.promote.report import load_verdict
    from tests.policy.sarif_samples import sarif_log, trivy_result, trivy_rule, write

    digest = "sha256:" + "a" * 64
    sarif = write(
        tmp_path,
        sarif_log([trivy_rule("CVE-2024-0001", "LOW", "2.0")], [trivy_result(0, "CVE-2024-0001", "LOW", "zlib")]),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    env.update(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(tmp_path / "output"),
            "INPUT_COMMAND": "evaluate",
            "INPUT_SARIF_FILE": str(sarif),
            "INPUT_IMAGE": f"ghcr.io/acme/app:1@{digest}",
            "INPUT_JSON_OUTPUT": "verdicts/app.json",
        }
    )
    result = subprocess.run(
        [sys.executable, str(ROOT / "entrypoint.py")], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    verdict = load_verdict(tmp_path / "verdicts" / "app.json")
    assert verdict["verdict"] == "pass" and verdict["digest"] == digest and verdict["method"] == "sarif"
    assert "\nverdicts/app.json\n" in (tmp_path / "output").read_text()
