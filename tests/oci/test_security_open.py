"""registry_auth naming a file: read with a size cap, by every command (mirror included)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.commands.mirror import MirrorConfig
from gate.errors import InputError
from gate.oci.open import MAX_REGISTRY_AUTH_BYTES, registry_auth_text


def test_a_registry_auth_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "auth.yml"
    path.write_text("ghcr.io: {username: u, password: p4ss}\n")
    assert registry_auth_text(str(path)) == path.read_text()
    assert MirrorConfig("a.io/x:1", "b.io/x:1", registry_auth=str(path)).secrets() == ("p4ss",)


def test_a_registry_auth_file_over_the_cap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "auth.yml"
    path.write_bytes(b"#" * (MAX_REGISTRY_AUTH_BYTES + 1))
    with pytest.raises(InputError, match="larger than"):
        registry_auth_text(str(path))
    with pytest.raises(InputError, match="larger than"):
        MirrorConfig("a.io/x:1", "b.io/x:1", registry_auth=str(path)).secrets()


def test_a_registry_auth_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "auth.yml"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(InputError, match="not UTF-8"):
        registry_auth_text(str(path))
