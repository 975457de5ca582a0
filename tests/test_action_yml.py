"""action.yml is the one source of truth for input defaults and for outputs: check it is complete and
well-formed (the inputs against the option declarations: tests/options/test_declarations.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
# An input read through ActionInputs: inputs.get("name"), inputs.bool("name"), ...
INPUT_READ = re.compile(
    r"\b\w*inputs\.(?:get|bool|list|int|assignments|structured)\(\s*[\"']([^\"']+)[\"']", re.IGNORECASE
)


def action() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def test_runs_as_a_docker_container_action() -> None:
    runs = action()["runs"]
    assert runs["using"] == "docker"
    assert runs["image"] == "Dockerfile"
    assert (ROOT / runs["image"]).is_file()


def test_metadata() -> None:
    document = action()
    assert document["name"] and document["description"]


@pytest.mark.parametrize("section", ["inputs", "outputs"])
def test_every_entry_is_snake_case_and_described(section: str) -> None:
    entries = action()[section]
    assert entries, f"no {section}"
    for name, spec in entries.items():
        assert SNAKE.fullmatch(name), f"{section}.{name} is not snake_case"
        assert isinstance(spec, dict), f"{section}.{name} has no body"
        description = spec.get("description")
        assert isinstance(description, str) and description.strip(), f"{section}.{name} has no description"


def test_every_input_has_a_default() -> None:
    for name, spec in action()["inputs"].items():
        assert "default" in spec, f"inputs.{name} has no default (action.yml is the source of truth for defaults)"
        assert not spec.get("required"), f"inputs.{name} is required; give it a default instead"


def test_seed_inputs_and_outputs_are_declared() -> None:
    document = action()
    for name in ("command", "path", "marker", "require_digest", "build_args", "github_token"):
        assert name in document["inputs"], name
    for name in ("matrix", "images", "violations"):
        assert name in document["outputs"], name


def test_command_input_names_only_known_stages() -> None:
    from gate.commands import COMMANDS

    spec = action()["inputs"]["command"]
    assert spec["default"] in COMMANDS
    for stage in COMMANDS:
        assert stage in spec["description"], f"the command input does not mention {stage}"


def input_reads() -> dict[str, list[str]]:
    """Inputs read by name (``inputs.get("name")``) anywhere in the code, with where."""
    reads: dict[str, list[str]] = {}
    for path in [*sorted((ROOT / "gate").rglob("*.py")), ROOT / "entrypoint.py"]:
        text = path.read_text(encoding="utf-8")
        for match in INPUT_READ.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            reads.setdefault(match.group(1), []).append(f"{path.relative_to(ROOT)}:{line}")
    return reads


def test_the_scanner_sees_an_input_read() -> None:
    assert INPUT_READ.search('value = inputs.bool("allow_empty")')


def test_no_input_is_read_by_name_outside_its_declaration() -> None:
    """Every input is read through its ``gate.options`` declaration, so action.yml is checked against one
    place (tests/options/test_declarations.py)."""
    assert input_reads() == {}
