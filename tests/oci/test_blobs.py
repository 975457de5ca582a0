"""Blobs in a registry repository (gate.oci.blobs) against real registries: mounts, chunked uploads, digests checked before a commit."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from gate.oci.target import Descriptor, DigestMismatch
from tests.oci.registry_helpers import (
    blob,
    digest,
    make_pool,
    open_target,
    source_of,
)
from tests.support.faults import FaultProxy, corrupt_fault
from tests.support.registries import Registry


def test_mount_across_repositories(any_registry: Registry, unique_repo: str) -> None:
    pool = make_pool(any_registry)
    source = open_target(pool, any_registry, unique_repo + "/src")
    destination = open_target(pool, any_registry, unique_repo + "/dst")
    layer = blob(source, os.urandom(5000))
    assert source.semaphore is destination.semaphore
    mounted = destination.mount_blob(layer, source.repository)
    if mounted:
        assert destination.has_blob(layer.digest)
    # Not present in the source: not mounted, and no upload session is left behind as a blob.
    ghost = Descriptor(layer.media_type, digest(b"ghost"), 5)
    assert destination.mount_blob(ghost, source.repository) is False
    assert not destination.has_blob(ghost.digest)


def test_distribution_honours_mounts(distribution_registry: Registry, unique_repo: str) -> None:
    pool = make_pool(distribution_registry)
    source = open_target(pool, distribution_registry, unique_repo + "/src")
    destination = open_target(pool, distribution_registry, unique_repo + "/dst")
    layer = blob(source, os.urandom(5000))
    assert destination.mount_blob(layer, source.repository) is True
    assert destination.has_blob(layer.digest)


def test_chunked_upload(distribution_registry: Registry, unique_repo: str) -> None:
    pool = make_pool(distribution_registry, force_chunked_upload=1000)
    target = open_target(pool, distribution_registry, unique_repo)
    data = os.urandom(4500)
    layer = blob(target, data)
    with target.open_blob(layer) as chunks:
        assert b"".join(chunks) == data


def test_wrong_source_bytes_are_never_committed(any_registry: Registry, unique_repo: str) -> None:
    target = open_target(make_pool(any_registry), any_registry, unique_repo)
    data = os.urandom(3000)
    lying = Descriptor("application/octet-stream", digest(b"something else" + data[14:]), len(data))
    with pytest.raises(DigestMismatch):
        target.push_blob(lying, source_of(data))
    assert not target.has_blob(lying.digest)
    short = Descriptor("application/octet-stream", digest(data), len(data) + 1)
    with pytest.raises(DigestMismatch):
        target.push_blob(short, source_of(data))


def test_registry_to_registry_copy_never_commits_bytes_that_fail_the_source_check(
    distribution_registry: Registry, fault_proxy: Callable[[Registry], FaultProxy], unique_repo: str
) -> None:
    """A GET -> PUT copy hashes the bytes once, as they stream out of the source: a corrupted
    download is our DigestMismatch (not the destination's own digest check), and nothing is committed."""
    pool = make_pool(distribution_registry)
    layer = blob(open_target(pool, distribution_registry, unique_repo + "/src"), os.urandom(300_000))
    proxy = fault_proxy(distribution_registry)
    source = open_target(make_pool(proxy.registry), proxy.registry, unique_repo + "/src")
    destination = open_target(pool, distribution_registry, unique_repo + "/dst")
    proxy.inject(corrupt_fault(299_999, times=None))
    with pytest.raises(DigestMismatch, match="hash to"):
        destination.push_blob(layer, lambda: source.open_blob(layer))
    assert not destination.has_blob(layer.digest)
    proxy.clear()
    destination.push_blob(layer, lambda: source.open_blob(layer))
    assert destination.has_blob(layer.digest)


def test_blob_digest_checked_while_reading(any_registry: Registry, unique_repo: str) -> None:
    target = open_target(make_pool(any_registry), any_registry, unique_repo)
    data = os.urandom(3000)
    layer = blob(target, data)
    with pytest.raises(DigestMismatch), target.open_blob(Descriptor(layer.media_type, layer.digest, 2999)) as chunks:
        b"".join(chunks)
