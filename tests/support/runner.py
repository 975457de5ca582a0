"""``python -m gate`` run as on a GitHub runner (GITHUB_ACTIONS, $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY set,
nothing of the caller's runner environment leaking in), and the output file read as the runner reads it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def read_outputs(text: str) -> dict[str, str]:
    """A $GITHUB_OUTPUT file (``name<<DELIMITER``, value lines, ``DELIMITER``) as the runner reads it."""
    found: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        name, _, delimiter = line.partition("<<")
        found[name] = "\n".join(iter(lambda: next(lines), delimiter))
    return found


def run_on_runner(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], str, str]:
    """``python -m gate ARGS --json`` in ``cwd``: (process, JSON document, $GITHUB_OUTPUT text, step summary)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "IMAGE_GATE_"))}
    outputs, summary = cwd / "outputs.txt", cwd / "summary.md"
    outputs.write_text(""), summary.write_text("")
    environ.update(
        PYTHONPATH=str(ROOT), GITHUB_ACTIONS="true", GITHUB_OUTPUT=str(outputs), GITHUB_STEP_SUMMARY=str(summary)
    )
    completed = subprocess.run(
        [sys.executable, "-m", "gate", *args, "--json"],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )
    document = json.loads(completed.stdout) if completed.stdout.strip() else {}
    return completed, document, outputs.read_text(), summary.read_text()
