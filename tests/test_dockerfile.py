"""The action's own Dockerfile: pinned base, absolute exec-form ENTRYPOINT, root, production marker."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gate.oci.reference import is_valid_digest, parse_reference

ROOT = Path(__file__).resolve().parents[1]
MARKER_LINE = re.compile(r"#\s*image-gate: production-image\s*")


def logical_lines() -> list[str]:
    """Instruction lines with continuations joined (enough for this file; discover has the real parser)."""
    lines: list[str] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if not pending and raw.lstrip().startswith("#"):
            continue
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        line = (pending + raw).strip()
        pending = ""
        if line:
            lines.append(line)
    return lines


def instructions(keyword: str) -> list[str]:
    return [line for line in logical_lines() if line.split(None, 1)[0].upper() == keyword]


def test_carries_the_production_marker_on_its_own_line() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert any(MARKER_LINE.fullmatch(line) for line in text.splitlines())


def test_every_base_is_pinned_by_a_valid_digest() -> None:
    froms = instructions("FROM")
    assert froms
    for line in froms:
        words = [w for w in line.split()[1:] if not w.startswith("--")]
        ref = parse_reference(words[0], strict_digest=False)
        assert ref.digest and is_valid_digest(ref.digest), f"unpinned base: {line}"


def test_entrypoint_is_absolute_exec_form() -> None:
    (line,) = instructions("ENTRYPOINT")
    argv = json.loads(line.split(None, 1)[1])
    assert isinstance(argv, list) and all(isinstance(arg, str) for arg in argv)
    assert argv[0].startswith("/"), f"ENTRYPOINT program is not absolute: {argv[0]}"
    assert all(arg.startswith("/") for arg in argv if arg.endswith(".py"))


def test_runs_as_root() -> None:
    assert instructions("USER") == [], "container actions run as root in the caller's workspace: no USER"


def test_installs_the_package_and_copies_what_it_needs() -> None:
    copies = " ".join(instructions("COPY"))
    for needed in ("pyproject.toml", "README.md", "gate", "action.yml", "entrypoint.py"):
        assert needed in copies, f"the image does not copy {needed}"
        assert (ROOT / needed).exists(), f"{needed} is copied but missing from the repository"
    assert any("pip install" in line for line in instructions("RUN"))


def test_the_project_passes_its_own_discover() -> None:
    if not (ROOT / "gate" / "commands" / "discover.py").exists():
        pytest.skip("gate/commands/discover.py is not written yet (issue 2, discovery part)")
    result = subprocess.run(
        [sys.executable, "-m", "gate", "discover", ".", "--json"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    listed = {entry["path"]: entry["production"] for entry in document["dockerfiles"]}
    assert listed.get("Dockerfile") is True, listed
    assert document["violations"] == []
