"""Finding Dockerfiles and Containerfiles under a directory.

In a git work tree the candidates are the tracked files plus the untracked files
that are not ignored (one ``git ls-files`` call, so ``.gitignore`` is respected);
elsewhere the tree is walked, skipping ``.git``. Names are filtered before any
file is opened.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gate.errors import InputError

GIT_TIMEOUT_SECONDS = 120


def is_dockerfile_name(name: str) -> bool:
    """``Dockerfile``, ``Dockerfile.*``, ``*.Dockerfile``, ``*.dockerfile``, ``Containerfile``, ``Containerfile.*``."""
    return (
        name in ("Dockerfile", "Containerfile")
        or name.startswith(("Dockerfile.", "Containerfile."))
        or (name.endswith((".Dockerfile", ".dockerfile")) and len(name) > len(".dockerfile"))
    )


def _git_candidates(root: Path) -> list[str] | None:
    """Paths relative to ``root`` from git, or None when ``root`` is not in a git work tree."""
    # A container action runs as root on a workspace another user owns; git would refuse it as
    # "dubious ownership". Trusting the directory is safe only with the one repository setting that
    # makes ls-files run a command turned off: core.fsmonitor (a hook command from .git/config).
    try:
        result = subprocess.run(
            [
                "git",
                "-c",
                "safe.directory=*",
                "-c",
                "core.fsmonitor=false",
                "-C",
                str(root),
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
            capture_output=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=GIT_TIMEOUT_SECONDS,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    text = result.stdout.decode(sys.getfilesystemencoding(), "surrogateescape")
    return [path for path in text.split("\0") if path]


def _walk_candidates(root: Path) -> list[str]:
    found: list[str] = []
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = [d for d in subdirs if d != ".git"]
        relative = os.path.relpath(directory, root)
        for name in names:
            if is_dockerfile_name(name):
                found.append(name if relative == "." else f"{relative}/{name}".replace(os.sep, "/"))
    return found


def find_dockerfiles(root: Path) -> list[str]:
    """Dockerfile paths relative to ``root`` (POSIX, sorted); only regular files that exist."""
    if not root.is_dir():
        raise InputError(f"{root}: not a directory; discover needs the directory to search for Dockerfiles")
    candidates = _git_candidates(root)
    if candidates is None:
        candidates = _walk_candidates(root)
    # A cheap substring test first: most of a large tree is not a Dockerfile.
    paths = {
        path
        for path in candidates
        if ("ockerfile" in path or "ontainerfile" in path) and is_dockerfile_name(path.rpartition("/")[2])
    }
    return sorted(path for path in paths if (root / path).is_file() and inside_root(root, path))


def inside_root(root: Path, path: str) -> bool:
    """``path`` (symlinks followed) stays under ``root``: a link to a file elsewhere on the machine
    (the action runs as root) is not read as a Dockerfile."""
    base = os.path.realpath(root)
    return os.path.commonpath([base, os.path.realpath(root / path)]) == base


def read_dockerfile(root: Path, path: str) -> str:
    """The text of one Dockerfile; ``InputError`` naming the file when it cannot be read or decoded."""
    try:
        data = (root / path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the Dockerfile: {exc.strerror or exc}") from None
    return decode_dockerfile(path, data)


def decode_dockerfile(path: str, data: bytes) -> str:
    """A Dockerfile's bytes as text; ``InputError`` naming ``path`` when they are not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not valid UTF-8 text (byte {exc.start}); a Dockerfile must be UTF-8",
            hint="convert the file to UTF-8 or move it out of the scanned tree",
        ) from None
