from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gate.errors import InputError
from gate.scanners.base import _SCANNERS, ScanRequest, get_scanner, scanner_names
from gate.scanners.osv import OsvScanner
from gate.scanners.trivy import TrivyOptions, TrivyScanner

RECORDS = Path(__file__).resolve().parents[1] / "data" / "osv" / "records"


def test_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    scanner = get_scanner("trivy", {"skip_db_update": True})
    assert isinstance(scanner, TrivyScanner) and scanner.options.skip_db_update
    assert scanner_names() == ("osv", "trivy")
    with pytest.raises(InputError, match="unknown scanner 'grype': expected one of osv, trivy"):
        get_scanner("grype")
    monkeypatch.setitem(_SCANNERS, "trivy", lambda options, log: TrivyScanner(TrivyOptions(executable="other")))
    other = get_scanner("trivy")
    assert isinstance(other, TrivyScanner) and other.options.executable == "other"


def test_a_scanner_logs_through_the_callback_it_is_given(tmp_path: Path) -> None:
    bom = tmp_path / "bom.cdx.json"
    component = {"type": "library", "name": "left-pad", "version": "1.0.0", "purl": "pkg:npm/left-pad@1.0.0"}
    bom.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [component]}))
    messages: list[str] = []
    scanner = get_scanner("osv", {"db": str(RECORDS)}, log=messages.append)
    assert isinstance(scanner, OsvScanner)
    scanner.scan(ScanRequest(bom, "cyclonedx", "example/app:1", "linux/amd64", "sha256:" + "a" * 64))
    assert any("linux/amd64: 1 components checked" in message for message in messages)


def test_options_the_scanner_does_not_know_are_input_errors() -> None:
    options: dict[str, Any] = {"db": str(RECORDS), "log": print}
    with pytest.raises(InputError, match="unknown osv option"):
        get_scanner("osv", options)
    with pytest.raises(InputError, match="unknown trivy option"):
        get_scanner("trivy", {"db": "x"})


def test_naming_the_scanners_imports_none_of_them() -> None:
    code = (
        "import sys; from gate.scanners.base import scanner_names; scanner_names(); "
        "print(sorted(m for m in sys.modules if m.startswith('gate.scanners.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['gate.scanners.base']"
