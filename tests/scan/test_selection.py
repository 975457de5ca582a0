"""Which SBOMs the scan uses, without a verification policy (issue 10 §2, issue 11 §1): every SBOM that counts is
scanned and the findings merged ("newest wins" let anyone who can push decide), an empty SBOM blocks, cosign's
legacy ``.att`` tags are found, and ``auto`` picks CycloneDX, else SPDX, per platform, falling back to an SBOM
attested on the index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.policy.verdict import GateOptions
from gate.scan.outcome import scan_outcome
from gate.scan.summary import render
from tests.attest.verify.cosign_tool import CosignKeys, make_keys
from tests.scan.signed import attach_unsigned_sbom, cosign_attest, empty_sbom, predicate_file, vulnerable_sbom
from tests.scan.test_stage import HIGH, PLATFORMS, rows, scan
from tests.support.images import CYCLONEDX, SPDX, attach_sbom, build_image, cyclonedx_sbom
from tests.support.registries import Registry


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> CosignKeys:
    return make_keys(tmp_path_factory.mktemp("cosign-keys"), ("p256",))


def test_a_newer_unsigned_empty_sbom_no_longer_wins(any_registry: Registry, unique_repo: str, tmp_path: Path) -> None:
    """Measured: a newer SBOM referrer with no components made the blocked image pass."""
    image = build_image(any_registry, unique_repo)
    real = {p: attach_sbom(any_registry, unique_repo, d) for p, d in image.children.items()}
    empty = {p: attach_unsigned_sbom(any_registry, unique_repo, d, empty_sbom()) for p, d in image.children.items()}

    outcome = scan(image.ref, tmp_path)
    document = outcome.to_json()
    assert document["verdict"] == "fail"
    for platform, row in rows(outcome).items():
        assert row["blocking_ids"] == [HIGH]  # the real SBOM's finding still blocks
        assert [s["attestation"] for s in row["sboms"]] == [empty[platform].digest, real[platform].digest]
        assert row["sbom_attestation"] == empty[platform].digest and row["empty_sboms"] == 1
        assert (
            row["reason"] == f"empty SBOM: {empty[platform].digest} lists no components (allow_empty_sbom lets it pass)"
        )
    assert document["attestations_verified"] is False and document["unverified_attestations"] == []
    summary = render(outcome)
    assert "The attestations were not verified" in summary and "0 (empty)" in summary
    assert scan_outcome(outcome).outputs["attestations_verified"] == "false"
    assert any("attestations were not verified" in line for line in scan_outcome(outcome).messages)

    allowed = scan(image.ref, tmp_path, allow_empty_sbom=True).to_json()
    assert allowed["verdict"] == "fail" and {b["id"] for b in allowed["blocking"]} == {HIGH}
    assert all(row["reason"] is None for row in allowed["platforms"])
    assert any("empty SBOM" in note and "allowed" in note for note in allowed["notes"])


def test_an_in_index_attestation_and_an_empty_referrer(
    any_registry: Registry, unique_repo: str, tmp_path: Path
) -> None:
    """Measured: with the real SBOM in the index (covered by the image digest), an empty referrer of any date won."""
    image = build_image(any_registry, unique_repo, buildkit_attestations=True, sbom_predicate=CYCLONEDX)
    for digest in image.children.values():
        attach_unsigned_sbom(any_registry, unique_repo, digest, empty_sbom())
    outcome = scan(image.ref, tmp_path, allow_empty_sbom=True)
    assert outcome.verdict == "fail"
    for platform, row in rows(outcome).items():
        assert row["blocking_ids"] == [HIGH]
        assert [s["source"] for s in row["sboms"]] == ["referrer", "in-index"]
        assert row["sboms"][1]["attestation"] == image.attestations[platform]


def test_several_sboms_are_merged_and_each_finding_names_its_sboms(
    referrers_registry: Registry, unique_repo: str, tmp_path: Path
) -> None:
    image = build_image(referrers_registry, unique_repo, platforms=("linux/amd64",), index=False)
    first = attach_sbom(referrers_registry, unique_repo, image.digest, sbom=cyclonedx_sbom(seed=1))
    second = attach_sbom(referrers_registry, unique_repo, image.digest, sbom=cyclonedx_sbom(seed=2))
    only_lodash = {
        **cyclonedx_sbom(seed=3),
        "components": [c for c in cyclonedx_sbom()["components"] if c["name"] == "lodash"],
    }
    third = attach_sbom(referrers_registry, unique_repo, image.digest, sbom=only_lodash)

    document = scan(image.ref, tmp_path).to_json()
    (row,) = document["platforms"]
    assert len(row["sboms"]) == 3 and row["components"] == 7 + 7 + 1
    everywhere = sorted([first.digest, second.digest, third.digest])
    (blocking,) = document["blocking"]  # once per vulnerability and package, not once per SBOM
    assert blocking["id"] == HIGH and sorted(blocking["sboms"]) == everywhere
    written = json.loads(Path(document["sarif_file"]).read_text())
    (run,) = written["runs"]
    assert sorted(run["properties"]["sbomAttestations"]) == everywhere
    by_rule: dict[tuple[str, str], list[str]] = {}
    for result in run["results"]:
        by_rule[(result["ruleId"], result["properties"]["package"])] = sorted(result["properties"]["sbomAttestations"])
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    assert by_rule[(HIGH, "lodash")] == everywhere
    assert by_rule[("CVE-2024-29041", "express")] == sorted([first.digest, second.digest])  # not in the third
    assert len(run["results"]) == len(by_rule)


def test_an_sbom_with_no_components_blocks_unless_allowed(
    distribution_registry: Registry, unique_repo: str, tmp_path: Path
) -> None:
    image = build_image(distribution_registry, unique_repo, platforms=("linux/amd64",), index=False)
    empty = attach_sbom(distribution_registry, unique_repo, image.digest, sbom=empty_sbom())
    blocked = scan(image.ref, tmp_path).to_json()
    assert blocked["verdict"] == "fail" and blocked["blocking"] == []
    assert blocked["platforms"][0]["reason"].startswith(f"empty SBOM: {empty.digest} lists no components")
    allowed = scan(image.ref, tmp_path, allow_empty_sbom=True).to_json()
    assert allowed["verdict"] == "pass" and allowed["platforms"][0]["empty_sboms"] == 1


@pytest.mark.slow
@pytest.mark.parametrize("legacy", [True, False], ids=["legacy-att-tag", "bundle"])
def test_cosign_attestations_are_found_in_both_formats(
    any_registry: Registry, unique_repo: str, tmp_path: Path, keys: CosignKeys, legacy: bool
) -> None:
    """Measured: cosign's legacy sha256-<hex>.att attestations were copied by mirror and promote, but scan said
    "no SBOM"."""
    image = build_image(any_registry, unique_repo)
    predicate = predicate_file(tmp_path, "sbom", vulnerable_sbom())
    for digest in image.children.values():
        cosign_attest(any_registry, unique_repo, digest, keys, predicate, legacy=legacy)
    outcome = scan(image.ref, tmp_path)
    for platform, row in rows(outcome).items():
        assert row["sbom"] is True and row["blocking_ids"] == [HIGH]
        assert row["sbom_source"] == ("cosign-tag" if legacy else "referrer")
        assert row["sbom_envelope"] == ("dsse" if legacy else "sigstore-bundle")
        assert row["sbom_verified"] is False and row["sbom_signer"] is None  # found, not verified (no policy)
        assert row["digest"] == image.child(platform)


def test_auto_selects_spdx_when_an_image_has_no_cyclonedx(
    any_registry: Registry, unique_repo: str, tmp_path: Path
) -> None:
    """Measured: Docker Official Images carry SPDX in-index attestations and blocked with the old default."""
    image = build_image(any_registry, unique_repo, buildkit_attestations=True, sbom_predicate=SPDX)
    outcome = scan(image.ref, tmp_path)
    assert outcome.to_json()["predicate_type"] == "auto"
    for row in rows(outcome).values():
        assert row["sbom"] is True and row["bom_format"] == "spdx" and row["sbom_source"] == "in-index"
        assert row["blocking_ids"] == [HIGH]

    explicit = rows(scan(image.ref, tmp_path, sbom_predicate_type="cyclonedx"))
    for row in explicit.values():
        assert row["sbom"] is False
        # the message names what was found and the value that selects it
        assert f"{SPDX}, which sbom_predicate_type spdx (or auto) selects" in row["reason"]


def test_auto_prefers_cyclonedx_per_platform(distribution_registry: Registry, unique_repo: str, tmp_path: Path) -> None:
    image = build_image(distribution_registry, unique_repo)
    amd64, arm64 = image.child("linux/amd64"), image.child("linux/arm64")
    both = [
        attach_sbom(distribution_registry, unique_repo, amd64, predicate_type=SPDX),
        attach_sbom(distribution_registry, unique_repo, amd64, predicate_type=CYCLONEDX),
    ]
    spdx_only = attach_sbom(distribution_registry, unique_repo, arm64, predicate_type=f"{SPDX}/v2.3")
    found = rows(scan(image.ref, tmp_path))
    assert [s["attestation"] for s in found["linux/amd64"]["sboms"]] == [both[1].digest]
    assert found["linux/amd64"]["bom_format"] == "cyclonedx"
    assert [s["attestation"] for s in found["linux/arm64"]["sboms"]] == [spdx_only.digest]
    assert found["linux/arm64"]["bom_format"] == "spdx"
    spdx = rows(scan(image.ref, tmp_path, sbom_predicate_type="spdx"))  # an explicit value still restricts
    assert [s["attestation"] for s in spdx["linux/amd64"]["sboms"]] == [both[0].digest]


def test_an_sbom_attested_on_the_index_serves_the_platforms_nothing_else_names(
    any_registry: Registry, unique_repo: str, tmp_path: Path
) -> None:
    """Measured: `cosign attest IMAGE:tag` on a multi-platform tag attaches to the index; every platform said
    "no referrers"."""
    image = build_image(any_registry, unique_repo)
    on_index = attach_sbom(any_registry, unique_repo, image.digest)
    found = rows(scan(image.ref, tmp_path))
    for platform in PLATFORMS:
        assert found[platform]["sbom_attestation"] == on_index.digest and found[platform]["sbom_subject"] == "index"
        assert found[platform]["blocking_ids"] == [HIGH]
    own = attach_sbom(any_registry, unique_repo, image.child("linux/arm64"), sbom=empty_sbom())
    found = rows(scan(image.ref, tmp_path, allow_empty_sbom=True, gate=GateOptions(severity_threshold="critical")))
    assert (found["linux/arm64"]["sbom_attestation"], found["linux/arm64"]["sbom_subject"]) == (own.digest, "platform")
    assert found["linux/amd64"]["sbom_subject"] == "index"
    written = json.loads(Path(scan(image.ref, tmp_path).to_json()["sarif_file"]).read_text())
    assert [run["properties"]["sbomSubject"] for run in written["runs"]] == ["index", "platform"]
