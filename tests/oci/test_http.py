"""HTTP rules and fault handling, through the fault-injection proxy in front of a real registry."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from gate.errors import InputError, RuntimeFailure
from gate.oci.http import (
    BadRequest,
    Denied,
    HttpClient,
    NotFound,
    RegistryFailure,
    RetryPolicy,
    Unreachable,
    is_loopback,
    raise_for_answer,
    raise_for_status,
    retry_after_seconds,
    scheme_for,
)
from gate.oci.target import Descriptor, DigestMismatch
from tests.oci.registry_helpers import FAST, blob, digest, make_pool, open_target, push_image, source_of
from tests.support.faults import (
    FaultProxy,
    corrupt_fault,
    not_found_fault,
    redirect_fault,
    reset_fault,
    status_fault,
    truncate_fault,
)
from tests.support.registries import Registry, free_port

BIG = 3 * 1024 * 1024 + 123


@pytest.fixture
def proxy(distribution_registry: Registry) -> Iterator[FaultProxy]:
    with FaultProxy(distribution_registry) as running:
        yield running


@pytest.fixture
def basic_proxy(basic_auth_registry: Registry) -> Iterator[FaultProxy]:
    with FaultProxy(basic_auth_registry) as running:
        yield running


def test_schemes() -> None:
    assert scheme_for("127.0.0.1:5000") == "http"
    assert scheme_for("127.8.9.10") == "http"
    assert scheme_for("localhost:5000") == "http"
    assert scheme_for("[::1]:5000") == "http"
    assert scheme_for("ghcr.io") == "https"
    assert scheme_for("10.0.0.1:5000") == "https"
    assert scheme_for("10.0.0.1:5000", ["10.0.0.1:5000"]) == "http"
    assert scheme_for("registry.lan:5000", ["registry.lan"]) == "http"
    assert scheme_for("registry.lan:5000", ["other.lan"]) == "https"
    assert not is_loopback("128.0.0.1") and is_loopback("::1")


@given(st.integers(min_value=0, max_value=10**6))
def test_retry_after_is_capped(seconds: int) -> None:
    response = requests.Response()
    response.headers["Retry-After"] = str(seconds)
    assert retry_after_seconds(response, 5.0) == min(5.0, float(seconds))


def test_retry_after_forms() -> None:
    response = requests.Response()
    assert retry_after_seconds(response, 5) is None
    response.headers["Retry-After"] = "Wed, 21 Oct 2015 07:28:00 GMT"  # in the past
    assert retry_after_seconds(response, 5) == 0.0
    response.headers["Retry-After"] = "soon"
    assert retry_after_seconds(response, 5) is None


@given(st.integers(min_value=1, max_value=50))
def test_backoff_is_bounded(attempt: int) -> None:
    policy = RetryPolicy(initial_wait=0.5, max_wait=4.0, jitter=0.5)
    assert 0.5 <= policy.backoff(attempt) <= 4.5


def test_503_then_success(proxy: FaultProxy, unique_repo: str) -> None:
    target = open_target(make_pool(proxy.registry), proxy.registry, unique_repo)
    image = push_image(target, "v1")
    proxy.inject(status_fault(503, method="GET", path="/manifests/", times=2))
    assert target.fetch_manifest("v1").data == image.data
    assert len(proxy.fired()) == 2


def test_429_retry_after_is_honoured(proxy: FaultProxy, unique_repo: str) -> None:
    sleeps: list[float] = []
    client = HttpClient(retry=RetryPolicy(attempts=3, retry_after_cap=7.0), sleep=sleeps.append)
    proxy.inject(status_fault(429, method="GET", path="/v2/", retry_after=3, times=1))
    answer = client.request("GET", f"{proxy.url}/v2/")
    assert answer.status_code == 200
    assert sleeps == [3.0]
    proxy.inject(status_fault(429, method="GET", path="/v2/", retry_after=100, times=1))
    client.request("GET", f"{proxy.url}/v2/")
    assert sleeps[-1] == 7.0  # capped


def test_persistent_5xx_fails_cleanly_after_bounded_attempts(proxy: FaultProxy, unique_repo: str) -> None:
    target = open_target(make_pool(proxy.registry), proxy.registry, unique_repo)
    push_image(target, "v1")
    proxy.inject(status_fault(503, method="GET", path="/manifests/", times=None))
    with pytest.raises(RegistryFailure) as caught:
        target.fetch_manifest("v1")
    assert "503" in str(caught.value) and "UNAVAILABLE" in str(caught.value)
    assert f"{proxy.host}/{unique_repo}:v1" in str(caught.value)
    assert len(proxy.fired()) == FAST.attempts


@pytest.mark.parametrize("fault", [reset_fault(100_000), truncate_fault(1_500_000), not_found_fault()])
def test_blob_download_survives_breaks(proxy: FaultProxy, unique_repo: str, fault: object) -> None:
    logs: list[str] = []
    target = open_target(make_pool(proxy.registry, logs=logs), proxy.registry, unique_repo)
    data = os.urandom(BIG)
    layer = blob(target, data)
    proxy.inject(fault)  # type: ignore[arg-type]
    with target.open_blob(layer) as chunks:
        assert digest(b"".join(chunks)) == layer.digest
    assert len(proxy.fired()) == 1


def test_blob_download_that_keeps_breaking_fails_cleanly(proxy: FaultProxy, unique_repo: str) -> None:
    target = open_target(make_pool(proxy.registry), proxy.registry, unique_repo)
    layer = blob(target, os.urandom(BIG))
    proxy.inject(reset_fault(1000, times=None))
    with pytest.raises(RuntimeFailure), target.open_blob(layer) as chunks:
        for _ in chunks:
            pass


def test_wrong_bytes_are_a_digest_mismatch(proxy: FaultProxy, unique_repo: str) -> None:
    target = open_target(make_pool(proxy.registry), proxy.registry, unique_repo)
    layer = blob(target, os.urandom(BIG))
    proxy.inject(corrupt_fault(12345))
    with pytest.raises(DigestMismatch), target.open_blob(layer) as chunks:
        for _ in chunks:
            pass


def test_corrupt_manifest_is_a_digest_mismatch(proxy: FaultProxy, unique_repo: str) -> None:
    target = open_target(make_pool(proxy.registry), proxy.registry, unique_repo)
    image = push_image(target, "v1")
    proxy.inject(corrupt_fault(5, path="/manifests/"))
    with pytest.raises(DigestMismatch):
        target.fetch_manifest(image.descriptor.digest)
    proxy.inject(corrupt_fault(5, path="/manifests/"))
    with pytest.raises(DigestMismatch, match="Docker-Content-Digest"):
        target.fetch_manifest("v1")


def test_upload_retried_by_reopening_the_source(proxy: FaultProxy, unique_repo: str) -> None:
    target = open_target(make_pool(proxy.registry), proxy.registry, unique_repo)
    data = os.urandom(BIG)
    opened: list[int] = []
    proxy.inject(status_fault(503, method="PUT", path="/blobs/uploads/", times=1))
    target.push_blob(Descriptor("application/octet-stream", digest(data), len(data)), source_of(data, opened))
    assert len(opened) == 2
    assert target.has_blob(digest(data))


def test_upload_that_keeps_failing_pushes_nothing(proxy: FaultProxy, unique_repo: str) -> None:
    target = open_target(make_pool(proxy.registry), proxy.registry, unique_repo)
    data = os.urandom(10_000)
    opened: list[int] = []
    proxy.inject(status_fault(500, method="PUT", path="/blobs/uploads/", times=None))
    with pytest.raises(RegistryFailure, match="500"):
        target.push_blob(Descriptor("application/octet-stream", digest(data), len(data)), source_of(data, opened))
    assert len(opened) == FAST.attempts
    proxy.clear()
    assert not target.has_blob(digest(data))


def test_redirect_to_another_host_drops_authorization(basic_proxy: FaultProxy, unique_repo: str) -> None:
    registry = basic_proxy.registry
    target = open_target(make_pool(registry), registry, unique_repo)
    layer = blob(target, os.urandom(BIG))
    basic_proxy.inject(redirect_fault())
    with target.open_blob(layer) as chunks:
        assert digest(b"".join(chunks)) == layer.digest
    main = basic_proxy.received("main", "GET", "/blobs/")
    alt = basic_proxy.received("alt", "GET", "/blobs/")
    assert main and alt
    assert main[-1].header("Authorization")
    assert all(request.header("Authorization") is None for request in alt)


def test_unreachable_after_retries() -> None:
    sleeps: list[float] = []
    client = HttpClient(retry=RetryPolicy(attempts=3, initial_wait=0.01, jitter=0), sleep=sleeps.append)
    with pytest.raises(Unreachable, match="unreachable after 3 attempt"):
        client.request("GET", f"http://127.0.0.1:{free_port()}/v2/", what="ping")
    assert len(sleeps) == 2


def test_streamed_bodies_are_not_replayed(proxy: FaultProxy) -> None:
    client = HttpClient(retry=FAST, sleep=lambda _: None)
    proxy.inject(status_fault(503, method="PUT", times=None))
    answer = client.request("PUT", f"{proxy.url}/v2/x/blobs/uploads/y", data=iter([b"abc"]))
    assert answer.status_code == 503
    assert len(proxy.fired()) == 1


def test_registry_answers_become_clear_errors(distribution_registry: Registry) -> None:
    answer = requests.get(f"{distribution_registry.url}/v2/nope/manifests/latest", timeout=10)
    with pytest.raises(InputError) as caught:
        raise_for_answer(answer, "fetch manifest nope:latest", distribution_registry.host)
    text = str(caught.value)
    assert text.startswith("cannot fetch manifest nope:latest: ")
    assert text.endswith(f"{distribution_registry.host} answered 404 MANIFEST_UNKNOWN: manifest unknown")


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (404, NotFound),
        (401, Denied),
        (403, Denied),
        (400, BadRequest),
        (405, BadRequest),
        (409, BadRequest),
        (413, BadRequest),
        (422, BadRequest),
        (408, RegistryFailure),  # retried first: what is left is the registry's failure
        (429, RegistryFailure),
        (500, RegistryFailure),
        (503, RegistryFailure),
        (524, RegistryFailure),
        (302, RegistryFailure),
    ],
)
def test_one_status_mapping(status: int, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        raise_for_status(status, "cannot do it: r.io answered")
    assert type(caught.value) is error
    assert str(caught.value).startswith("cannot do it: r.io answered")
    assert isinstance(caught.value, InputError) is (400 <= status < 500 and status not in (408, 429))
    if error is Denied:
        assert "credentials" in (caught.value.hint or "")
