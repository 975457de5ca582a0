"""Downloading an OSV database: credentials, proxies, the partial file, caps, redirects, against real
HTTP servers on 127.0.0.1 (plain http is allowed for loopback hosts only)."""

from __future__ import annotations

import base64
import os
import signal
import stat
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from gate.errors import InputError, RuntimeFailure
from gate.scanners.base import get_scanner
from gate.scanners.osv import OsvScanner
from gate.scanners.osv.db import DownloadLimits, OsvDatabase, cached_path, download, public_url
from tests.scanners.osv.conftest import RECORDS

PASSWORD = "s3cret-Pa55"
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
                    "no_proxy")  # fmt: skip


def _zip_bytes(tmp: Path) -> bytes:
    target = tmp / "src.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for record in sorted((RECORDS / "npm").glob("*.json")):
            archive.write(record, record.name)
    return target.read_bytes()


class Server:
    """A tiny HTTP server whose answer per path is a function of the handler; requests are recorded."""

    def __init__(self, routes: dict[str, Callable[[BaseHTTPRequestHandler], None]], host: str = "127.0.0.1") -> None:
        self.seen: list[tuple[str, str | None]] = []  # (request target, Authorization)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.seen.append((self.path, self.headers.get("Authorization")))
                route = routes.get(self.path.split("?", 1)[0]) or routes.get("*")
                if route is None:
                    self.send_error(404)
                    return
                route(self)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1", userinfo: str = "") -> str:
        return f"http://{userinfo}{host}:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(routes: dict[str, Callable[[BaseHTTPRequestHandler], None]], host: str = "127.0.0.1") -> Server:
        servers.append(Server(routes, host))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def body(data: bytes, *, length: int | None = None) -> Callable[[BaseHTTPRequestHandler], None]:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data) if length is None else length))
        handler.end_headers()
        handler.wfile.write(data)

    return answer


def close_delimited(data: bytes) -> Callable[[BaseHTTPRequestHandler], None]:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(data)
        handler.close_connection = True

    return answer


def needs_basic(user: str, password: str, then: Callable[[BaseHTTPRequestHandler], None]) -> Callable[..., None]:
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def answer(handler: BaseHTTPRequestHandler) -> None:
        if handler.headers.get("Authorization") != expected:
            handler.send_error(401)
            return
        then(handler)

    return answer


def redirect(location: str) -> Callable[[BaseHTTPRequestHandler], None]:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


