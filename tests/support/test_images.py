"""Images and referrers built by the support code are real, and visible to regctl on both registry kinds."""

from __future__ import annotations

import base64
import json

import pytest

from tests.support.client import RegistryClient
from tests.support.images import (
    COSIGN_SBOM,
    CYCLONEDX,
    DOCKER_LIST,
    IN_TOTO,
    OCI_INDEX,
    OCI_MANIFEST,
    PREDICATE_ANNOTATION,
    REF_DIGEST,
    REF_TYPE,
    SPDX,
    STATEMENT_V01,
    attach_sbom,
    attach_sbom_with_regctl_artifact,
    build_attested_image,
    build_image,
    crane,
    cyclonedx_sbom,
    read_graph,
    real_world_sbom,
    regctl,
    spdx_sbom,
)
from tests.support.registries import Registry


def test_multi_platform_index_is_real_and_complete(any_registry: Registry, unique_repo: str) -> None:
    image = build_image(any_registry, unique_repo, "v1", layers=2, layer_size=1000, seed=7)
    assert image.media_type == OCI_INDEX and set(image.children) == {"linux/amd64", "linux/arm64"}
    assert len(image.blobs) == 2 * 3
    graph = read_graph(any_registry, unique_repo, "v1")
    assert graph.root == image.digest
    assert set(graph.manifests) == {image.digest, *image.children.values()}
    assert graph.blobs == frozenset(image.blobs)
    platforms = {m["platform"]["architecture"] for m in graph.parsed(image.digest)["manifests"]}
    assert platforms == {"amd64", "arm64"}
    assert graph.tags == ("v1",)


def test_same_seed_same_digest_and_docker_media_types(distribution_registry: Registry, unique_repo: str) -> None:
    first = build_image(distribution_registry, unique_repo, "a", seed=3)
    again = build_image(distribution_registry, unique_repo, "b", seed=3)
    other = build_image(distribution_registry, unique_repo, "c", seed=4)
    assert first.digest == again.digest != other.digest
    docker = build_image(distribution_registry, unique_repo, "d", docker=True)
    assert docker.media_type == DOCKER_LIST
    assert RegistryClient(distribution_registry).get_manifest(unique_repo, "d")[1] == DOCKER_LIST


def test_lone_manifest(any_registry: Registry, unique_repo: str) -> None:
    image = build_image(any_registry, unique_repo, "solo", platforms=["linux/amd64"], index=False)
    assert image.media_type == OCI_MANIFEST and image.children == {"linux/amd64": image.digest}
    assert read_graph(any_registry, unique_repo, "solo").root == image.digest
    with pytest.raises(ValueError):
        build_image(any_registry, unique_repo, "x", index=False)


def test_sbom_referrers_are_listed_by_regctl(any_registry: Registry, unique_repo: str) -> None:
    image = build_image(any_registry, unique_repo, "v1")
    amd64 = image.child("linux/amd64")
    dsse = attach_sbom(any_registry, unique_repo, amd64)
    bare = attach_sbom(any_registry, unique_repo, amd64, predicate_type=SPDX, envelope=False, statement_version="v0.1",
                       artifact_type=COSIGN_SBOM, annotate_manifest=False)  # fmt: skip
    graph = read_graph(any_registry, unique_repo, "v1")
    listed = {d["digest"]: d for d in graph.referrers[amd64]}
    assert set(listed) == {dsse.digest, bare.digest}
    assert listed[dsse.digest]["artifactType"] == IN_TOTO
    assert listed[bare.digest]["artifactType"] == COSIGN_SBOM
    manifest = graph.parsed(dsse.digest)
    assert manifest["subject"]["digest"] == amd64 and manifest["annotations"][PREDICATE_ANNOTATION] == CYCLONEDX
    assert manifest["layers"][0]["annotations"][PREDICATE_ANNOTATION] == CYCLONEDX
    envelope = json.loads(RegistryClient(any_registry).get_blob(unique_repo, dsse.layers[0]))
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert envelope["payloadType"] == IN_TOTO and envelope["signatures"]
    assert statement["predicateType"] == CYCLONEDX and statement["subject"][0]["digest"]["sha256"] == amd64[7:]
    bare_statement = json.loads(RegistryClient(any_registry).get_blob(unique_repo, bare.layers[0]))
    assert bare_statement["_type"] == STATEMENT_V01 and bare_statement["predicate"]["spdxVersion"] == "SPDX-2.3"
    fallback_tag = "sha256-" + amd64[7:]
    assert (fallback_tag in graph.tags) is (not any_registry.referrers_api)


