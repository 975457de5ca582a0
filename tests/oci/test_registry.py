"""RegistryTarget against real registries: distribution 2.8 (tag fallback) and the referrers-API registry."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from gate.errors import InputError, RuntimeFailure
from gate.oci.auth import CredentialStore
from gate.oci.http import Denied, NotFound, ResponseTooLarge, Unreachable, read_capped
from gate.oci.registry import RegistryPool, TagDeletionRefused, fallback_tag, open_registry_target
from gate.oci.target import OCI_INDEX, OCI_MANIFEST, Descriptor, DigestMismatch, Manifest
from gate.reference import parse_reference
from tests.oci.registry_helpers import (
    SBOM,
    SIG,
    artifact,
    attach,
    blob,
    credentials_for,
    desc_json,
    digest,
    make_pool,
    manifest,
    open_target,
    push_image,
    regctl,
    source_of,
    tool,
)
from tests.support.client import RegistryClient
from tests.support.faults import FaultProxy, corrupt_fault, status_fault
from tests.support.registries import Registry, free_port, require_tool, start_distribution, wait_until_up


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


def test_referrers_found_and_filtered(any_registry: Registry, unique_repo: str) -> None:
    logs: list[str] = []
    target = open_target(make_pool(any_registry, logs=logs), any_registry, unique_repo)
    image = push_image(target, "v1")
    sbom = attach(target, image.descriptor, SBOM, "sbom")
    sig = attach(target, image.descriptor, SIG, "sig")
    found = target.referrers(image.descriptor.digest)
    assert {d.digest for d in found} == {sbom.descriptor.digest, sig.descriptor.digest}
    by_digest = {d.digest: d for d in found}
    assert by_digest[sbom.descriptor.digest].artifact_type == SBOM
    assert by_digest[sbom.descriptor.digest].annotations["org.example.text"] == "sbom"
    only = target.referrers(image.descriptor.digest, SBOM)
    assert [d.digest for d in only] == [sbom.descriptor.digest]
    assert target.referrers_supported() is any_registry.referrers_api
    assert target.referrers(digest(b"no subject")) == []
    # Adding again changes nothing.
    target.add_referrer(image.descriptor, sbom)
    assert len(target.referrers(image.descriptor.digest)) == 2
    if not any_registry.referrers_api:
        assert target.has_manifest(target.resolve(fallback_tag(image.descriptor.digest)).digest)


def test_peer_tools_see_our_referrers_and_we_see_theirs(any_registry: Registry, unique_repo: str) -> None:
    target = open_target(make_pool(any_registry), any_registry, unique_repo)
    image = push_image(target, "v1")
    ours = attach(target, image.descriptor, SBOM, "ours")
    ref = any_registry.ref(unique_repo, "v1")
    listed = regctl(any_registry, "artifact", "list", ref, "--format", "{{json .}}")
    assert ours.descriptor.digest in listed
    regctl(any_registry, "artifact", "put", "--subject", ref, "--artifact-type", SIG, "-f", "/dev/null")
    found = {d.artifact_type for d in target.referrers(image.descriptor.digest)}
    assert found == {SBOM, SIG}


def test_referrers_api_pagination(registry_factory: object, unique_repo: str) -> None:
    registry = registry_factory(kind="referrers", page_size=2)  # type: ignore[operator]
    target = open_target(make_pool(registry), registry, unique_repo)
    image = push_image(target, "v1")
    made = {attach(target, image.descriptor, SBOM, f"n{i}").descriptor.digest for i in range(5)}
    assert {d.digest for d in target.referrers(image.descriptor.digest)} == made
    assert len(target.referrers(image.descriptor.digest, SBOM)) == 5
    assert target.referrers(image.descriptor.digest, SIG) == []


def test_push_result_says_whether_subject_is_supported(any_registry: Registry, unique_repo: str) -> None:
    target = open_target(make_pool(any_registry), any_registry, unique_repo)
    image = push_image(target, "v1")
    assert target.push_manifest(image).subject_supported is None  # no subject: nothing learnt
    referrer = artifact(target, image.descriptor, SBOM, "x")
    assert target.push_manifest(referrer).subject_supported is any_registry.referrers_api


def test_fallback_tag_that_is_not_an_index_is_ignored_with_a_warning(
    distribution_registry: Registry, unique_repo: str
) -> None:
    logs: list[str] = []
    target = open_target(make_pool(distribution_registry, logs=logs), distribution_registry, unique_repo)
    image = push_image(target, "v1")
    other = push_image(target, None)
    target.push_manifest(other, fallback_tag(image.descriptor.digest))
    assert target.referrers(image.descriptor.digest) == []
    assert any("not a referrers index" in line for line in logs)
    # Adding a referrer replaces the bogus tag with a real index.
    sbom = attach(target, image.descriptor, SBOM, "sbom")
    assert [d.digest for d in target.referrers(image.descriptor.digest)] == [sbom.descriptor.digest]


def test_fallback_updates_are_serialised_per_subject(distribution_registry: Registry, unique_repo: str) -> None:
    pool = make_pool(distribution_registry)
    target = open_target(pool, distribution_registry, unique_repo)
    image = push_image(target, "v1")
    referrers = [artifact(target, image.descriptor, SBOM, f"r{i}") for i in range(8)]
    for referrer in referrers:
        target.push_manifest(referrer)
    errors: list[BaseException] = []

    def add(referrer: Manifest) -> None:
        try:
            open_target(pool, distribution_registry, unique_repo).add_referrer(image.descriptor, referrer)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(r,)) for r in referrers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    found = {d.digest for d in target.referrers(image.descriptor.digest)}
    assert found == {r.descriptor.digest for r in referrers}
    index = target.fetch_manifest(fallback_tag(image.descriptor.digest))
    assert index.descriptor.media_type == OCI_INDEX


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


def test_push_manifest_refuses_bytes_that_do_not_match(any_registry: Registry, unique_repo: str) -> None:
    target = open_target(make_pool(any_registry), any_registry, unique_repo)
    with pytest.raises(DigestMismatch):
        target.push_manifest(Manifest(Descriptor(OCI_MANIFEST, digest(b"a"), 1), b"b"))


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


def test_list_tags_paginates(any_registry: Registry, unique_repo: str) -> None:
    target = open_target(make_pool(any_registry), any_registry, unique_repo)
    image = push_image(target, "t0")
    for i in range(1, 5):
        target.push_manifest(image, f"t{i}")
    target.tag_page_size = 2
    assert sorted(target.list_tags()) == [f"t{i}" for i in range(5)]


def test_unreachable_registry_is_a_runtime_failure(unique_repo: str) -> None:
    ref = parse_reference(f"127.0.0.1:{free_port()}/{unique_repo}:v1")
    target = open_registry_target(ref, CredentialStore())
    with pytest.raises(Unreachable) as caught:
        target.resolve("v1")
    assert isinstance(caught.value, RuntimeFailure)
    assert ref.registry in str(caught.value)


def test_basic_auth(basic_auth_registry: Registry, unique_repo: str) -> None:
    masked: list[str] = []
    target = open_target(make_pool(basic_auth_registry, masked=masked), basic_auth_registry, unique_repo)
    image = push_image(target, "v1")
    assert target.fetch_manifest("v1").data == image.data
    assert basic_auth_registry.password in masked
    anonymous = RegistryPool(credentials_for(basic_auth_registry.with_credentials(None, None)))
    with pytest.raises(Denied) as caught:
        open_target(anonymous, basic_auth_registry, unique_repo).fetch_manifest("v1")
    assert "401" in str(caught.value)
    wrong = make_pool(basic_auth_registry.with_credentials("alice", "wrong"))
    with pytest.raises(Denied):
        open_target(wrong, basic_auth_registry, unique_repo).fetch_manifest("v1")


def test_factory_serves_docker_hub_from_its_api_host() -> None:
    target = open_registry_target(parse_reference("alpine:3"), CredentialStore())
    assert target.host.base_url == "https://registry-1.docker.io"
    assert target.display_name == "docker.io/library/alpine"
    insecure = open_registry_target(
        parse_reference("registry.internal:5000/app"),
        CredentialStore(),
        insecure_registries=["registry.internal:5000"],
    )
    assert insecure.host.base_url == "http://registry.internal:5000"
    with pytest.raises(InputError):
        open_registry_target(parse_reference("a.b/c"), CredentialStore(), concurrency=0)


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
    answer = target.host.http.request("GET", target._url("blobs", layer.digest), stream=True)
    with pytest.raises(ResponseTooLarge, match="limit"):
        read_capped(answer, 4 * 1024 * 1024, "test")
    odd = json.dumps({"schemaVersion": 2, "mediaType": "application/x-odd", "layers": []}).encode()
    RegistryClient(referrers_registry).push_manifest(unique_repo, "odd", odd, "application/x-odd")
    with pytest.raises(InputError, match="unsupported media type"):
        target.fetch_manifest("odd")
