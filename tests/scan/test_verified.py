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
        assert [m.none_verified for m in outcome.scan.missing] == [True, True]
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


def test_keyless_forgeries_are_left_out_and_listed_and_the_verdict_is_the_signed_sbom(
    referrers_registry: Registry, unique_repo: str, tmp_path: Path, keys: CosignKeys
) -> None:
    """The keyless half of the forgery matrix, on a registry: GitHub's real keyless bundle with its payload
    replaced by a vulnerable SBOM about this image, (a) under a trusted root that does not hold the CA of its
    certificate and (b) with its transparency-log entry removed. Both are left out with their reason, and the
    verdict is what the cosign-signed SBOM says."""
    import base64

    from tests.attest.verify.keyless_fixtures import GITHUB_ISSUER, REUSABLE, REUSABLE_IDENTITY, fixture_json
    from tests.attest.verify.keyless_fixtures import trusted_root as github_root
    from tests.attest.verify.signing import self_signed_ca_der, statement

    image = build_image(referrers_registry, unique_repo, platforms=("linux/amd64",), index=False)
    repo = unique_repo
    cosign_attest(
        referrers_registry, repo, image.digest, keys, predicate_file(tmp_path, "clean", clean_sbom()), legacy=False
    )
    genuine = fixture_json(REUSABLE)
    about_this_image = base64.b64encode(json.dumps(statement(image.digest)).encode()).decode()
    genuine["dsseEnvelope"]["payload"] = about_this_image  # the GitHub signature kept
    untrusted_root = attach_bundle(referrers_registry, repo, image.digest, genuine).digest
    without_tlog = json.loads(json.dumps(genuine))
    without_tlog["verificationMaterial"]["tlogEntries"] = []
    no_tlog = attach_bundle(referrers_registry, repo, image.digest, without_tlog).digest

    root = json.loads(Path(github_root()).read_text())
    for authority in root["certificateAuthorities"]:  # another CA: GitHub's Fulcio certificate chains to none
        authority["certChain"]["certificates"] = [{"rawBytes": base64.b64encode(self_signed_ca_der()).decode()}]
    (tmp_path / "root.json").write_text(json.dumps(root))
    policy = VerificationPolicy.build(
        keys=[str(keys.public("p256"))], insecure_ignore_tlog=True,
        identity=REUSABLE_IDENTITY, issuer=GITHUB_ISSUER, trusted_root=str(tmp_path / "root.json"),
    )  # fmt: skip

    (tmp_path / "unverified").mkdir()
    assert scan(image.ref, tmp_path / "unverified").verdict == "fail"  # without a policy the forgeries count
    document = scan(image.ref, tmp_path, verification=policy).to_json()
    assert document["verdict"] == "pass" and document["blocking"] == []
    (row,) = document["platforms"]
    assert row["sbom_verified"] is True and row["sbom_signer"] == fingerprint(keys) and len(row["sboms"]) == 1
    assert reasons(document) == {untrusted_root: "untrusted-root", no_tlog: "no-tlog-entry"}
    assert all(item["subject"] == image.digest and item["predicate_type"] == CYCLONEDX
               for item in document["unverified_attestations"])  # fmt: skip


def test_a_key_signed_dsse_envelope_referrer_counts_and_its_forgeries_do_not(
    any_registry: Registry, unique_repo: str, tmp_path: Path
) -> None:
    """DSSE envelopes with signatures, as referrers (no sigstore bundle around them): the signed one about this
    platform counts and blocks; an unsigned twin and a signed one about the other platform are left out."""
    from tests.attest.verify.signing import envelope, private_key, public_pem, statement
    from tests.support.images import IN_TOTO, PREDICATE_ANNOTATION, attach_referrer

    image = build_image(any_registry, unique_repo)
    amd64, arm64 = image.child("linux/amd64"), image.child("linux/arm64")
    signer = private_key("ed25519")
    policy = VerificationPolicy.build(keys=[public_pem(signer).decode()], insecure_ignore_tlog=True)

    def attach(document: dict[str, Any]) -> str:
        return attach_referrer(
            any_registry, unique_repo, amd64, artifact_type=IN_TOTO, payload=json.dumps(document).encode(),
            layer_media_type=IN_TOTO, annotations={PREDICATE_ANNOTATION: CYCLONEDX},
        ).digest  # fmt: skip

    payload = json.dumps(statement(amd64)).encode()
    signed = attach(envelope(signer, payload))
    unsigned = attach(envelope(None, json.dumps({**statement(amd64), "predicate": empty_sbom()}).encode()))
    moved = attach(envelope(signer, json.dumps(statement(arm64)).encode()))
    outcome = scan(image.ref, tmp_path, platforms=("linux/amd64",), verification=policy)
    document = outcome.to_json()
    (row,) = document["platforms"]
    assert row["sbom_attestation"] == signed and row["sbom_envelope"] == "dsse" and row["sbom_verified"] is True
    assert row["blocking_ids"] == [HIGH] and len(row["sboms"]) == 1
    assert reasons(document) == {unsigned: "unsigned", moved: "subject-mismatch"}


