"""Hostile registries against the referrers client: endless lists, bad digests and sizes, the cap."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from gate.errors import InputError
from gate.oci.http import RegistryFailure
from gate.oci.referrers import MAX_REFERRERS
from gate.oci.target import OCI_INDEX, OCI_MANIFEST
from tests.oci.hostile_server import SUBJECT, Handler, HostileRegistry, hostile_registry, hostile_target


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
            hostile_target(server).referrers(SUBJECT)
        assert len(server.paths("GET")) == 2


def test_referrers_at_the_cap_are_listed() -> None:
    with hostile_registry() as server:
        _referrers_pages(server, [[_entry(n) for n in range(MAX_REFERRERS)]])
        assert len(hostile_target(server).referrers(SUBJECT)) == MAX_REFERRERS


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
            hostile_target(server).referrers(SUBJECT)


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
        found = hostile_target(server, logs).referrers(SUBJECT)
    assert [d.digest for d in found] == [_digest(0)]
    warnings = [line for line in logs if line.startswith("warning:")]
    assert len(warnings) == len(BAD_ENTRIES), logs
    assert any("invalid digest 'sha256:../../../other/manifests/latest'" in line for line in warnings)
    assert any("impossible size" in line for line in warnings)


def test_a_copy_never_requests_paths_built_from_bad_referrer_digests() -> None:
    with hostile_registry() as server:
        _referrers_pages(server, [BAD_ENTRIES])
        target = hostile_target(server)
        assert target.referrers(SUBJECT) == []
        for reference in ("sha256:../../x", "sha256:" + "A" * 64, "../x", "a/b", "-tag", "x" * 129):
            with pytest.raises(InputError, match="invalid"):
                target.fetch_manifest(reference)
            with pytest.raises(InputError, match="invalid"):
                target.resolve(reference)
        assert server.paths() == [f"/v2/hostile/repo/referrers/{SUBJECT}"]
