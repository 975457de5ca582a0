"""OsvScanner on the real node:20-alpine SBOM against the project's real-advisory records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.errors import InputError
from gate.scanners.base import ScanRequest, get_scanner
from gate.scanners.osv import OsvOptions, OsvScanner, build_osv_scanner
from gate.scanners.osv.db import OsvDatabase
from gate.scanners.osv.scanner import MatchReport, default_cache_dir
from tests.scanners.osv.conftest import RECORDS

DIGEST = "sha256:" + "ab" * 32


def _scan(sbom: Path, records: Path = RECORDS) -> tuple[OsvScanner, dict]:  # type: ignore[type-arg]
    scanner = build_osv_scanner(OsvOptions(db=str(records)), lambda _m: None)
    result = scanner.scan(ScanRequest(sbom, "cyclonedx", "library/vulnerable-app", "linux/amd64", DIGEST))
    assert result.scanner == "osv" and result.scanner_version
    return scanner, {"run": result.run, "unchecked": result.unchecked}


def test_findings_on_the_real_sbom(node_alpine_sbom: Path) -> None:
    _, out = _scan(node_alpine_sbom)
    run = out["run"]
    pairs = {(r["ruleId"], r["properties"]["package"], r["properties"]["installed"]) for r in run["results"]}
    assert ("CVE-2024-21538", "cross-spawn", "7.0.3") in pairs
    assert ("CVE-2026-22184", "zlib", "1.3.1-r2") in pairs
    assert ("CVE-2022-23539", "jsonwebtoken", "8.5.1") in pairs  # fixed in 9.0.0
    packages = {p for _, p, _ in pairs}
    assert "semver" not in packages  # 5.7.2 and 7.6.2 are the fixed versions or later
    assert "libcrypto3" not in packages and "libssl3" not in packages  # openssl 3.5.5-r0 is fixed
    assert len(run["results"]) == 20


def test_sarif_is_shaped_like_trivys(node_alpine_sbom: Path) -> None:
    _, out = _scan(node_alpine_sbom)
    run = out["run"]
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    rule = rules["CVE-2024-21538"]
    assert rule["properties"]["security-severity"] == "7.5"
    assert rule["properties"]["tags"] == ["vulnerability", "security", "HIGH"]
    assert rule["properties"]["cvssv3_vector"] == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"
    assert rule["properties"]["aliases"] == ["GHSA-3xgq-45jj-v275"]
    assert rule["help"]["markdown"].startswith("**Vulnerability CVE-2024-21538**")
    result = next(r for r in run["results"] if r["ruleId"] == "CVE-2024-21538")
    assert result["level"] == "error"
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "CVE-2024-21538"
    assert result["message"]["text"] == (
        "Package: cross-spawn\nInstalled Version: 7.0.3\nVulnerability CVE-2024-21538\nSeverity: HIGH\n"
        "Fixed Version: 7.0.5\n"  # the fix of the affected entry (GHSA records: one range per entry) that matched
        "Link: [CVE-2024-21538](https://osv.dev/vulnerability/GHSA-3xgq-45jj-v275)"
    )
    props = result["properties"]
    assert props["purl"] == "pkg:npm/cross-spawn@7.0.3" and props["ecosystem"] == "npm"
    assert props["fixed"] == "7.0.5" and props["aliases"] == ["GHSA-3xgq-45jj-v275"]
    zlib = next(r for r in run["results"] if r["ruleId"] == "CVE-2026-22184")
    assert zlib["properties"]["ecosystem"] == "Alpine:v3.23" and zlib["properties"]["aliases"] == [
        "ALPINE-CVE-2026-22184"
    ]
    assert zlib["level"] == "note"  # Alpine records carry no severity: UNKNOWN, like Trivy's fallback
    cookie = rules["CVE-2024-47764"]
    assert cookie["properties"]["security-severity"] == "2.0"  # label LOW only
    assert run["properties"]["digest"] == DIGEST


def test_unchecked_components_are_listed_not_passed(node_alpine_sbom: Path) -> None:
    _, out = _scan(node_alpine_sbom)
    (node,) = out["unchecked"]
    assert (node.name, node.purl, node.reason) == (
        "node",
        "pkg:generic/node@20.20.1",
        "ecosystem 'generic' is not supported",
    )


def _bom(tmp_path: Path, components: list[dict]) -> Path:  # type: ignore[type-arg]
    path = tmp_path / "bom.cdx.json"
    path.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": components}))
    return path


def test_aliases_merge_a_ghsa_and_its_cve_record(tmp_path: Path) -> None:
    records = tmp_path / "db"
    records.mkdir()
    ghsa = json.loads((RECORDS / "npm" / "GHSA-3xgq-45jj-v275.json").read_text())
    (records / "ghsa.json").write_text(json.dumps(ghsa))
    cve = dict(ghsa, id="CVE-2024-21538", aliases=["GHSA-3xgq-45jj-v275"], severity=[])
    (records / "cve.json").write_text(json.dumps(cve))
    bom = _bom(
        tmp_path, [{"type": "library", "name": "cross-spawn", "version": "7.0.3", "purl": "pkg:npm/cross-spawn@7.0.3"}]
    )
    _, out = _scan(bom, records)
    (result,) = out["run"]["results"]
    assert result["ruleId"] == "CVE-2024-21538"
    assert result["properties"]["osvIds"] == ["CVE-2024-21538", "GHSA-3xgq-45jj-v275"]
    assert out["run"]["tool"]["driver"]["rules"][0]["properties"]["security-severity"] == "7.5"


def test_unparseable_and_unknown_versions_are_unchecked(tmp_path: Path) -> None:
    bom = _bom(
        tmp_path,
        [
            {
                "type": "library",
                "name": "zlib",
                "version": "x!y",
                "purl": "pkg:apk/alpine/zlib@x!y?distro=alpine-3.23.3",
            },
            {"type": "library", "name": "nover", "purl": "pkg:npm/nover"},
            {"type": "library", "name": "nopurl", "version": "1"},
            {"type": "library", "name": "hexpkg", "version": "1.0.0", "purl": "pkg:swift/github.com/a/b@1.0.0"},
        ],
    )
    _, out = _scan(bom)
    reasons = {u.name: u.reason for u in out["unchecked"]}
    assert reasons["zlib"].startswith("Alpine:v3.23: version 'x!y' is not a valid Alpine version")
    assert reasons["nover"] == "no version" and reasons["nopurl"] == "no purl"
    assert reasons["hexpkg"] == "ecosystem 'swift' is not supported"
    assert out["run"]["results"] == []


def test_an_ecosystem_or_release_without_records_is_unchecked_not_clean(node_alpine_sbom: Path, tmp_path: Path) -> None:
    """A database with no npm record would call every npm package clean: each is listed unchecked instead."""
    alpine_only = tmp_path / "db"
    (alpine_only / "Alpine").mkdir(parents=True)
    for record in (RECORDS / "Alpine").glob("*.json"):
        (alpine_only / "Alpine" / record.name).write_bytes(record.read_bytes())
    _, out = _scan(node_alpine_sbom, alpine_only)
    reasons = {u.purl: u.reason for u in out["unchecked"]}
    npm = [purl for purl in reasons if purl and purl.startswith("pkg:npm/")]
    assert len(npm) > 40 and {reasons[purl] for purl in npm} == {"no advisories for npm in the database"}
    assert {r["properties"]["ecosystem"] for r in out["run"]["results"]} == {"Alpine:v3.23"}  # Alpine still checked
    assert out["run"]["properties"]["checkedComponents"] < 40

    older = _bom(tmp_path, [{"type": "library", "name": "zlib", "version": "1.2.13-r0",
                             "purl": "pkg:apk/alpine/zlib@1.2.13-r0?distro=alpine-3.18.4"}])  # fmt: skip
    _, out = _scan(older)
    assert [(u.name, u.reason) for u in out["unchecked"]] == [
        ("zlib", "no advisories for Alpine:v3.18 in the database")
    ]


def test_has_ecosystem_reads_what_the_records_name() -> None:
    database = OsvDatabase.open(str(RECORDS))
    assert database.has_ecosystem("npm") and database.has_ecosystem("Alpine:v3.23")
    assert not database.has_ecosystem("Alpine:v3.18") and not database.has_ecosystem("PyPI")
    assert database.has_ecosystem("Alpine", ecosystem_is_prefix=True)
    assert not database.has_ecosystem("Alpine") and not database.has_ecosystem("Alp", ecosystem_is_prefix=True)


def test_match_is_usable_directly_and_duplicates_collapse(node_alpine_sbom: Path) -> None:
    from gate.sbom.components import read_inventory

    scanner = OsvScanner(OsvDatabase.open(str(RECORDS)), OsvOptions(db=str(RECORDS)))
    inventory = read_inventory(node_alpine_sbom)
    report = scanner.match(inventory)
    assert isinstance(report, MatchReport)
    doubled = type(inventory)(inventory.components * 2, inventory.operating_system)
    assert scanner.match(doubled).findings == report.findings


def test_registry_and_options(node_alpine_sbom: Path) -> None:
    scanner = get_scanner("osv", {"db": str(RECORDS), "max_download_bytes": 1000})
    assert scanner.name == "osv"
    assert isinstance(scanner, OsvScanner) and scanner.options.download_limits.max_bytes == 1000
    with pytest.raises(InputError, match="needs a database"):
        get_scanner("osv", {})
    with pytest.raises(InputError, match="unknown osv option"):
        get_scanner("osv", {"db": str(RECORDS), "colour": "red"})
    with pytest.raises(InputError, match="unexpected value"):
        get_scanner("osv", {"db": str(RECORDS), "cache_dir": 7})


def test_download_limits_are_options() -> None:
    options = OsvOptions.from_mapping({"db": "x", "max_download_bytes": 1024, "download_deadline_seconds": 5})
    assert options.download_limits.max_bytes == 1024 and options.download_limits.deadline_seconds == 5.0
    assert OsvOptions(db="x").download_limits.max_bytes == 2 * 1024**3
    for key, value in [("max_download_bytes", 0), ("download_deadline_seconds", -1), ("max_download_bytes", True)]:
        with pytest.raises(InputError, match=f"osv option {key}: must be a number above 0"):
            OsvOptions.from_mapping({"db": "x", key: value})
    with pytest.raises(InputError, match="unexpected value"):
        OsvOptions.from_mapping({"db": "x", "max_download_bytes": "2G"})


def test_default_cache_dir_is_never_the_workspace(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_cache_dir({"RUNNER_TEMP": "/home/runner/work/_temp", "XDG_CACHE_HOME": "/x", "HOME": "/h"}) == Path(
        "/home/runner/work/_temp/image-gate-osv"
    )
    assert default_cache_dir({"XDG_CACHE_HOME": "/xdg", "HOME": "/h"}) == Path("/xdg/image-gate")
    assert default_cache_dir({"XDG_CACHE_HOME": "relative", "HOME": "/h"}) == Path("/h/.cache/image-gate")
    assert default_cache_dir({"HOME": "/h", "RUNNER_TEMP": ""}) == Path("/h/.cache/image-gate")
    monkeypatch.setenv("RUNNER_TEMP", "/runner/temp")
    assert OsvOptions(db="x").cache_dir == Path("/runner/temp/image-gate-osv")
    assert OsvOptions.from_mapping({"db": "x"}).cache_dir == Path("/runner/temp/image-gate-osv")
    assert OsvOptions.from_mapping({"db": "x", "cache_dir": "/explicit"}).cache_dir == Path("/explicit")
