"""find_dockerfiles runs as root in someone else's workspace: no repository-configured command, no file outside."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from gate.discover.files import find_dockerfiles

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, timeout=60)


@needs_git
def test_a_repository_fsmonitor_command_is_never_run(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q")
    (root / "Dockerfile").write_text("FROM scratch\n")
    marker = tmp_path / "ran"
    _git(root, "config", "core.fsmonitor", f"touch {marker}; echo")

    assert find_dockerfiles(root) == ["Dockerfile"]
    assert not marker.exists()


@pytest.mark.parametrize("with_git", [pytest.param(True, marks=needs_git), False])
def test_a_dockerfile_symlink_out_of_the_tree_is_not_read(tmp_path: Path, with_git: bool) -> None:
    root = tmp_path / "repo"
    (root / "app").mkdir(parents=True)
    outside = tmp_path / "elsewhere.Dockerfile"
    outside.write_text("FROM secret.example/not-in-the-workspace\n")
    (root / "Dockerfile").symlink_to(outside)
    (root / "app" / "Dockerfile").write_text("FROM scratch\n")
    (root / "app" / "Containerfile").symlink_to(root / "app" / "Dockerfile")  # inside: kept
    if with_git:
        _git(root, "init", "-q")

    assert find_dockerfiles(root) == ["app/Containerfile", "app/Dockerfile"]
