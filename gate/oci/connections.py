"""Keep-alive HTTP/1.1 connections per host, and the answers read from them (standard library only).

What ``gate.oci.http.HttpClient`` sends its requests through (``requests`` and ``urllib3`` cost a
command more to import than the whole copy of an up-to-date image takes):

- idle connections are kept per scheme and host, at most ``size`` each, and reused; one the server
  has closed meanwhile is dropped, not used;
- TLS is verified against the certifi bundle when it is installed (what ``requests`` trusted), else
  the system's; no proxy or ``.netrc`` from the environment is used;
- a connection has the connect timeout while connecting and the read timeout afterwards (per socket
  operation; ``gate.oci.http`` adds the deadlines on whole bodies);
- an ``Answer`` body is read in chunks (``iter_content``) or whole (``content``), and its connection
  goes back to the pool once the body has been read to its end (else it is closed). A body shorter
  than its ``Content-Length`` raises ``http.client.IncompleteRead``.
"""

from __future__ import annotations

import http.client
import re
import select
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, overload
from urllib.parse import quote, urljoin, urlsplit

if TYPE_CHECKING:
    import socket
    import ssl

# What a broken or timed-out connection raises: OSError (socket errors, timeouts, TLS errors) and
# http.client's protocol errors (a body cut short, a bad status line).
NETWORK_ERRORS: tuple[type[BaseException], ...] = (OSError, http.client.HTTPException)

# Characters a URL keeps as they are when re-quoted (what requests' requote_uri keeps): a registry's
# Location with a space or a control character is sent escaped, not refused by http.client.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"


