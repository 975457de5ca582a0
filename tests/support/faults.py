"""FaultProxy: a threaded HTTP proxy on loopback in front of a real registry that injects scripted faults.

Everything is forwarded (streamed both ways, chunked uploads included, ``Location``/``Link`` rewritten
to the proxy) unless a ``Fault`` matches the request by method, path regex and occurrence. Faults:

- ``status``: answer ``status`` (503, 500, 429 with ``Retry-After``...) without forwarding;
- ``not_found``: a transient 404 ``BLOB_UNKNOWN`` / ``MANIFEST_UNKNOWN``;
- ``reset``: forward, send the headers and ``after_bytes`` of the body, then reset the connection (RST);
- ``truncate``: same, but close cleanly: the body is shorter than its ``Content-Length``;
- ``corrupt``: forward with the byte at ``offset`` flipped;
- ``redirect``: 307 to the same path on the proxy's second listener, a different host (127.0.0.2 by
  default) that plays the storage backend: it fetches from the registry with the proxy's own
  credentials, so a client that forwards its Authorization header there is caught in ``requests``.

Every request is recorded (listener, method, path, headers, status, fault) for assertions.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.client import HTTPConnection, HTTPResponse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.client import RegistryClient
from tests.support.registries import Registry

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
CHUNK = 64 * 1024
MAIN = "main"
ALT = "alt"
ACTIONS = frozenset({"status", "not_found", "reset", "truncate", "corrupt", "redirect"})


@dataclass(frozen=True)
class Fault:
    """Fires on the ``nth`` .. ``nth + times - 1`` requests matching ``method`` and ``path``
    (``times=None``: every match from ``nth`` on). ``path`` is a regex searched in the request path."""

    action: str
    path: str = ".*"
    method: str | None = None
    nth: int = 1
    times: int | None = 1
    status: int = 503
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    after_bytes: int = 0
    offset: int = 0
    listener: str = MAIN

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown fault action {self.action!r}; one of {sorted(ACTIONS)}")
        if self.nth < 1 or (self.times is not None and self.times < 1):
            raise ValueError("nth and times count from 1")
        re.compile(self.path)

    def matches(self, listener: str, method: str, path: str) -> bool:
        return (
            listener == self.listener
            and (self.method is None or self.method.upper() == method)
            and re.search(self.path, path) is not None
        )

    def fires_on(self, occurrence: int) -> bool:
        return occurrence >= self.nth and (self.times is None or occurrence < self.nth + self.times)


# Shorthands -----------------------------------------------------------------------------------
def status_fault(
    status: int,
    *,
    method: str | None = None,
    path: str = ".*",
    nth: int = 1,
    times: int | None = 1,
    retry_after: int | None = None,
) -> Fault:
    """503 / 500 / 429 (with ``Retry-After`` seconds) and friends, answered by the proxy."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    body = b'{"errors":[{"code":"UNAVAILABLE","message":"injected by FaultProxy"}]}'
    return Fault("status", path, method, nth, times, status=status, headers=headers, body=body)


def not_found_fault(*, method: str | None = "GET", path: str = "/blobs/", nth: int = 1, times: int | None = 1) -> Fault:
    """A transient 404 (``BLOB_UNKNOWN``) such as registries under load answer for a blob just pushed."""
    return Fault("not_found", path, method, nth, times, status=404)


def reset_fault(
    after_bytes: int, *, method: str | None = "GET", path: str = "/blobs/", nth: int = 1, times: int | None = 1
) -> Fault:
    """Connection reset after ``after_bytes`` of the response body."""
    return Fault("reset", path, method, nth, times, after_bytes=after_bytes)


def truncate_fault(
    after_bytes: int, *, method: str | None = "GET", path: str = "/blobs/", nth: int = 1, times: int | None = 1
) -> Fault:
    """Body cut after ``after_bytes`` while ``Content-Length`` promises more; the connection closes cleanly."""
    return Fault("truncate", path, method, nth, times, after_bytes=after_bytes)


def corrupt_fault(
    offset: int = 0, *, method: str | None = "GET", path: str = "/blobs/", nth: int = 1, times: int | None = 1
) -> Fault:
    """The byte at ``offset`` of the response body is flipped (wrong content, right length)."""
    return Fault("corrupt", path, method, nth, times, offset=offset)


def redirect_fault(
    *, method: str | None = "GET", path: str = "/blobs/", nth: int = 1, times: int | None = None
) -> Fault:
    """307 to the proxy's second listener (another host): a storage redirect."""
    return Fault("redirect", path, method, nth, times, status=307)


@dataclass(frozen=True)
class RecordedRequest:
    listener: str  # MAIN or ALT
    method: str
    path: str
    headers: dict[str, str]
    status: int
    fault: str | None
    request_bytes: int
    response_bytes: int

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


