"""The action's own Dockerfile: pinned bases, absolute exec-form ENTRYPOINT, root, production marker, and
Trivy built from source at the version the tests use."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gate.oci.reference import is_valid_digest, parse_reference
from tests.support.trivy_db import pinned_trivy_version

ROOT = Path(__file__).resolve().parents[1]
MARKER_LINE = re.compile(r"#\s*image-gate: production-image\s*")
TRIVY_MODULE = "github.com/aquasecurity/trivy/cmd/trivy"


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


def instructions(keyword: str, lines: list[str] | None = None) -> list[str]:
    return [line for line in (logical_lines() if lines is None else lines) if line.split(None, 1)[0].upper() == keyword]


def global_args() -> list[str]:
    """The ARG lines before the first FROM (the only instruction allowed there)."""
    lines = logical_lines()
    first_from = next(i for i, line in enumerate(lines) if line.split(None, 1)[0].upper() == "FROM")
    assert all(line.split(None, 1)[0].upper() == "ARG" for line in lines[:first_from]), lines[:first_from]
    return lines[:first_from]


def stages() -> list[list[str]]:
    """The logical lines of each build stage, its FROM line first."""
    found: list[list[str]] = []
    for line in logical_lines()[len(global_args()) :]:
        if line.split(None, 1)[0].upper() == "FROM":
            found.append([])
        found[-1].append(line)
    return found


def base_of(stage: list[str]) -> str:
    return next(w for w in stage[0].split()[1:] if not w.startswith("--"))


def trivy_stage() -> list[str]:
    (stage,) = [s for s in stages() if any(TRIVY_MODULE in line for line in s)]
    return stage


def test_carries_the_production_marker_on_its_own_line() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert any(MARKER_LINE.fullmatch(line) for line in text.splitlines())


def test_every_base_is_pinned_by_a_valid_digest() -> None:
    assert stages()
    for stage in stages():
        ref = parse_reference(base_of(stage), strict_digest=False)
        assert ref.digest and is_valid_digest(ref.digest), f"unpinned base: {stage[0]}"


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


def test_trivy_is_the_version_the_tests_use() -> None:
    """Bump the two together: the tests' Trivy (scripts/install-tools.sh) is the one the action runs."""
    shipped = [line.split("=", 1)[1] for line in global_args() if line.startswith("ARG TRIVY_VERSION=")]
    assert shipped == [pinned_trivy_version()]
    for stage in (trivy_stage(), stages()[-1]):  # each stage that uses it declares it, without a default
        assert "ARG TRIVY_VERSION" in stage


def test_trivy_is_built_from_source_checked_by_the_go_checksum_database() -> None:
    stage = trivy_stage()
    final = stages()[-1]
    assert stage is not final
    # Digest-pinned like every stage (test_every_base_is_pinned_by_a_valid_digest), and the same base.
    assert base_of(stage) == base_of(final), "the builder stage runs on the final stage's pinned base"
    name = stage[0].split()[-1]
    assert stage[0].split()[-2].upper() == "AS"
    # Built on the build machine and cross-compiled for the target: no emulated compile of Trivy for arm64.
    assert stage[0].split()[1] == "--platform=$BUILDPLATFORM"
    assert {"ARG TARGETOS", "ARG TARGETARCH"} <= set(stage)
    target = f'"{TRIVY_MODULE}@v${{TRIVY_VERSION}}"'
    (install,) = [line for line in instructions("RUN", stage) if "go install " in line and target in line]
    for setting in (
        "GOTOOLCHAIN=auto", "GOEXPERIMENT=jsonv2", "CGO_ENABLED=0", "GOFLAGS=-trimpath",
        'GOOS="$TARGETOS"', 'GOARCH="$TARGETARCH"',
    ):  # fmt: skip
        assert setting in install.split(), setting
    assert "-X github.com/aquasecurity/trivy/pkg/version/app.ver=${TRIVY_VERSION}" in install  # not "dev"
    text = " ".join(logical_lines())
    for weakening in ("GOSUMDB", "GONOSUMDB", "GONOSUMCHECK", "GOINSECURE", "GOPRIVATE", "GOPROXY"):
        assert weakening not in text, f"{weakening} must stay at its default so sum.golang.org checks the build"
    copies = [line for line in instructions("COPY", final) if line.split()[1] == f"--from={name}"]
    assert len(copies) == 1 and copies[0].split()[-1] == "/usr/local/bin/trivy", copies
    assert 'RUN trivy --version | grep -qx "Version: ${TRIVY_VERSION}"' in final  # the target platform's binary


def test_no_release_archive_is_downloaded() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for download in ("releases/download", "urlretrieve", "curl ", "wget ", "ADD http"):
        assert download not in text
