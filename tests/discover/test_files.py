from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gate.discover.files import find_dockerfiles, is_dockerfile_name, read_dockerfile
from gate.errors import InputError


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Dockerfile", True),
        ("Dockerfile.prod", True),
        ("api.Dockerfile", True),
        ("api.dockerfile", True),
        ("Containerfile", True),
        ("Containerfile.dev", True),
        ("dockerfile", False),
        (".dockerfile", False),
        ("Dockerfiles", False),
        ("Dockerfile-old", False),
        ("notes.txt", False),
        ("Containerfiles", False),
    ],
)
def test_names(name: str, expected: bool) -> None:
    assert is_dockerfile_name(name) is expected


def make_tree(root: Path) -> None:
    for path in ["Dockerfile", "a/b/api.Dockerfile", "ignored/Dockerfile", "untracked/Containerfile.x", "a/readme.md"]:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("FROM alpine\n")
    (root / ".gitignore").write_text("ignored/\n")


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def test_git_tree_respects_gitignore_and_sees_untracked(tmp_path: Path) -> None:
    make_tree(tmp_path)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "Dockerfile", "a", ".gitignore")
    (tmp_path / ".git" / "Dockerfile").write_text("FROM evil\n")
    assert find_dockerfiles(tmp_path) == ["Dockerfile", "a/b/api.Dockerfile", "untracked/Containerfile.x"]
    # A subdirectory of a work tree: paths are relative to it.
    assert find_dockerfiles(tmp_path / "a") == ["b/api.Dockerfile"]
    # A tracked file deleted from disk is not reported.
    (tmp_path / "Dockerfile").unlink()
    assert find_dockerfiles(tmp_path) == ["a/b/api.Dockerfile", "untracked/Containerfile.x"]


def test_plain_directory_is_walked_skipping_git(tmp_path: Path) -> None:
    make_tree(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "Dockerfile").write_text("FROM evil\n")
    assert find_dockerfiles(tmp_path) == [
        "Dockerfile",
        "a/b/api.Dockerfile",
        "ignored/Dockerfile",
        "untracked/Containerfile.x",
    ]


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a directory"):
        find_dockerfiles(tmp_path / "missing")


def test_read_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_bytes(b"FROM \xff\xfe\n")
    with pytest.raises(InputError, match=r"^Dockerfile: not valid UTF-8"):
        read_dockerfile(tmp_path, "Dockerfile")
    (tmp_path / "dir.Dockerfile").mkdir()
    with pytest.raises(InputError, match=r"^dir.Dockerfile: cannot read"):
        read_dockerfile(tmp_path, "dir.Dockerfile")
    assert find_dockerfiles(tmp_path) == ["Dockerfile"]
