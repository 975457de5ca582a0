"""RegistryTarget, the one object over the jobs, against real registries and peer tools: distribution 2.8 (tag fallback) and the referrers-API registry."""

from __future__ import annotations

import json
import subprocess

import pytest

from gate.errors import InputError
from gate.oci.target import OCI_MANIFEST, Descriptor
from tests.oci.registry_helpers import (
    digest,
    make_pool,
    open_target,
    push_image,
    regctl,
    source_of,
    tool,
)
from tests.support.registries import Registry, require_tool


def test_push_and_read_back_exact_bytes(any_registry: Registry, unique_repo: str) -> None:
    target = open_target(make_pool(any_registry), any_registry, unique_repo)
    image = push_image(target, "v1")
    resolved = target.resolve("v1")
    assert resolved == Descriptor(OCI_MANIFEST, image.descriptor.digest, image.descriptor.size)
    fetched = target.fetch_manifest("v1")
    assert fetched.data == image.data and fetched.descriptor.digest == image.descriptor.digest
    assert target.fetch_manifest(image.descriptor.digest).data == image.data
    assert target.has_manifest(image.descriptor.digest)
    assert not target.has_manifest(digest(b"absent"))
    layer = json.loads(image.data)["layers"][0]
    assert target.has_blob(layer["digest"]) and not target.has_blob(digest(b"nope"))
    with target.open_blob(Descriptor(layer["mediaType"], layer["digest"], layer["size"])) as chunks:
        data = b"".join(chunks)
    assert digest(data) == layer["digest"]
    assert target.list_tags() == ["v1"]
    assert target.display_name == f"{any_registry.host}/{unique_repo}"


def test_peer_tools_read_what_we_push(distribution_registry: Registry, unique_repo: str) -> None:
    target = open_target(make_pool(distribution_registry), distribution_registry, unique_repo)
    image = push_image(target, "v1")
    ref = distribution_registry.ref(unique_repo, "v1")
    assert tool("crane", "digest", "--insecure", ref).stdout.strip() == image.descriptor.digest
    assert tool("crane", "manifest", "--insecure", ref).stdout.encode() == image.data
    layer = json.loads(image.data)["layers"][1]
    crane = subprocess.run(
        [require_tool("crane"), "blob", "--insecure", distribution_registry.ref(unique_repo, digest=layer["digest"])],
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert digest(crane.stdout) == layer["digest"]
    assert image.descriptor.digest in regctl(distribution_registry, "image", "digest", ref)


def test_we_read_what_peer_tools_push(any_registry: Registry, unique_repo: str) -> None:
    ref = any_registry.ref(unique_repo, "copied")
    tool("crane", "append", "--insecure", "-f", "/dev/null", "-t", ref)  # an image with an empty layer
    expected = tool("crane", "digest", "--insecure", ref).stdout.strip()
    target = open_target(make_pool(any_registry), any_registry, unique_repo)
    fetched = target.fetch_manifest("copied")
    assert fetched.descriptor.digest == expected
    for entry in json.loads(fetched.data)["layers"]:
        with target.open_blob(Descriptor(entry["mediaType"], entry["digest"], entry["size"])) as chunks:
            assert digest(b"".join(chunks)) == entry["digest"]


def test_bad_digests_are_input_errors(distribution_registry: Registry, unique_repo: str) -> None:
    target = open_target(make_pool(distribution_registry), distribution_registry, unique_repo)
    for call in (
        lambda: target.has_blob("sha256:XYZ"),
        lambda: target.referrers("md5:abc"),
        lambda: target.mount_blob(Descriptor("x", "sha256:1", 1), "other"),
        lambda: target.push_blob(Descriptor("x", "nope", 1), source_of(b"x")),
    ):
        with pytest.raises(InputError):
            call()
    with pytest.raises(InputError, match="not a tag"):
        target.delete_tag("sha256:" + "0" * 64)
