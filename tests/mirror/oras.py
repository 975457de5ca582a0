"""``oras`` (the tool the seed system writes and reads its records with) as an independent writer and
reader of the mirror history and the acquisition provenance."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.support.registries import Registry, require_tool


def oras(registry: Registry, *args: str, cwd: Path | None = None) -> str:
    """Run ``oras`` over plain HTTP with ``registry``'s credentials (if any) in a private HOME; stdout."""
    home = tempfile.mkdtemp(prefix="oras-home-")
    login = ["--username", registry.username, "--password", str(registry.password)] if registry.username else []
    env = {"HOME": home, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    done = subprocess.run(
        [require_tool("oras"), *args, "--plain-http", *login], capture_output=True, text=True, env=env, cwd=cwd,
        timeout=120,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"oras {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def fetch_manifest(registry: Registry, reference: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(oras(registry, "manifest", "fetch", reference))
    return document


def pull(registry: Registry, reference: str, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    oras(registry, "pull", reference, "-o", str(into))
    return into
