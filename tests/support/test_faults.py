"""FaultProxy forwards faithfully and injects exactly the faults it is told to, against a real registry."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator

import pytest
import requests

from tests.support.client import RegistryClient, sha256_digest
from tests.support.faults import (
    ALT,
    Fault,
    FaultProxy,
    corrupt_fault,
    not_found_fault,
    redirect_fault,
    reset_fault,
    status_fault,
    truncate_fault,
)
from tests.support.registries import Registry

MakeProxy = Callable[[Registry], FaultProxy]
BLOB = os.urandom(300_000)


@pytest.fixture
def seeded(distribution_registry: Registry, unique_repo: str) -> tuple[str, str]:
    return unique_repo, RegistryClient(distribution_registry).push_blob(unique_repo, BLOB)


def test_forwards_a_chunked_upload_and_rewrites_location(
    distribution_registry: Registry, fault_proxy: MakeProxy, unique_repo: str
) -> None:
    proxy = fault_proxy(distribution_registry)
    start = requests.post(f"{proxy.url}/v2/{unique_repo}/blobs/uploads/", timeout=5)
    assert start.status_code == 202
    location = start.headers["Location"]
    assert location.startswith(proxy.url) or location.startswith("/")
    url = location if location.startswith("http") else proxy.url + location
    data = os.urandom(200_000)

    def pieces() -> Iterator[bytes]:  # requests sends a generator with Transfer-Encoding: chunked
        yield data[:100_000]
        yield data[100_000:]

    patched = requests.patch(url, data=pieces(), headers={"Content-Type": "application/octet-stream"}, timeout=10)
    assert patched.status_code == 202, patched.text
    url = patched.headers["Location"]
    url = url if url.startswith("http") else proxy.url + url
    digest = sha256_digest(data)
    done = requests.put(url, params={"digest": digest}, timeout=10)
    assert done.status_code == 201, done.text
    assert RegistryClient(distribution_registry).get_blob(unique_repo, digest) == data
    patch = proxy.received(method="PATCH")[0]
    assert patch.request_bytes == len(data) and patch.fault is None


def test_range_and_headers_pass_through(
    distribution_registry: Registry, fault_proxy: MakeProxy, seeded: tuple[str, str]
) -> None:
    repo, digest = seeded
    proxy = fault_proxy(distribution_registry)
    answer = requests.get(f"{proxy.url}/v2/{repo}/blobs/{digest}", headers={"Range": "bytes=10-19"}, timeout=5)
    assert answer.status_code == 206 and answer.content == BLOB[10:20]
    assert proxy.received()[0].header("Range") == "bytes=10-19"


def test_status_faults_fire_on_the_nth_match_only(
    distribution_registry: Registry, fault_proxy: MakeProxy, seeded: tuple[str, str]
) -> None:
    repo, digest = seeded
    proxy = fault_proxy(distribution_registry)
    proxy.inject(
        status_fault(429, method="GET", path="/blobs/", nth=2, retry_after=3), status_fault(503, method="HEAD", times=2)
    )
    url = f"{proxy.url}/v2/{repo}/blobs/{digest}"
    assert requests.get(url, timeout=5).status_code == 200
    limited = requests.get(url, timeout=5)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    assert requests.get(url, timeout=5).content == BLOB
    assert [requests.head(url, timeout=5).status_code for _ in range(3)] == [503, 503, 200]
    assert [r.status for r in proxy.fired()] == [429, 503, 503]


def test_transient_404(distribution_registry: Registry, fault_proxy: MakeProxy, seeded: tuple[str, str]) -> None:
    repo, digest = seeded
    proxy = fault_proxy(distribution_registry)
    proxy.inject(not_found_fault())
    url = f"{proxy.url}/v2/{repo}/blobs/{digest}"
    first = requests.get(url, timeout=5)
    assert first.status_code == 404 and first.json()["errors"][0]["code"] == "BLOB_UNKNOWN"
    assert requests.get(url, timeout=5).content == BLOB


def test_reset_mid_body(distribution_registry: Registry, fault_proxy: MakeProxy, seeded: tuple[str, str]) -> None:
    repo, digest = seeded
    proxy = fault_proxy(distribution_registry)
    proxy.inject(reset_fault(100_000))
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(f"{proxy.url}/v2/{repo}/blobs/{digest}", timeout=5).content  # noqa: B018
    assert proxy.fired()[0].response_bytes == 100_000
    assert requests.get(f"{proxy.url}/v2/{repo}/blobs/{digest}", timeout=5).content == BLOB


def test_truncated_body(distribution_registry: Registry, fault_proxy: MakeProxy, seeded: tuple[str, str]) -> None:
    repo, digest = seeded
    proxy = fault_proxy(distribution_registry)
    proxy.inject(truncate_fault(1000))
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(f"{proxy.url}/v2/{repo}/blobs/{digest}", timeout=5).content  # noqa: B018
    assert proxy.fired()[0].response_bytes == 1000


def test_wrong_bytes(distribution_registry: Registry, fault_proxy: MakeProxy, seeded: tuple[str, str]) -> None:
    repo, digest = seeded
    proxy = fault_proxy(distribution_registry)
    proxy.inject(corrupt_fault(offset=123_456))
    body = requests.get(f"{proxy.url}/v2/{repo}/blobs/{digest}", timeout=5).content
    assert len(body) == len(BLOB) and body != BLOB
    assert [i for i in range(len(BLOB)) if body[i] != BLOB[i]] == [123_456]
    assert "sha256:" + hashlib.sha256(body).hexdigest() != digest


def test_redirect_to_another_host_records_what_arrives_there(
    basic_auth_registry: Registry, fault_proxy: MakeProxy, unique_repo: str
) -> None:
    digest = RegistryClient(basic_auth_registry).push_blob(unique_repo, BLOB)
    proxy = fault_proxy(basic_auth_registry)
    proxy.inject(redirect_fault())
    assert proxy.alt_url.split("://")[1].split(":")[0] != proxy.host.split(":")[0]
    credentials = (basic_auth_registry.username or "", basic_auth_registry.password or "")
    answer = requests.get(f"{proxy.url}/v2/{unique_repo}/blobs/{digest}", auth=credentials, timeout=5)
    assert answer.status_code == 200 and answer.content == BLOB  # requests drops auth on a host change
    [main] = proxy.received(method="GET")
    assert main.status == 307 and main.header("Authorization")
    [storage] = proxy.received(ALT)
    assert storage.header("Authorization") is None and storage.status == 200
    # A careless client that forwards its credentials is visible in the record.
    requests.get(proxy.alt_url + storage.path, headers={"Authorization": main.header("Authorization") or ""}, timeout=5)
    assert proxy.received(ALT)[-1].header("Authorization") == main.header("Authorization")


def test_proxy_registry_is_the_upstream_seen_through_the_proxy(
    token_auth_registry: Registry, fault_proxy: MakeProxy, unique_repo: str
) -> None:
    proxy = fault_proxy(token_auth_registry)
    through = proxy.registry
    assert through.host == proxy.host and through.auth == "token" and through.username == token_auth_registry.username
    client = RegistryClient(through)
    digest = client.push_blob(unique_repo, b"via proxy")
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": client.push_blob(unique_repo, b"{}"),
                "size": 2,
            },
            "layers": [{"mediaType": "application/octet-stream", "digest": digest, "size": 9}],
        }
    ).encode()
    client.push_manifest(unique_repo, "v1", manifest, "application/vnd.oci.image.manifest.v1+json")
    assert RegistryClient(token_auth_registry).get_manifest(unique_repo, "v1")[0] == manifest
    # The registry never saw a Basic header: the password only goes to the token issuer.
    assert all(not (r.header("Authorization") or "").startswith("Basic") for r in proxy.requests)
    assert any((r.header("Authorization") or "").startswith("Bearer ") for r in proxy.requests)


def test_bad_fault_scripts_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault action"):
        Fault("explode")
    with pytest.raises(ValueError):
        Fault("status", nth=0)
