"""``python -m gate pin``: --check and its exit codes, writing, --update after a tag moved, a file edited
between read and write, a registry failing for one image, and the property that pin then discover shows
every reference pinned; against real registries on loopback (the rewriter itself: tests/discover/test_pin.py)."""

from __future__ import annotations

import argparse
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.commands import pin as command
from gate.discover.stage import DiscoverRequest, discover
from gate.outcome import Context, Outcome
from tests.support.faults import FaultProxy, status_fault
from tests.support.images import build_image
from tests.support.registries import Registry
from tests.support.runner import run_on_runner

MARKER = "# image-gate: production-image"


def run_cli(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], str, str]:
    """``python -m gate pin ARGS --json`` as on a runner: (process, document, $GITHUB_OUTPUT, summary)."""
    return run_on_runner("pin", *args, cwd=cwd)


def output(text: str, name: str) -> str:
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if line.startswith(f"{name}<<"):
            return lines[number + 1]
    raise AssertionError(f"no output {name}")


def push(registry: Registry, repo: str, tag: str, seed: int) -> str:
    built = build_image(registry, repo, tag, platforms=("linux/amd64",), layers=1, layer_size=128, seed=seed)
    return built.digest


def run_pin(path: Path, *argv: str, log: Callable[[str], None] | None = None) -> Outcome:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    config = command.config_from_args(parser.parse_args([str(path), *argv]))
    return command.run(config, Context(log=log) if log is not None else Context())


