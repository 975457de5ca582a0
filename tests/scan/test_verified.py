"""Verified mode at scan level (issue 10 §1): with a key or an identity, an SBOM counts only when its signature
verifies and its signed subject names the digest it is used for; an in-index attestation only when the index is
signed. Everything else is left out and listed, and the verdict is what the signed SBOMs say. cosign v3.1.3
signs (both formats, on both test registries); the forgeries are made from its output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gate.attest.verify.policy import VerificationPolicy
from gate.markdown import md_code
from gate.policy.verdict import GateOptions
from gate.scan.outcome import scan_outcome
from gate.scan.summary import render
from tests.attest.verify.cosign_tool import SIGN_FLAGS, CosignKeys, cosign, make_keys, sign
from tests.scan.signed import (
    add_att_layer,
    att_layers,
    attach_bundle,
    attach_unsigned_sbom,
    bundle_of,
    clean_sbom,
    cosign_attest,
    empty_sbom,
    key_policy,
    predicate_file,
    vulnerable_sbom,
    with_payload,
    without_signatures,
)
from tests.scan.test_stage import HIGH, PLATFORMS, rows, scan
from tests.support.images import CYCLONEDX, SPDX, BuiltImage, attach_vex, build_image, spdx_sbom
from tests.support.registries import Registry

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> CosignKeys:
    return make_keys(tmp_path_factory.mktemp("cosign-keys"), ("p256", "other"))


def fingerprint(keys: CosignKeys, kind: str = "p256") -> str:
    return key_policy(keys, kind).keys[0].fingerprint


def reasons(document: dict[str, Any]) -> dict[str, str]:
    """Each left-out attestation manifest's reason."""
    return {item["digest"]: item["reason"] for item in document["unverified_attestations"]}


def _signed_image(
    registry: Registry, repo: str, folder: Path, keys: CosignKeys, legacy: bool
) -> tuple[BuiltImage, dict[str, str]]:
    """An image whose real SBOMs cosign signed, each platform with a newer unsigned empty SBOM attached:
    the reference and, per platform, the empty SBOM's referrer."""
    image = build_image(registry, repo)
    predicate = predicate_file(folder, "sbom", vulnerable_sbom())
    for digest in image.children.values():
        cosign_attest(registry, repo, digest, keys, predicate, legacy=legacy)
    empty = {p: attach_unsigned_sbom(registry, repo, d, empty_sbom()).digest for p, d in image.children.items()}
    return image, empty


@pytest.mark.parametrize("legacy", [False, True], ids=["bundle", "legacy"])
def test_signed_sboms_still_block_after_an_unsigned_empty_sbom_is_attached(
    any_registry: Registry, unique_repo: str, tmp_path: Path, keys: CosignKeys, legacy: bool
) -> None:
    image, empty = _signed_image(any_registry, unique_repo, tmp_path, keys, legacy)
    outcome = scan(image.ref, tmp_path, verification=key_policy(keys))
    document = outcome.to_json()
    assert document["verdict"] == "fail" and document["attestations_verified"] is True
    assert document["verification"]["keys"] == [fingerprint(keys)]
    for platform, row in rows(outcome).items():
        assert row["blocking_ids"] == [HIGH] and row["reason"] is None  # no "empty SBOM": it did not count
        assert row["sbom_verified"] is True and row["sbom_signer"] == fingerprint(keys)
        assert row["sbom_source"] == ("cosign-tag" if legacy else "referrer") and len(row["sboms"]) == 1
        assert reasons(document)[empty[platform]] == "untrusted-key"
    assert {item["platform"] for item in document["unverified_attestations"]} == set(PLATFORMS)
    gated = scan_outcome(outcome)
    assert gated.outputs["attestations_verified"] == "true"
    (notice,) = [a for a in gated.annotations if a.level == "notice"]
    assert notice.message.startswith("2 attestation(s) of")
    summary = render(outcome)
    assert "Attestations verified" in summary and md_code(fingerprint(keys)) in summary
    assert "Attestations left out of the verdict" in summary and "untrusted-key" in summary


