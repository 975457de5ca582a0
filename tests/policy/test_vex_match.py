"""VEX applied to findings: product identifiers of an image and a package, which statements suppress, SARIF entries."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.errors import InputError
from gate.policy.sarif import PlatformRun, SarifFinding, build_sarif_log, parse_run, validate_sarif
from gate.policy.vex import VexProduct, VexSet, VexStatement
from gate.policy.vex_match import (
    finding_products,
    image_identifiers,
    image_name,
    load_given_vex,
    sarif_suppression,
    statement_for,
    suppress_results,
)

INDEX = "sha256:" + "1" * 64
CHILD = "sha256:" + "2" * 64
IMAGE = f"ghcr.io/acme/app:1.0@{INDEX}"


def finding(**changes: Any) -> SarifFinding:
    base = SarifFinding(
        id="CVE-2024-0001", rule_id="CVE-2024-0001", aliases=("GHSA-aaaa-bbbb-cccc",), kind="vulnerability",
        score=9.8, label="critical", label_origin="tag", level="error", title="t", package="openssl",
        installed="3.1.0", fixed="3.1.1", location=None, line=None, platform="linux/amd64", image=IMAGE,
        suppressed=False, source="x.sarif", path="$.runs[0].results[0]", purl="pkg:apk/alpine/openssl@3.1.0",
    )  # fmt: skip
    return replace(base, **changes)


def statement(
    product: str, status: str = "not_affected", vulnerability: str = "CVE-2024-0001", **kw: Any
) -> VexStatement:
    return VexStatement(vulnerability, (), (VexProduct(product),), status, source="vex.json", **kw)


def test_image_names_and_identifiers() -> None:
    assert image_name(IMAGE) == "ghcr.io/acme/app"
    assert image_name("127.0.0.1:5000/a/b:tag") == "127.0.0.1:5000/a/b"
    assert image_name("oci:/tmp/layout:v1@" + INDEX) == "oci:/tmp/layout"
    assert image_name(None) is None
    ids = image_identifiers(IMAGE, (CHILD,))
    assert INDEX in ids and CHILD in ids and f"ghcr.io/acme/app@{CHILD}" in ids
    assert any(i.startswith("pkg:oci/app@sha256%3A" + "2" * 10) for i in ids)
    assert "pkg:apk/alpine/openssl@3.1.0" in finding_products(finding(), CHILD)


def test_which_statements_suppress() -> None:
    f = finding()
    for product in (INDEX, CHILD, f"ghcr.io/acme/app@{INDEX}", f"pkg:oci/app@{CHILD}", "pkg:apk/alpine/openssl",
                    "registry.example/mirror@" + CHILD):  # fmt: skip
        assert statement_for(VexSet([statement(product)]), f, CHILD) is not None, product
    for product in ("sha256:" + "3" * 64, "pkg:apk/alpine/openssl@3.0.0", "pkg:npm/openssl", "ghcr.io/acme/app"):
        assert statement_for(VexSet([statement(product)]), f, CHILD) is None, product
    assert statement_for(VexSet([statement(INDEX, "affected")]), f, CHILD) is None
    by_alias = VexSet([statement(INDEX, vulnerability="ghsa-aaaa-bbbb-cccc")])
    assert statement_for(by_alias, f, CHILD) is not None
    later = VexSet([statement(INDEX, timestamp="2025-01-02"), statement(INDEX, "affected", timestamp="2025-01-01")])
    assert statement_for(later, f, CHILD) is not None
    assert statement_for(VexSet([statement(INDEX)]), finding(kind="secret"), CHILD) is None
    assert statement_for(VexSet(), f, CHILD) is None


def test_suppressions_are_valid_sarif_and_name_the_statement() -> None:
    run = {
        "tool": {"driver": {"name": "x", "rules": [{"id": "CVE-2024-0001"}, {"id": "CVE-2024-0002"}]}},
        "results": [
            {"ruleId": "CVE-2024-0001", "message": {"text": "Package: openssl\nInstalled Version: 3.1.0"}},
            {"ruleId": "CVE-2024-0002", "message": {"text": "Package: openssl\nInstalled Version: 3.1.0"}},
        ],
    }
    log = build_sarif_log([PlatformRun(run, IMAGE, "linux/amd64", CHILD)], repository="ghcr.io/acme/app")
    target = log["runs"][0]
    vex = VexSet([statement(CHILD, "fixed", justification="patched in our build")])
    assert suppress_results(target, parse_run(target, source="s").findings, vex) == 1
    validate_sarif(log, "log")
    entry = target["results"][0]["suppressions"][0]
    assert entry["kind"] == "external" and entry["status"] == "accepted"
    assert "fixed" in entry["justification"] and "patched in our build" in entry["justification"]
    assert "suppressions" not in target["results"][1]
    assert parse_run(target, source="s").findings[0].suppressed


@given(st.text(max_size=200))
def test_suppression_justification_is_bounded(text: str) -> None:
    entry = sarif_suppression(statement(INDEX, justification=text))
    assert len(entry["justification"]) <= 1000


def test_an_oci_product_of_another_repository_does_not_suppress() -> None:
    # Measured: a product pkg:oci/other-org/app suppressed findings in any repository named app.
    f = finding()
    for product in ("pkg:oci/other-org/app", "pkg:oci/app?repository_url=quay.io/other-org/app"):
        assert statement_for(VexSet([statement(product)]), f, CHILD) is None, product
    for product in ("pkg:oci/app", "pkg:oci/acme/app", "pkg:oci/app?repository_url=ghcr.io/acme/app"):
        assert statement_for(VexSet([statement(product)]), f, CHILD) is not None, product


def test_a_suppression_names_its_origin_and_whether_it_was_verified() -> None:
    found = replace(statement(CHILD), source="ghcr.io/acme/app@sha256:feed")
    attached = VexSet([found]).attached(CHILD, verified=False)
    entry = sarif_suppression(attached.statements[0])
    assert entry["properties"]["vexOrigin"] == "attached" and entry["properties"]["vexVerified"] is False
    assert entry["justification"].endswith("(ghcr.io/acme/app@sha256:feed, attached, signature not verified)")
    verified = VexSet([statement(CHILD)]).attached(CHILD, verified=True).statements[0]
    assert sarif_suppression(verified)["justification"].endswith(", attached, signature verified)")
    from_file = sarif_suppression(statement(CHILD))
    assert from_file["properties"]["vexOrigin"] == "file" and from_file["properties"]["vexVerified"] is None
    assert from_file["justification"].endswith("(vex.json)")


def test_no_vex_with_vex_files_is_bad_input_naming_both() -> None:
    with pytest.raises(InputError) as info:
        load_given_vex(["ops/app.openvex.json"], use_vex=False)
    assert info.value.exit_code == 2
    assert info.value.message.startswith(
        "--no-vex (input vex: false) and --vex (input vex_files: ops/app.openvex.json) contradict each other"
    )
    assert load_given_vex([], use_vex=False) is None
    given = load_given_vex([], use_vex=True)
    assert given is not None and len(given) == 0
