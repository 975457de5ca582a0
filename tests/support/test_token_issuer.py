"""The token issuer's JWTs are accepted by the real distribution 2.8, with the grants of its table."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests

from tests.support.client import RegistryClient, RegistryHTTPError
from tests.support.registries import Registry, require_tool
from tests.support.token_issuer import DEFAULT_USER, TokenIssuer, decode_token, parse_scope


def _token(issuer: TokenIssuer, scopes: list[str], auth: tuple[str, str] | None) -> requests.Response:
    params = [("service", issuer.service)] + [("scope", s) for s in scopes]
    return requests.get(issuer.realm, params=params, auth=auth, timeout=5)


def test_registry_challenges_with_the_issuer_realm(token_auth_registry: Registry, token_issuer: TokenIssuer) -> None:
    answer = requests.get(f"{token_auth_registry.url}/v2/", timeout=5)
    assert answer.status_code == 401
    challenge = answer.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'realm="{token_issuer.realm}"' in challenge and f'service="{token_issuer.service}"' in challenge


def test_one_token_carries_several_scopes(token_issuer: TokenIssuer) -> None:
    token_issuer.clear()
    scopes = ["repository:a/b:pull,push", "repository:c/d:pull"]
    answer = _token(token_issuer, scopes, (DEFAULT_USER, token_issuer.users[DEFAULT_USER]))
    assert answer.status_code == 200
    body = answer.json()
    assert body["token"] == body["access_token"] and body["expires_in"] == token_issuer.expires_in and body["issued_at"]
    header, claims = decode_token(body["token"])
    assert header["alg"] == "ES256" and header["x5c"]
    assert claims["aud"] == token_issuer.service and claims["iss"] == token_issuer.issuer
    assert claims["access"] == [
        {"type": "repository", "name": "a/b", "actions": ["pull", "push"]},
        {"type": "repository", "name": "c/d", "actions": ["pull"]},
    ]
    [recorded] = token_issuer.requests
    assert recorded.scopes == tuple(scopes) and recorded.username == DEFAULT_USER and recorded.password_ok


def test_grants_follow_the_table(token_issuer: TokenIssuer) -> None:
    reader = _token(token_issuer, ["repository:x/y:pull,push,delete"], ("reader", token_issuer.users["reader"]))
    assert decode_token(reader.json()["token"])[1]["access"] == [
        {"type": "repository", "name": "x/y", "actions": ["pull"]}
    ]
    anonymous = _token(token_issuer, ["repository:public/z:pull,push", "repository:private/z:pull"], None)
    assert decode_token(anonymous.json()["token"])[1]["access"] == [
        {"type": "repository", "name": "public/z", "actions": ["pull"]},
        {"type": "repository", "name": "private/z", "actions": []},
    ]
    assert _token(token_issuer, ["repository:x/y:pull"], (DEFAULT_USER, "wrong")).status_code == 401


def test_oauth2_password_grant(token_issuer: TokenIssuer) -> None:
    form = {
        "grant_type": "password",
        "username": DEFAULT_USER,
        "password": token_issuer.users[DEFAULT_USER],
        "service": token_issuer.service,
        "scope": "repository:a/b:pull repository:c/d:push",
        "client_id": "image-gate-tests",
    }
    answer = requests.post(token_issuer.realm, data=form, timeout=5)
    assert answer.status_code == 200
    assert [a["name"] for a in decode_token(answer.json()["access_token"])[1]["access"]] == ["a/b", "c/d"]  # type: ignore[union-attr]


def test_distribution_accepts_the_tokens_for_push_and_pull(
    token_auth_registry: Registry, token_issuer: TokenIssuer, unique_repo: str
) -> None:
    token_issuer.clear()
    client = RegistryClient(token_auth_registry)
    digest = client.push_blob(unique_repo, b"token-pushed")
    assert client.get_blob(unique_repo, digest) == b"token-pushed"
    assert f"repository:{unique_repo}:pull,push" in token_issuer.scopes_requested()
    assert all(r.username == DEFAULT_USER and r.password_ok for r in token_issuer.requests)


def test_distribution_enforces_the_granted_actions(
    token_auth_registry: Registry, token_issuer: TokenIssuer, unique_repo: str
) -> None:
    digest = RegistryClient(token_auth_registry).push_blob(unique_repo, b"readable")
    reader = RegistryClient(token_auth_registry.with_credentials("reader", token_issuer.users["reader"]))
    assert reader.get_blob(unique_repo, digest) == b"readable"
    with pytest.raises(RegistryHTTPError) as caught:
        reader.push_blob(unique_repo, b"not allowed")
    assert caught.value.status_code == 401
    anonymous = RegistryClient(token_auth_registry.with_credentials(None, None))
    with pytest.raises(RegistryHTTPError):
        anonymous.get_blob(unique_repo, digest)


def test_regctl_pushes_through_the_token_flow(
    token_auth_registry: Registry, token_issuer: TokenIssuer, unique_repo: str, tmp_path: Path
) -> None:
    token_issuer.clear()
    regctl = require_tool("regctl")
    subprocess.run(
        [
            regctl,
            "--host",
            token_auth_registry.regctl_host(),
            "artifact",
            "put",
            "--artifact-type",
            "application/x.t",
            token_auth_registry.ref(unique_repo, "v1"),
        ],
        input=b"hi",
        check=True,
        capture_output=True,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert RegistryClient(token_auth_registry).tags(unique_repo) == ["v1"]
    assert any(unique_repo in scope for scope in token_issuer.scopes_requested())


def test_parse_scope() -> None:
    assert parse_scope("repository:a/b:pull,push") == ("repository", "a/b", ["pull", "push"])
    assert parse_scope("registry:catalog:*") == ("registry", "catalog", ["*"])
    assert parse_scope("nonsense") is None
