"""A tiny registry-shaped HTTP server on loopback whose answers a test scripts: the hostile
behaviour no real registry shows on demand (trickled bodies, odd referrers lists, endless tags)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from gate.oci.auth import CredentialStore
from gate.oci.http import RetryPolicy
from gate.oci.pool import RegistryPool
from gate.oci.reference import parse_reference
from gate.oci.registry import RegistryTarget

FAST = RetryPolicy(attempts=2, initial_wait=0.01, max_wait=0.02, jitter=0.0, retry_after_cap=0.1)
SUBJECT = "sha256:" + "a" * 64
Responder = Callable[["Handler", "re.Match[str]"], None]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        return None

    def _dispatch(self) -> None:
        hostile = self.server.hostile
        path = self.path.split("?", 1)[0]
        hostile.requests.append((self.command, self.path, dict(self.headers.items())))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        for method, pattern, responder in hostile.routes:
            match = re.fullmatch(pattern, path)
            if match and method in (self.command, "*"):
                responder(self, match)
                return
        if path == "/v2/":
            self.answer(200, b"{}")
            return
        self.answer(404, {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]})

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _dispatch

    def answer(self, status: int, body: bytes | Mapping[str, Any], headers: Mapping[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def trickle(self, data: bytes, *, delay: float, headers: Mapping[str, str] | None = None) -> None:
        """Announce ``data`` whole, then send it one byte per ``delay`` seconds (until stopped)."""
        self.send_response(200)
        for name, value in {"Content-Type": "application/octet-stream", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.flush()
        stop = self.server.hostile.stopping
        try:
            for index in range(len(data)):
                if stop.wait(delay):
                    return
                self.wfile.write(data[index : index + 1])
                self.wfile.flush()
        except OSError:
            return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hostile: HostileRegistry


class HostileRegistry:
    """Routes are ``(method or "*", path regex, responder)``, tried in order; ``/v2/`` answers 200."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, str, Responder]] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.hostile = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def route(self, method: str, pattern: str, responder: Responder) -> HostileRegistry:
        self.routes.append((method, pattern, responder))
        return self

    def paths(self, method: str | None = None) -> list[str]:
        return [path for verb, path, _ in self.requests if method is None or verb == method]


@contextmanager
def hostile_registry() -> Iterator[HostileRegistry]:
    server = HostileRegistry()
    server._thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server._server.shutdown()
        server._server.server_close()
        time.sleep(0)


def hostile_target(server: HostileRegistry, logs: list[str] | None = None) -> RegistryTarget:
    """The repository ``hostile/repo`` on ``server``, retried fast, its log lines in ``logs``."""
    pool = RegistryPool(CredentialStore(), retry=FAST, log=logs.append if logs is not None else (lambda _: None))
    return pool.target(parse_reference(f"{server.host}/hostile/repo"))
