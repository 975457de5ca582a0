"""The registry pool (gate.oci.pool): hosts, their API address and scheme, credentials, unreachable registries."""

from __future__ import annotations

import pytest

from gate.errors import InputError, RuntimeFailure
from gate.oci.auth import CredentialStore
from gate.oci.http import Denied, Unreachable
from gate.oci.pool import RegistryPool, open_registry_target
from gate.oci.reference import parse_reference
from tests.oci.registry_helpers import (
    credentials_for,
    make_pool,
    open_target,
    push_image,
)
from tests.support.registries import Registry, free_port


def test_unreachable_registry_is_a_runtime_failure(unique_repo: str) -> None:
    ref = parse_reference(f"127.0.0.1:{free_port()}/{unique_repo}:v1")
    target = open_registry_target(ref, CredentialStore())
    with pytest.raises(Unreachable) as caught:
        target.resolve("v1")
    assert isinstance(caught.value, RuntimeFailure)
    assert ref.registry in str(caught.value)


def test_basic_auth(basic_auth_registry: Registry, unique_repo: str) -> None:
    masked: list[str] = []
    target = open_target(make_pool(basic_auth_registry, masked=masked), basic_auth_registry, unique_repo)
    image = push_image(target, "v1")
    assert target.fetch_manifest("v1").data == image.data
    assert basic_auth_registry.password in masked
    anonymous = RegistryPool(credentials_for(basic_auth_registry.with_credentials(None, None)))
    with pytest.raises(Denied) as caught:
        open_target(anonymous, basic_auth_registry, unique_repo).fetch_manifest("v1")
    assert "401" in str(caught.value)
    wrong = make_pool(basic_auth_registry.with_credentials("alice", "wrong"))
    with pytest.raises(Denied):
        open_target(wrong, basic_auth_registry, unique_repo).fetch_manifest("v1")


def test_factory_serves_docker_hub_from_its_api_host() -> None:
    target = open_registry_target(parse_reference("alpine:3"), CredentialStore())
    assert target.host.base_url == "https://registry-1.docker.io"
    assert target.display_name == "docker.io/library/alpine"
    insecure = open_registry_target(
        parse_reference("registry.internal:5000/app"),
        CredentialStore(),
        insecure_registries=["registry.internal:5000"],
    )
    assert insecure.host.base_url == "http://registry.internal:5000"
    with pytest.raises(InputError):
        open_registry_target(parse_reference("a.b/c"), CredentialStore(), concurrency=0)