class Headers(dict[str, str]):
    """Answer headers by case-insensitive name; a repeated header's values joined with ``, ``."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__()
        for name, value in pairs:
            key = name.lower()
            super().__setitem__(key, f"{super().__getitem__(key)}, {value}" if key in self else value)

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __setitem__(self, name: str, value: str) -> None:
        super().__setitem__(name.lower(), value)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    @overload  # type: ignore[override]
    def get(self, name: str) -> str | None: ...

    @overload
    def get(self, name: str, default: str) -> str: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        return super().get(name.lower(), default)


def parse_links(value: str, base: str) -> dict[str, dict[str, str]]:
    """``Link: <url>; rel="next", <url>; rel="prev"`` -> ``{"next": {"url": ..., "rel": "next"}, ...}``."""
    links: dict[str, dict[str, str]] = {}
    for entry in re.split(", *<", value) if value else ():
        url, _, params = entry.strip().lstrip("<").partition(">")
        link = {"url": urljoin(base, url.strip())}
        for param in params.split(";"):
            key, _, text = param.partition("=")
            if key.strip():
                link[key.strip().lower()] = text.strip().strip("'\"")
        links[link.get("rel") or link["url"]] = link
    return links


class Answer:
    """One HTTP answer. ``close()`` gives the connection back (once the body was read to its end)."""

    def __init__(
        self, raw: http.client.HTTPResponse, connection: http.client.HTTPConnection, pool: ConnectionPool, url: str
    ) -> None:
        self.raw = raw
        self.status_code = raw.status
        self.reason = raw.reason
        self.headers = Headers(raw.getheaders())
        self.url = url
        self._connection: http.client.HTTPConnection | None = connection
        self._pool = pool
        self._content: bytes | None = None
        self._content_consumed = False

    @property
    def socket(self) -> socket.socket | None:
        connection = self._connection
        return connection.sock if connection is not None else None  # type: ignore[no-any-return]

    @property
    def links(self) -> dict[str, dict[str, str]]:
        return parse_links(self.headers.get("Link") or "", self.url)

    @property
    def content(self) -> bytes:
        if not self._content_consumed:
            self._content = b"".join(self.iter_content(64 * 1024))
            self._content_consumed = True
            self.close()
        return self._content or b""

    def iter_content(self, chunk_size: int) -> Iterator[bytes]:
        if self._content_consumed:  # read already (a buffered answer): its bytes again
            content = self._content or b""
            yield from (content[i : i + chunk_size] for i in range(0, len(content), chunk_size))
            return
        raw = self.raw
        while True:
            chunk = raw.read(chunk_size)
            if not chunk:
                break
            yield chunk
        if raw.length:  # http.client ends a body cut short quietly: say it
            raise http.client.IncompleteRead(b"", raw.length)

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        raw = self.raw
        if not raw.isclosed() and raw.length == 0:
            raw.read()  # an answer without a body (HEAD, 204, 304) is complete
        reusable = raw.isclosed() and not raw.will_close
        raw.close()
        self._pool.release(connection, reusable)


class _Connection(http.client.HTTPConnection):
    read_timeout: float = 120.0

    def connect(self) -> None:
        super().connect()
        self.sock.settimeout(self.read_timeout)


class _TlsConnection(http.client.HTTPSConnection):
    read_timeout: float = 120.0

    def connect(self) -> None:
        super().connect()
        self.sock.settimeout(self.read_timeout)


class ConnectionPool:
    """Connections by (scheme, host[:port]); thread-safe."""

    def __init__(self, *, size: int, timeout: tuple[float, float], user_agent: str) -> None:
        self.size = size
        self.timeout = timeout
        self.user_agent = user_agent
        self._idle: dict[tuple[str, str], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        params: Mapping[str, str | list[str]] | None,
        body: bytes | Iterable[bytes] | None,
        length: int | None = None,
    ) -> Answer:
        """Send one request (no redirect followed) and read the status line and headers.
        ``length`` is the size of an iterable ``body`` (sent as is; without it, chunked)."""
        if params:
            from urllib.parse import urlencode

            url += ("&" if urlsplit(url).query else "?") + urlencode(params, doseq=True)
        url = quote(url, safe=_URL_SAFE)
        parts = urlsplit(url)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        connection = self._connection(parts.scheme, parts.netloc)
        send_headers = {"User-Agent": self.user_agent, "Accept-Encoding": "identity", **headers}
        if length is not None and not isinstance(body, bytes):
            send_headers["Content-Length"] = str(length)
        try:
            connection.request(method, target, body=body, headers=send_headers)
            raw = connection.getresponse()
        except BaseException:
            connection.close()
            raise
        return Answer(raw, connection, self, url)

    def release(self, connection: http.client.HTTPConnection, reusable: bool) -> None:
        key = (type(connection).__name__, f"{connection.host}:{connection.port}")
        if reusable:
            with self._lock:
                idle = self._idle.setdefault(key, [])
                if len(idle) < self.size:
                    idle.append(connection)
                    return
        connection.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def _connection(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        kind = _TlsConnection if scheme == "https" else _Connection
        if scheme not in ("http", "https") or not netloc:
            raise http.client.InvalidURL(f"unsupported URL {scheme}://{netloc}")
        parts = urlsplit(f"//{netloc}")
        host, port = parts.hostname or "", parts.port
        key = (kind.__name__, f"{host}:{port or (443 if scheme == 'https' else 80)}")
        with self._lock:
            idle = self._idle.get(key, [])
            while idle:
                connection = idle.pop()
                if not _dropped(connection):
                    return connection
                connection.close()
        fresh: _Connection | _TlsConnection
        if kind is _TlsConnection:
            fresh = _TlsConnection(host, port, timeout=self.timeout[0], context=self._tls_context())
        else:
            fresh = _Connection(host, port, timeout=self.timeout[0])
        fresh.read_timeout = self.timeout[1]
        return fresh

    def _tls_context(self) -> ssl.SSLContext:
        with self._lock:
            if self._tls is None:
                import ssl

                try:
                    import certifi

                    bundle: str | None = certifi.where()
                except ImportError:
                    bundle = None
                self._tls = ssl.create_default_context(cafile=bundle)
            return self._tls


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """An idle connection the server closed (or that has unread bytes): readable means unusable."""
    sock = connection.sock
    if sock is None:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))