@pytest.mark.parametrize(
    "media_type",
    [
        "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "application/vnd.dev.sigstore.bundle+json;version=0.2",
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
        "application/vnd.dev.sigstore.bundle.v0.3+json",
    ],
)
def test_sigstore_bundles_v0_1_to_v0_3_are_found_and_verified_as_referrers(
    referrers_registry: Registry, unique_repo: str, tmp_path: Path, media_type: str
) -> None:
    from tests.attest.verify.signing import key_bundle, private_key, public_pem, statement
    from tests.support.images import attach_referrer

    image = build_image(referrers_registry, unique_repo, platforms=("linux/amd64",), index=False)
    signer = private_key("p384")
    bundle = {**key_bundle(signer, json.dumps(statement(image.digest)).encode()), "mediaType": media_type}
    referrer = attach_referrer(
        referrers_registry, unique_repo, image.digest, artifact_type=media_type.split(";")[0],
        payload=json.dumps(bundle).encode(), layer_media_type=media_type,
        annotations={"dev.sigstore.bundle.predicateType": CYCLONEDX},
    ).digest  # fmt: skip
    policy = VerificationPolicy.build(keys=[public_pem(signer).decode()], insecure_ignore_tlog=True)
    document = scan(image.ref, tmp_path, verification=policy).to_json()
    (row,) = document["platforms"]
    assert row["sbom_attestation"] == referrer and row["sbom_envelope"] == "sigstore-bundle"
    assert row["sbom_verified"] is True and row["blocking_ids"] == [HIGH]
    assert document["unverified_attestations"] == []


def test_promote_says_whether_its_scan_verified_the_attestations(
    referrers_registry: Registry, unique_repo: str, tmp_path: Path, keys: CosignKeys
) -> None:
    """promote without a verdict file scans first: its output attestations_verified and its summary say
    whether that scan verified the signatures (and how many attestations it left out)."""
    from gate.commands.promote import PromoteConfig, run
    from gate.outcome import Context
    from tests.scan.test_stage import OSV_DB

    quarantine = f"{unique_repo}/quarantine"
    image = build_image(referrers_registry, quarantine, platforms=("linux/amd64",), index=False)
    cosign_attest(
        referrers_registry, quarantine, image.digest, keys, predicate_file(tmp_path, "c", clean_sbom()), legacy=False
    )
    attach_unsigned_sbom(referrers_registry, quarantine, image.digest, clean_sbom())
    common = {"scanner": "osv", "osv_db": OSV_DB, "sarif_output": str(tmp_path / "scan.sarif")}
    for production, trust, expected, summary in (
        ("verified", {"attestation_keys": (str(keys.public("p256")),), "insecure_ignore_tlog": True}, "true",
         "signatures verified (1 left out: not verified)"),
        ("unverified", {}, "false", "**not verified**"),
    ):  # fmt: skip
        config = PromoteConfig(
            source=referrers_registry.ref(quarantine, "latest"),
            destination=referrers_registry.ref(f"{unique_repo}/{production}"),
            **common,
            **trust,
        )
        outcome = run(config, Context(environ={}))
        assert outcome.exit_code == 0 and outcome.outputs["promoted"] == "true"
        assert outcome.outputs["attestations_verified"] == expected
        assert summary in outcome.summary


def test_promote_with_a_verdict_file_and_a_policy_needs_a_verified_scan(
    referrers_registry: Registry, unique_repo: str, tmp_path: Path, keys: CosignKeys
) -> None:
    """promote --verdict with --attestation-key: a verdict whose scan did not verify the attestations is refused
    (exit 1, nothing written); one whose scan did is promoted. Without a policy both are promoted as before."""
    from gate.commands.promote import PromoteConfig, run
    from gate.outcome import Context
    from tests.support.client import RegistryClient

    quarantine = f"{unique_repo}/quarantine"
    image = build_image(referrers_registry, quarantine, platforms=("linux/amd64",), index=False)
    cosign_attest(
        referrers_registry, quarantine, image.digest, keys, predicate_file(tmp_path, "c", clean_sbom()), legacy=False
    )
    verdicts = {}
    for name, policy in (("unverified", None), ("verified", key_policy(keys))):
        (tmp_path / name).mkdir()
        document = scan(image.ref, tmp_path / name, **({"verification": policy} if policy else {})).to_json()
        assert document["verdict"] == "pass" and document["attestations_verified"] is (policy is not None)
        verdicts[name] = tmp_path / f"{name}.json"
        verdicts[name].write_text(json.dumps(document))
    trust = {"attestation_keys": (str(keys.public("p256")),), "insecure_ignore_tlog": True}

    def promote(verdict: str, production: str, **extra: Any) -> tuple[int, dict[str, str]]:
        config = PromoteConfig(
            source=image.ref, destination=referrers_registry.ref(f"{unique_repo}/{production}"),
            verdict_file=str(verdicts[verdict]), **extra,
        )  # fmt: skip
        outcome = run(config, Context(environ={}))
        return outcome.exit_code, dict(outcome.outputs)

    code, outputs = promote("unverified", "refused", **trust)
    assert code == 1 and outputs["promoted"] == "false"
    assert RegistryClient(referrers_registry).tags(f"{unique_repo}/refused") == []
    code, outputs = promote("verified", "verified", **trust)
    assert code == 0 and outputs["attestations_verified"] == "true"
    code, outputs = promote("unverified", "as-before")
    assert code == 0 and outputs["attestations_verified"] == "false"


