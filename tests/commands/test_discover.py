"""The discover command: its config from the action inputs, and the CLI end to end (the stage itself:
tests/discover/test_stage.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gate.commands import discover as command
from gate.config import ActionInputs, load_action_inputs
from gate.discover.matrix import MATRIX_CAP
from gate.discover.policy import DEFAULT_MARKER
from gate.discover.stage import DiscoverRequest
from gate.errors import InputError

REPO = Path(__file__).resolve().parents[2]


def test_config_from_action_inputs() -> None:
    env = {
        "INPUT_PATH": "examples",
        "INPUT_MARKER": "jim-compliance: production-image",
        "INPUT_REQUIRE_DIGEST": "false",
        "INPUT_BUILD_ARGS": "A=1\nB=two=2\n",
        "INPUT_MAX_MATRIX": "10",
    }
    config = command.config_from_inputs(ActionInputs(env))
    assert config == DiscoverRequest(
        path="examples",
        marker="jim-compliance: production-image",
        require_digest=False,
        build_args={"A": "1", "B": "two=2"},
        max_matrix=10,
    )
    defaults = command.config_from_inputs(ActionInputs({}))
    assert defaults == DiscoverRequest()
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
