"""Bounds of the attached-VEX search: many referrers or layers cost bounded fetches, and the rest is a note."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

from gate.attest.vex_referrers import MAX_VEX_LAYERS, MAX_VEX_MANIFESTS, find_attached_vex
from gate.oci.layout import LayoutTarget
from gate.oci.target import Descriptor, Manifest, Platform
from tests.oci.builders import EMPTY, manifest_of, push_blob, push_image, push_referrer
from tests.support.images import openvex_document

CYCLONEDX = "application/vnd.cyclonedx+json"


class CountingLayout(LayoutTarget):
    """A real OCI layout that counts manifest and blob reads."""

    manifests = 0
    blobs = 0

    def fetch_manifest(self, reference: str) -> Manifest:
        self.manifests += 1
        return super().fetch_manifest(reference)

    def open_blob(self, descriptor: Descriptor) -> AbstractContextManager[Iterator[bytes]]:
        self.blobs += 1
        return super().open_blob(descriptor)


def _sbom(number: int) -> bytes:
    return json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "serialNumber": f"urn:n:{number}"}).encode()


def test_a_manifest_with_many_sbom_layers_reads_at_most_the_layer_cap(tmp_path: Path) -> None:
    target = CountingLayout(tmp_path / "layout", create=True)
    image = push_image(target, Platform("linux", "amd64"))
    empty = push_blob(target, b"{}", EMPTY)
    layers = [push_blob(target, _sbom(n), CYCLONEDX) for n in range(MAX_VEX_LAYERS + 40)]
    d = image.descriptor
    referrer = manifest_of(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": EMPTY, "digest": empty.digest, "size": empty.size},
            "layers": [{"mediaType": CYCLONEDX, "digest": x.digest, "size": x.size} for x in layers],
            "subject": {"mediaType": d.media_type, "digest": d.digest, "size": d.size},
        }
    )
    target.push_manifest(referrer)
    target.add_referrer(d, referrer)
    target.blobs = 0

    found = find_attached_vex(target, d, image.data, [])

    assert len(found.statements) == 0 and found.documents == ()
    assert target.blobs == MAX_VEX_LAYERS
    assert any(f"{MAX_VEX_LAYERS} attached layers read" in note for note in found.notes)


def test_many_referrers_are_inspected_up_to_the_manifest_cap_with_a_note(tmp_path: Path) -> None:
    target = CountingLayout(tmp_path / "layout", create=True)
    image = push_image(target, Platform("linux", "amd64"))
    for number in range(MAX_VEX_MANIFESTS + 20):
        push_referrer(target, image, "application/example", f"payload {number}".encode())
    target.manifests = 0

    found = find_attached_vex(target, image.descriptor, image.data, [])

    assert len(found.statements) == 0 and found.documents == ()
    assert target.manifests == MAX_VEX_MANIFESTS
    assert any(f"more than {MAX_VEX_MANIFESTS} attached manifests" in note for note in found.notes)


def test_a_vex_document_within_the_caps_is_applied(tmp_path: Path) -> None:
    target = LayoutTarget(tmp_path / "layout", create=True)
    image = push_image(target, Platform("linux", "amd64"))
    for number in range(3):
        push_referrer(target, image, "application/example", f"payload {number}".encode())
    document = openvex_document(image.descriptor.digest)
    push_referrer(target, image, "application/vnd.openvex+json", json.dumps(document).encode())

    found = find_attached_vex(target, image.descriptor, image.data, [])

    assert len(found.statements) >= 1 and len(found.documents) == 1 and found.notes == ()
