"""parse_manifest on hostile bytes: any 4 MiB a registry sends is an InputError, never a crash."""

from __future__ import annotations

import pytest

from gate.errors import InputError
from gate.oci.manifest import parse_manifest
from gate.oci.target import MAX_MANIFEST_BYTES


@pytest.mark.parametrize("opening", [b"[", b'{"manifests":'])
def test_deeply_nested_json_is_an_input_error(opening: bytes) -> None:
    data = opening * (MAX_MANIFEST_BYTES // len(opening))
    with pytest.raises(InputError, match="not a JSON manifest"):
        parse_manifest(data, where="registry.example/app@sha256:x")
