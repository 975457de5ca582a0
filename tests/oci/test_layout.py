from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from gate.errors import InputError, RuntimeFailure
from gate.oci.blobs import VerifyingStream
from gate.oci.layout import LayoutTarget
from gate.oci.manifest import REF_NAME
from gate.oci.reference import compute_digest
from gate.oci.target import OCI_INDEX, Descriptor, DigestMismatch
from tests.oci.builders import (
    AMD64,
    SBOM_TYPE,
    SIG_TYPE,
    blob_source,
    build_image,
    manifest_of,
    push_blob,
    push_image,
    push_index,
    push_referrer,
)
from tests.oci.registry_helpers import make_pool, open_target
from tests.support.registries import Registry


@pytest.fixture
def layout(tmp_path: Path) -> LayoutTarget:
    return LayoutTarget(tmp_path / "store", create=True)


def test_new_layout_has_the_spec_files(tmp_path: Path) -> None:
    LayoutTarget(tmp_path / "new", create=True)
    assert json.loads((tmp_path / "new" / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((tmp_path / "new" / "index.json").read_text())
    assert index["mediaType"] == OCI_INDEX and index["manifests"] == []


def test_missing_layout_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not an OCI image layout"):
        LayoutTarget(tmp_path / "absent")


def test_bad_layout_version(tmp_path: Path) -> None:
    (tmp_path / "oci-layout").write_text('{"imageLayoutVersion": "2.0.0"}')
    with pytest.raises(InputError, match="imageLayoutVersion"):
        LayoutTarget(tmp_path)


def test_tag_resolve_fetch_list_delete(layout: LayoutTarget) -> None:
    image = push_image(layout, AMD64)
    layout.push_manifest(image, "v1")
    layout.push_manifest(image, "v2")
    assert layout.list_tags() == ["v1", "v2"]
    assert layout.resolve("v1").digest == image.descriptor.digest
    assert layout.resolve(image.descriptor.digest).media_type == image.descriptor.media_type
    fetched = layout.fetch_manifest("v2")
    assert fetched.data == image.data and fetched.descriptor.digest == image.descriptor.digest
    layout.delete_tag("v1")
    assert layout.list_tags() == ["v2"]
    with pytest.raises(InputError, match="no image tagged 'v1'"):
        layout.resolve("v1")
    with pytest.raises(InputError, match="no tag 'v1' to delete"):
        layout.delete_tag("v1")
    # retagging moves the tag, it does not duplicate it
    other = push_image(layout, AMD64)
    layout.push_manifest(other, "v2")
    assert layout.resolve("v2").digest == other.descriptor.digest
    entries = json.loads((layout.path / "index.json").read_text())["manifests"]
    assert [e["annotations"][REF_NAME] for e in entries] == ["v2"]


def test_blob_round_trip_streams_and_verifies(layout: LayoutTarget) -> None:
    data = b"x" * (3 * 1024 * 1024 + 5)
    descriptor = push_blob(layout, data, "application/octet-stream")
    assert layout.has_blob(descriptor.digest)
    with layout.open_blob(descriptor) as chunks:
        parts = list(chunks)
    assert len(parts) > 1 and b"".join(parts) == data


def test_push_blob_with_wrong_bytes_stores_nothing(layout: LayoutTarget) -> None:
    descriptor = Descriptor("application/octet-stream", compute_digest(b"right"), 5)
    with pytest.raises(DigestMismatch, match="expected"):
        layout.push_blob(descriptor, blob_source(b"wrong"))
    with pytest.raises(DigestMismatch, match="larger"):
        layout.push_blob(descriptor, blob_source(b"right, but longer"))
    assert not layout.has_blob(descriptor.digest)
    assert not [p for p in (layout.path / "blobs" / "sha256").iterdir() if p.name.startswith(".")]


def test_corrupted_blob_on_disk_is_detected_when_read(layout: LayoutTarget) -> None:
    descriptor = push_blob(layout, b"hello world", "text/plain")
    (layout.path / "blobs" / "sha256" / descriptor.digest.split(":")[1]).write_bytes(b"hello WORLD")
    with pytest.raises(DigestMismatch), layout.open_blob(descriptor) as chunks:
        b"".join(chunks)


def test_missing_blob_and_manifest(layout: LayoutTarget) -> None:
    absent = Descriptor("text/plain", "sha256:" + "0" * 64, 1)
    with pytest.raises(InputError, match="missing"), layout.open_blob(absent):
        pass
    with pytest.raises(InputError, match="not in the layout"):
        layout.fetch_manifest(absent.digest)
    with pytest.raises(InputError, match="invalid digest"):
        layout.has_blob("sha256:../../etc/passwd")


def test_manifest_whose_content_is_absent_is_refused(layout: LayoutTarget) -> None:
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "0" * 64, "size": 3}
        ],
    }
    with pytest.raises(RuntimeFailure, match="not in the layout"):
        layout.push_manifest(manifest_of(document), "v1")
    assert layout.list_tags() == []


