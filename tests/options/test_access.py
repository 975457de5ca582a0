"""The registry access options (and the GitHub token) mirror, scan, promote and pipeline share: one
declaration (gate/options/access.py, promote.py), so help texts, environment fallbacks and action
inputs are the same in every command."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gate import cli
from gate.commands import load
from gate.config import ActionInputs
from gate.options.promote import GITHUB_TOKEN
from tests.options.commands import ACCESS_COMMANDS, INPUTS, POSITIONAL, command_config, parser_actions

ROOT = Path(__file__).resolve().parents[2]
ENV_NAMES = (
    "IMAGE_GATE_REGISTRY_AUTH",
    "IMAGE_GATE_SOURCE_USERNAME",
    "IMAGE_GATE_SOURCE_PASSWORD",
    "IMAGE_GATE_DESTINATION_USERNAME",
    "IMAGE_GATE_DESTINATION_PASSWORD",
    "IMAGE_GATE_GITHUB_TOKEN",
    "GITHUB_TOKEN",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


SHARED = ("--concurrency", "--insecure-registry", "--registry-auth", "--source-username", "--source-password",
          "--destination-username", "--destination-password", "--github-token")  # fmt: skip


@pytest.mark.parametrize("option", SHARED)
def test_a_shared_option_has_help_and_the_same_env_fallback_everywhere(option: str) -> None:
    found = {c: parser_actions(c)[option] for c in ACCESS_COMMANDS if option in parser_actions(c)}
    assert found, option
    for command, action in found.items():
        assert action.help and action.help.strip(), f"{command} {option} has no help"
        assert action.default == found[next(iter(found))].default, command
    if option in ("--insecure-registry", "--registry-auth", "--concurrency", "--github-token"):
        assert len({a.help for a in found.values()}) == 1, {c: a.help for c, a in found.items()}


def test_which_commands_have_which_access_options() -> None:
    for command in ACCESS_COMMANDS:
        options = parser_actions(command)
        assert {"--insecure-registry", "--registry-auth", "--source-username", "--source-password"} <= set(options)
        has_destination = command != "scan"
        assert ("--destination-username" in options) is has_destination
        assert ("--concurrency" in options) is has_destination
        assert ("--github-token" in options) is (command in ("scan", "promote", "pipeline"))  # scan: the tracking issue


@pytest.mark.parametrize("command", ACCESS_COMMANDS)
def test_environment_fallbacks_and_the_option_winning(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGE_GATE_REGISTRY_AUTH", '{"r.example": {"username": "u", "password": "pw-env"}}')
    monkeypatch.setenv("IMAGE_GATE_SOURCE_USERNAME", "env-user")
    monkeypatch.setenv("IMAGE_GATE_SOURCE_PASSWORD", "env-pass")
    config = command_config(command)
    assert (config.source_username, config.source_password) == ("env-user", "env-pass")
    assert "pw-env" in config.secrets() and "env-pass" in config.secrets()
    config = command_config(command, "--source-username", "cli-user", "--source-password", "cli-pass")
    assert (config.source_username, config.source_password) == ("cli-user", "cli-pass")


@pytest.mark.parametrize("command", ["promote", "pipeline"])
def test_the_github_token_reads_image_gate_github_token_first(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert command_config(command).github_token == ""
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_job")
    assert command_config(command).github_token == "ghs_job"
    monkeypatch.setenv("IMAGE_GATE_GITHUB_TOKEN", "ghp_gate")
    assert command_config(command).github_token == "ghp_gate"
    assert command_config(command, "--github-token", "ghp_cli").github_token == "ghp_cli"
    assert command_config(command, "--github-token", "").github_token == ""  # explicitly none


def test_an_option_falls_back_to_the_first_environment_variable_set(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = argparse.ArgumentParser()
    GITHUB_TOKEN.add_to(parser)
    monkeypatch.setenv("GITHUB_TOKEN", "a")
    monkeypatch.setenv("IMAGE_GATE_GITHUB_TOKEN", "b")
    assert GITHUB_TOKEN.from_args(parser.parse_args([])) == {"github_token": "b"}
    monkeypatch.setenv("IMAGE_GATE_GITHUB_TOKEN", "")
    assert GITHUB_TOKEN.from_args(parser.parse_args([])) == {"github_token": "a"}
    assert GITHUB_TOKEN.from_args(parser.parse_args(["--github-token", "c"])) == {"github_token": "c"}


@pytest.mark.parametrize("command", ACCESS_COMMANDS)
def test_both_edges_build_the_same_accessconfig(command: str) -> None:
    argv = ["--insecure-registry", "r.example:5000", "--source-username", "u", "--source-password", "p"]
    environ = {**INPUTS[command], "INPUT_INSECURE_REGISTRIES": "r.example:5000", "INPUT_SOURCE_USERNAME": "u ",
               "INPUT_SOURCE_PASSWORD": "p"}  # fmt: skip
    if command != "scan":
        argv += ["--concurrency", "8", "--destination-username", "d", "--destination-password", "q"]
        environ.update(INPUT_CONCURRENCY="8", INPUT_DESTINATION_USERNAME="d", INPUT_DESTINATION_PASSWORD="q")
    from_cli = command_config(command, *argv)
    from_inputs = load(command).config_from_inputs(ActionInputs(environ))
    fields = ["insecure_registries", "registry_auth", "source_username", "source_password"]
    if command != "scan":
        fields += ["concurrency", "destination_username", "destination_password"]
    assert {f: getattr(from_cli, f) for f in fields} == {f: getattr(from_inputs, f) for f in fields}


@pytest.mark.parametrize("command", ["mirror", "promote", "pipeline"])
def test_concurrency_out_of_range_is_bad_input(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([command, *POSITIONAL[command], "--concurrency", "65"]) == 2
    assert "concurrency: 65 is greater than the maximum of 64" in capsys.readouterr().err


@pytest.mark.parametrize("document", ['{"ghp_T0kenInTheHostPlace": "oops"}', "ghp_T0kenInTheHostPlace: [1]"])
def test_a_token_in_the_host_place_of_registry_auth_is_never_printed(document: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "IMAGE_GATE_"))}
    completed = subprocess.run(
        [sys.executable, "-m", "gate", "scan", "127.0.0.1:9/a/b:1", "--registry-auth", document,
         "--scanner", "osv", "--osv-db", str(tmp_path), "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert completed.returncode == 2, completed.stderr
    assert "registry_auth: entry 1 (its key is not a registry host, and not shown" in completed.stderr
    assert "ghp_T0kenInTheHostPlace" not in completed.stderr + completed.stdout
