"""Opening targets: credential pairs, registry_auth files, layouts vs registries."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.errors import InputError
from gate.oci.auth import Credential
from gate.oci.layout import LayoutTarget
from gate.oci.open import (
    Access,
    credential_pair,
    explicit_credentials,
    mount_from,
    open_target,
    registry_auth_text,
    registry_pool,
)
from gate.oci.reference import parse_target_reference
from gate.oci.registry import RegistryTarget


def test_credential_pairs() -> None:
    assert credential_pair("", "", "source") is None
    assert credential_pair("u", "p", "source") == Credential("u", "p")
    with pytest.raises(InputError, match="both source_username and source_password"):
        credential_pair("u", "", "source")
    with pytest.raises(InputError, match="destination"):
        credential_pair("", "p", "destination")


def test_registry_auth_text_reads_a_named_file(tmp_path: Path) -> None:
    path = tmp_path / "auth.yml"
    path.write_text("ghcr.io: {username: u, password: p}\n")
    assert registry_auth_text(str(path)) == path.read_text()
    assert registry_auth_text('{"a": 1}') == '{"a": 1}'
    assert registry_auth_text("") == ""
    assert registry_auth_text("no-such-file") == "no-such-file"


def test_explicit_credentials_refuse_layouts() -> None:
    registry = parse_target_reference("ghcr.io/acme/app")
    layout = parse_target_reference("oci:/tmp/x")
    credential = Credential("u", "p")
    assert explicit_credentials([(registry, credential, "source"), (layout, None, "destination")]) == {
        "ghcr.io": credential
    }
    with pytest.raises(InputError, match="image layout, not a registry"):
        explicit_credentials([(layout, credential, "source")])


def test_open_target_by_kind(tmp_path: Path) -> None:
    masked: list[str] = []
    access = Access(explicit={"ghcr.io": Credential("u", "secret-pw")})
    with registry_pool(access, environ={}, mask=masked.append) as pool:
        assert isinstance(open_target(parse_target_reference("ghcr.io/acme/app"), pool), RegistryTarget)
        created = open_target(parse_target_reference(f"oci:{tmp_path / 'new'}"), pool, create=True)
        assert isinstance(created, LayoutTarget)
        with pytest.raises(InputError, match="not an OCI image layout"):
            open_target(parse_target_reference(f"oci:{tmp_path / 'absent'}"), pool)
    assert "secret-pw" in masked


@pytest.mark.parametrize(
    ("source", "destination", "expected"),
    [
        ("r.io/team/app:v1", "r.io/prod/app:v1", "team/app"),
        ("r.io/team/app:v1", "r.io/team/app:v2", None),  # the same repository: nothing to mount
        ("r.io/team/app:v1", "other.io/team/app:v1", None),  # another registry
        ("oci:/tmp/x:v1", "r.io/team/app:v1", None),
        ("r.io/team/app:v1", "oci:/tmp/x:v1", None),
    ],
)
def test_mount_from_names_the_source_repository_on_the_same_registry(
    source: str, destination: str, expected: str | None
) -> None:
    assert mount_from(parse_target_reference(source), parse_target_reference(destination)) == expected
    assert mount_from(None, parse_target_reference(destination)) is None
