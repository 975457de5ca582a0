"""Hostile registries against the registry client: endless lists, odd digests, deep JSON."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest

from gate.errors import InputError
from gate.oci.auth import CredentialStore
from gate.oci.http import RegistryFailure, RetryPolicy
from gate.oci.registry import MAX_REFERRERS, MAX_TAGS, RegistryPool, RegistryTarget
from gate.oci.target import OCI_INDEX, OCI_MANIFEST, DigestMismatch
from gate.reference import parse_reference
from tests.oci.hostile_server import Handler, HostileRegistry, hostile_registry

FAST = RetryPolicy(attempts=2, initial_wait=0.01, max_wait=0.02, jitter=0.0, retry_after_cap=0.1)
SUBJECT = "sha256:" + "a" * 64


def _target(server: HostileRegistry, logs: list[str] | None = None) -> RegistryTarget:
    pool = RegistryPool(CredentialStore(), retry=FAST, log=logs.append if logs is not None else (lambda _: None))
    return pool.target(parse_reference(f"{server.host}/hostile/repo"))


def _digest(n: int) -> str:
    return "sha256:" + hashlib.sha256(str(n).encode()).hexdigest()


def _referrers_pages(server: HostileRegistry, pages: list[list[dict[str, object]]]) -> None:
    def respond(handler: Handler, _: re.Match[str]) -> None:
        number = int(re.search(r"page=(\d+)", handler.path).group(1)) if "page=" in handler.path else 0  # type: ignore[union-attr]
        headers = {"Content-Type": OCI_INDEX}
        if number + 1 < len(pages):
            headers["Link"] = f'</v2/hostile/repo/referrers/{SUBJECT}?page={number + 1}>; rel="next"'
        handler.answer(200, {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": pages[number]}, headers)

    server.route("GET", r"/v2/hostile/repo/referrers/.*", respond)


def _entry(n: int) -> dict[str, object]:
    return {"mediaType": OCI_MANIFEST, "digest": _digest(n), "size": 500, "artifactType": "application/x-test"}


def test_referrers_over_the_cap_across_pages_fail_naming_the_cap() -> None:
    half = MAX_REFERRERS // 2 + 1
    with hostile_registry() as server:
        _referrers_pages(server, [[_entry(n) for n in range(half)], [_entry(n) for n in range(half, 2 * half)]])
        with pytest.raises(RegistryFailure, match=f"more than {MAX_REFERRERS} referrers"):
            _target(server).referrers(SUBJECT)
        assert len(server.paths("GET")) == 2


def test_referrers_at_the_cap_are_listed() -> None:
    with hostile_registry() as server:
        _referrers_pages(server, [[_entry(n) for n in range(MAX_REFERRERS)]])
        assert len(_target(server).referrers(SUBJECT)) == MAX_REFERRERS


def _tag_pages(server: HostileRegistry, pages: list[list[str]], next_host: str | None = None) -> None:
    def respond(handler: Handler, _: re.Match[str]) -> None:
        number = int(re.search(r"page=(\d+)", handler.path).group(1)) if "page=" in handler.path else 0  # type: ignore[union-attr]
        headers = {}
        if number + 1 < len(pages):
            prefix = f"http://{next_host}" if next_host else ""
            headers["Link"] = f'<{prefix}/v2/hostile/repo/tags/list?page={number + 1}>; rel="next"'
        handler.answer(200, {"name": "hostile/repo", "tags": pages[number]}, headers)

    server.route("GET", r"/v2/hostile/repo/tags/list", respond)


def test_tags_over_the_cap_fail_naming_the_cap() -> None:
    half = MAX_TAGS // 2 + 1
    with hostile_registry() as server:
        _tag_pages(server, [[f"t{n}" for n in range(half)], [f"t{n}" for n in range(half, 2 * half)]])
        with pytest.raises(RegistryFailure, match=f"more than {MAX_TAGS} tags"):
            _target(server).list_tags()


def test_tags_next_page_on_another_host_is_refused() -> None:
    with hostile_registry() as server:
        _tag_pages(server, [["a"], ["b"]], next_host="127.0.0.2:1")
        with pytest.raises(RegistryFailure, match="next page is on another host"):
            _target(server).list_tags()


def test_fallback_index_over_the_cap_fails_naming_the_cap() -> None:
    document = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [_entry(n) for n in range(MAX_REFERRERS + 1)]}
    data = json.dumps(document).encode()
    with hostile_registry() as server:
        server.route("GET", r"/v2/hostile/repo/referrers/.*", lambda handler, _: handler.answer(404, b""))
        server.route(
            "GET",
            r"/v2/hostile/repo/manifests/sha256-a+",
            lambda handler, _: handler.answer(200, data, {"Content-Type": OCI_INDEX}),
        )
        with pytest.raises(RegistryFailure, match=f"more than {MAX_REFERRERS} referrers"):
            _target(server).referrers(SUBJECT)


BAD_ENTRIES: list[dict[str, object]] = [
    {"mediaType": OCI_MANIFEST, "digest": "sha256:../../../other/manifests/latest", "size": 10},
    {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "A" * 64, "size": 10},
    {"mediaType": OCI_MANIFEST, "digest": "sha1:" + "a" * 40, "size": 10},
    {"mediaType": OCI_MANIFEST, "digest": "sha512:" + "a" * 64, "size": 10},
    {"mediaType": OCI_MANIFEST, "digest": _digest(1), "size": -1},
    {"mediaType": OCI_MANIFEST, "digest": _digest(2), "size": 5 * 1024 * 1024},
    {"mediaType": OCI_MANIFEST, "digest": _digest(3), "size": True},
    {"mediaType": OCI_MANIFEST, "digest": _digest(4), "size": "10"},
]


def test_referrers_with_bad_digests_or_sizes_are_dropped_with_a_warning() -> None:
    logs: list[str] = []
    with hostile_registry() as server:
        _referrers_pages(server, [[*BAD_ENTRIES, _entry(0)]])
        found = _target(server, logs).referrers(SUBJECT)
    assert [d.digest for d in found] == [_digest(0)]
    warnings = [line for line in logs if line.startswith("warning:")]
    assert len(warnings) == len(BAD_ENTRIES), logs
    assert any("invalid digest 'sha256:../../../other/manifests/latest'" in line for line in warnings)
    assert any("impossible size" in line for line in warnings)


def test_a_copy_never_requests_paths_built_from_bad_referrer_digests() -> None:
    with hostile_registry() as server:
        _referrers_pages(server, [BAD_ENTRIES])
        target = _target(server)
        assert target.referrers(SUBJECT) == []
        for reference in ("sha256:../../x", "sha256:" + "A" * 64, "../x", "a/b", "-tag", "x" * 129):
            with pytest.raises(InputError, match="invalid"):
                target.fetch_manifest(reference)
            with pytest.raises(InputError, match="invalid"):
                target.resolve(reference)
        assert server.paths() == [f"/v2/hostile/repo/referrers/{SUBJECT}"]


def test_resolve_ignores_an_invalid_digest_header_and_hashes_the_bytes() -> None:
    data = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {}, "layers": []}).encode()
    headers = {"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": "sha256:../../evil"}
    with hostile_registry() as server:
        server.route("*", r"/v2/hostile/repo/manifests/latest", lambda handler, _: handler.answer(200, data, headers))
        with pytest.raises(DigestMismatch, match=r"Docker-Content-Digest says sha256:\.\./\.\./evil"):
            _target(server).resolve("latest")


DEEP = b'{"a":' * 100_000 + b"1" + b"}" * 100_000


@pytest.mark.parametrize(
    ("path", "call", "named"),
    [
        (
            r"/v2/hostile/repo/manifests/latest",
            lambda t: t.fetch_manifest("latest"),
            r"manifest .*/hostile/repo:latest",
        ),
        (r"/v2/hostile/repo/referrers/.*", lambda t: t.referrers(SUBJECT), r"list referrers of .*/hostile/repo@sha256"),
        (r"/v2/hostile/repo/tags/list", lambda t: t.list_tags(), r"list tags of .*/hostile/repo"),
    ],
)
def test_deeply_nested_json_is_a_registry_failure_naming_the_document(path: str, call: Any, named: str) -> None:
    headers = {"Content-Type": OCI_INDEX}
    with hostile_registry() as server:
        server.route("GET", path, lambda handler, _: handler.answer(200, DEEP, headers))
        with pytest.raises(RegistryFailure, match=f"{named}.*nested too deeply"):
            call(_target(server))
