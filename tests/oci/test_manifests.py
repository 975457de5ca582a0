"""Manifests in a registry repository (gate.oci.manifests) against real registries: media types, digests, caps, absent manifests."""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import pytest

from gate.errors import InputError
from gate.oci.http import BadRequest, NotFound, ResponseTooLarge, read_capped
from gate.oci.manifests import UNKNOWN_CONTENT_ATTEMPTS
from gate.oci.target import OCI_MANIFEST, Descriptor, DigestMismatch, Manifest
from tests.oci.registry_helpers import (
    blob,
    desc_json,
    digest,
    make_pool,
    manifest,
    open_target,
    push_image,
)
from tests.support.client import RegistryClient
from tests.support.faults import Fault, FaultProxy
from tests.support.registries import Registry


def test_index_and_docker_media_types_round_trip(any_registry: Registry, unique_repo: str) -> None:
    target = open_target(make_pool(any_registry), any_registry, unique_repo)
    child = push_image(target, None)
    docker_list = manifest(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
            "manifests": [{**desc_json(child.descriptor), "platform": {"os": "linux", "architecture": "amd64"}}],
        }
    )
    target.push_manifest(docker_list, "list")
    fetched = target.fetch_manifest("list")
    assert fetched.descriptor.media_type == docker_list.descriptor.media_type
    assert fetched.data == docker_list.data


def test_push_manifest_refuses_bytes_that_do_not_match(any_registry: Registry, unique_repo: str) -> None:
    target = open_target(make_pool(any_registry), any_registry, unique_repo)
    with pytest.raises(DigestMismatch):
        target.push_manifest(Manifest(Descriptor(OCI_MANIFEST, digest(b"a"), 1), b"b"))


def test_missing_things_are_input_errors_naming_the_reference(any_registry: Registry, unique_repo: str) -> None:
    target = open_target(make_pool(any_registry), any_registry, unique_repo)
    with pytest.raises(NotFound) as caught:
        target.fetch_manifest("nope")
    assert f"{any_registry.host}/{unique_repo}:nope" in str(caught.value)
    assert "404" in str(caught.value)
    with pytest.raises(InputError):
        target.resolve("nope")
    push_image(target, "v1")
    with pytest.raises(NotFound, match=r"MANIFEST_UNKNOWN|404"):
        target.resolve("nope")
    assert target.list_tags() == ["v1"]
    assert open_target(make_pool(any_registry), any_registry, unique_repo + "/empty").list_tags() == []


def test_oversized_and_unsupported_manifests(referrers_registry: Registry, unique_repo: str) -> None:
    target = open_target(make_pool(referrers_registry), referrers_registry, unique_repo)
    image = push_image(target, None)
    document = json.loads(image.data)
    document["annotations"] = {"padding": "x" * (4 * 1024 * 1024)}
    big = json.dumps(document).encode()
    with pytest.raises(InputError, match="4 MiB"):
        target.push_manifest(Manifest(Descriptor(OCI_MANIFEST, digest(big), len(big)), big))
    # Both test registries refuse manifests over 4 MiB themselves; the read cap is checked on a blob answer.
    layer = blob(target, os.urandom(4 * 1024 * 1024 + 1))
    answer = target.host.http.request("GET", target.client.url("blobs", layer.digest), stream=True)
    with pytest.raises(ResponseTooLarge, match="limit"):
        read_capped(answer, 4 * 1024 * 1024, "test")
    odd = json.dumps({"schemaVersion": 2, "mediaType": "application/x-odd", "layers": []}).encode()
    RegistryClient(referrers_registry).push_manifest(unique_repo, "odd", odd, "application/x-odd")
    with pytest.raises(InputError, match="unsupported media type"):
        target.fetch_manifest("odd")


BLOB_UNKNOWN_ANSWER = (
    b'{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"},'
    b'{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry"}]}'
)


def _index_of(*children: Manifest) -> Manifest:
    entries = [
        {**desc_json(child.descriptor), "platform": {"os": "linux", "architecture": "amd64"}} for child in children
    ]
    return manifest({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries})


def _blob_unknown(times: int | None) -> Fault:
    """distribution's answer to a push that read a child's link while another writer rewrote it."""
    return Fault("status", r"/manifests/v1$", "PUT", times=times, status=400, body=BLOB_UNKNOWN_ANSWER,
                 headers={"Content-Type": "application/json"})  # fmt: skip


def test_a_push_refused_for_content_the_repository_holds_is_tried_again(
    distribution_registry: Registry, fault_proxy: Callable[[Registry], FaultProxy], unique_repo: str
) -> None:
    proxy = fault_proxy(distribution_registry)
    logs: list[str] = []
    target = open_target(make_pool(proxy.registry, logs=logs), proxy.registry, unique_repo)
    index = _index_of(push_image(target, None), push_image(target, None))
    proxy.inject(_blob_unknown(times=1))
    assert target.push_manifest(index, "v1").digest == index.descriptor.digest
    assert len(proxy.received(method="PUT", path=r"/manifests/v1$")) == 2
    assert any(
        "MANIFEST_BLOB_UNKNOWN" in line and "holds everything the manifest names; retry 1" in line for line in logs
    )
    assert target.resolve("v1").digest == index.descriptor.digest


def test_a_push_refused_for_held_content_three_times_fails_with_the_registrys_words(
    distribution_registry: Registry, fault_proxy: Callable[[Registry], FaultProxy], unique_repo: str
) -> None:
    proxy = fault_proxy(distribution_registry)
    target = open_target(make_pool(proxy.registry), proxy.registry, unique_repo)
    index = _index_of(push_image(target, None))
    proxy.inject(_blob_unknown(times=None))
    with pytest.raises(BadRequest, match=r"answered 400 DIGEST_INVALID.*MANIFEST_BLOB_UNKNOWN"):
        target.push_manifest(index, "v1")
    assert len(proxy.received(method="PUT", path=r"/manifests/v1$")) == UNKNOWN_CONTENT_ATTEMPTS


def test_a_push_naming_content_the_repository_lacks_is_refused_at_once(
    distribution_registry: Registry, fault_proxy: Callable[[Registry], FaultProxy], unique_repo: str
) -> None:
    proxy = fault_proxy(distribution_registry)
    target = open_target(make_pool(proxy.registry), proxy.registry, unique_repo)
    elsewhere = open_target(make_pool(distribution_registry), distribution_registry, unique_repo + "/other")
    index = _index_of(push_image(target, None), push_image(elsewhere, None))  # the second child is not here
    with pytest.raises(BadRequest, match="MANIFEST_BLOB_UNKNOWN") as caught:
        target.push_manifest(index, "v1")
    assert f"{proxy.registry.host}/{unique_repo}:v1" in str(caught.value)
    assert len(proxy.received(method="PUT", path=r"/manifests/v1$")) == 1
