"""Small SARIF documents for tests, and the real-world fixture folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REAL_WORLD = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "real-world"


def real_world(name: str) -> Path:
    """A real-world fixture file; skips the test when the folder is absent."""
    path = REAL_WORLD / name
    if not path.is_file():
        pytest.skip(f"real-world fixture {name} not present")
    return path


def trivy_rule(
    vuln_id: str, severity: str, score: str | None, package: str = "pkg", title: str = "t"
) -> dict[str, Any]:
    props: dict[str, Any] = {"precision": "very-high", "tags": ["vulnerability", "security", severity]}
    if score is not None:
        props["security-severity"] = score
    level = {"CRITICAL": "error", "HIGH": "error", "MEDIUM": "warning"}.get(severity, "note")
    return {
        "id": vuln_id,
        "name": "OsPackageVulnerability",
        "shortDescription": {"text": title},
        "defaultConfiguration": {"level": level},
        "help": {"text": f"Vulnerability {vuln_id}\nSeverity: {severity}\nPackage: {package}\nFixed Version: 9.9"},
        "properties": props,
    }


def trivy_result(
    index: int, vuln_id: str, severity: str, package: str, installed: str = "1.0", fixed: str = "2.0"
) -> dict[str, Any]:
    level = {"CRITICAL": "error", "HIGH": "error", "MEDIUM": "warning"}.get(severity, "note")
    return {
        "ruleId": vuln_id,
        "ruleIndex": index,
        "level": level,
        "message": {
            "text": f"Package: {package}\nInstalled Version: {installed}\nVulnerability {vuln_id}\n"
            f"Severity: {severity}\nFixed Version: {fixed}\nLink: [{vuln_id}](https://example.invalid)"
        },
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": "library/app", "uriBaseId": "ROOTPATH"},
                    "region": {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1},
                }
            }
        ],
    }


def sarif_log(rules: list[dict[str, Any]], results: list[dict[str, Any]], **run_extra: Any) -> dict[str, Any]:
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "Trivy", "version": "0.50.0", "rules": rules}},
        "results": results,
    }
    run.update(run_extra)
    return {"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json", "runs": [run]}


def write(tmp_path: Path, document: Any, name: str = "scan.sarif") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path