def test_with_the_layer_fallback_a_platform_without_a_verified_sbom_is_inventoried_from_its_layers(
    distribution_registry: Registry, unique_repo: str, tmp_path: Path, keys: CosignKeys
) -> None:
    """An unsigned SBOM left out in verified mode does not stand in for the image: without a fallback the
    platform blocks (no verified SBOM); with sbom_fallback layers, Trivy inventories the image's own layers
    (covered by its digest) and their findings block, the row saying sbom_verified false."""
    from tests.scan.test_layers import BLOCKING, trivy_options
    from tests.support.rootfs import language_rootfs, push_rootfs_image

    root = tmp_path / "rootfs"
    root.mkdir()
    language_rootfs(root)
    image = push_rootfs_image(distribution_registry, unique_repo, "v1", {"linux/amd64": [root]})
    forged = attach_unsigned_sbom(distribution_registry, unique_repo, image.children["linux/amd64"], clean_sbom())
    (tmp_path / "unverified").mkdir()
    assert scan(image.ref, tmp_path / "unverified").verdict == "pass"  # without a policy the clean SBOM decides

    (tmp_path / "strict").mkdir()
    strict = scan(image.ref, tmp_path / "strict", verification=key_policy(keys)).to_json()
    (row,) = strict["platforms"]
    assert strict["verdict"] == "fail" and row["reason"].startswith("no SBOM: no verified SBOM")

    document = scan(
        image.ref, tmp_path, verification=key_policy(keys), sbom_fallback="layers", trivy_options=trivy_options()
    ).to_json()
    (row,) = document["platforms"]
    assert document["verdict"] == "fail" and set(row["blocking_ids"]) == BLOCKING
    assert row["sbom_source"] == "layers" and row["sbom_verified"] is False and row["reason"] is None
    assert reasons(document) == {forged.digest: "untrusted-key"}


@pytest.mark.parametrize("legacy", [False, True], ids=["bundle", "legacy"])
def test_the_pipeline_carries_the_signed_sboms_to_quarantine_and_blocks_on_them(
    any_registry: Registry, unique_repo: str, tmp_path: Path, keys: CosignKeys, legacy: bool
) -> None:
    """The done-when case through mirror -> scan -> promote: the signed SBOMs (bundle referrers, or cosign's
    .att tags) are copied to quarantine with the attacker's unsigned empty SBOM and not_affected VEX, and the
    pipeline in verified mode still blocks on the signed SBOMs' finding; nothing reaches production."""
    from gate.commands.pipeline import PipelineConfig, run
    from gate.outcome import Context
    from tests.scan.test_stage import OSV_DB
    from tests.support.client import RegistryClient

    upstream = f"{unique_repo}/upstream"
    image, _ = _signed_image(any_registry, upstream, tmp_path, keys, legacy)
    attach_vex(any_registry, upstream, image.digest, HIGH)
    config = PipelineConfig(
        source=image.ref, quarantine=any_registry.ref(f"{unique_repo}/quarantine"),
        production=any_registry.ref(f"{unique_repo}/production"), scanner="osv", osv_db=OSV_DB,
        sarif_output=str(tmp_path / "pipeline.sarif"), attestation_keys=(str(keys.public("p256")),),
        insecure_ignore_tlog=True,
    )  # fmt: skip
    outcome = run(config, Context(environ={}))
    assert outcome.exit_code == 1 and outcome.outputs["verdict"] == "fail"
    assert outcome.outputs["attestations_verified"] == "true" and outcome.outputs["blocking_ids"] == HIGH
    scanned = outcome.document["scan"]
    assert all(row["sbom_verified"] and row["blocking_ids"] == [HIGH] for row in scanned["platforms"])
    assert scanned["suppressed"] == [] and len(scanned["unverified_attestations"]) == 3  # 2 SBOMs, 1 VEX
    assert RegistryClient(any_registry).tags(f"{unique_repo}/production") == []
