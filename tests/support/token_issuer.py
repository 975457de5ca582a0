"""A Docker registry token server for the tests (the flow distribution 2.8 speaks with ``auth.token``).

``GET /token?service=S&scope=repository:R:pull,push&scope=...`` with HTTP Basic (or anonymous),
and the OAuth2 form ``POST /token`` (grant_type=password), answer
``{"token", "access_token", "expires_in", "issued_at"}``. The token is an ES256 JWT whose header
carries the issuer's self-signed certificate in ``x5c``; distribution trusts it through
``rootcertbundle``. Grants come from a table: user -> repository glob -> actions. Every request is
recorded so tests can assert the scopes asked and who sent which credentials.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import fnmatch
import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

DEFAULT_USER = "alice"
DEFAULT_PASSWORD = "alice-secret-password"
ALL_ACTIONS = ("pull", "push", "delete")
ANONYMOUS = ""


@dataclass(frozen=True)
class TokenRequest:
    """One request the issuer received."""

    method: str
    path: str
    service: str | None
    scopes: tuple[str, ...]
    username: str | None  # None: anonymous
    password_ok: bool
    status: int
    granted: tuple[dict[str, object], ...]
    headers: dict[str, str]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenIssuer:
    """Token server on 127.0.0.1; ``start()`` / ``stop()`` or use as a context manager."""

    workdir: Path
    users: Mapping[str, str] = field(default_factory=lambda: {DEFAULT_USER: DEFAULT_PASSWORD})
    # user ("" = anonymous) -> repository glob -> actions
    grants: Mapping[str, Mapping[str, Sequence[str]]] = field(
        default_factory=lambda: {DEFAULT_USER: {"*": ALL_ACTIONS}}
    )
    service: str = "image-gate-test-registry"
    issuer: str = "image-gate-test-issuer"
    expires_in: int = 300
    requests: list[TokenRequest] = field(default_factory=list)
    tokens_issued: int = 0

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "image-gate test token issuer")])
        now = dt.datetime.now(dt.UTC)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.cert_path = self.workdir / "token-issuer.crt"
        self.cert_path.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> TokenIssuer:
        issuer = self

        class Handler(_TokenHandler):
            owner = issuer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> TokenIssuer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "TokenIssuer not started"
        return int(self._server.server_address[1])

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    @property
    def default_credentials(self) -> tuple[str | None, str | None]:
        """The first user of the table, the one the registry fixture hands to the client."""
        for user, password in self.users.items():
            return user, password
        return None, None

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def scopes_requested(self) -> list[str]:
        with self._lock:
            return [scope for request in self.requests for scope in request.scopes]

    # -- tokens ------------------------------------------------------------------------------
    def allowed_actions(self, user: str | None, repository: str) -> list[str]:
        table = self.grants.get(user if user is not None else ANONYMOUS, {})
        actions: list[str] = []
        for pattern, granted in table.items():
            if fnmatch.fnmatchcase(repository, pattern):
                actions += [a for a in granted if a not in actions]
        return actions

    def grant(self, user: str | None, scopes: Sequence[str]) -> list[dict[str, object]]:
        """The ``access`` claim for ``scopes``: each requested action the table allows."""
        access: list[dict[str, object]] = []
        for scope in scopes:
            parsed = parse_scope(scope)
            if parsed is None:
                continue
            kind, name, wanted = parsed
            if kind != "repository":
                continue
            allowed = self.allowed_actions(user, name)
            actions = [a for a in wanted if a in allowed or (a == "*" and allowed)]
            if "*" in actions:
                actions = list(allowed)
            access.append({"type": kind, "name": name, "actions": actions})
        return access

    def make_token(self, subject: str, access: list[dict[str, object]], expires_in: int | None = None) -> str:
        now = int(time.time())
        lifetime = self.expires_in if expires_in is None else expires_in
        header = {
            "typ": "JWT",
            "alg": "ES256",
            "x5c": [base64.b64encode(self._cert.public_bytes(serialization.Encoding.DER)).decode()],
        }
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + lifetime,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(12),
            "access": access,
        }
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        der = self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        with self._lock:
            self.tokens_issued += 1
        return f"{signing_input}.{_b64url(signature)}"

    def _record(self, request: TokenRequest) -> None:
        with self._lock:
            self.requests.append(request)


def parse_scope(scope: str) -> tuple[str, str, list[str]] | None:
    """``repository:name:pull,push`` -> ("repository", "name", ["pull", "push"])."""
    kind, sep, rest = scope.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not sep or not sep2 or not name:
        return None
    return kind, name, [a for a in actions.split(",") if a]


def decode_token(token: str) -> tuple[dict[str, object], dict[str, object]]:
    """Header and claims of a JWT (no verification: the registry does that)."""
    header, claims, _signature = token.split(".")

    def part(text: str) -> dict[str, object]:
        value: dict[str, object] = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        return value

    return part(header), part(claims)


class _TokenHandler(BaseHTTPRequestHandler):
    owner: TokenIssuer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return

    def _credentials(self) -> tuple[str | None, str | None]:
        header = self.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            return None, None
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "", None
        return user, password

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
        user, password = self._credentials()
        self._answer("GET", url.path, query.get("service", [None])[0], scopes, user, password)

    def do_POST(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length", "0") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode(errors="replace"))
        user: str | None = form.get("username", [None])[0]
        password: str | None = form.get("password", [None])[0]
        if form.get("grant_type", [""])[0] != "password":
            user, password = self._credentials()
        scopes = [s for value in form.get("scope", []) for s in value.split(" ") if s]
        self._answer("POST", url.path, form.get("service", [None])[0], scopes, user, password)

    def _answer(
        self, method: str, path: str, service: str | None, scopes: list[str], user: str | None, password: str | None
    ) -> None:
        owner = self.owner
        headers = {k: v for k, v in self.headers.items()}
        password_ok = user is not None and owner.users.get(user) == password
        status, granted, body = 200, [], b""
        if path != "/token":
            status = 404
        elif user is not None and not password_ok:
            status = 401
        elif service is not None and service != owner.service:
            status = 400
        if status == 200:
            granted = owner.grant(user, scopes)
            token = owner.make_token(user or "", granted)
            body = json.dumps(
                {
                    "token": token,
                    "access_token": token,
                    "expires_in": owner.expires_in,
                    "issued_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
                }
            ).encode()
        else:
            body = json.dumps(
                {"errors": [{"code": "UNAUTHORIZED", "message": f"token request refused ({status})"}]}
            ).encode()
        owner._record(
            TokenRequest(method, path, service, tuple(scopes), user, password_ok, status, tuple(granted), headers)
        )
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="image-gate-test-issuer"')
        self.end_headers()
        self.wfile.write(body)
