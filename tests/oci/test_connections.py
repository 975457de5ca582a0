"""Keep-alive connections and answers (gate.oci.connections) against a scripted loopback server."""

from __future__ import annotations

import re
import time

import pytest

from gate.oci.connections import Headers, parse_links
from gate.oci.http import HttpClient, RetryPolicy, Unreachable
from tests.oci.hostile_server import Handler, hostile_registry

FAST = RetryPolicy(attempts=2, initial_wait=0.01, max_wait=0.02, jitter=0.0)


def test_headers_ignore_case_and_join_repeated_values() -> None:
    headers = Headers([("WWW-Authenticate", 'Bearer realm="a"'), ("www-authenticate", 'Basic realm="b"')])
    assert headers.get("Www-Authenticate") == 'Bearer realm="a", Basic realm="b"'
    assert "WWW-AUTHENTICATE" in headers and headers.get("Absent") is None and headers.get("Absent", "x") == "x"


def test_link_headers_are_absolute_by_relation() -> None:
    links = parse_links(
        '</v2/r/tags/list?n=2&last=b>; rel="next", <https://x.example/p>; rel=prev', "http://h:5000/v2/"
    )
    assert links["next"]["url"] == "http://h:5000/v2/r/tags/list?n=2&last=b"
    assert links["prev"]["url"] == "https://x.example/p"
    assert parse_links("", "http://h/") == {}


def _ports(server_requests: list[tuple[str, int]]) -> list[int]:
    return [port for _, port in server_requests]


def test_a_connection_is_reused_once_its_body_is_read() -> None:
    seen: list[tuple[str, int]] = []

    def answer(handler: Handler, _: re.Match[str]) -> None:
        seen.append((handler.command, handler.client_address[1]))
        handler.answer(200, b"x" * 1000)

    with hostile_registry() as server:
        server.route("*", r"/v2/r/.*", answer)
        client = HttpClient(retry=FAST)
        for _ in range(3):
            assert client.request("GET", f"http://{server.host}/v2/r/a").content == b"x" * 1000
        assert client.request("HEAD", f"http://{server.host}/v2/r/a").status_code == 200
        client.request("GET", f"http://{server.host}/v2/r/a").close()
        client.close()
    assert len(set(_ports(seen))) == 1


def test_a_connection_the_server_closed_is_replaced_not_used() -> None:
    seen: list[tuple[str, int]] = []

    def answer_then_hang_up(handler: Handler, _: re.Match[str]) -> None:
        seen.append((handler.command, handler.client_address[1]))
        handler.answer(200, b"{}")
        handler.close_connection = True  # without saying so: the client finds out on its own

    with hostile_registry() as server:
        server.route("GET", r"/v2/r/.*", answer_then_hang_up)
        logs: list[str] = []
        client = HttpClient(retry=RetryPolicy(attempts=1), log=logs.append)
        first = client.request("GET", f"http://{server.host}/v2/r/a")
        assert first.status_code == 200
        time.sleep(0.2)  # the hang-up reaches the client's idle socket
        second = client.request("GET", f"http://{server.host}/v2/r/b")
        assert second.status_code == 200 and logs == []
    assert len(set(_ports(seen))) == 2


def test_a_body_shorter_than_announced_is_a_broken_connection() -> None:
    def short(handler: Handler, _: re.Match[str]) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        handler.wfile.write(b"only ten b")
        handler.wfile.flush()
        handler.close_connection = True

    with hostile_registry() as server:
        server.route("GET", r"/v2/r/.*", short)
        client = HttpClient(retry=FAST)
        with pytest.raises(Unreachable, match="unreachable after 2 attempt"):
            client.request("GET", f"http://{server.host}/v2/r/a", what="read a short body")
        assert len(server.paths("GET")) == 2


def test_a_streamed_body_of_known_length_is_sent_with_content_length() -> None:
    received: list[dict[str, str]] = []

    def upload(handler: Handler, _: re.Match[str]) -> None:
        received.append(dict(handler.headers.items()))
        handler.answer(201, b"")

    class Sized:
        def __len__(self) -> int:
            return 6

        def __iter__(self):  # type: ignore[no-untyped-def]
            yield from (b"abc", b"def")

    with hostile_registry() as server:
        server.route("PUT", r"/v2/r/blobs/.*", upload)
        client = HttpClient(retry=FAST)
        answer = client.request(
            "PUT", f"http://{server.host}/v2/r/blobs/u", params={"digest": "sha256:ab"}, data=Sized()
        )
        assert answer.status_code == 201
    assert received[0]["Content-Length"] == "6" and "Transfer-Encoding" not in received[0]
    assert server.paths("PUT") == ["/v2/r/blobs/u?digest=sha256%3Aab"]
