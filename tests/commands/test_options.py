"""The options mirror, scan, promote and pipeline share: one declaration, so help texts, environment
fallbacks and action inputs are the same in every command."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from gate import cli
from gate.commands import load
from gate.commands.options import github_token_from_args
from gate.config import ActionInputs

ACCESS_COMMANDS = ("mirror", "scan", "promote", "pipeline")
POSITIONAL = {
    "mirror": ["127.0.0.1:5000/a/b:1", "127.0.0.1:5000/c/d"],
    "scan": ["127.0.0.1:5000/a/b:1"],
    "promote": ["127.0.0.1:5000/a/b:1", "127.0.0.1:5000/c/d"],
    "pipeline": ["--source", "127.0.0.1:5000/a/b:1", "--quarantine", "127.0.0.1:5000/q/b", "--production",
                 "127.0.0.1:5000/p/b"],
}  # fmt: skip
INPUTS = {
    "mirror": {"INPUT_SOURCE": "127.0.0.1:5000/a/b:1", "INPUT_DESTINATION": "127.0.0.1:5000/c/d"},
    "scan": {"INPUT_SOURCE": "127.0.0.1:5000/a/b:1"},
    "promote": {"INPUT_SOURCE": "127.0.0.1:5000/a/b:1", "INPUT_DESTINATION": "127.0.0.1:5000/c/d"},
    "pipeline": {"INPUT_SOURCE": "127.0.0.1:5000/a/b:1", "INPUT_QUARANTINE": "127.0.0.1:5000/q/b",
                 "INPUT_PRODUCTION": "127.0.0.1:5000/p/b"},
}  # fmt: skip
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


def _actions(command: str) -> dict[str, argparse.Action]:
    parser = cli.build_parser(command)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {option: action for action in sub.choices[command]._actions for option in action.option_strings}


def _config(command: str, *argv: str) -> Any:
    module = load(command)
    namespace = cli.build_parser(command).parse_args([command, *POSITIONAL[command], *argv])
    return module.config_from_args(namespace)


SHARED = ("--concurrency", "--insecure-registry", "--registry-auth", "--source-username", "--source-password",
          "--destination-username", "--destination-password", "--github-token")  # fmt: skip


@pytest.mark.parametrize("option", SHARED)
def test_a_shared_option_has_help_and_the_same_env_fallback_everywhere(option: str) -> None:
    found = {c: _actions(c)[option] for c in ACCESS_COMMANDS if option in _actions(c)}
    assert found, option
    for command, action in found.items():
        assert action.help and action.help.strip(), f"{command} {option} has no help"
        assert action.default == found[next(iter(found))].default, command
    if option in ("--insecure-registry", "--registry-auth", "--concurrency", "--github-token"):
        assert len({a.help for a in found.values()}) == 1, {c: a.help for c, a in found.items()}


def test_which_commands_have_which_access_options() -> None:
    for command in ACCESS_COMMANDS:
        options = _actions(command)
        assert {"--insecure-registry", "--registry-auth", "--source-username", "--source-password"} <= set(options)
        has_destination = command != "scan"
        assert ("--destination-username" in options) is has_destination
        assert ("--concurrency" in options) is has_destination
        assert ("--github-token" in options) is (command in ("promote", "pipeline"))


@pytest.mark.parametrize("command", ACCESS_COMMANDS)
def test_environment_fallbacks_and_the_option_winning(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGE_GATE_REGISTRY_AUTH", '{"r.example": {"username": "u", "password": "pw-env"}}')
    monkeypatch.setenv("IMAGE_GATE_SOURCE_USERNAME", "env-user")
    monkeypatch.setenv("IMAGE_GATE_SOURCE_PASSWORD", "env-pass")
    config = _config(command)
    assert (config.source_username, config.source_password) == ("env-user", "env-pass")
    assert "pw-env" in config.secrets() and "env-pass" in config.secrets()
    config = _config(command, "--source-username", "cli-user", "--source-password", "cli-pass")
    assert (config.source_username, config.source_password) == ("cli-user", "cli-pass")


@pytest.mark.parametrize("command", ["promote", "pipeline"])
def test_the_github_token_reads_image_gate_github_token_first(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _config(command).github_token == ""
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_job")
    assert _config(command).github_token == "ghs_job"
    monkeypatch.setenv("IMAGE_GATE_GITHUB_TOKEN", "ghp_gate")
    assert _config(command).github_token == "ghp_gate"
    assert _config(command, "--github-token", "ghp_cli").github_token == "ghp_cli"
    assert _config(command, "--github-token", "").github_token == ""  # explicitly none


def test_github_token_from_args() -> None:
    assert github_token_from_args(None, {"GITHUB_TOKEN": "a", "IMAGE_GATE_GITHUB_TOKEN": "b"}) == "b"
    assert github_token_from_args(None, {"GITHUB_TOKEN": "a", "IMAGE_GATE_GITHUB_TOKEN": ""}) == "a"
    assert github_token_from_args("c", {"GITHUB_TOKEN": "a"}) == "c"


@pytest.mark.parametrize("command", ACCESS_COMMANDS)
def test_both_edges_build_the_same_access_config(command: str) -> None:
    argv = ["--insecure-registry", "r.example:5000", "--source-username", "u", "--source-password", "p"]
    environ = {**INPUTS[command], "INPUT_INSECURE_REGISTRIES": "r.example:5000", "INPUT_SOURCE_USERNAME": "u ",
               "INPUT_SOURCE_PASSWORD": "p"}  # fmt: skip
    if command != "scan":
        argv += ["--concurrency", "8", "--destination-username", "d", "--destination-password", "q"]
        environ.update(INPUT_CONCURRENCY="8", INPUT_DESTINATION_USERNAME="d", INPUT_DESTINATION_PASSWORD="q")
    from_cli = _config(command, *argv)
    from_inputs = load(command).config_from_inputs(ActionInputs(environ))
    fields = ["insecure_registries", "registry_auth", "source_username", "source_password"]
    if command != "scan":
        fields += ["concurrency", "destination_username", "destination_password"]
    assert {f: getattr(from_cli, f) for f in fields} == {f: getattr(from_inputs, f) for f in fields}


@pytest.mark.parametrize("command", ["mirror", "promote", "pipeline"])
def test_concurrency_out_of_range_is_bad_input(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([command, *POSITIONAL[command], "--concurrency", "65"]) == 2
    assert "concurrency: 65 is greater than the maximum of 64" in capsys.readouterr().err


def test_promote_scanner_names_the_registered_scanners(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["promote", *POSITIONAL["promote"], "--scanner", "grype"])
    assert info.value.code == 2
    assert "invalid choice: 'grype' (choose from 'osv', 'trivy')" in capsys.readouterr().err
