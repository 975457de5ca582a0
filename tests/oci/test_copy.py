"""The graph copy between OCI layouts (registry end-to-end runs are in test_mirror_e2e.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from gate.errors import InputError
from gate.oci.copy import CopyOptions, copy_image
from gate.oci.layout import LayoutTarget
from gate.oci.manifest import parse
from gate.oci.target import BlobSource, Descriptor, DigestMismatch, Platform
from tests.oci.builders import (
    AMD64,
    ARM64,
    EMPTY,
    SBOM_TYPE,
    SIG_TYPE,
    BuiltImage,
    build_image,
    manifest_of,
    push_blob,
    push_image,
    push_referrer,
)


@pytest.fixture
def source(tmp_path: Path) -> LayoutTarget:
    return LayoutTarget(tmp_path / "src", create=True)


@pytest.fixture
def built(source: LayoutTarget) -> BuiltImage:
    return build_image(source, "v1")


@pytest.fixture
def dest(tmp_path: Path) -> LayoutTarget:
    return LayoutTarget(tmp_path / "dst", create=True)


ALL = CopyOptions(copy_referrers=True)


def all_digests(built: BuiltImage) -> list[str]:
    return [m.descriptor.digest for m in (built.index, *built.images, *built.attestations, *built.referrers)]


def test_cold_copy_brings_the_whole_graph(source: LayoutTarget, dest: LayoutTarget, built: BuiltImage) -> None:
    report = copy_image(source, "v1", dest, "mirrored", ALL)
    assert report.digest == built.index.descriptor.digest
    assert dest.resolve("mirrored").digest == built.index.descriptor.digest
    for digest in all_digests(built):
        assert dest.has_manifest(digest), digest
    # index + 2 images + 2 attestations + 4 referrers
    assert report.manifests_copied == 9 and report.manifests_skipped == 0
    # per image: config + 2 layers (x2); per attestation: config (shared) + statement (x2); referrers: empty config + payload (x4)
    assert report.blobs_copied == 6 + 3 + 5
    assert report.blobs_skipped == 0 and report.blobs_mounted == 0
    assert report.bytes_copied > 4000
    assert report.referrers_total == 4 and report.referrers_copied == 4
    assert not report.up_to_date
    assert report.platforms == ("linux/amd64", "linux/arm64/v8")
    amd_entry = report.graph[0]
    kinds = sorted((r.kind, r.artifact_type or "") for r in amd_entry.referrers)
    assert kinds == [("attestation", ""), ("referrer", SBOM_TYPE), ("referrer", SIG_TYPE)]
    attestation = next(r for r in amd_entry.referrers if r.kind == "attestation")
    assert attestation.predicate_types == ("https://spdx.dev/Document",)
    assert [r.artifact_type for r in report.root_referrers] == [SIG_TYPE]
    sbom_amd, sbom_arm, sig_index, sig_sbom = built.referrers
    amd, arm = built.images
    assert [d.digest for d in dest.referrers(amd.descriptor.digest)] == [sbom_amd.descriptor.digest]
    assert [d.digest for d in dest.referrers(arm.descriptor.digest)] == [sbom_arm.descriptor.digest]
    assert [d.digest for d in dest.referrers(built.index.descriptor.digest)] == [sig_index.descriptor.digest]
    assert [d.digest for d in dest.referrers(sbom_amd.descriptor.digest)] == [sig_sbom.descriptor.digest]
    assert report.to_json()["destination"].endswith(":mirrored")


def test_warm_rerun_moves_nothing(source: LayoutTarget, dest: LayoutTarget, built: BuiltImage) -> None:
    copy_image(source, "v1", dest, "v1", ALL)
    again = copy_image(source, "v1", dest, "v1", ALL)
    assert again.up_to_date
    assert again.blobs_copied == again.blobs_mounted == again.bytes_copied == 0
    assert again.manifests_copied == 0 and again.manifests_skipped == 9
    assert again.referrers_copied == 0 and again.referrers_total == 4


def test_new_referrer_on_an_up_to_date_image_is_copied(
    source: LayoutTarget, dest: LayoutTarget, built: BuiltImage
) -> None:
    copy_image(source, "v1", dest, "v1", ALL)
    vex = push_referrer(source, built.images[1], "application/vnd.openvex+json", b'{"vex":1}')
    again = copy_image(source, "v1", dest, "v1", ALL)
    assert not again.up_to_date
    assert again.referrers_copied == 1 and again.manifests_copied == 1 and again.blobs_copied == 1
    assert vex.descriptor.digest in {d.digest for d in dest.referrers(built.images[1].descriptor.digest)}


def test_half_copied_destination_is_completed(source: LayoutTarget, dest: LayoutTarget, built: BuiltImage) -> None:
    amd = built.images[0]
    for blob in parse(amd).blobs:
        dest.push_blob(blob, lambda blob=blob: source.open_blob(blob))  # type: ignore[misc]
    dest.push_manifest(amd)
    report = copy_image(source, "v1", dest, "v1", ALL)
    assert report.manifests_skipped == 1 and report.manifests_copied == 8
    assert report.blobs_copied == 14 - 3
    assert dest.resolve("v1").digest == built.index.descriptor.digest


def test_without_referrers_only_the_image_and_its_attestations(
    source: LayoutTarget, dest: LayoutTarget, built: BuiltImage
) -> None:
    report = copy_image(source, "v1", dest, "v1")
    assert report.manifests_copied == 5 and report.referrers_total == 0
    assert all(dest.has_manifest(m.descriptor.digest) for m in built.attestations)
    assert not any(dest.has_manifest(m.descriptor.digest) for m in built.referrers)


def test_platform_filter_writes_a_smaller_index(source: LayoutTarget, dest: LayoutTarget, built: BuiltImage) -> None:
    options = CopyOptions(copy_referrers=True, platforms=(Platform("linux", "arm64"),))
    report = copy_image(source, "v1", dest, "arm", options)
    assert report.platforms == ("linux/arm64/v8",)
    assert report.filtered and report.digest != built.index.descriptor.digest
    index = parse(dest.fetch_manifest("arm"))
    assert {c.digest for c in index.manifests} == {
        built.images[1].descriptor.digest,
        built.attestations[1].descriptor.digest,
    }
    assert not dest.has_manifest(built.images[0].descriptor.digest)
    assert dest.has_manifest(built.referrers[1].descriptor.digest)
    assert not dest.has_manifest(built.referrers[0].descriptor.digest)


def test_platform_filter_that_matches_nothing(source: LayoutTarget, dest: LayoutTarget, built: BuiltImage) -> None:
    with pytest.raises(InputError, match=r"no platform windows/amd64 .*linux/amd64, linux/arm64/v8"):
        copy_image(source, "v1", dest, "v1", CopyOptions(platforms=(Platform("windows", "amd64"),)))
    assert dest.list_tags() == []


def test_a_matching_filter_keeps_the_original_digest(
    source: LayoutTarget, dest: LayoutTarget, built: BuiltImage
) -> None:
    report = copy_image(source, "v1", dest, "v1", CopyOptions(platforms=(AMD64, ARM64)))
    assert report.digest == built.index.descriptor.digest and not report.filtered


def test_corrupt_layer_fails_its_subtree_and_pushes_no_tag(
    source: LayoutTarget, dest: LayoutTarget, built: BuiltImage
) -> None:
    layer = parse(built.images[0]).layers[0]
    path = source.path / "blobs" / "sha256" / layer.digest.split(":")[1]
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DigestMismatch, match="tag was not pushed"):
        copy_image(source, "v1", dest, "v1", ALL)
    assert dest.list_tags() == []
    assert not dest.has_blob(layer.digest)
    assert not dest.has_manifest(built.images[0].descriptor.digest)
    assert not dest.has_manifest(built.index.descriptor.digest)
    assert not dest.has_manifest(built.referrers[0].descriptor.digest)  # its referrer's subject failed
    # the other platform's subtree is intact
    assert dest.has_manifest(built.images[1].descriptor.digest)


def test_missing_source_tag_is_an_input_error(source: LayoutTarget, dest: LayoutTarget, built: BuiltImage) -> None:
    with pytest.raises(InputError, match="no image tagged 'nope'"):
        copy_image(source, "nope", dest, "v1", ALL)
    assert dest.list_tags() == []


def test_copy_by_digest_without_tag(source: LayoutTarget, dest: LayoutTarget, built: BuiltImage) -> None:
    report = copy_image(source, built.index.descriptor.digest, dest, None)
    assert dest.has_manifest(report.digest) and dest.list_tags() == []
    assert report.to_json()["destination"].endswith("@" + report.digest)
    assert copy_image(source, built.index.descriptor.digest, dest, None).up_to_date


def test_cosign_tags_come_along(source: LayoutTarget, dest: LayoutTarget, built: BuiltImage) -> None:
    signature = push_image(source, AMD64, layers=1, layer_size=10)
    cosign_tag = built.index.descriptor.digest.replace(":", "-") + ".sig"
    source.push_manifest(signature, cosign_tag)
    report = copy_image(source, "v1", dest, "v1", ALL)
    assert dest.resolve(cosign_tag).digest == signature.descriptor.digest
    assert report.referrers_total == 5 and report.referrers_copied == 5
    assert any(r.kind == "cosign" and r.tag == cosign_tag for r in report.root_referrers)
    assert copy_image(source, "v1", dest, "v1", ALL).up_to_date
    # without referrers, no cosign tags
    other = LayoutTarget(dest.path.parent / "other", create=True)
    copy_image(source, "v1", other, "v1")
    assert cosign_tag not in other.list_tags()


def test_referrers_from_another_repository(tmp_path: Path, source: LayoutTarget, dest: LayoutTarget) -> None:
    image = build_image(source, "v1", referrers=False)
    attestations = LayoutTarget(tmp_path / "attestations", create=True)
    sbom = _referrer_elsewhere(attestations, image.images[0].descriptor)
    report = copy_image(source, "v1", dest, "v1", CopyOptions(copy_referrers=True, referrers_source=attestations))
    assert report.referrers_total == 1 and report.referrers_copied == 1
    assert [d.digest for d in dest.referrers(image.images[0].descriptor.digest)] == [sbom]


def _referrer_elsewhere(store: LayoutTarget, subject: Descriptor) -> str:
    """A referrer written into a store that does not hold its subject (as DHI keeps attestations)."""
    empty = push_blob(store, b"{}", EMPTY)
    payload = push_blob(store, b'{"bomFormat":"CycloneDX"}', SBOM_TYPE)
    manifest = manifest_of(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": SBOM_TYPE,
            "config": {"mediaType": EMPTY, "digest": empty.digest, "size": empty.size},
            "layers": [{"mediaType": SBOM_TYPE, "digest": payload.digest, "size": payload.size}],
            "subject": {"mediaType": subject.media_type, "digest": subject.digest, "size": subject.size},
        }
    )
    store.push_manifest(manifest)
    store.add_referrer(subject, manifest)
    return manifest.descriptor.digest


def test_referrers_listed_by_both_sources_are_copied_once(
    source: LayoutTarget, dest: LayoutTarget, built: BuiltImage
) -> None:
    report = copy_image(source, "v1", dest, "v1", CopyOptions(copy_referrers=True, referrers_source=source))
    assert report.referrers_total == 4 and report.referrers_copied == 4


@pytest.mark.parametrize("concurrency", [1, 8])
def test_concurrency_does_not_change_the_result(
    source: LayoutTarget, dest: LayoutTarget, built: BuiltImage, concurrency: int
) -> None:
    report = copy_image(source, "v1", dest, "v1", CopyOptions(copy_referrers=True, concurrency=concurrency))
    assert report.blobs_copied == 14 and report.manifests_copied == 9


class _CountingLayout(LayoutTarget):
    """A layout that records how many blob pushes run at once (and holds each a moment)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, create=True)
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def push_blob(self, descriptor: Descriptor, source: BlobSource) -> None:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(0.01)
            super().push_blob(descriptor, source)
        finally:
            with self.lock:
                self.running -= 1


@pytest.mark.parametrize("concurrency", [1, 3])
def test_blob_transfers_stay_within_concurrency(
    source: LayoutTarget, built: BuiltImage, tmp_path: Path, concurrency: int
) -> None:
    # The copy's pools run twice as many small requests; blob transfers stay at ``concurrency``, also
    # between layouts, which have no per-host slots.
    dest = _CountingLayout(tmp_path / "counted")
    report = copy_image(source, "v1", dest, "v1", CopyOptions(copy_referrers=True, concurrency=concurrency))
    assert report.blobs_copied == 14
    assert 1 <= dest.most <= concurrency


def test_bad_concurrency(source: LayoutTarget, dest: LayoutTarget) -> None:
    with pytest.raises(InputError, match="concurrency"):
        copy_image(source, "v1", dest, "v1", CopyOptions(concurrency=0))


def test_single_manifest_image_platform_from_config(source: LayoutTarget, dest: LayoutTarget) -> None:
    image = push_image(source, ARM64)
    source.push_manifest(image, "single")
    report = copy_image(source, "single", dest, "single", ALL)
    assert report.platforms == ("linux/arm64/v8",)
    assert report.graph[0].layers == 2
