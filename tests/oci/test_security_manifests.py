"""Hostile registries against the manifests client: a digest header that names no digest."""

from __future__ import annotations

import json

import pytest

from gate.oci.target import OCI_MANIFEST, DigestMismatch
from tests.oci.hostile_server import hostile_registry, hostile_target


def test_resolve_ignores_an_invalid_digest_header_and_hashes_the_bytes() -> None:
    data = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {}, "layers": []}).encode()
    headers = {"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": "sha256:../../evil"}
    with hostile_registry() as server:
        server.route("*", r"/v2/hostile/repo/manifests/latest", lambda handler, _: handler.answer(200, data, headers))
        with pytest.raises(DigestMismatch, match=r"Docker-Content-Digest says sha256:\.\./\.\./evil"):
            hostile_target(server).resolve("latest")
