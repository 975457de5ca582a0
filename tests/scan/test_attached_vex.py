"""VEX attached to an image, as an attacker who can push sees it (issue 10 §3), on real registries with
cosign v3.1.3 signing: the operator's --vex files win whatever the timestamps, --no-attached-vex, and in
verified mode only VEX that cosign signed for the manifest it is attached to counts; unsigned, foreign and
moved VEX is left out and listed, never applied. cosign verify-attestation is the referee of what counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gate.policy.verdict import GateOptions
from gate.scan.summary import render
from tests.attest.verify.cosign_tool import REGISTRY_FLAGS, SIGN_FLAGS, CosignKeys, cosign, make_keys, signed_artifacts
from tests.attest.verify.signing import BUNDLE_V03
from tests.scan.signed import NEWEST, cosign_attest, key_policy, predicate_file, vulnerable_sbom
from tests.scan.test_stage import HIGH, PLATFORMS, scan
from tests.support.images import (
    OPENVEX_TYPE,
    PREDICATE_ANNOTATION,
    attach_referrer,
    attach_vex,
    build_image,
    openvex_document,
)
from tests.support.registries import Registry

pytestmark = pytest.mark.slow

OPENVEX_COSIGN = "https://openvex.dev/ns"
"""The predicate type ``cosign attest --type openvex`` writes."""


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> CosignKeys:
    return make_keys(tmp_path_factory.mktemp("cosign-keys"), ("p256", "other"))


def signed_image(registry: Registry, repo: str, keys: CosignKeys, folder: Path, *, legacy: bool = False) -> Any:
    """Two platforms, each with a cosign-signed SBOM whose lodash 4.17.20 has the one HIGH finding."""
    image = build_image(registry, repo)
    sbom = predicate_file(folder, "sbom", vulnerable_sbom())
    for digest in image.children.values():
        cosign_attest(registry, repo, digest, keys, sbom, legacy=legacy)
    return image


def cosign_attest_vex(
    registry: Registry, repo: str, digest: str, keys: CosignKeys, document: dict[str, Any], *, legacy: bool,
    kind: str = "p256",
) -> None:  # fmt: skip
    """``cosign attest --type openvex`` of ``digest`` (a bundle referrer, or a layer of the ``.att`` tag)."""
    predicate = keys.folder / f"vex-{digest[7:19]}-{kind}.json"
    predicate.write_text(json.dumps(document))
    flags = ("--new-bundle-format=false",) if legacy else ()
    done = cosign(
        "attest", "--key", str(keys.private(kind)), "--type", "openvex", "--predicate", str(predicate),
        *SIGN_FLAGS, *flags, registry.ref(repo, digest=digest), cwd=keys.folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def cosign_accepts_vex(registry: Registry, repo: str, digest: str, keys: CosignKeys, kind: str = "p256") -> bool:
    done = cosign(
        "verify-attestation", "--key", str(keys.public(kind)), "--type", "openvex", "--insecure-ignore-tlog",
        *REGISTRY_FLAGS, registry.ref(repo, digest=digest), cwd=keys.folder,
    )  # fmt: skip
    return done.returncode == 0


def lodash_not_affected() -> dict[str, Any]:
    return openvex_document("pkg:npm/lodash", HIGH)


@pytest.mark.parametrize("legacy", [False, True], ids=["bundle", "legacy"])
def test_an_unsigned_not_affected_vex_does_not_suppress_in_verified_mode(
    any_registry: Registry, unique_repo: str, keys: CosignKeys, tmp_path: Path, legacy: bool
) -> None:
    """Measured: an unsigned OpenVEX referrer saying not_affected (product: the index, or pkg:npm/lodash)
    suppressed the HIGH finding of an image whose real SBOMs cosign signed."""
    image = signed_image(any_registry, unique_repo, keys, tmp_path, legacy=legacy)
    on_index = attach_vex(any_registry, unique_repo, image.digest, HIGH)
    on_platform = attach_referrer(
        any_registry, unique_repo, image.child("linux/amd64"), artifact_type=OPENVEX_TYPE,
        payload=json.dumps(lodash_not_affected()).encode(), layer_media_type=OPENVEX_TYPE,
    )  # fmt: skip

    verified = scan(image.ref, tmp_path, verification=key_policy(keys)).to_json()
    assert verified["verdict"] == "fail" and {b["id"] for b in verified["blocking"]} == {HIGH}
    assert verified["suppressed"] == [] and verified["vex"]["documents"] == []
    left_out = {item["digest"]: item for item in verified["unverified_attestations"]}
    assert left_out[on_index.digest]["reason"] == left_out[on_platform.digest]["reason"] == "unsigned"
    assert left_out[on_index.digest]["subject"] == image.digest and left_out[on_index.digest]["platform"] is None
    assert left_out[on_platform.digest]["platform"] == "linux/amd64"
    assert left_out[on_index.digest]["predicate_type"].startswith("https://openvex.dev/ns")
    assert all(row["sbom_verified"] for row in verified["platforms"])

    # Without a policy it still applies, as before, and the suppression says it was not verified.
    outcome = scan(image.ref, tmp_path)
    assert "**not verified**" in render(outcome) and "signature not verified" in render(outcome)
    unverified = outcome.to_json()
    assert unverified["verdict"] == "pass" and unverified["attestations_verified"] is False
    assert {(s["platform"], s["vex_origin"], s["vex_verified"]) for s in unverified["suppressed"]} >= {
        (platform, "attached", False) for platform in PLATFORMS
    }
    written = json.loads(Path(unverified["sarif_file"]).read_text())
    notes = [s["justification"] for run in written["runs"] for r in run["results"] for s in r.get("suppressions", [])]
    assert notes and all(note.endswith(", attached, signature not verified)") for note in notes)


@pytest.mark.parametrize("legacy", [False, True], ids=["bundle", "legacy"])
def test_a_vex_cosign_signed_for_the_image_applies_in_verified_mode(
    any_registry: Registry, unique_repo: str, keys: CosignKeys, tmp_path: Path, legacy: bool
) -> None:
    image = signed_image(any_registry, unique_repo, keys, tmp_path, legacy=legacy)
    cosign_attest_vex(any_registry, unique_repo, image.digest, keys, lodash_not_affected(), legacy=legacy)
    assert cosign_accepts_vex(any_registry, unique_repo, image.digest, keys)

    outcome = scan(image.ref, tmp_path, verification=key_policy(keys))
    assert f"verified, <code>{key_policy(keys).keys[0].fingerprint}</code>" in render(outcome)
    document = outcome.to_json()
    assert document["verdict"] == "pass", document["platforms"]
    assert {(s["platform"], s["vex_verified"]) for s in document["suppressed"]} == {(p, True) for p in PLATFORMS}
    (read,) = document["vex"]["documents"]
    assert read["subject"] == image.digest and read["verified"] is True
    assert read["signer"] == key_policy(keys).keys[0].fingerprint
    assert document["unverified_attestations"] == []


def test_vex_signed_by_another_key_is_left_out_as_cosign_refuses_it(
    referrers_registry: Registry, unique_repo: str, keys: CosignKeys, tmp_path: Path
) -> None:
    image = signed_image(referrers_registry, unique_repo, keys, tmp_path)
    cosign_attest_vex(referrers_registry, unique_repo, image.digest, keys, lodash_not_affected(), legacy=False,
                      kind="other")  # fmt: skip
    assert not cosign_accepts_vex(referrers_registry, unique_repo, image.digest, keys)

    document = scan(image.ref, tmp_path, verification=key_policy(keys)).to_json()
    assert document["verdict"] == "fail" and document["suppressed"] == []
    vex = [i for i in document["unverified_attestations"] if i["predicate_type"] == OPENVEX_COSIGN]
    assert [i["reason"] for i in vex] == ["untrusted-key"] and vex[0]["subject"] == image.digest


def test_a_signed_vex_moved_to_another_platform_counts_only_where_it_was_signed(
    referrers_registry: Registry, unique_repo: str, keys: CosignKeys, tmp_path: Path
) -> None:
    image = signed_image(referrers_registry, unique_repo, keys, tmp_path)
    amd64, arm64 = image.child("linux/amd64"), image.child("linux/arm64")
    cosign_attest_vex(referrers_registry, unique_repo, amd64, keys, lodash_not_affected(), legacy=False)
    bundle = bundle_of_vex(referrers_registry, unique_repo, amd64)
    moved = attach_referrer(
        referrers_registry, unique_repo, arm64, artifact_type=BUNDLE_V03, payload=json.dumps(bundle).encode(),
        layer_media_type=BUNDLE_V03,
        annotations={"dev.sigstore.bundle.content": "dsse-envelope", "dev.sigstore.bundle.predicateType": OPENVEX_COSIGN},
    )  # fmt: skip
    assert cosign_accepts_vex(referrers_registry, unique_repo, amd64, keys)
    assert not cosign_accepts_vex(referrers_registry, unique_repo, arm64, keys)

    document = scan(image.ref, tmp_path, verification=key_policy(keys)).to_json()
    assert [(s["platform"], s["vex_verified"]) for s in document["suppressed"]] == [("linux/amd64", True)]
    assert {b["platform"] for b in document["blocking"]} == {"linux/arm64"}
    (item,) = [i for i in document["unverified_attestations"] if i["digest"] == moved.digest]
    assert (item["reason"], item["subject"], item["platform"]) == ("subject-mismatch", arm64, "linux/arm64")
    # Without a policy the moved copy is not applied either: its statement is about another manifest.
    unverified = scan(image.ref, tmp_path).to_json()
    assert {b["platform"] for b in unverified["blocking"]} == {"linux/arm64"}
    assert any(f"not {arm64} it is attached to" in note for note in unverified["scan_notes"])


def bundle_of_vex(registry: Registry, repo: str, digest: str) -> dict[str, Any]:
    """The bundle of cosign's one OpenVEX bundle referrer of ``digest``."""
    (artifact,) = [
        a
        for a in signed_artifacts(registry, repo, digest, "att")
        if a.source == "referrer"
        and json.loads(a.manifest).get("annotations", {}).get("dev.sigstore.bundle.predicateType") == OPENVEX_COSIGN
    ]
    layer = json.loads(artifact.manifest)["layers"][0]
    return dict(json.loads(artifact.blobs[layer["digest"]]))


