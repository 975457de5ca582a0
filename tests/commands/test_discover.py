"""The discover command end to end: real trees on disk, the CLI and the action entrypoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gate.commands import Context
from gate.commands import discover as command
from gate.config import ActionInputs, load_action_inputs
from gate.discover.matrix import MATRIX_CAP
from gate.discover.policy import DEFAULT_MARKER
from gate.errors import InputError

REPO = Path(__file__).resolve().parents[2]
D = "sha256:" + "d" * 64
MARK = f"# {DEFAULT_MARKER}\n"


def write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    return root


def test_document_outputs_and_annotations(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/Dockerfile": MARK + f"FROM golang:1.22@{D} AS build\nFROM alpine:3.20\nCOPY --from=build /a /a\n",
            "web/Containerfile": MARK + f"FROM docker.io/library/golang:1.21@{D}\n",
            "dev/Dockerfile.dev": "FROM python:3\n",
        },
    )
    outcome = command.run(command.DiscoverConfig(path=str(tmp_path)), Context())
    assert outcome.exit_code == 1
    doc = outcome.document
    assert list(doc) == ["dockerfiles", "images", "violations", "matrix"]
    assert doc["dockerfiles"] == [
        {"path": "app/Dockerfile", "production": True},
        {"path": "dev/Dockerfile.dev", "production": False},
        {"path": "web/Containerfile", "production": True},
    ]
    assert doc["images"] == [
        {
            "image": "docker.io/library/alpine:3.20",
            "pinned": False,
            "locations": [{"path": "app/Dockerfile", "line": 3, "instruction": "FROM"}],
        },
        {
            "image": f"docker.io/library/golang:1.22@{D}",
            "pinned": True,
            "locations": [
                {"path": "app/Dockerfile", "line": 2, "instruction": "FROM"},
                {"path": "web/Containerfile", "line": 2, "instruction": "FROM"},
            ],
        },
    ]
    assert doc["violations"] == [
        {
            "path": "app/Dockerfile",
            "line": 3,
            "image": "docker.io/library/alpine:3.20",
            "reason": "not pinned by digest",
        }
    ]
    assert [entry["name"] for entry in doc["matrix"]["include"]] == [
        "docker.io/library/alpine",
        "docker.io/library/golang",
    ]
    assert json.loads(outcome.outputs["matrix"]) == doc["matrix"]
    assert "\n" not in outcome.outputs["matrix"]
    assert json.loads(outcome.outputs["images"]) == doc["images"]
    assert json.loads(outcome.outputs["violations"]) == doc["violations"]
    (annotation,) = outcome.annotations
    assert annotation.level == "error" and annotation.line == 3 and annotation.title
    assert annotation.file is not None and annotation.file.endswith("app/Dockerfile")
    assert "dev/Dockerfile.dev" in outcome.summary


def test_annotation_path_is_relative_to_the_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"svc/Dockerfile": MARK + "FROM alpine\n"})
    monkeypatch.chdir(tmp_path)
    outcome = command.run(command.DiscoverConfig(path="svc"), Context())
    assert outcome.document["violations"][0]["path"] == "Dockerfile"
    assert outcome.annotations[0].file == "svc/Dockerfile"


def test_no_require_digest_reports_without_failing(tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": MARK + "FROM alpine\n"})
    outcome = command.run(command.DiscoverConfig(path=str(tmp_path), require_digest=False), Context())
    assert outcome.exit_code == 0
    assert len(outcome.document["violations"]) == 1


def test_no_production_dockerfile_fails_unless_allowed(tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": "FROM alpine\n"})
    outcome = command.run(command.DiscoverConfig(path=str(tmp_path)), Context())
    assert outcome.exit_code == 1
    assert any("no production Dockerfile" in line for line in outcome.messages)
    allowed = command.run(command.DiscoverConfig(path=str(tmp_path), allow_empty=True), Context())
    assert allowed.exit_code == 0
    assert allowed.document["matrix"] == {"include": []}
    every = command.run(command.DiscoverConfig(path=str(tmp_path), all_dockerfiles=True), Context())
    assert every.document["dockerfiles"] == [{"path": "Dockerfile", "production": True}]
    custom = command.run(command.DiscoverConfig(path=str(tmp_path), marker="jim"), Context())
    assert custom.exit_code == 1


def test_matrix_cap(tmp_path: Path) -> None:
    lines = "".join(f"FROM ghcr.io/acme/img{i}@{D}\n" for i in range(MATRIX_CAP + 1))
    write(tmp_path, {"Dockerfile": MARK + lines})
    outcome = command.run(command.DiscoverConfig(path=str(tmp_path)), Context())
    assert outcome.exit_code == 1
    assert any(f"matrix cap of {MATRIX_CAP}" in line for line in outcome.messages)
    raised = command.run(command.DiscoverConfig(path=str(tmp_path), max_matrix=1000), Context())
    assert raised.exit_code == 0


def test_build_args_and_syntax_errors(tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": MARK + "ARG BASE\nFROM $BASE\nRUN <<EOF\n", "x.Dockerfile": "RUN <<EOF\n"})
    outcome = command.run(command.DiscoverConfig(path=str(tmp_path)), Context())
    assert [(v["line"], v["reason"]) for v in outcome.document["violations"]] == [
        (3, "unresolved build argument"),
        (4, "Dockerfile syntax error: unterminated heredoc 'EOF'"),
    ]
    assert any("x.Dockerfile:1" in line for line in outcome.messages)
    given = command.run(command.DiscoverConfig(path=str(tmp_path), build_args={"BASE": f"alpine@{D}"}), Context())
    assert [v["reason"] for v in given.document["violations"]] == [
        "Dockerfile syntax error: unterminated heredoc 'EOF'"
    ]


def test_undecodable_dockerfile_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_bytes(b"\xff\xfe")
    with pytest.raises(InputError, match="Dockerfile"):
        command.run(command.DiscoverConfig(path=str(tmp_path)), Context())


def test_config_from_action_inputs() -> None:
    env = {
        "INPUT_PATH": "examples",
        "INPUT_MARKER": "jim-compliance: production-image",
        "INPUT_REQUIRE_DIGEST": "false",
        "INPUT_BUILD_ARGS": "A=1\nB=two=2\n",
        "INPUT_MAX_MATRIX": "10",
    }
    config = command.config_from_inputs(ActionInputs(env))
    assert config == command.DiscoverConfig(
        path="examples",
        marker="jim-compliance: production-image",
        require_digest=False,
        build_args={"A": "1", "B": "two=2"},
        max_matrix=10,
    )
    defaults = command.config_from_inputs(ActionInputs({}))
    assert defaults == command.DiscoverConfig()
    with pytest.raises(InputError):
        command.config_from_inputs(ActionInputs({"INPUT_MAX_MATRIX": "0"}))
    with pytest.raises(InputError):
        command.config_from_inputs(ActionInputs({"INPUT_MARKER": "  "}))


def test_cli_defaults_match_action_yml() -> None:
    declared = load_action_inputs()
    assert declared["marker"] == DEFAULT_MARKER
    assert int(declared["max_matrix"]) == MATRIX_CAP
    assert declared["require_digest"] == "true"


def cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "gate", "discover", *args], capture_output=True, text=True, env=env, cwd=cwd
    )


def test_project_passes_its_own_discover() -> None:
    result = cli(".", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {"path": "Dockerfile", "production": True} in doc["dockerfiles"]
    assert doc["violations"] == []


def test_cli_on_the_demo_tree() -> None:
    result = cli("examples/demo-repo", "--marker", "jim-compliance: production-image", "--json")
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert sorted(v["image"] for v in doc["violations"]) == [
        "docker.io/library/busybox:1.36",
        "ghcr.io/astral-sh/uv:0.4.18",
    ]
    assert "services/worker/Dockerfile:13" in result.stderr
    bad = cli("examples/demo-repo", "--build-arg", "oops")
    assert bad.returncode == 2