def test_regctl_artifact_put_subject(any_registry: Registry, unique_repo: str) -> None:
    image = build_image(any_registry, unique_repo, "v1")
    digest = attach_sbom_with_regctl_artifact(any_registry, unique_repo, image.child("linux/arm64"))
    graph = read_graph(any_registry, unique_repo, "v1")
    assert [d["digest"] for d in graph.referrers[image.child("linux/arm64")]] == [digest]


def test_buildkit_in_index_attestations(any_registry: Registry, unique_repo: str) -> None:
    image = build_image(any_registry, unique_repo, "v1", buildkit_attestations=True, sbom_predicate=CYCLONEDX)
    graph = read_graph(any_registry, unique_repo, "v1")
    entries = graph.parsed(image.digest)["manifests"]
    attestations = [e for e in entries if e.get("annotations", {}).get(REF_TYPE) == "attestation-manifest"]
    assert len(attestations) == 2
    for entry in attestations:
        assert entry["platform"] == {"architecture": "unknown", "os": "unknown"}
        assert entry["annotations"][REF_DIGEST] in image.children.values()
        layers = graph.parsed(entry["digest"])["layers"]
        assert [layer["annotations"][PREDICATE_ANNOTATION] for layer in layers] == [
            CYCLONEDX,
            "https://slsa.dev/provenance/v1",
        ]
        assert {layer["mediaType"] for layer in layers} == {IN_TOTO}


def test_attested_image_graph(any_registry: Registry, unique_repo: str) -> None:
    attested = build_attested_image(any_registry, unique_repo, "v1")
    graph = read_graph(any_registry, unique_repo, "v1")
    assert graph.referrer_digests == {r.digest for r in attested.all_referrers}
    assert {d["digest"] for d in graph.referrers[attested.image.digest]} == {r.digest for r in attested.root_referrers}
    first_sbom = next(iter(attested.sboms.values()))
    assert [d["digest"] for d in graph.referrers[first_sbom.digest]] == [attested.nested.digest]
    hex_digest = attested.image.digest[7:]
    assert {f"sha256-{hex_digest}.sig", f"sha256-{hex_digest}.att"} <= set(graph.tags)
    listed = json.loads(regctl(any_registry, "artifact", "list", "--format", "{{json .}}", attested.image.by_digest))
    types = {d.get("artifactType") for d in listed["descriptors"]}
    assert types == {IN_TOTO, "application/vnd.openvex+json", "application/vnd.dev.cosign.artifact.sig.v1+json"}


def test_sbom_documents_have_purls() -> None:
    purls = [c["purl"] for c in cyclonedx_sbom()["components"]]
    assert {p.split("/")[0] for p in purls} == {"pkg:apk", "pkg:npm", "pkg:deb", "pkg:pypi"}
    spdx = spdx_sbom()
    assert spdx["spdxVersion"] == "SPDX-2.3" and all(
        p["externalRefs"][0]["referenceType"] == "purl" for p in spdx["packages"]
    )


def test_real_world_sboms_load() -> None:
    assert real_world_sbom("cyclonedx")["bomFormat"] == "CycloneDX"
    assert real_world_sbom("spdx")["spdxVersion"].startswith("SPDX-")


def test_crane_reads_with_credentials(basic_auth_registry: Registry, unique_repo: str) -> None:
    image = build_image(basic_auth_registry, unique_repo, "v1")
    assert crane(basic_auth_registry, "digest", image.ref).strip() == image.digest
    assert json.loads(crane(basic_auth_registry, "manifest", image.ref))["mediaType"] == OCI_INDEX
