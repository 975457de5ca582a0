"""Hostile registries against the tags client: endless lists, a next page elsewhere."""

from __future__ import annotations

import re

import pytest

from gate.oci.http import RegistryFailure
from gate.oci.tags import MAX_TAGS
from tests.oci.hostile_server import Handler, HostileRegistry, hostile_registry, hostile_target


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
            hostile_target(server).list_tags()


def test_tags_next_page_on_another_host_is_refused() -> None:
    with hostile_registry() as server:
        _tag_pages(server, [["a"], ["b"]], next_host="127.0.0.2:1")
        with pytest.raises(RegistryFailure, match="next page is on another host"):
            hostile_target(server).list_tags()
