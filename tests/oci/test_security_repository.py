"""Hostile registries against every client of a repository: JSON nested too deeply to parse."""

from __future__ import annotations

from typing import Any

import pytest

from gate.oci.http import RegistryFailure
from gate.oci.target import OCI_INDEX
from tests.oci.hostile_server import SUBJECT, hostile_registry, hostile_target

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
            call(hostile_target(server))
