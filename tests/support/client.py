"""A deliberately small, independent registry client for the test support code (NOT gate.oci, which is
under test). It speaks just enough of the distribution API to seed and read content: Basic and Bearer
auth, monolithic blob upload, manifests by tag or digest, referrers API, tag list, delete.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import requests

from tests.support.registries import Registry

_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class RegistryHTTPError(RuntimeError):
    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"{response.request.method} {response.url} -> {response.status_code}: {response.text[:500]}")
        self.status_code = response.status_code


@dataclass
class RegistryClient:
    """``RegistryClient(registry)``; credentials come from ``registry.username/password``."""

    registry: Registry
    session: requests.Session = field(default_factory=requests.Session)
    _tokens: dict[str, str] = field(default_factory=dict)

    # -- transport ----------------------------------------------------------------------------
    def request(self, method: str, path: str, *, scope: str | None = None, **kwargs: Any) -> requests.Response:
        """``path`` is relative to the registry root (``/v2/...``) or an absolute URL (upload locations)."""
        url = path if path.startswith("http") else self.registry.url + path
        headers = dict(kwargs.pop("headers", None) or {})
        kwargs.setdefault("timeout", 30)
        auth = self._tokens.get(scope or "")
        if auth:
            headers["Authorization"] = auth
        response = self.session.request(method, url, headers=headers, allow_redirects=True, **kwargs)
        if response.status_code == 401 and self._authenticate(response, scope):
            headers["Authorization"] = self._tokens[scope or ""]
            response = self.session.request(method, url, headers=headers, allow_redirects=True, **kwargs)
        return response

    def _authenticate(self, response: requests.Response, scope: str | None) -> bool:
        challenge = response.headers.get("WWW-Authenticate", "")
        scheme, _, rest = challenge.partition(" ")
        params = dict(_CHALLENGE_PARAM.findall(rest))
        user, password = self.registry.username, self.registry.password
        if scheme.lower() == "basic":
            if user is None:
                return False
            self._tokens[scope or ""] = requests.auth._basic_auth_str(user, password or "")
            return True
        if scheme.lower() != "bearer" or "realm" not in params:
            return False
        query: list[tuple[str, str]] = [("service", params.get("service", ""))]
        for item in (scope or params.get("scope", "")).split(" "):
            if item:
                query.append(("scope", item))
        answer = requests.get(
            params["realm"], params=query, auth=(user, password or "") if user is not None else None, timeout=10
        )
        if answer.status_code != 200:
            return False
        body = answer.json()
        self._tokens[scope or ""] = "Bearer " + (body.get("token") or body["access_token"])
        return True

    @staticmethod
    def scope(repo: str, actions: str = "pull,push") -> str:
        return f"repository:{repo}:{actions}"

    def _check(self, response: requests.Response, *ok: int) -> requests.Response:
        if response.status_code not in ok:
            raise RegistryHTTPError(response)
        return response

    # -- blobs --------------------------------------------------------------------------------
    def has_blob(self, repo: str, digest: str) -> bool:
        answer = self.request("HEAD", f"/v2/{repo}/blobs/{digest}", scope=self.scope(repo, "pull"))
        return answer.status_code == 200

    def push_blob(self, repo: str, data: bytes) -> str:
        digest = sha256_digest(data)
        scope = self.scope(repo)
        if self.request("HEAD", f"/v2/{repo}/blobs/{digest}", scope=scope).status_code == 200:
            return digest
        start = self._check(self.request("POST", f"/v2/{repo}/blobs/uploads/", scope=scope), 202)
        location = start.headers["Location"]
        if location.startswith("/"):
            location = self.registry.url + location
        separator = "&" if "?" in location else "?"
        self._check(
            self.request(
                "PUT",
                f"{location}{separator}digest={digest}",
                scope=scope,
                data=data,
                headers={"Content-Type": "application/octet-stream"},
            ),
            201,
        )
        return digest

    def get_blob(self, repo: str, digest: str) -> bytes:
        answer = self._check(self.request("GET", f"/v2/{repo}/blobs/{digest}", scope=self.scope(repo, "pull")), 200)
        if sha256_digest(answer.content) != digest:
            raise RuntimeError(f"blob {digest} in {repo} has the wrong digest")
        return answer.content

    # -- manifests ----------------------------------------------------------------------------
    def push_manifest(self, repo: str, reference: str, body: bytes, media_type: str) -> requests.Response:
        """PUT a manifest by tag or digest; the response headers tell e.g. ``OCI-Subject``."""
        return self._check(
            self.request(
                "PUT",
                f"/v2/{repo}/manifests/{reference}",
                scope=self.scope(repo),
                data=body,
                headers={"Content-Type": media_type},
            ),
            201,
        )

    def get_manifest(self, repo: str, reference: str) -> tuple[bytes, str]:
        """Raw bytes and media type; the digest is verified when ``reference`` is one."""
        answer = self._check(
            self.request(
                "GET",
                f"/v2/{repo}/manifests/{reference}",
                scope=self.scope(repo, "pull"),
                headers={"Accept": MANIFEST_ACCEPT},
            ),
            200,
        )
        if reference.startswith("sha256:") and sha256_digest(answer.content) != reference:
            raise RuntimeError(f"manifest {reference} in {repo} has the wrong digest")
        return answer.content, answer.headers.get("Content-Type", "")

    def manifest_exists(self, repo: str, reference: str) -> bool:
        answer = self.request(
            "HEAD",
            f"/v2/{repo}/manifests/{reference}",
            scope=self.scope(repo, "pull"),
            headers={"Accept": MANIFEST_ACCEPT},
        )
        return answer.status_code == 200

    def delete_manifest(self, repo: str, digest: str) -> None:
        self._check(self.request("DELETE", f"/v2/{repo}/manifests/{digest}", scope=self.scope(repo, "delete")), 202)

    def tags(self, repo: str) -> list[str]:
        answer = self.request("GET", f"/v2/{repo}/tags/list", scope=self.scope(repo, "pull"))
        if answer.status_code == 404:
            return []
        tags = self._check(answer, 200).json().get("tags") or []
        return sorted(tags)

    def referrers_api(self, repo: str, digest: str) -> dict[str, Any] | None:
        """The referrers index from ``/v2/<repo>/referrers/<digest>``, or None when the API is absent (404)."""
        answer = self.request("GET", f"/v2/{repo}/referrers/{digest}", scope=self.scope(repo, "pull"))
        if answer.status_code == 404:
            return None
        result: dict[str, Any] = json.loads(self._check(answer, 200).content)
        return result
