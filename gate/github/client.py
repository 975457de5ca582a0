"""PyGithub, opened the one way image-gate uses it: a token, the API URL of the run (``GITHUB_API_URL``:
GitHub Enterprise, or a test server), the repository ``owner/name`` of the run (``GITHUB_REPOSITORY``).

``connect`` returns the repository (lazy: no request until one is needed); ``github_call`` turns
PyGithub's errors into ``RuntimeFailure`` (exit 3) naming what was being done, never the token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from gate.errors import InputError, RuntimeFailure

if TYPE_CHECKING:  # PyGithub costs its import time only to the commands that talk to GitHub
    from github.Repository import Repository

DEFAULT_API_URL = "https://api.github.com"
TIMEOUT_SECONDS = 30
RETRIES = 3
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")


def repository_name(given: str, environ: Mapping[str, str], option: str = "--github-repository") -> str:
    """``owner/name``: the option's value, else the run's ``GITHUB_REPOSITORY``; checked."""
    name = given.strip() or environ.get("GITHUB_REPOSITORY", "").strip()
    if not name:
        raise InputError(f"{option}: no repository (owner/name) given, and GITHUB_REPOSITORY is not set")
    if not _REPOSITORY.match(name) or name.split("/")[1] in (".", ".."):
        raise InputError(f"{option} {name!r}: expected owner/name")
    return name


def api_url(environ: Mapping[str, str]) -> str:
    """The REST API's base URL: ``GITHUB_API_URL`` (set by the runner; GitHub Enterprise), else api.github.com."""
    url = environ.get("GITHUB_API_URL", "").strip().rstrip("/") or DEFAULT_API_URL
    check_api_url(url)
    return url


def check_api_url(url: str) -> None:
    """The token goes only over HTTPS (plain HTTP only to a loopback host, as in tests)."""
    from gate.oci.http import is_loopback

    parts = urlsplit(url)
    loopback = parts.scheme == "http" and is_loopback(parts.hostname or "")
    if not parts.hostname or (parts.scheme != "https" and not loopback):
        raise InputError(
            f"GitHub API URL {parts.scheme}://{parts.hostname or ''}: refusing to send the token to anything "
            "but an https:// URL (GITHUB_API_URL)"
        )


def connect(token: str, repository: str, base_url: str) -> Repository:
    """The repository through PyGithub (no request is made yet)."""
    if not token.strip():
        raise InputError("no GitHub token: give --github-token (input github_token)")
    from github import Auth, Github, GithubRetry

    client = Github(
        auth=Auth.Token(token.strip()),
        base_url=base_url,
        timeout=TIMEOUT_SECONDS,
        retry=GithubRetry(total=RETRIES),
        per_page=100,
        lazy=True,
    )
    return client.get_repo(repository)


@contextmanager
def github_call(what: str) -> Iterator[None]:
    """Run PyGithub calls; their failures become ``RuntimeFailure`` naming ``what`` and GitHub's answer."""
    from github import GithubException

    try:
        yield
    except GithubException as exc:
        message = exc.data.get("message") if isinstance(exc.data, dict) else None
        hint = None
        if exc.status in (401, 403, 404):
            hint = "the token needs issues: write (and the repository must exist); see the README's workflow"
        raise RuntimeFailure(f"GitHub: {what}: HTTP {exc.status}: {message or 'no message'}", hint=hint) from None
    except OSError as exc:  # requests' ConnectionError and timeouts are OSErrors
        raise RuntimeFailure(f"GitHub: {what}: {exc.__class__.__name__}: cannot reach the API") from None
