"""GHCR tag deletion through the GitHub Packages API, with PyGithub talking to a small local GitHub on 127.0.0.1.

The fake speaks the few REST endpoints involved (``GET /users/{owner}``, list and delete container package
versions of an org or a user) with GitHub's shapes; it is the fault-injection stand-in for a service the
tests cannot reach.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from gate.errors import InputError, RuntimeFailure
from gate.promote.github_packages import delete_ghcr_tag, split_package

TOKEN = "ghp_test-token-0123456789"
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


@dataclass
class FakeGitHub:
    """Owners (login -> "Organization"/"User") and packages ((owner, name) -> versions) behind a local server."""

    owners: dict[str, str] = field(default_factory=dict)
    packages: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    fail_delete: int | None = None
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add_version(self, owner: str, name: str, version_id: int, digest: str, tags: list[str]) -> None:
        self.packages.setdefault((owner, name), []).append(
            {
                "id": version_id,
                "name": digest,
                "url": f"{self.url}/orgs/{owner}/packages/container/{name}/versions/{version_id}",
                "package_html_url": f"https://github.com/{owner}/packages/container/package/{name}",
                "created_at": "2025-01-01T00:00:00Z",
                "updated_at": "2025-01-01T00:00:00Z",
                "metadata": {"package_type": "container", "container": {"tags": list(tags)}},
            }
        )

    def versions(self, owner: str, name: str) -> list[dict[str, Any]]:
        return self.packages.get((owner, name), [])

    def handle(self, method: str, raw_path: str, authorization: str | None) -> tuple[int, Any]:
        self.requests.append((method, raw_path, authorization))
        if authorization not in (f"token {TOKEN}", f"Bearer {TOKEN}"):
            return 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
        parts = urlsplit(raw_path)
        segments = [unquote(s) for s in parts.path.strip("/").split("/")]
        query = parse_qs(parts.query)
        if method == "GET" and len(segments) == 2 and segments[0] == "users":
            login = segments[1]
            if login not in self.owners:
                return 404, {"message": "Not Found"}
            return 200, {"login": login, "id": 1, "type": self.owners[login], "url": f"{self.url}/users/{login}"}
        if len(segments) >= 6 and segments[0] in ("orgs", "users") and segments[2:4] == ["packages", "container"]:
            owner, name = segments[1], segments[4]
            expected = "orgs" if self.owners.get(owner) == "Organization" else "users"
            if segments[0] != expected or (owner, name) not in self.packages:
                return 404, {"message": "Package not found."}
            versions = self.packages[(owner, name)]
            if method == "GET" and segments[5:] == ["versions"]:
                per_page = int(query.get("per_page", ["30"])[0])
                page = int(query.get("page", ["1"])[0])
                return 200, versions[(page - 1) * per_page : page * per_page]
            if method == "DELETE" and len(segments) == 7 and segments[5] == "versions":
                if self.fail_delete is not None:
                    return self.fail_delete, {"message": "Must have admin rights to Repository."}
                kept = [v for v in versions if str(v["id"]) != segments[6]]
                if len(kept) == len(versions):
                    return 404, {"message": "Package version not found."}
                self.packages[(owner, name)] = kept
                return 204, None
        return 404, {"message": "Not Found"}

    def deletes(self) -> list[str]:
        return [path for method, path, _ in self.requests if method == "DELETE"]


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return None

        def _answer(self) -> None:
            status, body = fake.handle(self.command, self.path, self.headers.get("Authorization"))
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            if data:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _answer
        do_DELETE = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_the_version_whose_only_tag_it_is_is_deleted_in_an_org(fake_github: FakeGitHub) -> None:
    fake_github.owners["acme"] = "Organization"
    fake_github.add_version("acme", "team/app", 11, DIGEST_B, ["other"])
    fake_github.add_version("acme", "team/app", 12, DIGEST_A, ["quarantine-1"])
    logs: list[str] = []
    result = delete_ghcr_tag(
        "acme/team/app", "quarantine-1", TOKEN, expected_digest=DIGEST_A, api_url=fake_github.url, log=logs.append
    )
    assert result.deleted and result.owner_kind == "org"
    assert (result.version_id, result.version_digest, result.version_tags) == (12, DIGEST_A, ("quarantine-1",))
    assert [v["id"] for v in fake_github.versions("acme", "team/app")] == [11]
    # the package name is URL-encoded as one path segment
    assert fake_github.deletes() == ["/orgs/acme/packages/container/team%2Fapp/versions/12"]
    assert TOKEN not in " ".join(logs)
    assert result.to_json()["deleted"] is True


def test_a_user_package_uses_the_users_endpoints(fake_github: FakeGitHub) -> None:
    fake_github.owners["octo"] = "User"
    fake_github.add_version("octo", "app", 5, DIGEST_A, ["q"])
    result = delete_ghcr_tag("octo/app", "q", TOKEN, api_url=fake_github.url)
    assert result.deleted and result.owner_kind == "user"
    assert fake_github.deletes() == ["/users/octo/packages/container/app/versions/5"]


def test_a_version_with_several_tags_is_not_deleted_and_says_why(fake_github: FakeGitHub) -> None:
    fake_github.owners["acme"] = "Organization"
    fake_github.add_version("acme", "app", 7, DIGEST_A, ["quarantine-1", "latest"])
    result = delete_ghcr_tag("acme/app", "quarantine-1", TOKEN, expected_digest=DIGEST_A, api_url=fake_github.url)
    assert not result.deleted
    assert result.version_tags == ("quarantine-1", "latest")
    assert result.reason is not None and "also carries tag(s) latest" in result.reason
    assert fake_github.deletes() == [] and len(fake_github.versions("acme", "app")) == 1


def test_a_tag_that_moved_to_another_digest_is_not_deleted(fake_github: FakeGitHub) -> None:
    fake_github.owners["acme"] = "Organization"
    fake_github.add_version("acme", "app", 7, DIGEST_B, ["quarantine-1"])
    result = delete_ghcr_tag("acme/app", "quarantine-1", TOKEN, expected_digest=DIGEST_A, api_url=fake_github.url)
    assert not result.deleted and result.reason is not None and f"not on {DIGEST_A}" in result.reason
    assert fake_github.deletes() == []


def test_the_tag_is_found_on_a_later_page(fake_github: FakeGitHub) -> None:
    fake_github.owners["acme"] = "Organization"
    for number in range(1, 151):
        fake_github.add_version("acme", "app", number, f"sha256:{number:064x}", [f"build-{number}"])
    result = delete_ghcr_tag("acme/app", "build-140", TOKEN, api_url=fake_github.url)
    assert result.deleted and result.version_id == 140
    pages = [path for method, path, _ in fake_github.requests if method == "GET" and "/versions" in path]
    assert len(pages) == 2 and "page=2" in pages[1] and "per_page=100" in pages[1]


def test_a_missing_tag_is_reported(fake_github: FakeGitHub) -> None:
    fake_github.owners["acme"] = "Organization"
    fake_github.add_version("acme", "app", 1, DIGEST_A, ["other"])
    result = delete_ghcr_tag("acme/app", "gone", TOKEN, api_url=fake_github.url)
    assert not result.deleted and result.reason == "no version of package acme/app carries tag gone"


def test_api_failures_are_runtime_failures_without_the_token(fake_github: FakeGitHub) -> None:
    fake_github.owners["acme"] = "Organization"
    fake_github.add_version("acme", "app", 1, DIGEST_A, ["q"])
    fake_github.fail_delete = 403
    with pytest.raises(RuntimeFailure) as caught:
        delete_ghcr_tag("acme/app", "q", TOKEN, api_url=fake_github.url)
    assert "HTTP 403: Must have admin rights" in caught.value.message
    assert caught.value.hint is not None and "delete:packages" in caught.value.hint
    assert TOKEN not in caught.value.diagnostics()

    with pytest.raises(RuntimeFailure, match="HTTP 401: Bad credentials"):
        delete_ghcr_tag("acme/app", "q", "wrong-token", api_url=fake_github.url)
    with pytest.raises(RuntimeFailure, match="cannot look up owner 'nobody'"):
        delete_ghcr_tag("nobody/app", "q", TOKEN, api_url=fake_github.url)
    with pytest.raises(RuntimeFailure, match="Package not found"):
        delete_ghcr_tag("acme/absent", "q", TOKEN, api_url=fake_github.url)


def test_bad_arguments() -> None:
    assert split_package("acme/a/b/c") == ("acme", "a/b/c")
    with pytest.raises(InputError, match="OWNER/PACKAGE"):
        split_package("acme")
    with pytest.raises(InputError, match="needs a GitHub token"):
        delete_ghcr_tag("acme/app", "q", "")
