"""The options mirror, scan, promote and pipeline share: one declaration, so help texts, environment
fallbacks and action inputs are the same in every command."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate import cli
from gate.commands import load
from gate.commands.options import github_token_from_args
from gate.config import ActionInputs
from gate.errors import InputError
from gate.scanners.base import get_scanner

ROOT = Path(__file__).resolve().parents[2]

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


# --- Trivy ----------------------------------------------------------------------------------------

TRIVY_COMMANDS = ("scan", "promote", "pipeline")
TRIVY_FLAGS = ("--trivy-db-repository", "--trivy-java-db-repository", "--trivy-skip-db-update",
               "--trivy-skip-java-db-update", "--trivy-offline-scan", "--trivy-cache-dir", "--trivy-timeout")  # fmt: skip
TRIVY_ARGV = ["--trivy-db-repository", "mirror.example/trivy-db:2", "--trivy-db-repository", "ghcr.io/aquasecurity/trivy-db:2",
              "--trivy-java-db-repository", "mirror.example/trivy-java-db:1", "--trivy-skip-db-update",
              "--trivy-skip-java-db-update", "--trivy-offline-scan", "--trivy-cache-dir", "/cache/trivy",
              "--trivy-timeout", "120"]  # fmt: skip
TRIVY_YAML = """\
db_repositories:
  - mirror.example/trivy-db:2
  - ghcr.io/aquasecurity/trivy-db:2