class FaultProxy:
    """``FaultProxy(registry).start()``; ``.registry`` is the upstream seen through the proxy."""

    def __init__(self, upstream: Registry, *, alt_host: str = "127.0.0.2") -> None:
        self.upstream = upstream
        self.alt_host = alt_host
        self._requests: list[RecordedRequest] = []
        self._faults: list[tuple[Fault, list[int]]] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._servers: dict[str, ThreadingHTTPServer] = {}
        self._threads: list[threading.Thread] = []
        self._connections: set[socket.socket] = set()
        self._storage = RegistryClient(upstream)

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        for listener, host in ((MAIN, "127.0.0.1"), (ALT, self.alt_host)):
            server = ThreadingHTTPServer((host, 0), self._handler_class(listener))
            server.daemon_threads = True
            self._servers[listener] = server
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        with self._lock:
            for conn in list(self._connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            self._connections.clear()
        for thread in self._threads:
            thread.join(5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses ------------------------------------------------------------------------------
    def host_of(self, listener: str = MAIN) -> str:
        address = self._servers[listener].server_address
        return f"{address[0]!s}:{address[1]}"

    @property
    def host(self) -> str:
        return self.host_of(MAIN)

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def alt_url(self) -> str:
        return f"http://{self.host_of(ALT)}"

    @property
    def registry(self) -> Registry:
        """The upstream registry (kind, credentials, capabilities) reached through the proxy."""
        return self.upstream.at(self.host)

    # -- script ---------------------------------------------------------------------------------
    def inject(self, *faults: Fault) -> FaultProxy:
        with self._lock:
            self._faults += [(fault, [0]) for fault in faults]
        return self

    def clear(self) -> None:
        """Drop the faults and the record."""
        with self._lock:
            self._faults.clear()
            self._requests.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, in arrival order (waits for the ones in flight to be recorded)."""
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=10)
            return list(self._requests)

    def fired(self) -> list[RecordedRequest]:
        """The requests a fault was injected into."""
        return [r for r in self.requests if r.fault is not None]

    def received(self, listener: str = MAIN, method: str | None = None, path: str = ".*") -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if r.listener == listener and (method is None or r.method == method) and re.search(path, r.path)
        ]

    def authorization_headers(self, listener: str = MAIN) -> list[str]:
        """The Authorization values that reached ``listener`` (ALT: the 'other host')."""
        return [value for r in self.received(listener) if (value := r.header("Authorization")) is not None]

    def _pick(self, listener: str, method: str, path: str) -> Fault | None:
        with self._lock:
            self._in_flight += 1
            chosen = None
            for fault, counter in self._faults:
                if fault.matches(listener, method, path):
                    counter[0] += 1
                    if chosen is None and fault.fires_on(counter[0]):
                        chosen = fault
            return chosen

    def _record(self, entry: RecordedRequest) -> None:
        with self._idle:
            self._requests.append(entry)
            self._in_flight -= 1
            self._idle.notify_all()

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _handler_class(self, listener: str) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(_ProxyHandler):
            owner = proxy
            name = listener

        return Handler


class _BodyReader:
    """Streams a request body (Content-Length or chunked) from the client socket."""

    def __init__(self, handler: BaseHTTPRequestHandler) -> None:
        self.rfile = handler.rfile
        self.chunked = "chunked" in handler.headers.get("Transfer-Encoding", "").lower()
        self.length = int(handler.headers.get("Content-Length", "0") or 0) if not self.chunked else None
        self.read = 0

    def __iter__(self) -> Iterator[bytes]:
        if self.length is not None:
            left = self.length
            while left > 0:
                piece = self.rfile.read(min(CHUNK, left))
                if not piece:
                    raise ConnectionError("client closed mid-body")
                left -= len(piece)
                self.read += len(piece)
                yield piece
            return
        while True:
            size_line = self.rfile.readline(1024)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return
            piece = self.rfile.read(size)
            self.rfile.readline(8)
            self.read += len(piece)
            yield piece

    def drain(self) -> None:
        for _ in self:
            pass


class _ProxyHandler(BaseHTTPRequestHandler):
    owner: FaultProxy
    name: str
    protocol_version = "HTTP/1.1"
    timeout = 60

    def log_message(self, format: str, *args: object) -> None:
        return

    def setup(self) -> None:
        super().setup()
        self.owner._track(self.connection, True)

    def finish(self) -> None:
        self.owner._track(self.connection, False)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = do_GET

    # -- dispatch ---------------------------------------------------------------------------------
    def _handle(self) -> None:
        method = self.command
        fault = self.owner._pick(self.name, method, self.path)
        body = _BodyReader(self)
        headers = dict(self.headers.items())
        status, sent, action = 0, 0, fault.action if fault else None
        try:
            if fault is not None and fault.action in ("status", "not_found", "redirect"):
                body.drain()
                status, sent = self._answer_fault(fault)
            elif self.name == ALT:
                body.drain()
                status, sent = self._serve_storage(fault)
            else:
                status, sent = self._forward(body, fault)
        finally:
            self.owner._record(RecordedRequest(self.name, method, self.path, headers, status, action, body.read, sent))

    def _answer_fault(self, fault: Fault) -> tuple[int, int]:
        extra = dict(fault.headers)
        body = fault.body
        if fault.action == "not_found":
            code = "MANIFEST_UNKNOWN" if "/manifests/" in self.path else "BLOB_UNKNOWN"
            body = json.dumps({"errors": [{"code": code, "message": "injected transient 404"}]}).encode()
        if fault.action == "redirect":
            extra["Location"] = self.owner.alt_url + self.path
        self.send_response(fault.status)
        for key, value in extra.items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return fault.status, len(body)

    def _forward(self, body: _BodyReader, fault: Fault | None) -> tuple[int, int]:
        upstream = urllib.parse.urlsplit(self.owner.upstream.url)
        conn = HTTPConnection(upstream.hostname or "127.0.0.1", upstream.port, timeout=60)
        try:
            out_headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "host"}
            out_headers["Host"] = upstream.netloc
            has_body = body.chunked or (body.length or 0) > 0 or "Content-Length" in self.headers
            if body.chunked:
                out_headers["Transfer-Encoding"] = "chunked"
                conn.request(self.command, self.path, body=iter(body), headers=out_headers, encode_chunked=True)
            elif has_body:
                conn.request(self.command, self.path, body=iter(body) if body.length else b"", headers=out_headers)
            else:
                conn.request(self.command, self.path, headers=out_headers)
            response = conn.getresponse()
            return response.status, self._relay(response, fault)
        finally:
            conn.close()

    def _rewrite(self, value: str) -> str:
        own = f"http://{self.owner.host_of(self.name)}"
        return value.replace(self.owner.upstream.url, own)

    def _relay(self, response: HTTPResponse, fault: Fault | None) -> int:
        self.send_response(response.status, response.reason)
        length_header = response.getheader("Content-Length")
        for key, value in response.getheaders():
            if key.lower() in HOP_BY_HOP:
                continue
            if key.lower() in ("location", "link", "content-location"):
                value = self._rewrite(value)
            self.send_header(key, value)
        no_body = self.command == "HEAD" or response.status in (204, 304) or 100 <= response.status < 200
        chunked = length_header is None and not no_body
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if no_body:
            response.read()
            return 0
        return self._send_body(response, fault, chunked)

    def _send_body(self, response: Any, fault: Fault | None, chunked: bool) -> int:
        sent = 0
        while True:
            piece: bytes = response.read(CHUNK)
            if not piece:
                break
            if fault is not None and fault.action == "corrupt" and sent <= fault.offset < sent + len(piece):
                at = fault.offset - sent
                piece = piece[:at] + bytes([piece[at] ^ 0xFF]) + piece[at + 1 :]
            if fault is not None and fault.action in ("reset", "truncate") and sent + len(piece) >= fault.after_bytes:
                piece = piece[: fault.after_bytes - sent]
                self._write(piece, chunked)
                sent += len(piece)
                self._break(reset=fault.action == "reset")
                return sent
            self._write(piece, chunked)
            sent += len(piece)
        if fault is not None and fault.action in ("reset", "truncate"):  # body shorter than after_bytes
            self._break(reset=fault.action == "reset")
            return sent
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        return sent

    def _write(self, piece: bytes, chunked: bool) -> None:
        if not piece:
            return
        if chunked:
            self.wfile.write(f"{len(piece):X}\r\n".encode() + piece + b"\r\n")
        else:
            self.wfile.write(piece)

    def _break(self, *, reset: bool) -> None:
        self.wfile.flush()
        self.close_connection = True
        if reset:  # SO_LINGER 0: close() sends RST instead of FIN
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        else:
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    def _serve_storage(self, fault: Fault | None) -> tuple[int, int]:
        """The second listener: a 'storage host' that fetches with the proxy's own upstream credentials."""
        repo_match = re.match(r"^/v2/(.+?)/(blobs|manifests)/", self.path)
        scope = RegistryClient.scope(repo_match.group(1), "pull") if repo_match else None
        forwarded = {k: v for k, v in self.headers.items() if k.lower() in ("accept", "range")}
        response = self.owner._storage.request(self.command, self.path, scope=scope, headers=forwarded, stream=True)
        try:
            self.send_response(response.status_code)
            for key, value in response.headers.items():
                if key.lower() in HOP_BY_HOP:
                    continue
                self.send_header(key, value)
            chunked = "Content-Length" not in response.headers and self.command != "HEAD"
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if self.command == "HEAD":
                return response.status_code, 0
            return response.status_code, self._send_body(response.raw, fault, chunked)
        finally:
            response.close()
