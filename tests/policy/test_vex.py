"""VEX documents (OpenVEX bare and attested, CycloneDX VEX) and matching findings to statements."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from gate.errors import InputError
from gate.policy.vex import VexSet, identifier_matches, load_vex, load_vex_files, parse_vex

DIGEST = "sha256:" + "ab" * 32
IMAGE_PURL = f"pkg:oci/vulnerable-app@sha256%3A{'ab' * 32}?repository_url=registry.example/team/vulnerable-app"
CROSS_SPAWN = "pkg:npm/cross-spawn@7.0.3"
ZLIB = "pkg:apk/alpine/zlib@1.3.1-r2?arch=x86_64&distro=alpine-3.23.3"


def openvex(*statements: dict[str, Any], context: str = "https://openvex.dev/ns/v0.2.0") -> dict[str, Any]:
    return {
        "@context": context,
        "@id": "https://example.test/vex/1",
        "author": "platform team",
        "timestamp": "2026-03-01T00:00:00Z",
        "version": 1,
        "statements": list(statements),
    }


NOT_AFFECTED_ZLIB = {
    "vulnerability": {"name": "CVE-2026-22184", "aliases": ["ALPINE-CVE-2026-22184"]},
    "products": [{"@id": IMAGE_PURL, "subcomponents": [{"@id": "pkg:apk/alpine/zlib@1.3.1-r2"}]}],
    "status": "not_affected",
    "justification": "vulnerable_code_not_present",
    "impact_statement": "untgz is a contrib demo, not built",
}


def test_openvex_not_affected_suppresses_for_the_image_and_package() -> None:
    vex = parse_vex(openvex(NOT_AFFECTED_ZLIB), "mem")
    statement = vex.match("CVE-2026-22184", [], [DIGEST, IMAGE_PURL, ZLIB])
    assert statement is not None and statement.suppresses
    assert statement.justification == "vulnerable_code_not_present"
    assert statement.impact == "untgz is a contrib demo, not built"
    # by alias, and with the image digest instead of its purl
    assert vex.match("ALPINE-CVE-2026-22184", [], [DIGEST, ZLIB]) == statement
    assert vex.match("GHSA-none", ["cve-2026-22184"], [DIGEST, ZLIB]) == statement


def test_subcomponent_scopes_the_statement_to_that_package() -> None:
    vex = parse_vex(openvex(NOT_AFFECTED_ZLIB), "mem")
    assert vex.match("CVE-2026-22184", [], [DIGEST, IMAGE_PURL, CROSS_SPAWN]) is None
    other_image = "sha256:" + "cd" * 32
    assert vex.match("CVE-2026-22184", [], [other_image, ZLIB]) is None
    assert vex.match("CVE-2026-27171", [], [DIGEST, ZLIB]) is None


@pytest.mark.parametrize(("status", "suppresses"), [("not_affected", True), ("fixed", True), ("affected", False), ("under_investigation", False)])  # fmt: skip
def test_statuses(status: str, suppresses: bool) -> None:
    statement = {"vulnerability": {"name": "CVE-2024-21538"}, "products": [{"@id": CROSS_SPAWN}], "status": status}
    if status == "not_affected":
        statement["justification"] = "vulnerable_code_not_in_execute_path"
    match = parse_vex(openvex(statement), "mem").match("GHSA-3xgq-45jj-v275", ["CVE-2024-21538"], [CROSS_SPAWN])
    assert match is not None and match.status == status and match.suppresses is suppresses


def test_latest_statement_wins() -> None:
    older = {"vulnerability": {"name": "CVE-1"}, "products": [{"@id": DIGEST}], "status": "not_affected",
             "timestamp": "2026-01-01T00:00:00Z"}  # fmt: skip
    newer = dict(older, status="affected", timestamp="2026-02-01T00:00:00Z")
    vex = parse_vex(openvex(newer, older), "mem")
    match = vex.match("CVE-1", [], [DIGEST])
    assert match is not None and match.status == "affected"


def test_the_operators_file_wins_over_an_attached_document_whatever_the_timestamps() -> None:
    # Measured: an attached VEX dated 9999 overrode the operator's own --vex saying affected.
    mine = {"vulnerability": {"name": "CVE-1"}, "products": [{"@id": DIGEST}], "status": "affected",
            "timestamp": "2026-01-01T00:00:00Z"}  # fmt: skip
    theirs = dict(mine, status="not_affected", justification="component_not_present", timestamp="9999-12-31T00:00:00Z")
    operator = parse_vex(openvex(mine), "mine.json")
    attached = parse_vex(openvex(theirs), "registry/app@sha256:feed").attached(DIGEST, verified=False)
    for combined in (operator + attached, attached + operator):
        match = combined.match("CVE-1", [], [DIGEST])
        assert match is not None and match.status == "affected" and match.origin == "file"
    # Where the operator says nothing, the attached statement applies (the latest among attached ones).
    alone = attached.match("CVE-1", [], [DIGEST])
    assert alone is not None and alone.origin == "attached" and alone.verified is False and alone.suppresses


def test_an_attached_statement_applies_only_to_the_manifest_it_is_attached_to() -> None:
    product = {"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "pkg:npm/minimist"}], "status": "fixed"}
    other_platform = "sha256:" + "cd" * 32
    attached = parse_vex(openvex(product), "referrer").attached(other_platform, verified=True)
    assert attached.match("CVE-1", [], [DIGEST, "pkg:npm/minimist@1.2.5"]) is None
    assert attached.match("CVE-1", [], [DIGEST, other_platform.upper(), "pkg:npm/minimist@1.2.5"]) is not None
    as_file = parse_vex(openvex(product), "file")  # the operator's: wherever its products are found
    assert as_file.match("CVE-1", [], [DIGEST, "pkg:npm/minimist@1.2.5"]) is not None


def test_openvex_v001_string_forms() -> None:
    statement = {"vulnerability": "CVE-2021-44906", "products": [DIGEST], "subcomponents": ["pkg:npm/minimist"],
                 "status": "fixed"}  # fmt: skip
    vex = parse_vex(openvex(statement, context="https://openvex.dev/ns"), "mem")
    assert vex.match("CVE-2021-44906", [], [DIGEST, "pkg:npm/minimist@1.2.5"]) is not None
    assert vex.match("CVE-2021-44906", [], [DIGEST, "pkg:npm/other@1.2.5"]) is None


def test_openvex_inside_an_in_toto_statement_and_dsse_envelope() -> None:
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "vulnerable-app", "digest": {"sha256": "ab" * 32}}],
        "predicateType": "https://openvex.dev/ns/v0.2.0",
        "predicate": openvex(NOT_AFFECTED_ZLIB),
    }
    assert len(parse_vex(statement, "statement")) == 1
    envelope = {
        "payloadType": "application/vnd.in-toto+json",
        "payload": base64.b64encode(json.dumps(statement).encode()).decode(),
        "signatures": [],
    }
    assert parse_vex(envelope, "dsse").match("CVE-2026-22184", [], [DIGEST, ZLIB]) is not None
    other = dict(statement, predicateType="https://slsa.dev/provenance/v1", predicate={"buildDefinition": {}})
    with pytest.raises(InputError, match="is not VEX"):
        parse_vex(other, "prov")


def test_cyclonedx_vex_states_and_bom_refs() -> None:
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "components": [
            {"bom-ref": "zlib-ref", "type": "library", "name": "zlib", "purl": "pkg:apk/alpine/zlib@1.3.1-r2"}
        ],
        "vulnerabilities": [
            {
                "id": "CVE-2026-22184",
                "references": [{"id": "ALPINE-CVE-2026-22184", "source": {"name": "OSV"}}],
                "analysis": {"state": "not_affected", "justification": "code_not_reachable", "detail": "not built"},
                "affects": [{"ref": "zlib-ref"}],
            },
            {"id": "CVE-2026-27171", "analysis": {"state": "resolved"}, "affects": [{"ref": "pkg:apk/alpine/zlib"}]},
            {"id": "CVE-2024-21538", "analysis": {"state": "in_triage"}, "affects": [{"ref": CROSS_SPAWN}]},
            {"id": "CVE-2099-0001", "ratings": []},
        ],
    }
    vex = parse_vex(document, "cdx")
    assert len(vex) == 3
    first = vex.match("ALPINE-CVE-2026-22184", [], [ZLIB])
    assert first is not None and first.status == "not_affected" and first.justification == "code_not_reachable"
    second = vex.match("CVE-2026-27171", [], [ZLIB])
    assert second is not None and second.status == "fixed" and second.suppresses
    third = vex.match("CVE-2024-21538", [], [CROSS_SPAWN])
    assert third is not None and not third.suppresses


@pytest.mark.parametrize(
    ("pattern", "identifier", "expected"),
    [
        (DIGEST, DIGEST.upper().replace("SHA256", "sha256"), True),
        (IMAGE_PURL, DIGEST, True),
        (DIGEST, f"pkg:oci/other-name@sha256%3A{'ab' * 32}", True),
        (f"pkg:oci/vulnerable-app@sha256%3A{'ab' * 32}?tag=v1", IMAGE_PURL, True),
        ("pkg:npm/cross-spawn", CROSS_SPAWN, True),
        ("pkg:npm/cross-spawn@7.0.5", CROSS_SPAWN, False),
        ("pkg:apk/alpine/zlib@1.3.1-r2?arch=x86_64", ZLIB, True),
        ("pkg:apk/alpine/zlib@1.3.1-r2?arch=aarch64", ZLIB, False),
        ("pkg:apk/alpine/zlib@1.3.1-r2?arch=x86_64", "pkg:apk/alpine/zlib@1.3.1-r2", True),
        ("pkg:npm/cross-spawn", "pkg:pypi/cross-spawn@7.0.3", False),
        ("not a purl", "not a purl", True),
        ("sha256:00", "pkg:npm/x@1", False),
    ],
)
def test_identifier_matching(pattern: str, identifier: str, expected: bool) -> None:
    assert identifier_matches(pattern, identifier) is expected


APP = f"pkg:oci/app@sha256%3A{'ab' * 32}?repository_url=ghcr.io/acme/app"  # how the gate names an image
DEBIAN = f"pkg:oci/debian@sha256%3A{'ab' * 32}?repository_url=docker.io/library/debian"


@pytest.mark.parametrize(
    ("pattern", "identifier", "expected"),
    [
        ("pkg:oci/other-org/app", APP, False),  # measured: matched any repository named app
        ("pkg:oci/app?repository_url=ghcr.io/other-org/app", APP, False),
        ("pkg:oci/app?repository_url=quay.io/acme/app", APP, False),
        ("pkg:oci/acme/app", APP, True),  # a namespace (not in the spec) that says the same place
        ("pkg:oci/app?repository_url=ghcr.io/acme/app", APP, True),
        ("pkg:oci/app?repository_url=https://GHCR.io/acme/app/", APP, True),
        ("pkg:oci/app?repository_url=ghcr.io/acme/app&tag=v1", APP, True),
        ("pkg:oci/acme/app?repository_url=ghcr.io/acme/app", APP, True),
        ("pkg:oci/other/app?repository_url=ghcr.io/acme/app", APP, False),
        ("pkg:oci/app", APP, True),  # no place given: any repository named app, as the spec says
        ("pkg:oci/other", APP, False),
        ("pkg:oci/app?repository_url=ghcr.io/acme/app", f"pkg:oci/app@sha256%3A{'ab' * 32}", False),
        ("pkg:oci/debian?repository_url=index.docker.io/debian", DEBIAN, True),  # one Docker Hub, spelt two ways
        ("pkg:oci/library/debian", DEBIAN, True),
        # A digest names content, wherever it lives: a copy in another repository is the same image.
        (f"pkg:oci/app@sha256%3A{'ab' * 32}?repository_url=ghcr.io/other-org/app", APP, True),
        (f"pkg:oci/other-org/app@sha256%3A{'ab' * 32}", APP, True),
        (f"pkg:oci/app@sha256%3A{'cd' * 32}?repository_url=ghcr.io/acme/app", APP, False),
    ],
)
def test_oci_purls_match_on_where_the_image_lives(pattern: str, identifier: str, expected: bool) -> None:
    assert identifier_matches(pattern, identifier) is expected


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "expected a JSON object"),
        ({"hello": 1}, "neither OpenVEX"),
        (openvex() | {"statements": None}, "no 'statements' list"),
        (openvex("x"), r"statements\[0\] is not an object"),
        (openvex({"vulnerability": {}, "products": [DIGEST], "status": "fixed"}), "has no name"),
        (openvex({"vulnerability": "CVE-1", "products": [DIGEST], "status": "maybe"}), "status 'maybe'"),
        (openvex({"vulnerability": "CVE-1", "products": [], "status": "fixed"}), "non-empty list"),
        (openvex({"vulnerability": "CVE-1", "products": [{}], "status": "fixed"}), "no @id"),
        ({"bomFormat": "CycloneDX"}, "no 'vulnerabilities' list"),
        ({"bomFormat": "CycloneDX", "vulnerabilities": [{}]}, "has no id"),
        ({"bomFormat": "CycloneDX", "vulnerabilities": [{"id": "C", "analysis": {"state": "meh"}}]}, "state 'meh'"),
        ({"bomFormat": "CycloneDX", "vulnerabilities": [{"id": "C", "analysis": {"state": "resolved"}}]}, "names no product"),
    ],
)  # fmt: skip
def test_malformed_vex_is_an_input_error(document: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_vex(document, "mem")


def test_files(tmp_path: Path) -> None:
    one = tmp_path / "one.openvex.json"
    one.write_text(json.dumps(openvex(NOT_AFFECTED_ZLIB)))
    two = tmp_path / "two.json"
    two.write_text(json.dumps(openvex({"vulnerability": "CVE-2", "products": [DIGEST], "status": "fixed"})))
    combined = load_vex_files([one, two])
    assert len(combined) == 2 and isinstance(combined, VexSet)
    assert combined.statements[0].source == str(one)
    assert combined.statements[0].to_json()["status"] == "not_affected"
    with pytest.raises(InputError, match="cannot read"):
        load_vex(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(InputError, match="not JSON"):
        load_vex(bad)


def test_a_vex_file_over_the_cap_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gate.policy.vex as vex_module

    monkeypatch.setattr(vex_module, "MAX_VEX_BYTES", 16)
    big = tmp_path / "big.openvex.json"
    big.write_text('{"@context": "https://openvex.dev/ns/v0.2.0", "statements": []}')
    with pytest.raises(InputError, match=r"big\.openvex\.json: the VEX file is larger than"):
        vex_module.load_vex(big)