def trickle(then: Callable[[], None] | None = None) -> Callable[[BaseHTTPRequestHandler], None]:
    """One byte every 20 ms for at most 20 s (each read well within any read timeout)."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(10_000_000))
        handler.end_headers()
        try:
            for index in range(1000):
                handler.wfile.write(b"x")
                handler.wfile.flush()
                if index == 5 and then is not None:
                    then()
                time.sleep(0.02)
        except OSError:
            return

    return answer


def _cache_files(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*") if p.is_file())


def test_credentials_are_used_but_never_written_down(tmp_path: Path, serve: Callable[..., Server]) -> None:
    data = _zip_bytes(tmp_path)
    server = serve({"/npm/all.zip": needs_basic("reader", PASSWORD, body(data))})
    url = server.url("/npm/all.zip?X-Amz-Signature=abc123", userinfo=f"reader:{PASSWORD}@")
    lines: list[str] = []
    cache = tmp_path / "cache"
    db = OsvDatabase.open(url, cache, lines.append)
    assert db.records_for("npm", "minimist") and db.info.sha256
    assert db.info.location == f"http://127.0.0.1:{server.port}/npm/all.zip"  # what the SARIF records
    files = _cache_files(cache)
    assert [f.name for f in files] == ["all.zip", "all.zip.sha256.json"]  # no partial file left
    for path in files:
        content = path.read_bytes()
        assert PASSWORD.encode() not in content and b"reader" not in content and b"abc123" not in content
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert PASSWORD not in str(path)
    assert stat.S_IMODE(files[0].parent.stat().st_mode) == 0o700
    assert all(PASSWORD not in line and "abc123" not in line for line in lines)
    # The same URL without credentials is the same cache entry: the key ignores the userinfo.
    assert cached_path(url, cache) == cached_path(server.url("/npm/all.zip?X-Amz-Signature=abc123"), cache)
    again = OsvDatabase.open(url, cache)
    assert again.info.sha256 == db.info.sha256 and len(server.seen) == 1  # reused, checksum verified
    db.close()


def test_netrc_is_not_read(tmp_path: Path, serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve({"/all.zip": body(_zip_bytes(tmp_path))})
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login reader password {PASSWORD}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    requests.get(server.url("/all.zip"), timeout=10).close()  # requests' default: .netrc's credentials
    assert server.seen[-1][1] is not None
    download(server.url("/all.zip"), tmp_path / "cache")
    assert server.seen[-1] == ("/all.zip", None)


def test_proxy_from_the_environment_is_honoured(
    tmp_path: Path, serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _zip_bytes(tmp_path)
    origin = serve({"/all.zip": body(data)})
    proxy = serve({"*": body(data)})
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    download(origin.url("/all.zip"), tmp_path / "a")
    assert proxy.seen == [(origin.url("/all.zip"), None)] and origin.seen == []  # absolute URI: a proxy request
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    download(origin.url("/all.zip"), tmp_path / "b")
    assert origin.seen == [("/all.zip", None)] and len(proxy.seen) == 1


def test_credentials_do_not_follow_a_redirect_to_another_host(tmp_path: Path, serve: Callable[..., Server]) -> None:
    data = _zip_bytes(tmp_path)
    storage = serve({"/blob": body(data)}, host="localhost")
    front = serve({"/all.zip": needs_basic("reader", PASSWORD, redirect(storage.url("/blob", host="localhost")))})
    info = download(front.url("/all.zip", userinfo=f"reader:{PASSWORD}@"), tmp_path / "cache")
    assert front.seen[0][1] is not None and storage.seen == [("/blob", None)]
    assert info.path.read_bytes() == data


def test_redirect_to_plain_http_elsewhere_is_refused(tmp_path: Path, serve: Callable[..., Server]) -> None:
    server = serve({"/all.zip": redirect("http://osv.example/all.zip")})
    with pytest.raises(RuntimeFailure, match=r"redirected to a non-https URL \(http://osv.example/all.zip\)"):
        download(server.url("/all.zip"), tmp_path / "cache")
    assert _cache_files(tmp_path / "cache") == []


def test_redirect_loops_end(tmp_path: Path, serve: Callable[..., Server]) -> None:
    server = serve({"/all.zip": redirect("/all.zip")})
    with pytest.raises(RuntimeFailure, match="more than 5 redirects"):
        download(server.url("/all.zip"), tmp_path / "cache")


@pytest.mark.parametrize(
    "url",
    ["http://osv.example/all.zip", "ftp://osv.example/all.zip", "file:///etc/passwd", "http://10.0.0.1/all.zip"],
)
def test_only_https_or_loopback_http(tmp_path: Path, url: str) -> None:
    with pytest.raises(InputError, match="only https:// URLs"):
        download(url, tmp_path)
    with pytest.raises(InputError, match="only https:// URLs"):
        download(url.replace("://", f"://u:{PASSWORD}@", 1), tmp_path)  # and the message shows no password
    try:
        download(url.replace("://", f"://u:{PASSWORD}@", 1), tmp_path)
    except InputError as exc:
        assert PASSWORD not in str(exc)


def test_public_url() -> None:
    assert public_url(f"https://u:{PASSWORD}@mirror.example:8443/osv/all.zip?sig=1#x") == (
        "https://mirror.example:8443/osv/all.zip"
    )


@pytest.mark.parametrize("declared", [True, False])
def test_size_cap_while_streaming(tmp_path: Path, serve: Callable[..., Server], declared: bool) -> None:
    data = b"x" * 5000
    server = serve({"/all.zip": body(data) if declared else close_delimited(data)})
    expected = "5000 bytes, over the cap of 1000" if declared else "larger than the cap of 1000 bytes"
    with pytest.raises(RuntimeFailure, match=expected):
        download(server.url("/all.zip"), tmp_path / "cache", limits=DownloadLimits(max_bytes=1000))
    assert _cache_files(tmp_path / "cache") == []


def test_truncated_body_leaves_no_partial_file(tmp_path: Path, serve: Callable[..., Server]) -> None:
    server = serve({"/all.zip": body(b"0123456789", length=100_000)})
    with pytest.raises(RuntimeFailure, match="download failed"):
        download(server.url("/all.zip"), tmp_path / "cache", limits=DownloadLimits(read_timeout=10))
    assert _cache_files(tmp_path / "cache") == []


def test_overall_deadline_ends_a_trickle(tmp_path: Path, serve: Callable[..., Server]) -> None:
    server = serve({"/all.zip": trickle()})
    limits = DownloadLimits(deadline_seconds=0.3, read_timeout=10)
    with pytest.raises(RuntimeFailure, match=r"took longer than 0\.3 s"):
        download(server.url("/all.zip"), tmp_path / "cache", limits=limits)
    assert _cache_files(tmp_path / "cache") == []


def test_interrupt_removes_the_partial_file(tmp_path: Path, serve: Callable[..., Server]) -> None:
    server = serve({"/all.zip": trickle(lambda: os.kill(os.getpid(), signal.SIGINT))})
    with pytest.raises(KeyboardInterrupt):
        download(server.url("/all.zip"), tmp_path / "cache", limits=DownloadLimits(read_timeout=10))
    assert _cache_files(tmp_path / "cache") == []


def test_http_errors_and_unwritable_cache(tmp_path: Path, serve: Callable[..., Server]) -> None:
    server = serve({})
    with pytest.raises(RuntimeFailure, match="HTTP 404"):
        download(server.url("/all.zip"), tmp_path / "cache")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(InputError, match="cannot write there"):
        download(server.url("/all.zip"), blocker)


@pytest.mark.parametrize("variable", ["RUNNER_TEMP", "XDG_CACHE_HOME"])
def test_default_cache_is_outside_the_workspace_and_private(
    tmp_path: Path, serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    server = serve({"/npm/all.zip": body(_zip_bytes(tmp_path))})
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    monkeypatch.chdir(workspace)
    for name in ("RUNNER_TEMP", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, str(tmp_path / "scratch"))
    scanner = get_scanner("osv", {"db": server.url("/npm/all.zip")})
    assert isinstance(scanner, OsvScanner)
    root = tmp_path / "scratch" / ("image-gate-osv" if variable == "RUNNER_TEMP" else "image-gate")
    assert scanner.database.info.path.is_relative_to(root)
    assert list(workspace.iterdir()) == []
    for directory in (root, root / "osv", scanner.database.info.path.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    scanner.database.close()
