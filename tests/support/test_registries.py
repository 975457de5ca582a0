"""The test registries start, answer, authenticate and stop for real."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import requests

from tests.support.client import RegistryClient, RegistryHTTPError, sha256_digest
from tests.support.registries import (
    DISTRIBUTION,
    REFERRERS,
    Registry,
    ToolMissing,
    require_tool,
    start_distribution,
)


def test_plain_distribution_answers_v2(distribution_registry: Registry) -> None:
    answer = requests.get(f"{distribution_registry.url}/v2/", timeout=5)
    assert answer.status_code == 200
    assert distribution_registry.kind == DISTRIBUTION
    assert distribution_registry.host.startswith("127.0.0.1:")
    assert not distribution_registry.referrers_api


def test_referrers_registry_answers_v2_and_the_referrers_api(referrers_registry: Registry, unique_repo: str) -> None:
    assert requests.get(f"{referrers_registry.url}/v2/", timeout=5).status_code == 200
    client = RegistryClient(referrers_registry)
    digest = client.push_blob(unique_repo, b"{}")
    index = client.referrers_api(unique_repo, digest)
    assert index is not None and index["manifests"] == []
    assert referrers_registry.referrers_api and referrers_registry.kind == REFERRERS


def test_distribution_has_no_referrers_api(distribution_registry: Registry, unique_repo: str) -> None:
    client = RegistryClient(distribution_registry)
    digest = client.push_blob(unique_repo, b"{}")
    assert client.referrers_api(unique_repo, digest) is None


def test_blob_round_trip_and_delete_on_any_registry(any_registry: Registry, unique_repo: str) -> None:
    client = RegistryClient(any_registry)
    config = client.push_blob(unique_repo, b"{}")
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": config, "size": 2},
            "layers": [],
        }
    ).encode()
    client.push_manifest(unique_repo, "v1", manifest, "application/vnd.oci.image.manifest.v1+json")
    body, media_type = client.get_manifest(unique_repo, "v1")
    assert body == manifest and media_type == "application/vnd.oci.image.manifest.v1+json"
    assert client.tags(unique_repo) == ["v1"]
    assert any_registry.supports_delete
    client.delete_manifest(unique_repo, sha256_digest(manifest))
    assert not client.manifest_exists(unique_repo, sha256_digest(manifest))


def test_basic_auth_refuses_anonymous_and_wrong_password(basic_auth_registry: Registry, unique_repo: str) -> None:
    assert requests.get(f"{basic_auth_registry.url}/v2/", timeout=5).status_code == 401
    wrong = RegistryClient(basic_auth_registry.with_credentials("alice", "wrong"))
    with pytest.raises(RegistryHTTPError) as caught:
        wrong.push_blob(unique_repo, b"x")
    assert caught.value.status_code == 401
    right = RegistryClient(basic_auth_registry)
    digest = right.push_blob(unique_repo, b"x")
    assert right.get_blob(unique_repo, digest) == b"x"


def test_regctl_pushes_with_basic_credentials(basic_auth_registry: Registry, unique_repo: str, tmp_path: Path) -> None:
    regctl = require_tool("regctl")
    ref = basic_auth_registry.ref(unique_repo, "art")
    subprocess.run(
        [
            regctl,
            "--host",
            basic_auth_registry.regctl_host(),
            "artifact",
            "put",
            "--artifact-type",
            "application/x.test",
            ref,
        ],
        input=b"hello",
        check=True,
        capture_output=True,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert RegistryClient(basic_auth_registry).tags(unique_repo) == ["art"]


def test_registry_factory_gives_a_fresh_server_per_test(registry_factory, distribution_registry: Registry) -> None:  # type: ignore[no-untyped-def]
    fresh = registry_factory()
    assert fresh.host != distribution_registry.host
    assert requests.get(f"{fresh.url}/v2/_catalog", timeout=5).json()["repositories"] == []
    fresh_referrers = registry_factory(kind=REFERRERS)
    assert fresh_referrers.referrers_api


def test_missing_binary_fails_loudly_with_the_install_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("tests.support.registries.TOOLS_BIN", tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissing, match="make install"):
        require_tool("docker-registry")
    with pytest.raises(ToolMissing, match="make install"):
        start_distribution(tmp_path / "r")
