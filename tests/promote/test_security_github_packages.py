"""delete_ghcr_tag: the token only over HTTPS, and a network failure is a RuntimeFailure (promote's warning)."""

from __future__ import annotations

import socket

import pytest

from gate.errors import InputError, RuntimeFailure
from gate.promote.github_packages import delete_ghcr_tag

TOKEN = "ghs_" + "t" * 36


@pytest.mark.parametrize(
    "api_url", ["http://api.github.example", "ftp://api.github.example", "api.github.com", "https://"]
)
def test_the_token_is_never_sent_over_plain_http_to_another_host(api_url: str) -> None:
    with pytest.raises(InputError, match="https://") as caught:
        delete_ghcr_tag("acme/app", "q", TOKEN, api_url=api_url)
    assert TOKEN not in caught.value.diagnostics()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_api_is_a_runtime_failure_not_a_crash() -> None:
    with pytest.raises(RuntimeFailure, match="unreachable") as caught:
        delete_ghcr_tag("acme/app", "q", TOKEN, api_url=f"http://127.0.0.1:{_closed_port()}")
    assert TOKEN not in caught.value.diagnostics()
