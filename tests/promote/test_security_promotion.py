"""Security bounds of gate.promote: a hostile index tree cannot make verification fetch without end."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.errors import RuntimeFailure
from gate.oci.layout import LayoutTarget
from gate.oci.target import Descriptor, Manifest, Platform
from gate.promote.promotion import MAX_INDEX_DEPTH, _children
from tests.oci.builders import push_image, push_index


class CountingLayout(LayoutTarget):
    """A real OCI layout that counts manifest fetches."""

    fetches = 0

    def fetch_manifest(self, reference: str) -> Manifest:
        self.fetches += 1
        return super().fetch_manifest(reference)


def _as_child(manifest: Manifest) -> Descriptor:
    d = manifest.descriptor
    return Descriptor(d.media_type, d.digest, d.size)


def test_children_listed_many_times_are_fetched_once(tmp_path: Path) -> None:
    target = CountingLayout(tmp_path / "layout", create=True)
    image = push_image(target, Platform("linux", "amd64"))
    digests = [image.descriptor.digest]
    node = image
    for _ in range(6):  # each index lists the one below three times: 3**6 walks without memory
        node = push_index(target, [_as_child(node)] * 3)
        digests.append(node.descriptor.digest)
    target.fetches = 0

    found = _children(target, node.descriptor.digest)

    assert found == list(reversed(digests[:-1]))
    assert target.fetches == len(digests)


def test_indexes_nested_deeper_than_the_cap_are_refused(tmp_path: Path) -> None:
    target = CountingLayout(tmp_path / "layout", create=True)
    node = push_image(target, Platform("linux", "amd64"))
    for _ in range(MAX_INDEX_DEPTH + 1):
        node = push_index(target, [_as_child(node)])
    target.fetches = 0

    with pytest.raises(RuntimeFailure, match="nested more than"):
        _children(target, node.descriptor.digest)
    assert target.fetches <= MAX_INDEX_DEPTH + 1


def test_indexes_nested_up_to_the_cap_are_walked(tmp_path: Path) -> None:
    target = LayoutTarget(tmp_path / "layout", create=True)
    node = push_image(target, Platform("linux", "amd64"))
    for _ in range(MAX_INDEX_DEPTH):
        node = push_index(target, [_as_child(node)])

    assert len(_children(target, node.descriptor.digest)) == MAX_INDEX_DEPTH
