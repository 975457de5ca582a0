"""Real registries on loopback for the tests: CNCF distribution 2.8 and a native referrers-API registry.

Each starter launches the real server on 127.0.0.1 on a free port, waits until ``/v2/`` answers,
and returns a ``RegistryServer`` whose ``stop()`` terminates it (kill on timeout). Logs go to files
in the server's tmp dir; ``live_server_logs()`` gives their tails, which the conftest hook attaches
to the report of a failed test.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING

import requests

if TYPE_CHECKING:
    from tests.support.token_issuer import TokenIssuer

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = REPO_ROOT / ".cache" / "tools" / "bin"
INSTALL_HINT = "run `make install` (or `bash scripts/install-tools.sh`) to install the test tools"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0

DISTRIBUTION = "distribution"
REFERRERS = "referrers"


@dataclass(frozen=True)
class Registry:
    """Where a test registry answers and what it can do."""

    host: str  # "127.0.0.1:PORT"
    url: str  # "http://127.0.0.1:PORT"
    kind: str  # DISTRIBUTION or REFERRERS
    referrers_api: bool
    supports_delete: bool
    auth: str = "none"  # "none" | "basic" | "token"
    username: str | None = None
    password: str | None = None

    def ref(self, repo: str, tag: str | None = None, digest: str | None = None) -> str:
        """``host/repo[:tag][@digest]``."""
        text = f"{self.host}/{repo}"
        if tag:
            text += f":{tag}"
        if digest:
            text += f"@{digest}"
        return text

    def regctl_host(self) -> str:
        """The ``--host`` value for regctl (plain HTTP, credentials when any)."""
        value = f"reg={self.host},tls=disabled"
        if self.username is not None:
            value += f",user={self.username},pass={self.password}"
        return value

    def with_credentials(self, username: str | None, password: str | None) -> Registry:
        """The same registry seen with other credentials (None: anonymous)."""
        return replace(self, username=username, password=password)

    def at(self, host: str) -> Registry:
        """The same registry reached through another address (a proxy in front of it)."""
        return replace(self, host=host, url=f"http://{host}")


@dataclass
class RegistryServer:
    """A running registry process; ``stop()`` is idempotent."""

    registry: Registry
    process: subprocess.Popen[bytes]
    workdir: Path
    log_path: Path
    _log_file: IO[bytes] | None = field(default=None, repr=False)
    _pump: threading.Thread | None = field(default=None, repr=False)

    def logs(self, max_chars: int = 20_000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return text[-max_chars:]

    def stop(self) -> None:
        _LIVE.discard(self)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        if self._pump is not None:
            self._pump.join(STOP_TIMEOUT)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __hash__(self) -> int:
        return id(self)

    def __enter__(self) -> RegistryServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_LIVE: set[RegistryServer] = set()


@atexit.register
def _stop_leftovers() -> None:  # a safety net: fixtures stop their servers, an interrupted run may not
    for server in list(_LIVE):
        server.stop()


def live_server_logs() -> dict[str, str]:
    """Log tails of the registries still running, by "kind auth host"."""
    return {f"{s.registry.kind} {s.registry.auth} {s.registry.host}": s.logs(4000) for s in list(_LIVE)}


class ToolMissing(RuntimeError):
    """A registry binary is not installed: the tests fail loudly, never skip."""


def require_tool(name: str) -> str:
    """The absolute path of a tool (``.cache/tools/bin`` first, then PATH), or a loud failure."""
    local = TOOLS_BIN / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise ToolMissing(f"{name} is not installed: {INSTALL_HINT}")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float = START_TIMEOUT) -> None:
    """Poll ``url/v2/`` until it answers 200 or 401; fail with the log if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"registry exited with {process.returncode}:\n{_tail(log_path)}")
        try:
            answer = requests.get(f"{url}/v2/", timeout=1)
            if answer.status_code in (200, 401):
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"registry at {url} did not answer within {timeout}s:\n{_tail(log_path)}")


def _tail(path: Path, max_chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-max_chars:]
    except OSError:
        return "(no log)"


def htpasswd_line(username: str, password: str) -> str:
    """A bcrypt htpasswd entry made by the real ``htpasswd -Bbn``."""
    tool = require_tool("htpasswd")
    done = subprocess.run([tool, "-Bbn", username, password], capture_output=True, check=True, text=True)
    return done.stdout.strip()