java_db_repositories: mirror.example/trivy-java-db:1
skip_db_update: true
skip_java_db_update: true
offline_scan: true
cache_dir: /cache/trivy
timeout_seconds: 120
"""
EXPECTED_BACKEND = {
    "timeout_seconds": 120.0,
    "db_repositories": ["mirror.example/trivy-db:2", "ghcr.io/aquasecurity/trivy-db:2"],
    "java_db_repositories": ["mirror.example/trivy-java-db:1"],
    "skip_db_update": True,
    "skip_java_db_update": True,
    "offline_scan": True,
    "cache_dir": "/cache/trivy",
}


def _scanner_options(command: str, config: Any) -> dict[str, Any]:
    """What the trivy backend gets: promote passes its options through its scan config."""
    return dict((config.scan_config() if command == "promote" else config).scanner_options())


@pytest.mark.parametrize("command", TRIVY_COMMANDS)
def test_every_scanning_command_has_the_same_trivy_flags(command: str) -> None:
    actions = _actions(command)
    for flag in TRIVY_FLAGS:
        assert flag in actions, f"{command} lacks {flag}"
        assert actions[flag].help == _actions("scan")[flag].help
        assert actions[flag].default == _actions("scan")[flag].default


SCAN_FLAGS = ("--sbom-predicate-type", "--scanner", "--osv-db", "--fail-on-unchecked", "--sarif-output",
              "--severity-threshold", "--severity-source", "--exceptions", "--ignore-unfixed", "--allow-missing-sbom",
              "--vex", "--no-vex")  # fmt: skip


@pytest.mark.parametrize("command", ["promote", "pipeline"])
def test_every_scanning_command_has_the_scan_flags_of_scan(command: str) -> None:
    actions, scan = _actions(command), _actions("scan")
    for flag in SCAN_FLAGS:
        assert flag in actions, f"{command} lacks {flag}"
        for attribute in ("help", "default", "choices", "metavar", "dest"):
            assert getattr(actions[flag], attribute) == getattr(scan[flag], attribute), (flag, attribute)


@pytest.mark.parametrize("command", TRIVY_COMMANDS)
def test_both_edges_build_the_same_scan_config(command: str, tmp_path: Path) -> None:
    argv = ["--sbom-predicate-type", "spdx", "--scanner", "osv", "--osv-db", str(tmp_path), "--fail-on-unchecked",
            "--sarif-output", "out.sarif", "--severity-threshold", "7.5", "--vex", "a.json", "--no-vex"]  # fmt: skip
    environ = {**INPUTS[command], "INPUT_SBOM_PREDICATE_TYPE": "spdx", "INPUT_SCANNER": "OSV",
               "INPUT_OSV_DB": f" {tmp_path} ", "INPUT_FAIL_ON_UNCHECKED": "true", "INPUT_SARIF_OUTPUT": "out.sarif",
               "INPUT_SEVERITY_THRESHOLD": "7.5", "INPUT_VEX_FILES": "a.json", "INPUT_VEX": "false"}  # fmt: skip
    from_cli = _config(command, *argv)
    from_inputs = load(command).config_from_inputs(ActionInputs(environ))
    fields = ["sbom_predicate_type", "scanner", "osv_db", "fail_on_unchecked", "sarif_output", "severity_threshold",
              "vex_files", "use_vex"]  # fmt: skip
    assert {f: getattr(from_cli, f) for f in fields} == {f: getattr(from_inputs, f) for f in fields}
    assert from_cli.osv_db == str(tmp_path) and from_cli.use_vex is False and from_cli.vex_files == ("a.json",)


@pytest.mark.parametrize("command", TRIVY_COMMANDS)
def test_the_cli_flags_and_the_trivy_options_input_reach_the_backend_alike(command: str) -> None:
    from_cli = _config(command, *TRIVY_ARGV)
    assert _scanner_options(command, from_cli) == EXPECTED_BACKEND
    for document in (TRIVY_YAML, json.dumps(yaml.safe_load(TRIVY_YAML))):
        from_inputs = load(command).config_from_inputs(
            ActionInputs({**INPUTS[command], "INPUT_TRIVY_OPTIONS": document})
        )
        assert _scanner_options(command, from_inputs) == EXPECTED_BACKEND
    # the backend is built from them as the scan would build it
    scanner = get_scanner("trivy", _scanner_options(command, from_cli))
    assert scanner.options.db_repositories == ("mirror.example/trivy-db:2", "ghcr.io/aquasecurity/trivy-db:2")
    assert scanner.options.cache_dir == Path("/cache/trivy") and scanner.options.timeout_seconds == 120


@pytest.mark.parametrize("command", TRIVY_COMMANDS)
def test_without_trivy_options_trivys_defaults(command: str) -> None:
    expected = {"timeout_seconds": 900.0, "db_repositories": [], "java_db_repositories": [], "skip_db_update": False,
                "skip_java_db_update": False, "offline_scan": False, "cache_dir": None}  # fmt: skip
    assert _scanner_options(command, _config(command)) == expected
    assert _scanner_options(command, load(command).config_from_inputs(ActionInputs(INPUTS[command]))) == expected
    partial = load(command).config_from_inputs(
        ActionInputs({**INPUTS[command], "INPUT_TRIVY_OPTIONS": "offline_scan: true"})
    )
    assert _scanner_options(command, partial) == {**expected, "offline_scan": True}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            "db_repository: x",
            "Additional properties are not allowed ('db_repository' was unexpected) (known: db_repositories",
        ),
        ("executable: /tmp/evil", "'executable' was unexpected"),
        ("offline_scan: maybe", "offline_scan: 'maybe' is not of type 'boolean'"),
        ("timeout_seconds: 0", "timeout_seconds: 0 is less than or equal to the minimum of 0"),
        ("timeout_seconds: true", "timeout_seconds: True is not of type 'number'"),
        ("db_repositories: ['']", "db_repositories"),
        ("cache_dir: ''", "cache_dir"),
        ("- offline_scan", "(the document): ['offline_scan'] is not of type 'object'"),
        ("{not: [valid", "input trivy_options: not valid JSON or YAML"),
    ],
)
def test_bad_trivy_options_are_bad_input_naming_the_key(document: str, message: str) -> None:
    for command in TRIVY_COMMANDS:
        with pytest.raises(InputError) as info:
            load(command).config_from_inputs(ActionInputs({**INPUTS[command], "INPUT_TRIVY_OPTIONS": document}))
        assert message in info.value.message, info.value.message
        assert info.value.message.startswith("input trivy_options")


def test_a_bad_trivy_option_exits_2_through_the_entrypoint(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    env.update({"INPUT_COMMAND": "scan", "INPUT_SOURCE": "127.0.0.1:9/a/b:1", "INPUT_TRIVY_OPTIONS": "offline: yes"})
    done = subprocess.run([sys.executable, str(ROOT / "entrypoint.py")], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and "input trivy_options" in done.stderr and "Traceback" not in done.stderr
