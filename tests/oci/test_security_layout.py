"""An OCI layout written as root in someone else's directory: no write through a planted symlink, bounded reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gate.errors import InputError
from gate.oci.layout import MAX_INDEX_BYTES, LayoutTarget
from gate.oci.target import Platform
from tests.oci.builders import push_image


def test_a_planted_lock_symlink_is_not_followed(tmp_path: Path) -> None:
    target = LayoutTarget(tmp_path / "layout", create=True)
    image = push_image(target, Platform("linux", "amd64"))
    victim = tmp_path / "victim"  # absent: opening the link for appending would create it
    (tmp_path / "layout" / ".index.lock").symlink_to(victim)

    target.push_manifest(image, "v1")  # the lock is the layout directory itself: no file is opened
    assert not victim.exists()
    assert (tmp_path / "layout" / ".index.lock").readlink() == victim  # someone else's link, left alone


def test_an_index_json_over_the_cap_is_refused(tmp_path: Path) -> None:
    target = LayoutTarget(tmp_path / "layout", create=True)
    with (tmp_path / "layout" / "index.json").open("wb") as handle:
        handle.truncate(MAX_INDEX_BYTES + 1)  # sparse: no disk used
    with pytest.raises(InputError, match="larger than"):
        target.list_tags()


def test_an_index_json_nested_too_deeply_is_an_input_error(tmp_path: Path) -> None:
    target = LayoutTarget(tmp_path / "layout", create=True)
    (tmp_path / "layout" / "index.json").write_bytes(b"[" * 500_000)
    with pytest.raises(InputError, match="not readable JSON"):
        target.list_tags()


def test_a_fifo_as_index_json_is_refused_without_blocking(tmp_path: Path) -> None:
    target = LayoutTarget(tmp_path / "layout", create=True)
    (tmp_path / "layout" / "index.json").unlink(missing_ok=True)
    os.mkfifo(tmp_path / "layout" / "index.json")  # a blocking open would wait for a writer forever
    with pytest.raises(InputError, match=r"index\.json: the layout's index\.json is not a regular file"):
        target.list_tags()