def test_check_write_and_update(distribution_registry: Registry, unique_repo: str, tmp_path: Path) -> None:
    first = push(distribution_registry, unique_repo, "1", 1)
    name = distribution_registry.ref(unique_repo)
    repo = tmp_path / "repo"
    repo.mkdir()
    text = (
        f"{MARKER}\r\n"
        "ARG BASE={name}:1\r\n"
        "FROM ${{BASE}} AS build\r\n"
        "COPY --from={name}:1 \\\r\n"
        "     /a /b   # not a comment: an argument\r\n"
        "RUN <<EOF\r\n"
        "FROM {name}:1\r\n"
        "EOF\r\n"
        "FROM\t{name}:1\r\n"
    ).format(name=name)
    (repo / "Dockerfile").write_bytes(text.encode())
    (repo / "Other.Dockerfile").write_text(f"FROM {name}:1\n")  # not production: never touched

    completed, document, outputs, summary = run_cli(str(repo), "--check", cwd=tmp_path)
    assert completed.returncode == 1, completed.stderr
    assert (repo / "Dockerfile").read_bytes() == text.encode()
    pinned = text.replace(f"{name}:1\r\n", f"{name}:1@{first}\r\n").replace(f"{name}:1 \\", f"{name}:1@{first} \\")
    pinned = pinned.replace(f"RUN <<EOF\r\nFROM {name}:1@{first}", f"RUN <<EOF\r\nFROM {name}:1")  # a heredoc body
    diff = document["diff"]
    assert diff.startswith("--- a/Dockerfile\n+++ b/Dockerfile\n") and diff.replace("\r", "") in completed.stderr
    assert document["changed_files"] == ["Dockerfile"] and document["written"] == []
    assert [(p["line"], p["from"], p["to"]) for p in document["pinned"]] == [
        (2, f"{name}:1", f"{name}:1@{first}"),
        (4, f"{name}:1", f"{name}:1@{first}"),
        (9, f"{name}:1", f"{name}:1@{first}"),
    ]
    assert json.loads(output(outputs, "changed_files")) == ["Dockerfile"]
    assert json.loads(output(outputs, "pinned")) == document["pinned"]
    assert "```diff\n--- a/Dockerfile" in summary and "would be pinned" in summary

    completed, document, outputs, summary = run_cli(str(repo), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert (repo / "Dockerfile").read_bytes() == pinned.encode()
    assert (repo / "Other.Dockerfile").read_text() == f"FROM {name}:1\n"
    assert document["written"] == ["Dockerfile"]
    assert run_cli(str(repo), "--check", cwd=tmp_path)[0].returncode == 0
    assert run_cli(str(repo), "--check", "--update", cwd=tmp_path)[0].returncode == 0

    second = push(distribution_registry, unique_repo, "1", 2)  # the tag moves
    completed, document, _, _ = run_cli(str(repo), "--check", cwd=tmp_path)
    assert completed.returncode == 0 and document["changed_files"] == []  # pinned ones stay without --update
    completed, document, _, _ = run_cli(str(repo), "--check", "--update", cwd=tmp_path)
    assert completed.returncode == 1 and document["changed_files"] == ["Dockerfile"]
    assert run_cli(str(repo), "--update", cwd=tmp_path)[0].returncode == 0
    assert (repo / "Dockerfile").read_bytes() == pinned.replace(first, second).encode()
    assert run_cli(str(repo), "--check", "--update", cwd=tmp_path)[0].returncode == 0


def test_a_file_edited_between_read_and_write_is_not_overwritten(
    distribution_registry: Registry, unique_repo: str, tmp_path: Path
) -> None:
    digest = push(distribution_registry, unique_repo, "1", 3)
    name = distribution_registry.ref(unique_repo)
    for file in ("a/Dockerfile", "b/Dockerfile"):
        (tmp_path / file).parent.mkdir()
        (tmp_path / file).write_text(f"{MARKER}\nFROM {name}:1\n")
    edited = f"{MARKER}\nFROM {name}:1\n# edited meanwhile\n"

    def edit_after_the_lookups(line: str) -> None:
        if line.startswith("pin: 2 production Dockerfile(s)"):  # logged between the lookups and the writes
            (tmp_path / "a" / "Dockerfile").write_text(edited)

    outcome = run_pin(tmp_path, log=edit_after_the_lookups)
    assert outcome.exit_code == 3
    assert (tmp_path / "a" / "Dockerfile").read_text() == edited
    assert (tmp_path / "b" / "Dockerfile").read_text() == f"{MARKER}\nFROM {name}:1@{digest}\n"
    assert outcome.document["conflicts"] == ["a/Dockerfile: changed since it was read; not overwritten"]
    assert outcome.document["written"] == ["b/Dockerfile"]
    assert any(a.level == "error" and "a/Dockerfile" in a.message for a in outcome.annotations)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["Dockerfile"]  # no temporary file left


def test_a_registry_failing_for_one_image(
    distribution_registry: Registry,
    unique_repo: str,
    fault_proxy: Callable[[Registry], FaultProxy],
    tmp_path: Path,
) -> None:
    good = push(distribution_registry, f"{unique_repo}/good", "1", 4)
    push(distribution_registry, f"{unique_repo}/bad", "1", 5)
    proxy = fault_proxy(distribution_registry)
    proxy.inject(status_fault(500, path=f"/v2/{unique_repo}/bad/manifests/", times=None))
    host = proxy.registry.host
    text = f"{MARKER}\nFROM {host}/{unique_repo}/good:1\nFROM {host}/{unique_repo}/bad:1\n"
    (tmp_path / "Dockerfile").write_text(text)

    outcome = run_pin(tmp_path)
    assert outcome.exit_code == 0
    assert (tmp_path / "Dockerfile").read_text() == text.replace("good:1\n", f"good:1@{good}\n")
    (refused,) = outcome.document["refused"]
    assert (refused["line"], refused["image"]) == (3, f"{host}/{unique_repo}/bad:1") and "500" in refused["reason"]
    (warning,) = outcome.annotations
    assert (warning.level, warning.line) == ("warning", 3) and "not pinned" in warning.message

    proxy.inject(status_fault(500, path=f"/v2/{unique_repo}/good/manifests/", times=None))
    (tmp_path / "Dockerfile").write_text(text)
    outcome = run_pin(tmp_path)
    assert outcome.exit_code == 3 and "every tag lookup failed" in outcome.messages[-1]
    assert (tmp_path / "Dockerfile").read_text() == text


def test_no_production_dockerfile_and_bad_input(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\n")
    assert run_pin(tmp_path).exit_code == 1
    assert run_pin(tmp_path, "--allow-empty").exit_code == 0
    completed, document, _, _ = run_cli(str(tmp_path / "missing"), cwd=tmp_path)
    assert completed.returncode == 2 and "not a directory" in document["error"]["message"]
    (tmp_path / "Dockerfile").write_bytes(f"{MARKER}\nFROM alpine:3.20 \xff\n".encode("latin-1"))
    completed, document, _, _ = run_cli(str(tmp_path), cwd=tmp_path)
    assert completed.returncode == 2 and "Dockerfile: not valid UTF-8" in document["error"]["message"]


# --- the property: pin, then discover sees every rewritten reference pinned ------------------------


@pytest.fixture(scope="module")
def tags(distribution_registry: Registry) -> dict[str, str]:
    """Three repositories with two tags each on the registry: reference -> current digest."""
    pushed: dict[str, str] = {}
    for number, repo in enumerate(("prop/base", "prop/tools", "prop/team/app")):
        for tag in ("1", "latest"):
            digest = push(distribution_registry, repo, tag, 100 + 2 * number + (tag == "1"))
            pushed[distribution_registry.ref(repo, tag)] = digest
    return pushed


@st.composite
def production_dockerfiles(draw: st.DrawFn, references: list[str]) -> str:
    def reference() -> str:
        written = draw(st.sampled_from(references))
        return written.removesuffix(":latest") if draw(st.booleans()) else written

    escape = draw(st.sampled_from(["\\", "`"]))
    lines = ["# escape=`"] if escape == "`" else []
    lines.append(MARKER)
    use_arg = draw(st.booleans())
    if use_arg:
        lines.append(f"ARG BASE={reference()}")
    for number in range(draw(st.integers(1, 3))):
        image = "${BASE}" if use_arg and number == 0 else reference()
        gap = draw(st.sampled_from([" ", f" {escape}\n  ", f" {escape}\n# note\n  "]))
        lines.append(f"FROM{gap}{image} AS s{number}")
        if draw(st.booleans()):
            lines.append(f"COPY --from={reference()} --from={reference()} /a /b")
        if draw(st.booleans()):
            lines += [f"RUN --mount=type=bind,from={reference()},target=/m <<EOF", f"FROM {reference()}", "EOF"]
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    return "".join(line.replace("\n", ending) + ending for line in lines)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_pin_then_discover_shows_every_reference_pinned(
    tags: dict[str, str], tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    root = tmp_path_factory.mktemp("property")
    text = data.draw(production_dockerfiles(sorted(tags)))
    (root / "Dockerfile").write_bytes(text.encode())

    outcome = run_pin(root)
    assert outcome.exit_code == 0 and outcome.document["refused"] == []
    found = discover(DiscoverRequest(path=str(root)))
    assert found.failures == () and found.violations == ()
    for change in outcome.document["pinned"]:
        tag = change["from"].split("@")[0]
        tagged = tag if ":" in tag.rsplit("/", 1)[-1] else tag + ":latest"
        assert change["to"] in (f"{tag}@{tags[tagged]}", f"{tag}:latest@{tags[tagged]}")
    assert {image.image.partition("@")[2] for image in found.images} <= set(tags.values())
    assert run_pin(root, "--check", "--update").exit_code == 0
