"""Referrers in a registry repository (gate.oci.referrers): the API on the referrers registry, the sha256-<hex> tag fallback on distribution 2.8."""

from __future__ import annotations

import threading

from gate.oci.reference import fallback_tag
from gate.oci.target import OCI_INDEX, Manifest
from tests.oci.registry_helpers import (
    SBOM,
    SIG,
    artifact,
    attach,
    digest,
    make_pool,
    open_target,
    push_image,
    regctl,
)
from tests.support.registries import Registry


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
