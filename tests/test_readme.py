"""The README documents every input and output of action.yml, with the command-line options of each input
(from the option declarations), in tables kept in sync by a script."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import readme_tables  # noqa: E402


def readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def action() -> dict[str, dict[str, object]]:
    return yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def block(name: str) -> str:
    match = readme_tables.block_pattern(name).search(readme())
    assert match, f"README.md has no {name} block"
    return match.group(2)


def test_tables_are_in_sync_with_action_yml() -> None:
    assert readme_tables.render(readme(), readme_tables.load_action()) == readme(), (
        "README tables are out of date: run python3 scripts/readme_tables.py"
    )


@pytest.mark.parametrize(("section", "name"), [("inputs", "action-inputs"), ("outputs", "action-outputs")])
def test_every_entry_is_documented(section: str, name: str) -> None:
    rows = re.findall(r"^\| `([^`]+)` \|", block(name), re.MULTILINE)
    assert rows == list(action()[section]), f"README {section} table does not list every {section[:-1]} in order"


def test_check_mode_as_a_process(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "readme_tables.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_render_escapes_cells_and_replaces_only_the_blocks() -> None:
    document = {
        "inputs": {"a_b": {"description": "x | y\nz", "default": "${{ github.token }}"}, "e": {"description": "d"}},
        "outputs": {"o": {"description": "out"}},
    }
    text = (
        "intro\n<!-- BEGIN action-inputs (generated) -->\nold\n<!-- END action-inputs -->\nmiddle\n"
        "<!-- BEGIN action-outputs -->\n<!-- END action-outputs -->\nend\n"
    )
    rendered = readme_tables.render(text, document)
    assert "| `a_b` | — | `${{ github.token }}` | x \\| y z |" in rendered
    assert "| `e` | — | (empty) | d |" in rendered
    assert "| `o` | out |" in rendered
    assert rendered.startswith("intro\n") and "\nmiddle\n" in rendered and rendered.endswith("end\n")
    assert "old" not in rendered
    assert readme_tables.render(rendered, document) == rendered


def test_every_input_has_its_command_line_options() -> None:
    cli = readme_tables.cli_options()
    assert set(cli) == set(action()["inputs"])
    assert all(cli.values()), [name for name, flags in cli.items() if not flags]
    assert cli["severity_threshold"] == ["`--severity-threshold`"]
    assert cli["vex"] == ["`--no-vex`"]
    assert cli["source"] == ["`<source>`", "`<image>`", "`--source`"]  # mirror/promote, scan, pipeline
    assert cli["trivy_options"] == ["`--trivy-*`"]
    rows = dict(re.findall(r"^\| `([^`]+)` \| (.*?) \| ", block("action-inputs"), re.MULTILINE))
    assert rows["exceptions_file"] == "`--exceptions`"


def test_render_refuses_a_readme_without_blocks() -> None:
    with pytest.raises(SystemExit):
        readme_tables.render("# nothing here\n", {"inputs": {}, "outputs": {}})


def test_quick_start_has_exactly_two_commands() -> None:
    section = readme().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    fence = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert fence
    assert [line for line in fence.group(1).splitlines() if line.strip()] == ["make demo", "make test"]


def test_sections_and_one_subsection_per_command() -> None:
    from gate.commands import COMMANDS

    text = readme()
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    for wanted in (
        "Quick start",
        "Commands",
        "Action inputs",
        "Action outputs",
        "Exit codes",
        "Runner I/O and security notes",
        "Development",
    ):
        assert wanted in headings, wanted
    commands = text.split("## Commands", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^### (\w+)", commands, re.MULTILINE) == list(COMMANDS)


def test_exit_codes_are_documented() -> None:
    section = readme().split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    for code in ("`0`", "`1`", "`2`", "`3`"):
        assert f"| {code} |" in section
