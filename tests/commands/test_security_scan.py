"""A credential in the ``osv_db`` URL is masked before the URL is logged or reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate import cli
from gate.commands.scan import ScanConfig
from gate.oci.open import url_secrets

URL = "https://reader:s3cr%40t-value@127.0.0.1:9/osv/all.zip"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (URL, ["s3cr%40t-value", "s3cr@t-value"]),
        ("https://ghp_tokenvalue@example.invalid/all.zip", ["ghp_tokenvalue"]),
        ("https://example.invalid/all.zip", []),
        ("/a/local/directory", []),
        ("https://[::1/broken", []),
    ],
)
def test_url_secrets(url: str, expected: list[str]) -> None:
    assert url_secrets(url) == expected


def test_the_scan_config_masks_the_osv_db_password() -> None:
    config = ScanConfig(image="127.0.0.1:9/app:v1", scanner="osv", osv_db=URL)
    assert "s3cr%40t-value" in config.secrets()


def test_a_failed_osv_download_never_prints_the_url_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # the OSV cache goes under the working directory
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    code = cli.main(["scan", "127.0.0.1:9/app:v1", "--scanner", "osv", "--osv-db", URL, "--json"])
    captured = capsys.readouterr()
    assert code == 3
    assert "127.0.0.1:9" in captured.err  # the failure is reported...
    for text in (captured.err, captured.out):
        assert "s3cr" not in text  # ...without the password