@pytest.mark.parametrize("legacy", [False, True], ids=["bundle", "legacy"])
def test_done_when_signed_sboms_still_block_after_an_unsigned_empty_sbom_and_an_unsigned_vex_are_attached(
    any_registry: Registry, unique_repo: str, tmp_path: Path, keys: CosignKeys, legacy: bool
) -> None:
    """Issue 10, done when: a scan with --attestation-key of an image whose real SBOMs are cosign-signed still
    blocks on their findings after an unsigned empty SBOM and an unsigned not_affected VEX are attached, in both
    cosign formats. The VEX half rests on attached VEX being verified too (issue 10 §3, gate/attest/vex_referrers.py)."""
    image, _ = _signed_image(any_registry, unique_repo, tmp_path, keys, legacy)
    attach_vex(any_registry, unique_repo, image.digest, HIGH)
    (tmp_path / "unverified").mkdir()
    before = scan(image.ref, tmp_path / "unverified", allow_empty_sbom=True).to_json()
    assert before["verdict"] == "pass" and before["suppressed"]  # unverified, the attacker's VEX wins
    document = scan(image.ref, tmp_path, verification=key_policy(keys)).to_json()
    assert document["verdict"] == "fail" and document["suppressed"] == []
    assert {b["id"] for b in document["blocking"]} == {HIGH}
    assert all(row["blocking_ids"] == [HIGH] and row["sbom_verified"] for row in document["platforms"])


def test_a_key_that_signed_nothing_leaves_no_platform_verified(
    any_registry: Registry, unique_repo: str, tmp_path: Path, keys: CosignKeys
) -> None:
    image = build_image(any_registry, unique_repo)
    predicate = predicate_file(tmp_path, "sbom", vulnerable_sbom())
    for digest in image.children.values():
        cosign_attest(any_registry, unique_repo, digest, keys, predicate, legacy=False)
    stranger = key_policy(keys, "other")
    for gate in (GateOptions(), GateOptions(allow_missing_sbom=True)):
        outcome = scan(image.ref, tmp_path, verification=stranger, gate=gate)
        document = outcome.to_json()
        assert document["verdict"] == "fail" and document["blocking"] == []
        for row in rows(outcome).values():
            assert row["sbom"] is False and row["sbom_verified"] is False and row["sbom_signer"] is None
            assert row["reason"].startswith("no SBOM: no verified SBOM: 1 SBOM attestation(s) found")
        blocked = f"no verified SBOM for {md_code('linux/amd64')}, {md_code('linux/arm64')}, which block"
        assert blocked in render(outcome)
        assert set(reasons(document).values()) == {"untrusted-key"} and len(reasons(document)) == 2


