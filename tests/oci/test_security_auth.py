"""gate.oci.auth against hostile inputs: odd Docker config files, a token service answering an unsendable token."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from gate.errors import InputError
from gate.oci.auth import MAX_DOCKER_CONFIG_BYTES, Authenticator, Credential, CredentialStore, load_docker_config
from gate.oci.http import HttpClient, RegistryFailure

SECRET_TOKEN = "tok-\nsecret-part"


def test_a_fifo_as_docker_config_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    os.mkfifo(path)  # opening it for reading would wait for a writer forever
    with pytest.raises(InputError, match="not a regular file"):
        load_docker_config(path)


def test_a_device_as_docker_config_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.symlink_to("/dev/zero")  # endless bytes
    with pytest.raises(InputError, match="not a regular file"):
        CredentialStore.load(environ={"DOCKER_CONFIG": str(tmp_path)})


def test_a_docker_config_over_the_cap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {}, "pad": "x" * MAX_DOCKER_CONFIG_BYTES}))
    with pytest.raises(InputError, match="larger than"):
        load_docker_config(path)


def test_a_directory_as_docker_config_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").mkdir()
    with pytest.raises(InputError, match=str(tmp_path)):
        load_docker_config(tmp_path / "config.json")


def test_a_docker_config_that_is_not_utf8_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b'{"auths": {"\xff": {}}}')
    with pytest.raises(InputError, match="not UTF-8"):
        load_docker_config(path)


class _TokenHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"token": SECRET_TOKEN}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def token_service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/token"
    finally:
        server.shutdown()
        server.server_close()


def test_a_token_with_a_line_break_is_masked_and_refused_without_quoting_it(token_service: str) -> None:
    masked: list[str] = []
    auth = Authenticator("127.0.0.1:5000", Credential("u", "p"), HttpClient(), mask=masked.append)
    answer = requests.Response()
    answer.status_code = 401
    answer.headers["WWW-Authenticate"] = f'Bearer realm="{token_service}",service="s"'

    with pytest.raises(RegistryFailure, match="cannot carry") as caught:
        auth.on_unauthorized(answer, ["repository:a:pull"])

    assert SECRET_TOKEN in masked
    assert "secret-part" not in caught.value.diagnostics()
