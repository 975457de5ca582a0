#!/usr/bin/env python3
"""The container action's entrypoint: the runner's INPUT_* variables -> the same config the CLI builds.

Credentials are masked before anything else is printed.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gate.actions import RunnerIO
from gate.cli import execute
from gate.commands import load
from gate.config import ActionInputs, parse_structured
from gate.errors import GateError

_SECRET_INPUT = re.compile(r"(password|token|secret|registry_auth)", re.IGNORECASE)


def mask_credentials(inputs: ActionInputs, io: RunnerIO) -> None:
    """Mask every credential-looking input, and each password inside ``registry_auth``."""
    for name in inputs.declared:
        if not _SECRET_INPUT.search(name):
            continue
        value = inputs.get(name)
        io.mask(value)
        if name == "registry_auth" and value.strip():
            try:
                document = parse_structured(value, name)
            except GateError:
                continue
            if isinstance(document, dict):
                for entry in document.values():
                    if isinstance(entry, dict):
                        for key in ("password", "token", "auth", "identitytoken"):
                            if isinstance(entry.get(key), str):
                                io.mask(entry[key])


def main() -> int:
    io = RunnerIO()
    try:
        inputs = ActionInputs(os.environ, Path(__file__).resolve().parent / "action.yml")
        mask_credentials(inputs, io)
        module = load(inputs.get("command").strip())
    except GateError as exc:
        io.log(f"error: {exc.diagnostics()}")
        return exc.exit_code
    return execute(module, lambda: module.config_from_inputs(inputs), io, as_json=False)


if __name__ == "__main__":
    sys.exit(main())