@pytest.mark.parametrize("legacy", [False, True], ids=["bundle", "legacy"])
def test_the_forgery_matrix_is_left_out_and_listed_and_the_verdict_is_the_signed_sboms(
    any_registry: Registry, unique_repo: str, tmp_path: Path, keys: CosignKeys, legacy: bool
) -> None:
    image = build_image(any_registry, unique_repo)
    amd64, arm64 = image.child("linux/amd64"), image.child("linux/arm64")
    elsewhere = build_image(any_registry, unique_repo, "elsewhere", seed=7).child("linux/amd64")
    clean = predicate_file(tmp_path, "clean", clean_sbom())
    bad = predicate_file(tmp_path, "bad", vulnerable_sbom())
    for digest in (arm64, elsewhere, image.digest):  # genuine and vulnerable, but about something else
        cosign_attest(any_registry, unique_repo, digest, keys, bad, legacy=legacy)
    cosign_attest(any_registry, unique_repo, amd64, keys, clean, legacy=legacy)
    expected: dict[str, str] = {}  # forgery -> reason
    if legacy:
        genuine_layer, genuine_blob = att_layers(any_registry, unique_repo, amd64)[0]
        changed = with_payload({"dsseEnvelope": json.loads(genuine_blob)}, vulnerable_sbom())["dsseEnvelope"]
        add_att_layer(
            any_registry, unique_repo, amd64, genuine_layer, json.dumps({**changed, "signatures": []}).encode()
        )
        add_att_layer(any_registry, unique_repo, amd64, genuine_layer, json.dumps(changed).encode())
        for source in (arm64, elsewhere, image.digest):
            layer, blob = att_layers(any_registry, unique_repo, source)[0]
            add_att_layer(any_registry, unique_repo, amd64, layer, blob)
        cosign_attest(any_registry, unique_repo, amd64, keys, bad, legacy=True, kind="other")
        layers = [layer["digest"] for layer, _ in att_layers(any_registry, unique_repo, amd64)]
        assert layers[0] == genuine_layer["digest"] and len(layers) == 7
        names = ["unsigned", "payload-changed", "other-platform", "other-image", "index", "other-key"]
        expected = dict(zip(layers[1:], names, strict=True))
    else:
        _, genuine = bundle_of(any_registry, unique_repo, amd64)
        vulnerable = with_payload(genuine, vulnerable_sbom())
        for name, bundle in (
            ("unsigned", without_signatures(vulnerable)),
            ("payload-changed", vulnerable),
            ("other-platform", bundle_of(any_registry, unique_repo, arm64)[1]),
            ("other-image", bundle_of(any_registry, unique_repo, elsewhere)[1]),
            ("index", bundle_of(any_registry, unique_repo, image.digest)[1]),
        ):
            expected[attach_bundle(any_registry, unique_repo, amd64, bundle).digest] = name
        before = set(_referrer_digests(any_registry, unique_repo, amd64))
        cosign_attest(any_registry, unique_repo, amd64, keys, bad, legacy=False, kind="other")
        (other,) = set(_referrer_digests(any_registry, unique_repo, amd64)) - before
        expected[other] = "other-key"
    reason_of = {
        "unsigned": "unsigned",
        "payload-changed": "invalid-signature" if not legacy else "untrusted-key",
        "other-platform": "subject-mismatch",
        "other-image": "subject-mismatch",
        "index": "subject-mismatch",
        "other-key": "untrusted-key",
    }

    (tmp_path / "unverified").mkdir()
    unverified = scan(image.ref, tmp_path / "unverified", platforms=("linux/amd64",))
    assert unverified.verdict == "fail"  # the forgeries count without a policy, and block

    outcome = scan(image.ref, tmp_path, platforms=("linux/amd64",), verification=key_policy(keys))
    document = outcome.to_json()
    assert document["verdict"] == "pass" and document["blocking"] == []
    (row,) = document["platforms"]
    assert row["sbom_verified"] is True and len(row["sboms"]) == 1 and row["components"] == 1
    left = document["unverified_attestations"]
    key = "layer" if legacy else "digest"
    found = {item[key]: item["reason"] for item in left}
    assert found == {digest: reason_of[name] for digest, name in expected.items()}
    assert all(item["platform"] == "linux/amd64" and item["subject"] == amd64 for item in left)
    assert all(item["predicate_type"] == CYCLONEDX and item["detail"] for item in left)


def _referrer_digests(registry: Registry, repo: str, digest: str) -> list[str]:
    from tests.support.images import regctl

    listing = json.loads(
        regctl(registry, "artifact", "list", "--format", "{{json .}}", registry.ref(repo, digest=digest))
    )
    return [d["digest"] for d in listing.get("descriptors") or ()]


@pytest.mark.parametrize("legacy", [False, True], ids=["bundle", "legacy"])
def test_in_index_attestations_count_only_under_a_signed_index(
    any_registry: Registry, unique_repo: str, tmp_path: Path, keys: CosignKeys, legacy: bool
) -> None:
    image = build_image(any_registry, unique_repo, buildkit_attestations=True, sbom_predicate=CYCLONEDX)
    empty = {p: attach_unsigned_sbom(any_registry, unique_repo, d, empty_sbom()) for p, d in image.children.items()}
    unsigned = scan(image.ref, tmp_path, verification=key_policy(keys)).to_json()
    assert unsigned["verdict"] == "fail" and unsigned["blocking"] == []
    assert unsigned["verification"]["index_signature"]["verified"] is False
    for row in unsigned["platforms"]:
        assert row["sbom"] is False and row["reason"].startswith("no SBOM: no verified SBOM")
    left = {item["digest"]: item for item in unsigned["unverified_attestations"]}
    for platform in PLATFORMS:
        assert left[image.attestations[platform]]["reason"] == "unsigned"
        assert left[image.attestations[platform]]["source"] == "in-index"
        assert "index carries no signature" in left[image.attestations[platform]]["detail"]

    sign(keys, "p256", any_registry.ref(unique_repo, digest=image.digest), legacy=legacy)
    signed = scan(image.ref, tmp_path, verification=key_policy(keys))
    document = signed.to_json()
    assert document["verdict"] == "fail" and document["verification"]["index_signature"]["verified"] is True
    for platform, row in rows(signed).items():
        assert row["blocking_ids"] == [HIGH] and row["reason"] is None
        assert row["sbom_source"] == "in-index" and row["sbom_verified"] is True
        assert row["sbom_signer"] == f"{fingerprint(keys)} (index signature)"
        assert reasons(document)[empty[platform].digest] == "untrusted-key"
    stranger = scan(image.ref, tmp_path, verification=key_policy(keys, "other")).to_json()
    assert stranger["verification"]["index_signature"]["reason"] == "untrusted-key"
    assert all(row["sbom"] is False for row in stranger["platforms"])


