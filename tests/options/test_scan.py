"""The scan and Trivy options scan, promote and pipeline share (gate/options/scan.py, trivy.py): the same
flags and help everywhere, and the --trivy-* flags and the trivy_options input reach the backend alike."""

from __future__ import annotations

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
from gate.config import ActionInputs
from gate.errors import InputError
from gate.scanners.base import get_scanner
from tests.options.commands import INPUTS, POSITIONAL, command_config, parser_actions

ROOT = Path(__file__).resolve().parents[2]

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
    """What the trivy backend gets (every scanning config has the scan fields)."""
    return dict(config.scanner_options())


@pytest.mark.parametrize("command", TRIVY_COMMANDS)
def test_every_scanning_command_has_the_same_trivy_flags(command: str) -> None:
    actions = parser_actions(command)
    for flag in TRIVY_FLAGS:
        assert flag in actions, f"{command} lacks {flag}"
        assert actions[flag].help == parser_actions("scan")[flag].help
        assert actions[flag].default == parser_actions("scan")[flag].default


SCAN_FLAGS = ("--sbom-predicate-type", "--scanner", "--osv-db", "--fail-on-unchecked", "--sarif-output",
              "--sarif-category", "--severity-threshold", "--severity-source", "--exceptions", "--ignore-unfixed",
              "--allow-missing-sbom", "--no-enforce", "--vex", "--no-vex")  # fmt: skip


@pytest.mark.parametrize("command", ["promote", "pipeline"])
def test_every_scanning_command_has_the_scan_flags_of_scan(command: str) -> None:
    actions, scan = parser_actions(command), parser_actions("scan")
    for flag in SCAN_FLAGS:
        assert flag in actions, f"{command} lacks {flag}"
        for attribute in ("help", "default", "choices", "metavar", "dest"):
            assert getattr(actions[flag], attribute) == getattr(scan[flag], attribute), (flag, attribute)


@pytest.mark.parametrize("command", TRIVY_COMMANDS)
def test_both_edges_build_the_same_scan_config(command: str, tmp_path: Path) -> None:
    argv = ["--sbom-predicate-type", "spdx", "--scanner", "osv", "--osv-db", str(tmp_path), "--fail-on-unchecked",
            "--sarif-output", "out.sarif", "--sarif-category", "/team/base/", "--severity-threshold", "7.5",
            "--vex", "a.json", "--no-vex"]  # fmt: skip
    environ = {**INPUTS[command], "INPUT_SBOM_PREDICATE_TYPE": "spdx", "INPUT_SCANNER": "OSV",
               "INPUT_OSV_DB": f" {tmp_path} ", "INPUT_FAIL_ON_UNCHECKED": "true", "INPUT_SARIF_OUTPUT": "out.sarif",
               "INPUT_SARIF_CATEGORY": " team/base ", "INPUT_SEVERITY_THRESHOLD": "7.5", "INPUT_VEX_FILES": "a.json",
               "INPUT_VEX": "false"}  # fmt: skip
    from_cli = command_config(command, *argv)
    from_inputs = load(command).config_from_inputs(ActionInputs(environ))
    fields = ["sbom_predicate_type", "scanner", "osv_db", "fail_on_unchecked", "sarif_output", "sarif_category",
              "severity_threshold", "vex_files", "use_vex"]  # fmt: skip
    assert {f: getattr(from_cli, f) for f in fields} == {f: getattr(from_inputs, f) for f in fields}
    assert from_cli.sarif_category == "team/base" and from_cli.scan_settings("x").category == "team/base"
    assert from_cli.osv_db == str(tmp_path) and from_cli.use_vex is False and from_cli.vex_files == ("a.json",)


@pytest.mark.parametrize("command", TRIVY_COMMANDS)
def test_the_cli_flags_and_the_trivy_options_input_reach_the_backend_alike(command: str) -> None:
    from_cli = command_config(command, *TRIVY_ARGV)
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
    assert _scanner_options(command, command_config(command)) == expected
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


def test_promote_scanner_names_the_registered_scanners(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["promote", *POSITIONAL["promote"], "--scanner", "grype"])
    assert info.value.code == 2
    assert "invalid choice: 'grype' (choose from 'osv', 'trivy')" in capsys.readouterr().err


@pytest.mark.parametrize("command", TRIVY_COMMANDS)
def test_the_sarif_category_defaults_to_image_gate_and_a_bad_one_is_bad_input(command: str) -> None:
    assert command_config(command).sarif_category == "image-gate"
    assert load(command).config_from_inputs(ActionInputs(INPUTS[command])).sarif_category == "image-gate"
    with pytest.raises(InputError, match="--sarif-category: invalid SARIF category"):
        command_config(command, "--sarif-category", "team//base")
    with pytest.raises(InputError, match="input sarif_category: invalid SARIF category"):
        load(command).config_from_inputs(ActionInputs({**INPUTS[command], "INPUT_SARIF_CATEGORY": "a b"}))
