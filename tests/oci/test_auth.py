"""Credentials and the Bearer/Basic flows, against distribution 2.8 with real token and htpasswd auth."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from gate.errors import InputError
from gate.oci.auth import (
    Authenticator,
    Credential,
    CredentialStore,
    load_docker_config,
    normalize_host,
    parse_registry_auth,
    parse_www_authenticate,
    registry_auth_secrets,
)
from gate.oci.http import Denied, HttpClient
from tests.oci.registry_helpers import blob, make_pool, open_target, push_image
from tests.support.registries import Registry
from tests.support.token_issuer import TokenIssuer
from tests.test_yamlsafe import alias_bomb

# --- parsing ---------------------------------------------------------------------------------


def test_www_authenticate_bearer() -> None:
    header = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push"'
    [challenge] = parse_www_authenticate(header)
    assert challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://auth.docker.io/token",
        "service": "registry.docker.io",
        "scope": "repository:a/b:pull,push",
    }


def test_www_authenticate_several_challenges_and_escapes() -> None:
    header = (
        'Basic realm="a \\"quoted\\" realm", Bearer realm="https://x/t",scope="repository:a:pull repository:b:pull"'
    )
    basic, bearer = parse_www_authenticate(header)
    assert basic.scheme == "basic" and basic.params["realm"] == 'a "quoted" realm'
    assert bearer.params["scope"] == "repository:a:pull repository:b:pull"
    assert parse_www_authenticate("") == []
    assert parse_www_authenticate("Basic")[0].params == {}


_value = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)


@given(_value, _value)
def test_www_authenticate_round_trips_quoted_values(realm: str, service: str) -> None:
    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    [challenge] = parse_www_authenticate(f"Bearer realm={quote(realm)},service={quote(service)}")
    assert challenge.params == {"realm": realm, "service": service}


def test_registry_auth_yaml_and_json() -> None:
    parsed = parse_registry_auth(
        "ghcr.io:\n  username: me\n  password: secret\nindex.docker.io:\n  username: hub\n  password: p\n"
    )
    assert parsed == {"ghcr.io": Credential("me", "secret"), "docker.io": Credential("hub", "p")}
    assert parse_registry_auth('{"127.0.0.1:5000": {"username": "u", "password": "p"}}') == {
        "127.0.0.1:5000": Credential("u", "p")
    }
    assert parse_registry_auth("  ") == {}
    assert "secret" not in repr(parsed["ghcr.io"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "expected a mapping"),
        ("ghcr.io: token", "must be a mapping"),
        ("ghcr.io: {username: me}", "needs a non-empty string username and password"),
        ("ghcr.io: {username: me, password: p, token: t}", "unknown field"),
        ("ghcr.io: {username: me, password: 12}", "needs a non-empty string"),
        ("a: [unclosed", "not valid YAML"),
        ("1: {username: a, password: b}", "non-empty string"),
    ],
)
def test_registry_auth_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_registry_auth(text)


def test_registry_auth_is_read_by_the_one_yaml_loader() -> None:
    with pytest.raises(InputError, match=r"registry_auth: aliases \(\*name\) expand the YAML document"):
        parse_registry_auth(alias_bomb("ghcr.io: {username: u, password: p}"))
    with pytest.raises(InputError) as info:
        parse_registry_auth("ghcr.io: {username: a, password: first}\nghcr.io: {username: b, password: second}\n")
    assert "registry_auth: line 2: a key is given twice in one mapping (first at line 1)" in info.value.message


TOKEN = "ghp_T0kenInTheHostPlace"


@pytest.mark.parametrize(
    "document",
    [
        f"{TOKEN}: {{username: me, password: x}}",  # the token where the host goes
        f"{TOKEN}: nothing",
        f'{{"{TOKEN}": "oops"}}',
        f"ghcr.io: {{username: me, {TOKEN}: x}}",  # ... or where a field name goes
        f"ghcr.io: {{username: me, password: p, token: {TOKEN}}}",
        f"ghcr.io: {TOKEN}",
        f"- {TOKEN}",
    ],
)
def test_a_token_anywhere_in_registry_auth_is_a_secret_and_never_quoted(document: str) -> None:
    assert TOKEN in registry_auth_secrets(document)
    try:
        parse_registry_auth(document)
    except InputError as error:
        assert TOKEN not in error.message


def test_registry_auth_secrets_are_the_passwords_not_the_hosts_or_usernames() -> None:
    document = "ghcr.io: {username: me, password: pw1}\nhttps://index.docker.io/v1/: {username: hub, password: pw2}\n"
    assert registry_auth_secrets(document) == ("pw1", "pw2")
    assert registry_auth_secrets("{not: [valid") == ()  # the error quotes nothing; the action masks the whole value
    assert registry_auth_secrets("") == ()
    with pytest.raises(InputError, match=r"unknown field\(s\) token in the entry for 'ghcr.io'"):
        parse_registry_auth("ghcr.io: {username: me, password: p, token: t}")


def test_the_store_masks_a_token_in_the_host_place() -> None:
    masked: list[str] = []
    CredentialStore.load(
        registry_auth=f"{TOKEN}: {{username: me, password: pw}}", docker_config=False, mask=masked.append
    )
    assert TOKEN in masked and "pw" in masked


def test_docker_hub_spellings_are_one_host() -> None:
    for key in ("https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io", "docker.io", "DOCKER.IO"):
        assert normalize_host(key) == "docker.io"
    assert normalize_host("https://ghcr.io") == "ghcr.io"
    assert normalize_host("127.0.0.1:5000/v2/") == "127.0.0.1:5000"


def _write_config(directory: Path, auths: dict[str, object], **extra: object) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.json"
    path.write_text(json.dumps({"auths": auths, **extra}))
    return path


def test_docker_config(tmp_path: Path) -> None:
    encoded = base64.b64encode(b"hubuser:hub:pass").decode()
    logs: list[str] = []
    path = _write_config(
        tmp_path,
        {
            "https://index.docker.io/v1/": {"auth": encoded},
            "ghcr.io": {"username": "me", "password": "pw"},
            "quay.io": {"identitytoken": "opaque"},
        },
        credsStore="desktop",
    )
    found = load_docker_config(path, logs.append)
    assert found == {"docker.io": Credential("hubuser", "hub:pass"), "ghcr.io": Credential("me", "pw")}
    assert any("credsStore" in line for line in logs) and any("identitytoken" in line for line in logs)
    assert load_docker_config(tmp_path / "absent.json") == {}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not valid JSON"),
        ("[]", "expected a JSON object"),
        ('{"auths": []}', "'auths' must be an object"),
        ('{"auths": {"x": 1}}', "must be an object"),
        ('{"auths": {"x": {"auth": "***"}}}', "not base64"),
        ('{"auths": {"x": {"auth": "' + base64.b64encode(b"nocolon").decode() + '"}}}', "does not decode"),
    ],
)
def test_docker_config_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as caught:
        load_docker_config(path)
    assert str(path) in str(caught.value)


def test_store_precedence_and_masking(tmp_path: Path) -> None:
    _write_config(tmp_path / "docker", {"a.io": {"username": "docker", "password": "from-docker"}})
    masked: list[str] = []
    store = CredentialStore.load(
        explicit={"b.io": Credential("explicit", "from-explicit")},
        registry_auth="b.io: {username: map, password: from-map}\na.io: {username: map, password: from-map-a}\n",
        environ={"DOCKER_CONFIG": str(tmp_path / "docker")},
        mask=masked.append,
    )
    assert store.get("b.io") == Credential("explicit", "from-explicit")
    assert store.get("a.io") == Credential("map", "from-map-a")
    assert store.get("c.io") is None
    assert {"from-docker", "from-explicit", "from-map", "from-map-a"} <= set(masked)
    assert base64.b64encode(b"explicit:from-explicit").decode() in masked
    override = store.with_credential("a.io", Credential("cli", "pw"))
    assert override.get("a.io") == Credential("cli", "pw") and store.get("a.io") == Credential("map", "from-map-a")
    assert store.with_credential("a.io", None) is store
    home = CredentialStore.load(environ={"HOME": str(tmp_path / "home")})
    assert home.hosts() == []


def test_plain_http_realm_gets_no_credentials() -> None:
    http = HttpClient()
    auth = Authenticator("registry.example", Credential("u", "p"), http)
    answer = requests.Response()
    answer.status_code = 401
    answer.headers["WWW-Authenticate"] = 'Bearer realm="http://auth.example/token",service="s"'
    with pytest.raises(Denied, match="plain-HTTP token realm"):
        auth.on_unauthorized(answer, ["repository:a:pull"])


def test_a_request_sent_before_the_basic_challenge_was_learned_is_retried_one_that_carried_it_is_not() -> None:
    """Two requests go out anonymously at once; the first 401 teaches Basic. The second 401 answers a request
    sent without the credential: it is retried with it, not taken for a refusal. A 401 to the credential is."""
    credential = Credential("u", "p")
    auth = Authenticator("registry.example", credential, HttpClient())
    answer = requests.Response()
    answer.status_code = 401
    answer.headers["WWW-Authenticate"] = 'Basic realm="r"'
    assert auth.header(["repository:a:pull"]) is None  # anonymous until a challenge
    assert auth.on_unauthorized(answer, ["repository:a:pull"], sent=None) is True
    assert auth.on_unauthorized(answer, ["repository:a:pull"], sent=None) is True  # the concurrent one
    sent = auth.header(["repository:a:pull"])
    assert sent == credential.basic_header()
    assert auth.on_unauthorized(answer, ["repository:a:pull"], sent=sent) is False  # wrong credential: refused
    anonymous = Authenticator("registry.example", None, HttpClient())
    assert anonymous.on_unauthorized(answer, ["repository:a:pull"], sent=None) is False


# --- real registries -------------------------------------------------------------------------


def test_token_flow_scopes_cache_and_masks(
    token_auth_registry: Registry, token_issuer: TokenIssuer, unique_repo: str
) -> None:
    masked: list[str] = []
    pool = make_pool(token_auth_registry, masked=masked)
    target = open_target(pool, token_auth_registry, unique_repo)
    token_issuer.clear()
    image = push_image(target, "v1")
    assert target.fetch_manifest("v1").data == image.data
    assert target.resolve("v1").digest == image.descriptor.digest
    asked = [request.scopes for request in token_issuer.requests]
    assert asked == [(f"repository:{unique_repo}:pull,push",)]  # one token, cached, covers the pulls too
    assert all(request.username == "alice" and request.password_ok for request in token_issuer.requests)
    assert token_auth_registry.password in masked
    tokens = [value for value in masked if value.count(".") == 2]
    assert tokens, "the token was not masked"
    # A fresh pool that only reads asks for pull alone.
    reader_target = open_target(make_pool(token_auth_registry), token_auth_registry, unique_repo)
    token_issuer.clear()
    reader_target.fetch_manifest("v1")
    assert [request.scopes for request in token_issuer.requests] == [(f"repository:{unique_repo}:pull",)]


def test_token_expiry_asks_again(token_auth_registry: Registry, token_issuer: TokenIssuer, unique_repo: str) -> None:
    pool = make_pool(token_auth_registry)
    target = open_target(pool, token_auth_registry, unique_repo)
    push_image(target, "v1")
    now = [0.0]
    target.host.auth.clock = lambda: now[0] + 10**9
    token_issuer.clear()
    target.fetch_manifest("v1")
    assert len(token_issuer.requests) == 1


def test_mount_asks_pull_on_the_source_in_the_same_token(
    token_auth_registry: Registry, token_issuer: TokenIssuer, unique_repo: str
) -> None:
    pool = make_pool(token_auth_registry)
    source = open_target(pool, token_auth_registry, unique_repo + "/src")
    destination = open_target(pool, token_auth_registry, unique_repo + "/dst")
    layer = blob(source, os.urandom(4000))
    token_issuer.clear()
    assert destination.mount_blob(layer, source.repository) is True
    assert destination.has_blob(layer.digest)
    assert [sorted(request.scopes) for request in token_issuer.requests] == [
        [f"repository:{unique_repo}/dst:pull,push", f"repository:{unique_repo}/src:pull"]
    ]


def test_token_denials(token_auth_registry: Registry, unique_repo: str) -> None:
    owner = open_target(make_pool(token_auth_registry), token_auth_registry, unique_repo)
    push_image(owner, "v1")
    reader = token_auth_registry.with_credentials("reader", "reader-secret-password")
    reading = open_target(make_pool(reader), reader, unique_repo)
    assert reading.resolve("v1")
    with pytest.raises(Denied) as caught:
        push_image(reading, "v2")
    assert token_auth_registry.host in str(caught.value)
    anonymous = token_auth_registry.with_credentials(None, None)
    with pytest.raises(Denied):
        open_target(make_pool(anonymous), anonymous, unique_repo).fetch_manifest("v1")
    wrong = token_auth_registry.with_credentials("alice", "wrong")
    with pytest.raises(Denied, match="token service"):
        open_target(make_pool(wrong), wrong, unique_repo).fetch_manifest("v1")


def test_anonymous_token_for_public_repositories(token_auth_registry: Registry, token_issuer: TokenIssuer) -> None:
    repo = f"public/app-{os.urandom(3).hex()}"
    push_image(open_target(make_pool(token_auth_registry), token_auth_registry, repo), "v1")
    anonymous = token_auth_registry.with_credentials(None, None)
    token_issuer.clear()
    assert open_target(make_pool(anonymous), anonymous, repo).resolve("v1")
    assert [request.username for request in token_issuer.requests] == [None]


def test_credentials_from_docker_config(basic_auth_registry: Registry, tmp_path: Path, unique_repo: str) -> None:
    encoded = base64.b64encode(f"{basic_auth_registry.username}:{basic_auth_registry.password}".encode()).decode()
    _write_config(tmp_path, {f"http://{basic_auth_registry.host}": {"auth": encoded}})
    masked: list[str] = []
    store = CredentialStore.load(environ={"DOCKER_CONFIG": str(tmp_path)}, mask=masked.append)
    target = open_target(make_pool(basic_auth_registry, credentials=store), basic_auth_registry, unique_repo)
    image = push_image(target, "v1")
    assert target.fetch_manifest("v1").data == image.data
    assert basic_auth_registry.password in masked and encoded in masked
