"""Tags in a registry repository (gate.oci.tags) against real registries: paged lists, deleting exactly one tag or refusing to."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gate.errors import InputError
from gate.oci.http import NotFound
from gate.oci.tags import TagDeletionRefused
from tests.oci.registry_helpers import (
    make_pool,
    open_target,
    push_image,
)
from tests.support.faults import FaultProxy, status_fault
from tests.support.registries import Registry, require_tool, start_distribution, wait_until_up


def test_delete_tag_removes_only_that_tag(any_registry: Registry, unique_repo: str) -> None:
    target = open_target(make_pool(any_registry), any_registry, unique_repo)
    image = push_image(target, "keep")
    target.push_manifest(image, "drop")
    target.delete_tag("drop")
    assert "drop" not in target.list_tags()
    assert target.resolve("keep").digest == image.descriptor.digest
    assert target.has_manifest(image.descriptor.digest)
    with pytest.raises(NotFound):
        target.delete_tag("drop")


def test_delete_tag_reports_a_registry_without_deletes(tmp_path: Path, unique_repo: str) -> None:
    server = start_distribution(tmp_path)
    config = server.workdir / "config.yml"
    server.stop()
    config.write_text(config.read_text().replace("enabled: true", "enabled: false"))
    log = (server.workdir / "nodelete.log").open("wb")
    process = subprocess.Popen(
        [require_tool("docker-registry"), "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_until_up(server.registry.url, process, server.workdir / "nodelete.log")
        with FaultProxy(server.registry) as proxy:
            target = open_target(make_pool(proxy.registry), proxy.registry, unique_repo)
            image = push_image(target, "v1")
            pushed = len(proxy.received(method="PUT"))
            with pytest.raises(TagDeletionRefused, match=r"does not allow deletes of tags .*405 UNSUPPORTED"):
                target.delete_tag("v1")
            assert len(proxy.received(method="PUT")) == pushed  # no throw-away manifest pushed
            assert target.resolve("v1").digest == image.descriptor.digest  # the tag is untouched
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def test_delete_tag_refused_with_405_pushes_nothing(distribution_registry: Registry, unique_repo: str) -> None:
    # GHCR answers 405 to DELETE by tag (and refuses deletes by digest): fail at once, push nothing.
    with FaultProxy(distribution_registry) as proxy:
        target = open_target(make_pool(proxy.registry), proxy.registry, unique_repo)
        image = push_image(target, "v1")
        pushed = len(proxy.received(method="PUT"))
        proxy.inject(status_fault(405, method="DELETE", path="/manifests/v1$"))
        with pytest.raises(TagDeletionRefused, match=r"does not allow deletes of tags \(405"):
            target.delete_tag("v1")
        assert len(proxy.received(method="PUT")) == pushed
        assert [r.method for r in proxy.received(method="DELETE")] == ["DELETE"]
        assert target.resolve("v1").digest == image.descriptor.digest
    assert issubclass(TagDeletionRefused, InputError)


def test_list_tags_paginates(any_registry: Registry, unique_repo: str) -> None:
    target = open_target(make_pool(any_registry), any_registry, unique_repo)
    image = push_image(target, "t0")
    for i in range(1, 5):
        target.push_manifest(image, f"t{i}")
    target.tags.page_size = 2
    assert sorted(target.list_tags()) == [f"t{i}" for i in range(5)]
