"""Hostile registries against the HTTP layer: slow bodies, secrets in URLs."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.errors import GateError
from gate.oci.auth import CredentialStore
from gate.oci.http import (
    AnswerTooSlow,
    HttpClient,
    RetryPolicy,
    Unreachable,
    blob_read_budget,
    redact_url,
    url_host,
)
from gate.oci.pool import RegistryPool
from gate.oci.reference import parse_reference
from gate.oci.registry import RegistryTarget
from gate.oci.target import OCI_MANIFEST, Descriptor
from tests.oci.hostile_server import Handler, HostileRegistry, hostile_registry
from tests.support.registries import free_port

FAST = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.02, jitter=0.0, retry_after_cap=0.1)
MANIFEST = b'{"schemaVersion":2,"mediaType":"' + OCI_MANIFEST.encode() + b'","config":{},"layers":[]}' + b" " * 2000


def _target(
    host: str, *, read_timeout: float = 1.0, deadline: float = 1.0, logs: list[str] | None = None
) -> RegistryTarget:
    pool = RegistryPool(
        CredentialStore(),
        retry=FAST,
        timeout=(2.0, read_timeout),
        read_deadline=deadline,
        log=logs.append if logs is not None else (lambda _: None),
    )
    return pool.target(parse_reference(f"{host}/hostile/repo"))


def _trickle(data: bytes, delay: float = 0.05, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    def respond(handler: Handler, _: re.Match[str]) -> None:
        handler.trickle(data, delay=delay, headers=headers)

    return respond


def test_a_trickled_manifest_fails_at_the_read_deadline() -> None:
    # One byte every 50 ms never trips the 1 s socket timeout; without a deadline this read takes minutes.
    with hostile_registry() as server:
        server.route(
            "GET", r"/v2/hostile/repo/manifests/.*", _trickle(MANIFEST, headers={"Content-Type": OCI_MANIFEST})
        )
        with pytest.raises(AnswerTooSlow, match=r"manifest 127\.0\.0\.1:\d+/hostile/repo:latest: .*longer than 1 s"):
            _target(server.host).fetch_manifest("latest")


def test_a_trickled_blob_fails_its_budget_without_resuming() -> None:
    data = b"x" * 4000
    descriptor = Descriptor("application/octet-stream", "sha256:" + hashlib.sha256(data).hexdigest(), len(data))
    with hostile_registry() as server:
        server.route("GET", r"/v2/hostile/repo/blobs/.*", _trickle(data))
        target = _target(server.host, read_timeout=30.0)
        with pytest.raises(AnswerTooSlow, match="longer than") as caught, target.open_blob(descriptor) as chunks:
            b"".join(chunks)
        assert not caught.value.stalled
        assert len(server.paths("GET")) == 1  # over budget: no resume


def test_a_stalled_blob_chunk_is_resumed_then_fails() -> None:
    # 2 MiB: the budget (1 s + 8 s) is far away, but the first 1 MiB chunk never completes within 1 s.
    data = b"y" * (2 * 1024 * 1024)
    descriptor = Descriptor("application/octet-stream", "sha256:" + hashlib.sha256(data).hexdigest(), len(data))
    logs: list[str] = []
    with hostile_registry() as server:
        server.route("GET", r"/v2/hostile/repo/blobs/.*", _trickle(data, delay=0.01))
        target = _target(server.host, logs=logs)
        with pytest.raises(AnswerTooSlow, match="stalled") as caught, target.open_blob(descriptor) as chunks:
            b"".join(chunks)
        assert caught.value.stalled
        assert len(server.paths("GET")) == FAST.attempts
        assert any("stalled at byte 0; resuming" in line for line in logs)


def test_an_unstreamed_answer_is_read_under_the_deadline_too() -> None:
    with hostile_registry() as server:
        server.route("*", r"/slow", _trickle(b"z" * 1000))
        client = HttpClient(retry=FAST, timeout=(2.0, 1.0), read_deadline=1.0)
        with pytest.raises(AnswerTooSlow, match="cannot reach the registry: the answer took longer than 1 s"):
            client.request("GET", f"http://{server.host}/slow")
        client.close()


def test_blob_budget_grows_with_size_from_a_floor() -> None:
    assert blob_read_budget(0, 120.0) == 120.0
    assert blob_read_budget(1024**3, 120.0) == 120.0 + 4096.0


def _upload_routes(server: HostileRegistry, location: str) -> None:
    def start(handler: Handler, _: re.Match[str]) -> None:
        handler.answer(202, b"", {"Location": location})

    server.route("HEAD", r"/v2/hostile/repo/blobs/.*", lambda handler, _: handler.answer(404, b""))
    server.route("POST", r"/v2/hostile/repo/blobs/uploads/", start)
    server.route("*", r"/upload", lambda handler, _: handler.answer(503, b"busy", {"Content-Type": "text/plain"}))


def _push(target: RegistryTarget) -> GateError:
    data = b"layer"
    descriptor = Descriptor("application/octet-stream", "sha256:" + hashlib.sha256(data).hexdigest(), len(data))

    @contextmanager
    def source() -> Iterator[Iterator[bytes]]:
        yield iter([data])

    with pytest.raises(GateError) as caught:
        target.push_blob(descriptor, source)
    return caught.value


SECRETS = ("s3cret", "SIGSECRET", "user:", "X-Amz")


def test_logged_and_raised_urls_carry_no_userinfo_and_no_query() -> None:
    logs: list[str] = []
    with hostile_registry() as server:
        _upload_routes(server, f"http://user:s3cret@{server.host}/upload?X-Amz-Signature=SIGSECRET&_state=abc")
        pool = RegistryPool(CredentialStore(), retry=FAST, timeout=(2.0, 5.0), log=logs.append, force_chunked_upload=2)
        error = _push(pool.target(parse_reference(f"{server.host}/hostile/repo")))
    assert any(f"PATCH http://{server.host}/upload: answer 503; retry" in line for line in logs), logs
    for text in (*logs, error.message):
        assert not any(secret in text for secret in SECRETS), text


def test_unreachable_upload_location_is_named_by_host_and_port_only() -> None:
    port = free_port()
    logs: list[str] = []
    with hostile_registry() as server:
        _upload_routes(server, f"http://user:s3cret@127.0.0.1:{port}/upload?X-Amz-Signature=SIGSECRET")
        pool = RegistryPool(CredentialStore(), retry=FAST, timeout=(2.0, 5.0), log=logs.append)
        error = _push(pool.target(parse_reference(f"{server.host}/hostile/repo")))
    assert isinstance(error, Unreachable)
    assert f"127.0.0.1:{port} is unreachable" in error.message
    for text in (*logs, error.message):
        assert not any(secret in text for secret in SECRETS), text


@given(
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="@/?#[]"), min_size=1),
    st.text(alphabet="abcXYZ=&%-_", min_size=0),
)
def test_redact_url_drops_userinfo_and_query(secret: str, query: str) -> None:
    url = f"https://{secret}@storage.example:8443/blob/path?{query}#{query}"
    assert redact_url(url) == "https://storage.example:8443/blob/path"
    assert url_host(url) == "storage.example:8443"
    assert url_host("http://[::1]:5000/v2/") == "[::1]:5000"