def test_an_sbom_attested_on_the_index_serves_every_platform_when_signed(
    referrers_registry: Registry, unique_repo: str, tmp_path: Path, keys: CosignKeys
) -> None:
    image = build_image(referrers_registry, unique_repo)
    cosign_attest(
        referrers_registry,
        unique_repo,
        image.digest,
        keys,
        predicate_file(tmp_path, "sbom", vulnerable_sbom()),
        legacy=False,
    )
    attach_unsigned_sbom(referrers_registry, unique_repo, image.child("linux/arm64"), empty_sbom())
    outcome = scan(image.ref, tmp_path, verification=key_policy(keys))
    for row in rows(outcome).values():
        assert row["sbom_subject"] == "index" and row["sbom_verified"] is True and row["blocking_ids"] == [HIGH]
    assert [item["platform"] for item in outcome.to_json()["unverified_attestations"]] == ["linux/arm64"]


def test_auto_selects_among_the_verified_sboms(
    referrers_registry: Registry, unique_repo: str, tmp_path: Path, keys: CosignKeys
) -> None:
    """An unsigned CycloneDX SBOM does not shadow a signed SPDX one."""
    image = build_image(referrers_registry, unique_repo, platforms=("linux/amd64",), index=False)
    spdx = tmp_path / "sbom.spdx.json"
    spdx.write_text(json.dumps(spdx_sbom()))
    done = cosign(
        "attest", "--key", str(keys.private("p256")), "--type", "spdxjson", "--predicate", str(spdx), *SIGN_FLAGS,
        referrers_registry.ref(unique_repo, digest=image.digest), cwd=keys.folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    attach_unsigned_sbom(referrers_registry, unique_repo, image.digest, clean_sbom())
    document = scan(image.ref, tmp_path, verification=key_policy(keys)).to_json()
    (row,) = document["platforms"]
    assert row["bom_format"] == "spdx" and row["sbom_predicate_type"] == SPDX and row["sbom_verified"] is True
    assert row["blocking_ids"] == [HIGH]
    assert [item["predicate_type"] for item in document["unverified_attestations"]] == [CYCLONEDX]


def test_keyless_policy_without_a_matching_bundle_leaves_everything_out(
    referrers_registry: Registry, unique_repo: str, tmp_path: Path, keys: CosignKeys
) -> None:
    """A keyless identity policy does not accept key-signed attestations, and says why."""
    from tests.attest.verify.keyless_fixtures import GITHUB_ISSUER, REUSABLE_IDENTITY, trusted_root

    image = build_image(referrers_registry, unique_repo, platforms=("linux/amd64",), index=False)
    cosign_attest(
        referrers_registry,
        unique_repo,
        image.digest,
        keys,
        predicate_file(tmp_path, "s", vulnerable_sbom()),
        legacy=False,
    )
    policy = VerificationPolicy.build(identity=REUSABLE_IDENTITY, issuer=GITHUB_ISSUER, trusted_root=trusted_root())
    document = scan(image.ref, tmp_path, verification=policy).to_json()
    assert document["verdict"] == "fail" and document["platforms"][0]["sbom"] is False
    (item,) = document["unverified_attestations"]
    assert item["reason"] == "untrusted-key" and "names no --attestation-key" in item["detail"]
    assert document["verification"]["certificate_identity"] == REUSABLE_IDENTITY