def test_the_operators_vex_file_wins_over_a_newer_attached_one(
    any_registry: Registry, unique_repo: str, tmp_path: Path, keys: CosignKeys
) -> None:
    """Measured: an attached VEX dated 9999 overrode the operator's own --vex file saying affected."""
    image = signed_image(any_registry, unique_repo, keys, tmp_path)
    newer = {**lodash_not_affected(), "timestamp": NEWEST}
    attach_referrer(
        any_registry, unique_repo, image.digest, artifact_type=OPENVEX_TYPE, payload=json.dumps(newer).encode(),
        layer_media_type=OPENVEX_TYPE, annotations={PREDICATE_ANNOTATION: OPENVEX_COSIGN},
    )  # fmt: skip
    mine = tmp_path / "ops.openvex.json"
    mine.write_text(json.dumps(openvex_document("pkg:npm/lodash", HIGH, status="affected")))

    document = scan(image.ref, tmp_path, vex_files=(str(mine),)).to_json()
    assert document["verdict"] == "fail" and {b["id"] for b in document["blocking"]} == {HIGH}
    assert document["suppressed"] == []
    assert scan(image.ref, tmp_path).verdict == "pass"  # the attached one alone still applies (unverified mode)

    # --no-attached-vex: only the operator's files; --no-vex: none at all, and said so.
    ignored = scan(image.ref, tmp_path, attached_vex=False).to_json()
    assert ignored["verdict"] == "fail" and ignored["vex"]["documents"] == []
    assert any("--no-attached-vex" in note for note in ignored["scan_notes"])
    fixed = tmp_path / "fixed.openvex.json"
    fixed.write_text(json.dumps(openvex_document("pkg:npm/lodash", HIGH, status="fixed")))
    only_mine = scan(image.ref, tmp_path, attached_vex=False, vex_files=(str(fixed),)).to_json()
    assert only_mine["verdict"] == "pass"
    assert [(s["source"], s["vex_origin"], s["vex_verified"]) for s in only_mine["suppressed"]] == [
        (str(fixed), "file", None)
    ] * 2
    lenient = GateOptions(severity_threshold="critical")
    none = scan(image.ref, tmp_path, gate=lenient, use_vex=False).to_json()
    assert none["vex"]["enabled"] is False and any("VEX disabled (--no-vex)" in n for n in none["scan_notes"])
