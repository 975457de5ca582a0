"""The gate and VEX options (gate/options/policy.py): what both edges make of them."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from gate.config import ActionInputs
from gate.errors import InputError
from gate.options.base import Group
from gate.options.policy import ENFORCE, EVALUATED_IMAGE, GATE, SCAN_VEX, VEX, GateFields
from gate.policy.verdict import GateOptions
from tests.options.commands import command_config, parser_actions

DIGEST = "sha256:" + "a" * 64


def parsed(group: Group, *argv: str) -> dict[str, object]:
    parser = argparse.ArgumentParser()
    group.add_to(parser)
    namespace = parser.parse_args(list(argv))
    values: dict[str, object] = {}
    for option in group.options:
        values.update(option.from_args(namespace))
    return values


def from_inputs(group: Group, inputs: ActionInputs) -> dict[str, object]:
    values: dict[str, object] = {}
    for option in group.options:
        values.update(option.from_inputs(inputs))
    return values


def test_gate_options_from_cli_and_inputs(tmp_path: Path) -> None:
    defaults = parsed(GATE)
    action = tmp_path / "action.yml"
    action.write_text(
        "inputs:\n"
        "  severity_threshold: {default: high}\n  severity_source: {default: cvss}\n  exceptions_file: {default: ''}\n"
        "  ignore_unfixed: {default: 'false'}\n  allow_missing_sbom: {default: 'false'}\n  enforce: {default: 'true'}\n",
        encoding="utf-8",
    )
    assert from_inputs(GATE, ActionInputs({}, action)) == defaults
    values = parsed(
        GATE, "--severity-threshold", "7.50", "--severity-source", "label", "--exceptions", "x.yml", "--ignore-unfixed"
    )
    assert values == {
        "severity_threshold": "7.5", "severity_source": "label", "exceptions_file": "x.yml",
        "ignore_unfixed": True, "allow_missing_sbom": False, "enforce": True,
    }  # fmt: skip
    assert parsed(GATE, "--exceptions", "")["exceptions_file"] is None
    env = {
        "INPUT_SEVERITY_THRESHOLD": "Critical",
        "INPUT_SEVERITY_SOURCE": " LABEL",
        "INPUT_ALLOW_MISSING_SBOM": "true",
    }
    got = from_inputs(GATE, ActionInputs(env, action))
    assert (got["severity_threshold"], got["severity_source"], got["allow_missing_sbom"]) == ("critical", "label", True)
    assert from_inputs(GATE, ActionInputs({"INPUT_EXCEPTIONS_FILE": " x.yml "}, action))["exceptions_file"] == "x.yml"
    with pytest.raises(InputError, match="input severity_source: expected cvss or label, got 'epss'"):
        from_inputs(GATE, ActionInputs({"INPUT_SEVERITY_SOURCE": "epss"}, action))
    with pytest.raises(InputError, match="input severity_threshold"):
        from_inputs(GATE, ActionInputs({"INPUT_SEVERITY_THRESHOLD": "urgent"}, action))
    with pytest.raises(InputError, match="--severity-threshold"):
        parsed(GATE, "--severity-threshold", "11")


def test_report_only_from_cli_and_inputs(tmp_path: Path) -> None:
    action = tmp_path / "action.yml"
    action.write_text("inputs:\n  enforce: {default: 'true'}\n", encoding="utf-8")
    group = Group(None, (ENFORCE,))
    assert parsed(group) == {"enforce": True} and parsed(group, "--no-enforce") == {"enforce": False}
    assert from_inputs(group, ActionInputs({}, action)) == {"enforce": True}
    for text, value in (("false", False), ("no", False), ("true", True), ("", True)):
        assert from_inputs(group, ActionInputs({"INPUT_ENFORCE": text}, action)) == {"enforce": value}
    with pytest.raises(InputError, match="input enforce"):
        from_inputs(group, ActionInputs({"INPUT_ENFORCE": "report"}, action))
    assert GateFields().enforce is True


def test_gate_options_of_a_config() -> None:
    assert GateOptions.from_config(GateOptions(severity_threshold="low")) == GateOptions(severity_threshold="low")
    assert GateOptions.from_config(GateFields(severity_source="label")) == GateOptions(severity_source="label")


def test_vex_options_from_cli_and_inputs() -> None:
    assert parsed(VEX) == {"vex_files": [], "use_vex": True}
    assert parsed(VEX, "--vex", "a.json", "b.json", "--vex", "c.json", "--no-vex") == {
        "vex_files": ["a.json", "b.json", "c.json"],
        "use_vex": False,
    }
    assert from_inputs(VEX, ActionInputs({})) == {"vex_files": [], "use_vex": True}
    inputs = ActionInputs({"INPUT_VEX_FILES": "a.json\nb.json, c.json", "INPUT_VEX": "false"})
    assert from_inputs(VEX, inputs) == {"vex_files": ["a.json", "b.json", "c.json"], "use_vex": False}


def test_the_scanning_commands_vex_options_add_no_attached_vex() -> None:
    assert parsed(SCAN_VEX) == {"vex_files": [], "use_vex": True, "attached_vex": True}
    assert parsed(SCAN_VEX, "--vex", "a.json", "--no-attached-vex") == {
        "vex_files": ["a.json"], "use_vex": True, "attached_vex": False,
    }  # fmt: skip
    inputs = ActionInputs({"INPUT_VEX_FILES": "a.json", "INPUT_ATTACHED_VEX": "false"})
    assert from_inputs(SCAN_VEX, inputs) == {"vex_files": ["a.json"], "use_vex": True, "attached_vex": False}
    for command in ("scan", "promote", "pipeline"):
        config = command_config(command, "--no-attached-vex", "--vex", "a.json")
        settings = config.scan_settings("127.0.0.1:5000/a/b:1")
        assert (settings.attached_vex, settings.use_vex, settings.vex_files) == (False, True, ("a.json",))
        assert command_config(command).scan_settings("127.0.0.1:5000/a/b:1").attached_vex is True
    assert "--no-attached-vex" not in parser_actions("evaluate")  # evaluate reads no image


def test_the_evaluated_image_must_be_pinned() -> None:
    group = Group(None, (EVALUATED_IMAGE,))
    assert parsed(group, "--image", f" ghcr.io/a/b:1@{DIGEST} ") == {"image": f"ghcr.io/a/b:1@{DIGEST}"}
    assert parsed(group) == {"image": ""}
    with pytest.raises(InputError, match=r"--image ghcr\.io/a/b:1: not pinned"):
        parsed(group, "--image", "ghcr.io/a/b:1")
    with pytest.raises(InputError, match=r"input image ghcr\.io/a/b: not pinned"):
        from_inputs(group, ActionInputs({"INPUT_IMAGE": "ghcr.io/a/b"}))
