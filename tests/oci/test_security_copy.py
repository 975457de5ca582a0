"""Hostile image graphs against the copy engine: deep nesting, endless referrers, huge graphs."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.oci.copy import MAX_GRAPH_DEPTH, CopyOptions, copy_image
from gate.oci.http import RegistryFailure
from gate.oci.layout import LayoutTarget
from gate.oci.target import Manifest
from tests.oci.builders import AMD64, SBOM_TYPE, build_image, push_image, push_index, push_referrer, with_platform


@pytest.fixture
def source(tmp_path: Path) -> LayoutTarget:
    return LayoutTarget(tmp_path / "src", create=True)


@pytest.fixture
def dest(tmp_path: Path) -> LayoutTarget:
    return LayoutTarget(tmp_path / "dst", create=True)


def _nested(source: LayoutTarget, levels: int) -> Manifest:
    image = push_image(source, AMD64, layers=1, layer_size=10)
    current = push_index(source, [with_platform(image, AMD64)])
    for _ in range(levels - 1):
        current = push_index(source, [current.descriptor])
    source.push_manifest(current, "v1")
    return current


def test_indexes_nested_deeper_than_the_cap_fail_and_push_nothing(source: LayoutTarget, dest: LayoutTarget) -> None:
    _nested(source, MAX_GRAPH_DEPTH + 1)
    with pytest.raises(RegistryFailure, match=f"indexes nested more than {MAX_GRAPH_DEPTH} deep"):
        copy_image(source, "v1", dest, "v1")
    assert dest.list_tags() == []


def test_indexes_nested_to_the_cap_are_copied(source: LayoutTarget, dest: LayoutTarget) -> None:
    root = _nested(source, MAX_GRAPH_DEPTH)
    assert copy_image(source, "v1", dest, "v1").digest == root.descriptor.digest


def _referrer_chain(source: LayoutTarget, levels: int) -> None:
    subject = push_image(source, AMD64, layers=1, layer_size=10)
    source.push_manifest(subject, "v1")
    for n in range(levels):
        subject = push_referrer(source, subject, SBOM_TYPE, f"sbom {n}".encode())


def test_referrers_of_referrers_deeper_than_the_cap_fail(source: LayoutTarget, dest: LayoutTarget) -> None:
    _referrer_chain(source, MAX_GRAPH_DEPTH + 1)
    with pytest.raises(RegistryFailure, match=f"referrers of referrers nested more than {MAX_GRAPH_DEPTH} deep"):
        copy_image(source, "v1", dest, "v1", CopyOptions(copy_referrers=True))
    assert dest.list_tags() == []


def test_referrers_to_the_cap_are_copied(source: LayoutTarget, dest: LayoutTarget) -> None:
    _referrer_chain(source, MAX_GRAPH_DEPTH)
    report = copy_image(source, "v1", dest, "v1", CopyOptions(copy_referrers=True))
    assert report.referrers_total == MAX_GRAPH_DEPTH


def test_a_graph_over_the_node_cap_fails_naming_the_cap(
    tmp_path: Path, source: LayoutTarget, dest: LayoutTarget
) -> None:
    build_image(source, "v1")  # an index, 2 images, 2 attestations, then referrers
    with pytest.raises(RegistryFailure, match="more than 4 manifests"):
        copy_image(source, "v1", dest, "v1", CopyOptions(max_nodes=4))
    with pytest.raises(RegistryFailure, match=r"more than 5 manifests .* at referrer level 1"):
        copy_image(source, "v1", dest, "v1", CopyOptions(copy_referrers=True, max_nodes=5))
    assert dest.list_tags() == []
    everything = copy_image(source, "v1", LayoutTarget(tmp_path / "all", create=True), "v1", CopyOptions(True))
    exact = CopyOptions(copy_referrers=True, max_nodes=everything.manifests_copied)
    assert copy_image(source, "v1", dest, "v1", exact).manifests_copied == everything.manifests_copied


class CountingLayout(LayoutTarget):
    listed = 0

    def list_tags(self) -> list[str]:
        self.listed += 1
        return super().list_tags()


def test_cosign_tags_are_listed_once_per_copy(tmp_path: Path, dest: LayoutTarget) -> None:
    source = CountingLayout(tmp_path / "counted", create=True)
    built = build_image(source, "v1")
    signature = push_image(source, AMD64, layers=1, layer_size=10)
    source.push_manifest(signature, built.index.descriptor.digest.replace(":", "-") + ".sig")
    report = copy_image(source, "v1", dest, "v1", CopyOptions(copy_referrers=True, referrers_source=source))
    assert source.listed == 1
    assert any(r.kind == "cosign" for r in report.root_referrers)
