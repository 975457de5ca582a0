"""Registry credentials and authentication: anonymous, Basic, and the Bearer token flow.

Credentials come, in this order of precedence, from explicit values (``source_username``/
``source_password``...), the ``registry_auth`` map (YAML or JSON: host -> {username, password}),
and a Docker ``config.json`` (``auths`` with a base64 ``auth`` or ``username``/``password``;
``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``). Docker Hub is one host whatever
its spelling (``docker.io``, ``index.docker.io``, ``https://index.docker.io/v1/``...).

Every password, Basic header and token goes through the ``mask`` callback before it is used.

The first request to a host is anonymous; its 401 challenge (``WWW-Authenticate``) tells the
scheme. With Bearer, tokens are asked from the realm for a set of scopes
(``repository:NAME:pull,push``, several at once, e.g. ``pull`` on a mount's source) and cached
until shortly before they expire; a cached token whose scopes cover a request is reused.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gate.errors import InputError
from gate.files import MissingFile, read_capped_text
from gate.oci.reference import DOCKER_HUB, is_registry_host
from gate.outcome import ignore

if TYPE_CHECKING:  # credentials are read by commands that never talk to a registry (their --help above all)
    from gate.oci.http import AnswerLike, HttpClient

MAX_TOKEN_ANSWER = 1024 * 1024
MAX_DOCKER_CONFIG_BYTES = 4 * 1024 * 1024
# What a token may hold to travel in an Authorization header: visible ASCII, no white space.
_HEADER_SAFE_TOKEN = re.compile(r"[\x21-\x7e]+")
TOKEN_EXPIRY_MARGIN = 10.0
DEFAULT_TOKEN_LIFETIME = 60.0
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}


@dataclass(frozen=True)
class Credential:
    """A username and password (or a registry token used as the password)."""

    username: str
    password: str = field(repr=False)

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


def normalize_host(key: str) -> str:
    """A credential key -> the registry it is for: scheme and path dropped, Docker Hub aliases -> docker.io."""
    text = key.strip()
    if "://" in text:
        text = urlsplit(text).netloc or text
    text = text.split("/", 1)[0].lower()
    return DOCKER_HUB if text in _HUB_ALIASES else text


def parse_registry_auth(text: str, source: str = "registry_auth") -> dict[str, Credential]:
    """The ``registry_auth`` input: YAML or JSON mapping of host -> {username, password}.

    Messages quote no key that could be a credential (``registry_auth_secrets`` masks those)."""
    document = _registry_auth_document(text, source)
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise InputError(f"{source}: expected a mapping of registry host to {{username, password}}")
    result: dict[str, Credential] = {}
    for position, (host, entry) in enumerate(document.items(), 1):
        if not isinstance(host, str) or not host.strip():
            raise InputError(f"{source}: entry {position}: a registry host must be a non-empty string")
        named = _host_named(host, position)
        if not isinstance(entry, dict):
            raise InputError(f"{source}: {named} must be a mapping with username and password")
        unknown = [key for key in entry if key not in _AUTH_FIELDS]
        if unknown:
            shown = ", ".join(str(k) if _plain_word(k) else "(a field not shown)" for k in unknown)
            raise InputError(f"{source}: unknown field(s) {shown} in {named}; expected username, password")
        username, password = entry.get("username"), entry.get("password")
        if not isinstance(username, str) or not username or not isinstance(password, str) or not password:
            raise InputError(f"{source}: {named} needs a non-empty string username and password")
        result[normalize_host(host)] = Credential(username, password)
    return result


def registry_auth_secrets(text: str, source: str = "registry_auth") -> tuple[str, ...]:
    """What to mask in a ``registry_auth`` document: every string in it but the registry hosts, the
    field names and the usernames. A token put in the host position, or under a misspelt field, is a
    secret too (a misspelt field name that is a plain word is not). A document that does not parse gives
    nothing (its error quotes none of its text)."""
    try:
        document = _registry_auth_document(text, source)
    except InputError:
        return ()
    found: list[str] = []
    if not isinstance(document, dict):
        return tuple(_strings(document))
    for host, entry in document.items():
        if not (isinstance(host, str) and is_registry_host(normalize_host(host))):
            found += _strings(host)
        if not isinstance(entry, dict):
            found += _strings(entry)
            continue
        for key, value in entry.items():
            if key not in _AUTH_FIELDS and not _plain_word(key):
                found += _strings(key)
            if key != "username":
                found += _strings(value)
    return tuple(dict.fromkeys(found))


_AUTH_FIELDS = ("username", "password")


def _registry_auth_document(text: str, source: str) -> Any:
    if not text.strip():
        return None
    from gate.yamlsafe import YamlSyntaxError, load_yaml  # YAML costs start-up: only when there is a document

    try:
        return load_yaml(text, source, secret=True)
    except YamlSyntaxError as exc:
        where = f" (line {exc.line})" if exc.line else ""
        raise InputError(f"{source}: not valid YAML or JSON{where}") from None


def _host_named(host: str, position: int) -> str:
    """How a message names a host key: quoted when it is one, else by position (it may be a token)."""
    if is_registry_host(normalize_host(host)):
        return f"the entry for {host!r}"
    return f"entry {position} (its key is not a registry host, and not shown: it may be a credential)"


def _plain_word(key: Any) -> bool:
    return isinstance(key, str) and re.fullmatch(r"[A-Za-z_]{1,20}", key) is not None


def _strings(value: Any) -> list[str]:
    """Every string in a parsed document, keys included."""
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in (*_strings(key), *_strings(item))]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [value] if isinstance(value, str) and value.strip() else []


def docker_config_path(environ: Mapping[str, str]) -> Path | None:
    """``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json`` (None without a home)."""
    if environ.get("DOCKER_CONFIG"):
        return Path(environ["DOCKER_CONFIG"]) / "config.json"
    home = environ.get("HOME")
    return Path(home) / ".docker" / "config.json" if home else None


def load_docker_config(path: Path, log: Callable[[str], None] = ignore) -> dict[str, Credential]:
    """The ``auths`` of a Docker config file; an absent file is no credentials.

    Entries with an ``identitytoken`` only, or hosts served by ``credHelpers``/``credsStore``,
    are skipped with a note: image-gate runs no credential helper.
    """
    text = _read_docker_config(path)
    if text is None:
        return {}
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{path}: not valid JSON (line {getattr(exc, 'lineno', '?')})") from None
    if not isinstance(document, dict):
        raise InputError(f"{path}: expected a JSON object")
    auths = document.get("auths")
    if auths is None:
        auths = {}
    if not isinstance(auths, dict):
        raise InputError(f"{path}: 'auths' must be an object")
    if document.get("credsStore") or document.get("credHelpers"):
        log(f"{path}: credsStore/credHelpers are not used; only 'auths' entries are read")
    result: dict[str, Credential] = {}
    for key, entry in auths.items():
        if not isinstance(entry, dict):
            raise InputError(f"{path}: auths[{key!r}] must be an object")
        credential = _docker_entry(path, key, entry)
        if credential is None:
            if entry.get("identitytoken"):
                log(f"{path}: auths[{key!r}] has only an identitytoken, which is not supported; skipped")
            continue
        result[normalize_host(key)] = credential
    return result


def _read_docker_config(path: Path) -> str | None:
    """The file's text (None when absent): a regular file of at most ``MAX_DOCKER_CONFIG_BYTES``.

    Opened without blocking and checked before reading, so a FIFO or a device there cannot hang
    the run or fill the memory."""
    try:
        return read_capped_text(path, MAX_DOCKER_CONFIG_BYTES, "the Docker config")
    except MissingFile:
        return None


def _docker_entry(path: Path, key: str, entry: Mapping[str, object]) -> Credential | None:
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise InputError(f"{path}: auths[{key!r}].auth is not base64 of 'username:password'") from None
        username, sep, password = decoded.partition(":")
        if not sep or not username:
            raise InputError(f"{path}: auths[{key!r}].auth does not decode to 'username:password'")
        return Credential(username, password)
    name, secret = entry.get("username"), entry.get("password")
    if isinstance(name, str) and name and isinstance(secret, str):
        return Credential(name, secret)
    return None


class CredentialStore:
    """Credentials by registry host; ``get`` takes the registry as written in a reference."""

    def __init__(self, *layers: Mapping[str, Credential]) -> None:
        """``layers`` in order of precedence; keys are normalised with ``normalize_host``."""
        self._layers = tuple({normalize_host(host): cred for host, cred in layer.items()} for layer in layers)

    @classmethod
    def load(
        cls,
        *,
        explicit: Mapping[str, Credential] | None = None,
        registry_auth: str | None = None,
        docker_config: Path | bool | None = True,
        environ: Mapping[str, str] | None = None,
        mask: Callable[[str], None] = ignore,
        log: Callable[[str], None] = ignore,
    ) -> CredentialStore:
        """Build from every source and mask every secret.

        ``docker_config``: True reads the default path (``DOCKER_CONFIG`` or ``~/.docker``),
        a path reads that file, False/None reads none.
        """
        env = os.environ if environ is None else environ
        layers: list[Mapping[str, Credential]] = [dict(explicit or {})]
        if registry_auth:
            for secret in registry_auth_secrets(registry_auth):
                mask(secret)
            layers.append(parse_registry_auth(registry_auth))
        path = docker_config_path(env) if docker_config is True else docker_config or None
        if isinstance(path, Path):
            layers.append(load_docker_config(path, log))
        store = cls(*layers)
        for layer in store._layers:
            for credential in layer.values():
                _mask_credential(credential, mask)
        return store

    def get(self, registry: str) -> Credential | None:
        host = normalize_host(registry)
        for layer in self._layers:
            if host in layer:
                return layer[host]
        return None

    def with_credential(self, registry: str, credential: Credential | None) -> CredentialStore:
        """A store where ``registry`` uses ``credential`` first (None: unchanged)."""
        if credential is None:
            return self
        return CredentialStore({registry: credential}, *self._layers)

    def hosts(self) -> list[str]:
        return sorted({host for layer in self._layers for host in layer})


def _mask_credential(credential: Credential, mask: Callable[[str], None]) -> None:
    mask(credential.password)
    mask(credential.basic_header().split(" ", 1)[1])


# --- challenges and scopes -------------------------------------------------------------------

_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')
_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9_-]*)(?:\s+|$)")


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower-case: "basic", "bearer", ...
    params: Mapping[str, str]


def parse_www_authenticate(header: str) -> list[Challenge]:
    """``Bearer realm="...",service="...",scope="a b"`` (several challenges allowed) -> challenges."""
    challenges: list[Challenge] = []
    position = 0
    text = header.strip()
    while position < len(text):
        scheme_match = _SCHEME.match(text, position)
        if not scheme_match:
            break
        scheme = scheme_match.group(1).lower()
        position = scheme_match.end()
        params: dict[str, str] = {}
        while position < len(text):
            param = _PARAM.match(text, position)
            if not param:
                break
            value = param.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            params[param.group(1).lower()] = value
            position = param.end()
        challenges.append(Challenge(scheme, params))
        while position < len(text) and text[position] in ", ":
            position += 1
    return challenges


def repository_scope(repository: str, *actions: str) -> str:
    """``repository:NAME:a,b``."""
    return f"repository:{repository}:{','.join(actions)}"


def _scope_map(scopes: Iterable[str]) -> dict[str, set[str]]:
    """``type:name:actions`` strings -> {``type:name``: actions}; the name may contain ``:`` (ports)."""
    result: dict[str, set[str]] = {}
    for scope in scopes:
        for part in scope.split():
            resource, sep, actions = part.rpartition(":")
            if not sep:
                continue
            result.setdefault(resource, set()).update(a for a in actions.split(",") if a)
    return result


def _covers(granted: Mapping[str, set[str]], needed: Mapping[str, set[str]]) -> bool:
    for resource, actions in needed.items():
        have = granted.get(resource, set())
        if not (actions <= have or "*" in have):
            return False
    return True


def _scope_strings(scopes: Mapping[str, set[str]]) -> list[str]:
    return [f"{resource}:{','.join(sorted(actions))}" for resource, actions in sorted(scopes.items())]


@dataclass
class _Token:
    value: str
    scopes: dict[str, set[str]]
    expires: float


class Authenticator:
    """The Authorization header for one registry host, learnt from its challenges."""

    def __init__(
        self,
        registry: str,
        credential: Credential | None,
        http: HttpClient,
        *,
        allow_http: Callable[[str], bool] | None = None,
        mask: Callable[[str], None] = ignore,
        log: Callable[[str], None] = ignore,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.credential = credential
        from gate.oci.http import is_loopback, split_host

        self.http = http
        self.allow_http = allow_http or (lambda host: is_loopback(split_host(host)))
        self.mask = mask
        self.log = log
        self.clock = clock
        self.scheme: str | None = None  # None until a challenge: anonymous
        self.realm: str | None = None
        self.service: str | None = None
        self._tokens: list[_Token] = []
        self._lock = threading.Lock()
        if credential is not None:
            _mask_credential(credential, mask)

    def header(self, scopes: Iterable[str]) -> str | None:
        """The Authorization value for a request needing ``scopes``; None means anonymous."""
        if self.scheme == "basic":
            return self.credential.basic_header() if self.credential else None
        if self.scheme != "bearer":
            return None
        needed = _scope_map(scopes)
        with self._lock:
            token = self._cached(needed)
            if token is None:
                token = self._fetch(needed)
            return f"Bearer {token.value}"

    def on_unauthorized(self, response: AnswerLike, scopes: Iterable[str], sent: str | None = None) -> bool:
        """Learn from a 401; True when a retry with a new header makes sense. ``sent`` is the Authorization the
        refused request carried: one sent anonymously while another request learned the Basic challenge is
        retried with the credential, one that carried it is refused."""
        challenges = parse_www_authenticate(response.headers.get("WWW-Authenticate", ""))
        bearer = next((c for c in challenges if c.scheme == "bearer"), None)
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        if bearer is not None and bearer.params.get("realm"):
            needed = _scope_map(scopes)
            for resource, actions in _scope_map([bearer.params.get("scope", "")]).items():
                needed.setdefault(resource, set()).update(actions)
            with self._lock:
                first = self.scheme != "bearer" or self.realm != bearer.params["realm"]
                self.scheme = "bearer"
                self.realm = bearer.params["realm"]
                self.service = bearer.params.get("service")
                stale = self._cached(needed)
                if stale is not None and not first:
                    # The registry refused a token that should have covered the request.
                    self._tokens = [t for t in self._tokens if t is not stale]
                self._fetch(needed)
            return True
        if basic is not None:
            if self.credential is None:
                return False
            with self._lock:
                if self.scheme == "basic":
                    return sent is None
                self.scheme = "basic"
            return True
        return False

    def _cached(self, needed: Mapping[str, set[str]]) -> _Token | None:
        now = self.clock()
        self._tokens = [t for t in self._tokens if t.expires > now]
        for token in self._tokens:
            if _covers(token.scopes, needed):
                return token
        return None

    def _fetch(self, needed: Mapping[str, set[str]]) -> _Token:
        from gate.oci.http import Denied, RegistryFailure, describe_answer, read_capped, url_host

        assert self.realm is not None
        realm = urlsplit(self.realm)
        if realm.scheme not in ("http", "https") or not realm.netloc:
            raise Denied(
                f"cannot authenticate to {self.registry}: the token realm {self.realm!r} is not an http(s) URL"
            )
        if realm.scheme == "http" and self.credential is not None and not self.allow_http(realm.netloc):
            raise Denied(
                f"cannot authenticate to {self.registry}: refusing to send credentials to the plain-HTTP "
                f"token realm {url_host(realm.geturl())}",
                hint="list the realm host as an insecure registry if this is intended",
            )
        scope_list = _scope_strings(needed)
        params: dict[str, str | list[str]] = {"scope": scope_list}
        if self.service:
            params["service"] = self.service
        if self.credential is not None:
            params["account"] = self.credential.username
        authorization = self.credential.basic_header() if self.credential else None
        what = f"get a token for {self.registry} ({' '.join(scope_list) or 'no scope'})"
        response = self.http.request("GET", self.realm, params=params, authorization=authorization, what=what)
        if response.status_code != 200:
            answer = describe_answer(response)
            response.close()
            message = f"cannot {what}: the token service {url_host(realm.geturl())} answered {answer}"
            if response.status_code in (401, 403):
                raise Denied(message, hint="check the username and password for this registry")
            raise RegistryFailure(message)
        body = read_capped(response, MAX_TOKEN_ANSWER, f"token answer from {url_host(realm.geturl())}")
        try:
            document = json.loads(body)
        except ValueError:
            raise RegistryFailure(f"cannot {what}: the token service answered something that is not JSON") from None
        value = document.get("token") or document.get("access_token") if isinstance(document, dict) else None
        if not isinstance(value, str) or not value:
            raise RegistryFailure(f"cannot {what}: the token service answered no token")
        self.mask(value)
        if not _HEADER_SAFE_TOKEN.fullmatch(value):
            # requests would refuse the header with an exception quoting it: say why without the token.
            raise RegistryFailure(
                f"cannot {what}: the token service answered a token with characters an HTTP header cannot carry"
            )
        lifetime = document.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else DEFAULT_TOKEN_LIFETIME
        token = _Token(
            value, {k: set(v) for k, v in needed.items()}, self.clock() + max(1.0, seconds - TOKEN_EXPIRY_MARGIN)
        )
        self._tokens.append(token)
        return token
