"""The GitHub API URL a token may go to: HTTPS, or plain HTTP to a loopback host only (a test server)."""

from __future__ import annotations

import pytest

from gate.errors import InputError
from gate.github.client import DEFAULT_API_URL, api_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("", DEFAULT_API_URL),
        ("https://ghe.example.com/api/v3/", "https://ghe.example.com/api/v3"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_the_run_api_url(given: str, expected: str) -> None:
    assert api_url({"GITHUB_API_URL": given} if given else {}) == expected


@pytest.mark.parametrize(
    "given", ["http://ghe.example.com/api/v3", "ftp://ghe.example.com", "https://", "ghe.example.com"]
)
def test_a_url_the_token_must_not_go_to_is_refused(given: str) -> None:
    with pytest.raises(InputError, match="refusing to send the token"):
        api_url({"GITHUB_API_URL": given})
