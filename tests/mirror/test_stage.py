"""The mirror stage between OCI layouts (no registry needed): the plan, the copy, the outcome."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.errors import InputError
from gate.mirror.outcome import mirror_outcome
from gate.mirror.stage import MirrorRequest, mirror, plan
from gate.oci.copy import CopyReport
from gate.oci.layout import LayoutTarget
from gate.oci.open import Access
from tests.oci.builders import BuiltImage, build_image


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[str, BuiltImage]:
    return f"oci:{tmp_path / 'seed'}:v1", build_image(LayoutTarget(tmp_path / "seed", create=True), "v1")


def copy(source: str, destination: str, **options: object) -> tuple[list[str], CopyReport]:
    logs: list[str] = []
    request = MirrorRequest(plan(source, destination), Access(), **options)  # type: ignore[arg-type]
    return logs, mirror(request, environ={}, log=logs.append)


def test_the_destination_tag_is_its_own_else_the_source_s_else_none(tmp_path: Path) -> None:
    digest = "sha256:" + "a" * 64
    assert plan("ghcr.io/a/b:1", "ghcr.io/c/d:2").tag == "2"
    assert plan("ghcr.io/a/b:1", "ghcr.io/c/d").tag == "1"
    assert plan("ghcr.io/a/b:1", f"ghcr.io/c/d@{digest}").tag is None
    assert plan("ghcr.io/a/b:1", "ghcr.io/c/d").referrers_source is None
    assert str(plan("ghcr.io/a/b:1", "ghcr.io/c/d", "ghcr.io/att/b").referrers_source) == "ghcr.io/att/b:latest"
    with pytest.raises(InputError):
        plan("ghcr.io/a/b:1", "not a reference")


def test_copy_between_layouts_with_referrers(tmp_path: Path, seeded: tuple[str, BuiltImage]) -> None:
    source, built = seeded
    logs, report = copy(source, f"oci:{tmp_path / 'quarantine'}", copy_referrers=True)
    outcome = mirror_outcome(report)
    assert outcome.exit_code == 0
    assert outcome.document["digest"] == built.index.descriptor.digest
    assert outcome.document["destination"] == f"oci:{tmp_path / 'quarantine'}:v1"
    assert outcome.outputs == {
        "digest": built.index.descriptor.digest,
        "referrers_copied": str(outcome.document["referrers_copied"]),
        "up_to_date": "false",
    }
    assert outcome.document["referrers_copied"] == len(built.referrers)
    assert outcome.messages[0].startswith(f"mirror: copied {source}")
    assert outcome.summary.startswith("### image-gate mirror: copied")
    assert any(line.startswith("mirror: ") for line in logs)
    again = mirror_outcome(copy(source, f"oci:{tmp_path / 'quarantine'}", copy_referrers=True)[1])
    assert again.outputs["up_to_date"] == "true"
    assert again.messages[0].endswith(f"is up to date ({built.index.descriptor.digest})")


def test_a_platform_filter_writes_a_smaller_index(tmp_path: Path, seeded: tuple[str, BuiltImage]) -> None:
    source, built = seeded
    _, report = copy(source, f"oci:{tmp_path / 'one'}", platforms=("linux/amd64",))
    document = mirror_outcome(report).document
    assert document["platforms"] == ["linux/amd64"]
    assert document["digest"] != built.index.descriptor.digest
    with pytest.raises(InputError):
        copy(source, f"oci:{tmp_path / 'bad'}", platforms=("linux",))


def test_a_destination_pinned_to_another_digest_copies_nothing(tmp_path: Path, seeded: tuple[str, BuiltImage]) -> None:
    source, _ = seeded
    other = "sha256:" + "0" * 64
    with pytest.raises(InputError, match="nothing copied"):
        copy(source, f"oci:{tmp_path / 'pinned'}@{other}")
    index = tmp_path / "pinned" / "index.json"
    assert not index.exists() or json.loads(index.read_text())["manifests"] == []