def test_manifest_with_wrong_digest_is_refused(layout: LayoutTarget) -> None:
    manifest = manifest_of({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []})
    forged = type(manifest)(manifest.descriptor, manifest.data + b" ")
    with pytest.raises(DigestMismatch):
        layout.push_manifest(forged, "v1")


def test_referrers_found_by_subject_and_filtered(layout: LayoutTarget) -> None:
    built = build_image(layout)
    amd, _ = built.images
    sbom_amd, _, sig_index, sig_sbom = built.referrers
    found = layout.referrers(amd.descriptor.digest)
    assert [d.digest for d in found] == [sbom_amd.descriptor.digest]
    assert found[0].artifact_type == SBOM_TYPE
    assert [d.digest for d in layout.referrers(built.index.descriptor.digest)] == [sig_index.descriptor.digest]
    assert [d.digest for d in layout.referrers(sbom_amd.descriptor.digest)] == [sig_sbom.descriptor.digest]
    assert layout.referrers(amd.descriptor.digest, artifact_type=SIG_TYPE) == []
    # adding again does not duplicate
    layout.add_referrer(amd.descriptor, sbom_amd)
    assert len(layout.referrers(amd.descriptor.digest)) == 1
    # referrers are untagged entries: tags are unchanged
    assert layout.list_tags() == ["v1"]


def test_referrers_tag_schema_index_is_honoured(layout: LayoutTarget) -> None:
    """regctl writes referrers of an OCI layout as a sha256-<hex> tagged index."""
    image = push_image(layout, AMD64)
    empty = push_blob(layout, b"{}", "application/vnd.oci.empty.v1+json")
    referrer = manifest_of(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": SBOM_TYPE,
            "config": {"mediaType": empty.media_type, "digest": empty.digest, "size": empty.size},
            "layers": [],
            "subject": {
                "mediaType": image.descriptor.media_type,
                "digest": image.descriptor.digest,
                "size": image.descriptor.size,
            },
        }
    )
    layout.push_manifest(referrer)
    child = Descriptor(
        referrer.descriptor.media_type, referrer.descriptor.digest, referrer.descriptor.size, artifact_type=SBOM_TYPE
    )
    push_index(layout, [child], image.descriptor.digest.replace(":", "-"))
    assert [d.digest for d in layout.referrers(image.descriptor.digest)] == [referrer.descriptor.digest]


def test_add_referrer_checks_subject(layout: LayoutTarget) -> None:
    image = push_image(layout, AMD64)
    other = push_image(layout, AMD64)
    referrer = push_referrer(layout, image, SBOM_TYPE, b"{}")
    with pytest.raises(InputError, match="does not name"):
        layout.add_referrer(other.descriptor, referrer)


