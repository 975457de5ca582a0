"""The discover stage on real trees on disk: its document, outputs, annotations, messages and failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.discover.matrix import MATRIX_CAP
from gate.discover.outcome import discovery_outcome
from gate.discover.policy import DEFAULT_MARKER
from gate.discover.stage import DiscoverRequest, discover
from gate.errors import InputError
from gate.outcome import Outcome

D = "sha256:" + "d" * 64
MARK = f"# {DEFAULT_MARKER}\n"


def write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    return root


def run(request: DiscoverRequest) -> Outcome:
    return discovery_outcome(discover(request))


def test_document_outputs_and_annotations(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/Dockerfile": MARK + f"FROM golang:1.22@{D} AS build\nFROM alpine:3.20\nCOPY --from=build /a /a\n",
            "web/Containerfile": MARK + f"FROM docker.io/library/golang:1.21@{D}\n",
            "dev/Dockerfile.dev": "FROM python:3\n",
        },
    )
    outcome = run(DiscoverRequest(path=str(tmp_path)))
    assert outcome.exit_code == 1
    doc = outcome.document
    assert list(doc) == ["dockerfiles", "images", "violations", "matrix"]
    assert doc["dockerfiles"] == [
        {"path": "app/Dockerfile", "production": True},
        {"path": "dev/Dockerfile.dev", "production": False},
        {"path": "web/Containerfile", "production": True},
    ]
    assert doc["images"] == [
        {
            "image": "docker.io/library/alpine:3.20",
            "pinned": False,
            "locations": [{"path": "app/Dockerfile", "line": 3, "instruction": "FROM"}],
        },
        {
            "image": f"docker.io/library/golang:1.22@{D}",
            "pinned": True,
            "locations": [
                {"path": "app/Dockerfile", "line": 2, "instruction": "FROM"},
                {"path": "web/Containerfile", "line": 2, "instruction": "FROM"},
            ],
        },
    ]
    assert doc["violations"] == [
        {
            "path": "app/Dockerfile",
            "line": 3,
            "image": "docker.io/library/alpine:3.20",
            "reason": "not pinned by digest",
        }
    ]
    assert [entry["name"] for entry in doc["matrix"]["include"]] == [
        "docker.io/library/alpine",
        "docker.io/library/golang",
    ]
    assert json.loads(outcome.outputs["matrix"]) == doc["matrix"]
    assert "\n" not in outcome.outputs["matrix"]
    assert json.loads(outcome.outputs["images"]) == doc["images"]
    assert json.loads(outcome.outputs["violations"]) == doc["violations"]
    (annotation,) = outcome.annotations
    assert annotation.level == "error" and annotation.line == 3 and annotation.title
    assert annotation.file is not None and annotation.file.endswith("app/Dockerfile")
    assert "dev/Dockerfile.dev" in outcome.summary


def test_annotation_path_is_relative_to_the_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"svc/Dockerfile": MARK + "FROM alpine\n"})
    monkeypatch.chdir(tmp_path)
    outcome = run(DiscoverRequest(path="svc"))
    assert outcome.document["violations"][0]["path"] == "Dockerfile"
    assert outcome.annotations[0].file == "svc/Dockerfile"


def test_no_require_digest_reports_without_failing(tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": MARK + "FROM alpine\n"})
    outcome = run(DiscoverRequest(path=str(tmp_path), require_digest=False))
    assert outcome.exit_code == 0
    assert len(outcome.document["violations"]) == 1


def test_no_production_dockerfile_fails_unless_allowed(tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": "FROM alpine\n"})
    outcome = run(DiscoverRequest(path=str(tmp_path)))
    assert outcome.exit_code == 1
    assert any("no production Dockerfile" in line for line in outcome.messages)
    allowed = run(DiscoverRequest(path=str(tmp_path), allow_empty=True))
    assert allowed.exit_code == 0
    assert allowed.document["matrix"] == {"include": []}
    every = run(DiscoverRequest(path=str(tmp_path), all_dockerfiles=True))
    assert every.document["dockerfiles"] == [{"path": "Dockerfile", "production": True}]
    custom = run(DiscoverRequest(path=str(tmp_path), marker="jim"))
    assert custom.exit_code == 1


def test_matrix_cap(tmp_path: Path) -> None:
    lines = "".join(f"FROM ghcr.io/acme/img{i}@{D}\n" for i in range(MATRIX_CAP + 1))
    write(tmp_path, {"Dockerfile": MARK + lines})
    outcome = run(DiscoverRequest(path=str(tmp_path)))
    assert outcome.exit_code == 1
    assert any(f"matrix cap of {MATRIX_CAP}" in line for line in outcome.messages)
    raised = run(DiscoverRequest(path=str(tmp_path), max_matrix=1000))
    assert raised.exit_code == 0


def test_build_args_and_syntax_errors(tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": MARK + "ARG BASE\nFROM $BASE\nRUN <<EOF\n", "x.Dockerfile": "RUN <<EOF\n"})
    outcome = run(DiscoverRequest(path=str(tmp_path)))
    assert [(v["line"], v["reason"]) for v in outcome.document["violations"]] == [
        (3, "unresolved build argument"),
        (4, "Dockerfile syntax error: unterminated heredoc 'EOF'"),
    ]
    assert any("x.Dockerfile:1" in line for line in outcome.messages)
    given = run(DiscoverRequest(path=str(tmp_path), build_args={"BASE": f"alpine@{D}"}))
    assert [v["reason"] for v in given.document["violations"]] == [
        "Dockerfile syntax error: unterminated heredoc 'EOF'"
    ]


def test_undecodable_dockerfile_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_bytes(b"\xff\xfe")
    with pytest.raises(InputError, match="Dockerfile"):
        run(DiscoverRequest(path=str(tmp_path)))