def _distribution_config(
    workdir: Path, port: int, auth: str, users: dict[str, str] | None, issuer: TokenIssuer | None
) -> str:
    storage = workdir / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    lines = [
        "version: 0.1",
        "log:",
        "  level: info",
        "  formatter: text",
        "  accesslog:",
        "    disabled: false",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {storage}",
        "  delete:",
        "    enabled: true",
        "  maintenance:",
        "    uploadpurging:",
        "      enabled: false",
        "http:",
        f"  addr: 127.0.0.1:{port}",
        f"  secret: {secrets.token_hex(16)}",
        "health:",
        "  storagedriver:",
        "    enabled: false",
    ]
    if auth == "basic":
        assert users, "basic auth needs users"
        htpasswd = workdir / "htpasswd"
        htpasswd.write_text("".join(htpasswd_line(u, p) + "\n" for u, p in users.items()))
        lines += ["auth:", "  htpasswd:", "    realm: image-gate-test", f"    path: {htpasswd}"]
    elif auth == "token":
        assert issuer is not None, "token auth needs a TokenIssuer"
        lines += [
            "auth:",
            "  token:",
            f"    realm: {issuer.realm}",
            f"    service: {issuer.service}",
            f"    issuer: {issuer.issuer}",
            f"    rootcertbundle: {issuer.cert_path}",
        ]
    elif auth != "none":
        raise ValueError(f"unknown auth {auth!r}")
    return "\n".join(lines) + "\n"


def start_distribution(
    workdir: Path,
    *,
    auth: str = "none",
    users: dict[str, str] | None = None,
    issuer: TokenIssuer | None = None,
) -> RegistryServer:
    """CNCF distribution 2.8 with filesystem storage in ``workdir``, deletes enabled, no referrers API.

    ``auth``: "none", "basic" (htpasswd of ``users``) or "token" (``issuer`` signs the tokens).
    The returned ``Registry`` carries the first user's credentials (basic) or ``issuer``'s default user.
    """
    binary = require_tool("docker-registry")
    workdir.mkdir(parents=True, exist_ok=True)
    last_error: Exception | None = None
    for _attempt in range(3):  # the free port may be taken between probe and bind
        port = free_port()
        config = workdir / "config.yml"
        config.write_text(_distribution_config(workdir, port, auth, users, issuer))
        log_path = workdir / f"registry-{port}.log"
        log_file = log_path.open("wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        process = subprocess.Popen(
            [binary, "serve", str(config)], stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
        username, password = None, None
        if auth == "basic" and users:
            username, password = next(iter(users.items()))
        elif auth == "token" and issuer is not None:
            username, password = issuer.default_credentials
        registry = Registry(
            host=f"127.0.0.1:{port}",
            url=f"http://127.0.0.1:{port}",
            kind=DISTRIBUTION,
            referrers_api=False,
            supports_delete=True,
            auth=auth,
            username=username,
            password=password,
        )
        server = RegistryServer(registry, process, workdir, log_path, log_file)
        try:
            wait_until_up(registry.url, process, log_path)
        except RuntimeError as error:
            server.stop()
            last_error = error
            continue
        _LIVE.add(server)
        return server
    raise RuntimeError(f"could not start docker-registry in {workdir}: {last_error}")


def start_referrers_registry(workdir: Path, *, page_size: int = 0) -> RegistryServer:
    """The in-memory go-containerregistry registry with the native OCI 1.1 referrers API.

    ``page_size`` > 0 paginates referrers answers with ``Link`` headers.
    """
    binary = require_tool("referrers-registry")
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "referrers-registry.log"
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        [binary, "-address", "127.0.0.1:0", "-referrers-page-size", str(page_size)],
        stdout=subprocess.PIPE,
        stderr=log_file,
        stdin=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    first = _read_first_line(process, log_path)
    prefix = "listening on "
    if not first.startswith(prefix):
        process.kill()
        raise RuntimeError(f"referrers-registry said {first!r}, not 'listening on HOST:PORT':\n{_tail(log_path)}")
    host = first[len(prefix) :].strip()
    pump = threading.Thread(target=_drain, args=(process.stdout, log_file), daemon=True)
    pump.start()
    registry = Registry(
        host=host, url=f"http://{host}", kind=REFERRERS, referrers_api=True, supports_delete=True, auth="none"
    )
    server = RegistryServer(registry, process, workdir, log_path, log_file, pump)
    try:
        wait_until_up(registry.url, process, log_path)
    except RuntimeError:
        server.stop()
        raise
    _LIVE.add(server)
    return server


def _read_first_line(process: subprocess.Popen[bytes], log_path: Path) -> str:
    assert process.stdout is not None
    box: list[bytes] = []
    reader = threading.Thread(target=lambda: box.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(START_TIMEOUT)
    if not box:
        process.kill()
        raise RuntimeError(f"referrers-registry printed nothing within {START_TIMEOUT}s:\n{_tail(log_path)}")
    return box[0].decode(errors="replace").strip()


def _drain(stream: IO[bytes], sink: IO[bytes]) -> None:
    for line in stream:
        try:
            sink.write(line)
            sink.flush()
        except ValueError:  # sink closed at stop
            return


def start_registry(kind: str, workdir: Path) -> RegistryServer:
    """A plain (no auth) registry of ``kind``: DISTRIBUTION (tag fallback) or REFERRERS (native API)."""
    if kind == DISTRIBUTION:
        return start_distribution(workdir)
    if kind == REFERRERS:
        return start_referrers_registry(workdir)
    raise ValueError(f"unknown registry kind {kind!r}")
