"""The referrers-API test registry follows the distribution spec's referrers rules."""

from __future__ import annotations

import json
from collections.abc import Callable

import requests

from tests.support.client import RegistryClient, sha256_digest
from tests.support.images import EMPTY_JSON, OCI_EMPTY, OCI_MANIFEST, build_image, descriptor
from tests.support.registries import REFERRERS, Registry


def _artifact(
    client: RegistryClient, repo: str, subject: str, artifact_type: str, n: int
) -> tuple[str, requests.Response]:
    client.push_blob(repo, EMPTY_JSON)
    body, media_type = client.get_manifest(repo, subject)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": descriptor(OCI_EMPTY, EMPTY_JSON),
            "layers": [descriptor(OCI_EMPTY, EMPTY_JSON)],
            "subject": {"mediaType": media_type, "digest": subject, "size": len(body)},
            "annotations": {"n": str(n)},
        }
    ).encode()
    answer = client.push_manifest(repo, sha256_digest(manifest), manifest, OCI_MANIFEST)
    return sha256_digest(manifest), answer


def test_unknown_repository_answers_an_empty_index(referrers_registry: Registry) -> None:
    answer = requests.get(f"{referrers_registry.url}/v2/no/such/repo/referrers/sha256:{'a' * 64}", timeout=5)
    assert answer.status_code == 200 and answer.json()["manifests"] == []
    assert answer.headers["Content-Type"] == "application/vnd.oci.image.index.v1+json"
    bad = requests.get(f"{referrers_registry.url}/v2/no/such/repo/referrers/latest", timeout=5)
    assert bad.status_code == 400


def test_subject_header_artifact_type_filter_and_delete(referrers_registry: Registry, unique_repo: str) -> None:
    client = RegistryClient(referrers_registry)
    subject = build_image(referrers_registry, unique_repo, "v1").digest
    sig, answer = _artifact(client, unique_repo, subject, "application/x.sig", 1)
    assert answer.headers["OCI-Subject"] == subject
    sbom, _ = _artifact(client, unique_repo, subject, "application/x.sbom", 2)
    everything = client.referrers_api(unique_repo, subject)
    assert everything is not None
    assert {(d["digest"], d["artifactType"]) for d in everything["manifests"]} == {
        (sig, "application/x.sig"),
        (sbom, "application/x.sbom"),
    }
    filtered = client.request(
        "GET", f"/v2/{unique_repo}/referrers/{subject}", params={"artifactType": "application/x.sbom"}
    )
    assert filtered.headers["OCI-Filters-Applied"] == "artifactType"
    assert [d["digest"] for d in filtered.json()["manifests"]] == [sbom]
    client.delete_manifest(unique_repo, sig)
    after = client.referrers_api(unique_repo, subject)
    assert after is not None and [d["digest"] for d in after["manifests"]] == [sbom]


def test_link_pagination(registry_factory: Callable[..., Registry], unique_repo: str) -> None:
    registry = registry_factory(kind=REFERRERS, page_size=2)
    client = RegistryClient(registry)
    subject = build_image(registry, unique_repo, "v1").digest
    pushed = {_artifact(client, unique_repo, subject, "application/x.a", n)[0] for n in range(5)}
    seen: list[str] = []
    url: str | None = f"/v2/{unique_repo}/referrers/{subject}"
    pages = 0
    while url:
        answer = client.request("GET", url)
        pages += 1
        seen += [d["digest"] for d in answer.json()["manifests"]]
        url = answer.links.get("next", {}).get("url")
    assert pages == 3 and sorted(seen) == sorted(pushed)


def test_oversized_manifest_is_answered_400_not_reset(referrers_registry: Registry) -> None:
    big = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "padding": "x" * (5 << 20)}).encode()
    answer = requests.put(
        f"{referrers_registry.url}/v2/big/manifests/v1", data=big, headers={"Content-Type": OCI_MANIFEST}, timeout=30
    )
    assert answer.status_code == 400 and "4 MiB" in answer.text
