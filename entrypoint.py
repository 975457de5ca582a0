#!/usr/bin/env python3
"""The container action's entrypoint: the runner's INPUT_* variables -> the same config the CLI builds.

Credentials are masked before anything else is printed.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gate.actions import RunnerIO
from gate.cli import execute
from gate.commands import load
from gate.config import ActionInputs, parse_structured
from gate.errors import GateError
from gate.options.run import COMMAND, JSON_OUTPUT

ACTION_YML = Path(__file__).resolve().parent / "action.yml"

# Inputs whose whole value is a credential (or holds credentials).
SECRET_INPUT = re.compile(
    r"(password|passwd|token|secret|credential|private_key|signing_key|registry_auth|docker_config)", re.I
)
# Keys of a Docker config / registry_auth document whose values are credentials.
SECRET_KEYS = frozenset({"password", "token", "auth", "identitytoken", "registrytoken", "secret", "access_token"})


def _document_secrets(document: Any) -> list[str]:
    """Credential strings inside a JSON/YAML credential document, at any depth."""
    found: list[str] = []
    if isinstance(document, dict):
        for key, value in document.items():
            if isinstance(value, str) and str(key).lower() in SECRET_KEYS:
                found.append(value)
                if str(key).lower() == "auth":  # base64("user:password"): the password alone too
                    try:
                        decoded = base64.b64decode(value, validate=True).decode("utf-8")
                    except (binascii.Error, UnicodeDecodeError):
                        continue
                    found.append(decoded.partition(":")[2])
            else:
                found += _document_secrets(value)
    elif isinstance(document, list):
        for item in document:
            found += _document_secrets(item)
    return found


def mask_credentials(inputs: ActionInputs, io: RunnerIO) -> None:
    """Mask every credential input, and each credential inside a structured one, before any output."""
    for name in inputs.declared:
        if not SECRET_INPUT.search(name):
            continue
        value = inputs.get(name)
        io.mask(value)
        if value.strip() and ("auth" in name or "config" in name):
            try:
                document = parse_structured(value, name)
            except GateError:
                continue
            for secret in _document_secrets(document):
                io.mask(secret)


def main(environ: dict[str, str] | None = None, action_yml: Path = ACTION_YML) -> int:
    io = RunnerIO(environ)
    try:
        inputs = ActionInputs(os.environ if environ is None else environ, action_yml)
        mask_credentials(inputs, io)
        name = COMMAND.from_inputs(inputs)["command"]
        json_output = JSON_OUTPUT.from_inputs(inputs)["json_output"]
        module = load(name)
    except GateError as exc:
        io.log(f"error: {exc.diagnostics()}")
        return exc.exit_code
    return execute(module, lambda: module.config_from_inputs(inputs), io, as_json=False, json_output=json_output)


if __name__ == "__main__":
    sys.exit(main())
