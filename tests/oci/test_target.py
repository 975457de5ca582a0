"""``gate.oci.target.read_blob``: a small blob whole, capped, verified by the target's own stream (on an OCI
layout, a real target)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from gate.errors import InputError
from gate.oci.layout import LayoutTarget
from gate.oci.target import DigestMismatch, read_blob
from tests.oci.builders import push_blob


@pytest.fixture
def layout(tmp_path: Path) -> LayoutTarget:
    return LayoutTarget(tmp_path / "store", create=True)


def test_a_blob_within_the_cap_is_read_whole(layout: LayoutTarget) -> None:
    data = b"c" * (3 * 1024 * 1024 + 1)  # several chunks
    descriptor = push_blob(layout, data, "application/vnd.oci.image.config.v1+json")
    assert read_blob(layout, descriptor, len(data)) == data


def test_over_the_cap_by_descriptor_or_by_stream(layout: LayoutTarget) -> None:
    descriptor = push_blob(layout, b"0123456789", "text/plain")
    with pytest.raises(InputError, match=r"10 bytes exceeds the cap of 9"):
        read_blob(layout, descriptor, 9)
    understated = replace(descriptor, size=4)  # a descriptor that lies about the size
    with pytest.raises((InputError, DigestMismatch)):
        read_blob(layout, understated, 5)


def test_a_corrupted_blob_is_refused(layout: LayoutTarget) -> None:
    descriptor = push_blob(layout, b"hello world", "text/plain")
    (layout.path / "blobs" / "sha256" / descriptor.digest.split(":")[1]).write_bytes(b"hello WORLD")
    with pytest.raises(DigestMismatch):
        read_blob(layout, descriptor, 100)