def test_concurrent_tagging_keeps_every_tag(layout: LayoutTarget) -> None:
    image = push_image(layout, AMD64)
    threads = [threading.Thread(target=layout.push_manifest, args=(image, f"t{i}")) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert layout.list_tags() == sorted(f"t{i}" for i in range(16))


def test_writers_through_separate_targets_keep_every_tag_and_leave_no_lock_file(layout: LayoutTarget) -> None:
    """Each target has its own thread lock: the lock on the layout directory serialises them (as it
    does separate processes), and nothing but the layout's own files is left behind."""
    image = push_image(layout, AMD64)
    writers = [LayoutTarget(layout.path) for _ in range(8)]
    threads = [threading.Thread(target=w.push_manifest, args=(image, f"t{i}")) for i, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    referrer = push_referrer(layout, image, SBOM_TYPE, b"{}")
    layout.add_referrer(image.descriptor, referrer)
    layout.delete_tag("t0")
    assert layout.list_tags() == sorted(f"t{i}" for i in range(1, 8))
    assert sorted(p.name for p in layout.path.iterdir()) == ["blobs", "index.json", "oci-layout"]
    assert not [p for p in layout.path.rglob(".*")]


def test_corrupt_index_json(layout: LayoutTarget) -> None:
    (layout.path / "index.json").write_text("{")
    with pytest.raises(InputError, match=r"index\.json is not readable"):
        layout.list_tags()
    (layout.path / "index.json").write_text('{"manifests": 3}')
    with pytest.raises(InputError, match="not an image index"):
        layout.list_tags()


def test_open_blob_is_a_stream_that_verifies_itself(layout: LayoutTarget) -> None:
    descriptor = push_blob(layout, b"hello world", "text/plain")
    with layout.open_blob(descriptor) as chunks:
        assert isinstance(chunks, VerifyingStream) and not chunks.verified
        assert b"".join(chunks) == b"hello world"
        assert chunks.verified
    (layout.path / "blobs" / "sha256" / descriptor.digest.split(":")[1]).write_bytes(b"hello WORLD")
    with layout.open_blob(descriptor) as chunks, pytest.raises(DigestMismatch):
        b"".join(chunks)
    assert isinstance(chunks, VerifyingStream) and not chunks.verified


def test_layout_to_layout_copy_of_a_corrupt_blob_stores_nothing(layout: LayoutTarget, tmp_path: Path) -> None:
    # The destination trusts the source's own verification, so it must fail when that one does.
    descriptor = push_blob(layout, b"hello world", "text/plain")
    (layout.path / "blobs" / "sha256" / descriptor.digest.split(":")[1]).write_bytes(b"hello WORLD")
    other = LayoutTarget(tmp_path / "other", create=True)
    with pytest.raises(DigestMismatch):
        other.push_blob(descriptor, lambda: layout.open_blob(descriptor))
    assert not other.has_blob(descriptor.digest)


def test_content_is_world_readable_and_temporary_files_private(tmp_path: Path) -> None:
    previous = os.umask(0o077)
    try:
        layout = LayoutTarget(tmp_path / "made" / "store", create=True)
        seen: list[int] = []

        @contextmanager
        def source() -> Iterator[Iterator[bytes]]:
            def chunks() -> Iterator[bytes]:
                yield b"hello "
                seen.extend(p.stat().st_mode & 0o777 for p in (layout.path / "blobs" / "sha256").glob(".*.tmp"))
                yield b"world"

            yield chunks()

        descriptor = Descriptor("text/plain", compute_digest(b"hello world"), 11)
        layout.push_blob(descriptor, source)
        build_image(layout, "v1")
    finally:
        os.umask(previous)
    assert seen == [0o600]
    files = [p for p in layout.path.rglob("*") if p.is_file()]
    directories = [layout.path, *(p for p in layout.path.rglob("*") if p.is_dir())]
    assert {p.stat().st_mode & 0o777 for p in files} == {0o644}
    assert {p.stat().st_mode & 0o777 for p in directories} == {0o755}
    assert (tmp_path / "made").stat().st_mode & 0o777 == 0o755


def test_layout_to_registry_copy_verifies_once_and_refuses_corrupt_content(
    layout: LayoutTarget, distribution_registry: Registry, unique_repo: str
) -> None:
    data = b"layer " * 100_000
    descriptor = push_blob(layout, data, "application/octet-stream")
    target = open_target(make_pool(distribution_registry), distribution_registry, unique_repo)
    target.push_blob(descriptor, lambda: layout.open_blob(descriptor))
    assert target.has_blob(descriptor.digest)
    bad = push_blob(layout, b"other " * 100_000, "application/octet-stream")
    (layout.path / "blobs" / "sha256" / bad.digest.split(":")[1]).write_bytes(b"OTHER " * 100_000)
    with pytest.raises(DigestMismatch):
        target.push_blob(bad, lambda: layout.open_blob(bad))
    assert not target.has_blob(bad.digest)
