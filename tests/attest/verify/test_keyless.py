"""Keyless sigstore bundles: real GitHub attestations verified offline with their trusted root."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path

import pytest

from gate.attest.verify.bundle import verify_bundle
from gate.attest.verify.policy import Reason, VerificationPolicy
from gate.attest.verify.subject import subject_matches
from tests.attest.verify.keyless_fixtures import (
    CUSTOM,
    CUSTOM_IDENTITY,
    CUSTOM_ISSUER,
    GITHUB_ISSUER,
    INVALID_SIGNATURE,
    REUSABLE,
    REUSABLE_IDENTITY,
    SIGSTORE_JS,
    fixture,
    fixture_bytes,
    fixture_json,
    github_policy,
    statement_of,
    trusted_root,
)


def test_the_right_identity_verifies_and_names_the_signer() -> None:
    result = verify_bundle(fixture_bytes(REUSABLE), github_policy())
    assert result.verified, result.describe()
    assert result.signer == f"{REUSABLE_IDENTITY} (issuer {GITHUB_ISSUER})"
    assert result.reason is None and result.statement is not None
    artifact = hashlib.sha256(fixture("../sigstore/reusable-workflow-artifact").read_bytes()).hexdigest()
    assert subject_matches(result.statement, f"sha256:{artifact}")
    assert result.payload == base64.b64decode(fixture_json(REUSABLE)["dsseEnvelope"]["payload"])


def test_a_custom_issuer_verifies_with_its_own_issuer_only() -> None:
    assert verify_bundle(fixture_bytes(CUSTOM), github_policy(CUSTOM_IDENTITY, CUSTOM_ISSUER)).verified
    refused = verify_bundle(fixture_bytes(CUSTOM), github_policy(CUSTOM_IDENTITY, GITHUB_ISSUER))
    assert refused.reason is Reason.UNTRUSTED_IDENTITY and "hammer-time" in refused.detail


@pytest.mark.parametrize(
    "options",
    [
        {"identity": REUSABLE_IDENTITY + "x", "issuer": GITHUB_ISSUER},
        {"identity": REUSABLE_IDENTITY.replace("@09b4", "@19b4"), "issuer": GITHUB_ISSUER},
        {"identity": REUSABLE_IDENTITY, "issuer": GITHUB_ISSUER + "/other"},
        {"identity": REUSABLE_IDENTITY, "issuer": "https://accounts.google.com"},
        {"identity_regexp": "^https://github.com/evil/", "issuer": GITHUB_ISSUER},
        {"identity": REUSABLE_IDENTITY, "issuer_regexp": "^https://gitlab"},
        {"identity_regexp": "^https://github\\.com/github/.*@refs/heads/main$", "issuer_regexp": "^https://token"},
    ],
    ids=["identity+x", "other-commit", "issuer-suffix", "other-issuer", "identity-regexp", "issuer-regexp", "anchored"],
)
def test_a_wrong_identity_issuer_or_regexp_is_refused(options: dict[str, str]) -> None:
    policy = VerificationPolicy.build(trusted_root=trusted_root(), **options)
    result = verify_bundle(fixture_bytes(REUSABLE), policy)
    assert not result.verified
    assert result.reason is Reason.UNTRUSTED_IDENTITY
    assert result.payload == b"" and result.statement is None
    assert result.signer.startswith(REUSABLE_IDENTITY)  # who did sign, for the listing


@pytest.mark.parametrize(
    ("identity_regexp", "issuer_regexp"),
    [
        (
            "^https://github\\.com/github/artifact-attestations-workflows/",
            "^https://token\\.actions\\.githubusercontent\\.com$",
        ),
        ("artifact-attestations-workflows", "githubusercontent"),  # unanchored, as cosign's regexps
    ],
)
def test_regexps_match_as_cosign_does(identity_regexp: str, issuer_regexp: str) -> None:
    policy = VerificationPolicy.build(
        identity_regexp=identity_regexp, issuer_regexp=issuer_regexp, trusted_root=trusted_root()
    )
    assert verify_bundle(fixture_bytes(REUSABLE), policy).verified


def test_a_payload_changed_after_signing_is_refused() -> None:
    bundle = fixture_json(REUSABLE)
    statement = statement_of(bundle)
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    result = verify_bundle(json.dumps(bundle).encode(), github_policy())
    assert result.reason is Reason.INVALID_SIGNATURE
    assert not result.verified and result.statement is None


def test_the_sigstore_js_bundle_is_reported_unsupported_not_a_crash() -> None:
    policy = VerificationPolicy.build(identity_regexp=".", issuer_regexp=".", trusted_root=trusted_root())
    result = verify_bundle(fixture_bytes(SIGSTORE_JS), policy)
    assert result.reason is Reason.UNSUPPORTED_BUNDLE
    assert "intoto" in result.detail or "Integrated time" in result.detail


def test_the_invalid_signature_bundle_is_refused() -> None:
    policy = VerificationPolicy.build(identity_regexp=".", issuer_regexp=".", trusted_root=trusted_root())
    result = verify_bundle(fixture_bytes(INVALID_SIGNATURE), policy)
    assert not result.verified and result.reason is not None


def test_a_keyless_bundle_without_tlog_entry_is_refused() -> None:
    bundle = fixture_json(REUSABLE)
    bundle["verificationMaterial"]["tlogEntries"] = []
    result = verify_bundle(json.dumps(bundle).encode(), github_policy())
    assert result.reason is Reason.NO_TLOG_ENTRY


def test_a_keyless_bundle_without_signed_time_is_refused() -> None:
    bundle = fixture_json(REUSABLE)
    del bundle["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"]
    result = verify_bundle(json.dumps(bundle).encode(), github_policy())
    assert not result.verified and result.reason in (Reason.NO_TLOG_ENTRY, Reason.MALFORMED)


def test_a_trusted_root_without_the_fulcio_ca_refuses_as_untrusted_root(tmp_path: Path) -> None:
    root = json.loads(Path(trusted_root()).read_text())
    root["certificateAuthorities"] = []
    path = tmp_path / "root.json"
    path.write_text(json.dumps(root))
    policy = VerificationPolicy.build(identity=REUSABLE_IDENTITY, issuer=GITHUB_ISSUER, trusted_root=str(path))
    result = verify_bundle(fixture_bytes(REUSABLE), policy)
    assert result.reason is Reason.UNTRUSTED_ROOT


def test_a_certificate_from_another_ca_refuses_as_untrusted_root(tmp_path: Path) -> None:
    from tests.attest.verify.signing import self_signed_ca_der

    root = json.loads(Path(trusted_root()).read_text())
    for authority in root["certificateAuthorities"]:
        authority["certChain"]["certificates"] = [{"rawBytes": base64.b64encode(self_signed_ca_der()).decode()}]
    path = tmp_path / "root.json"
    path.write_text(json.dumps(root))
    policy = VerificationPolicy.build(identity=REUSABLE_IDENTITY, issuer=GITHUB_ISSUER, trusted_root=str(path))
    result = verify_bundle(fixture_bytes(REUSABLE), policy)
    assert result.reason is Reason.UNTRUSTED_ROOT, result.describe()


def test_the_bundled_public_good_root_verifies_github_public_attestations() -> None:
    policy = VerificationPolicy.build(identity=REUSABLE_IDENTITY, issuer=GITHUB_ISSUER)
    assert policy.trusted_root_path is None
    result = verify_bundle(fixture_bytes(REUSABLE), policy)
    assert result.verified, result.describe()


def test_a_keyless_bundle_under_a_key_only_policy_is_refused(tmp_path: Path) -> None:
    from tests.attest.verify.signing import write_public_key

    policy = VerificationPolicy.build(keys=[str(write_public_key(tmp_path))], insecure_ignore_tlog=True)
    result = verify_bundle(fixture_bytes(REUSABLE), policy)
    assert result.reason is Reason.UNTRUSTED_IDENTITY


def test_the_bundle_v0_3_alternate_media_type_verifies_too() -> None:
    bundle = copy.deepcopy(fixture_json(REUSABLE))
    bundle["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.3"
    assert verify_bundle(json.dumps(bundle).encode(), github_policy()).verified


def test_an_unknown_bundle_media_type_is_unsupported() -> None:
    bundle = fixture_json(REUSABLE)
    bundle["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.4+json"
    assert verify_bundle(json.dumps(bundle).encode(), github_policy()).reason is Reason.UNSUPPORTED_BUNDLE


@pytest.mark.parametrize("version", ["0.1", "0.2"])
def test_older_bundle_versions_with_a_certificate_chain_verify(version: str) -> None:
    # the same signed material in the v0.1/v0.2 layout: the leaf certificate in x509CertificateChain
    bundle = fixture_json(REUSABLE)
    material = bundle["verificationMaterial"]
    material["x509CertificateChain"] = {"certificates": [material.pop("certificate")]}
    bundle["mediaType"] = f"application/vnd.dev.sigstore.bundle+json;version={version}"
    result = verify_bundle(json.dumps(bundle).encode(), github_policy())
    assert result.verified, result.describe()
    wrong = verify_bundle(json.dumps(bundle).encode(), github_policy(issuer="https://accounts.google.com"))
    assert wrong.reason is Reason.UNTRUSTED_IDENTITY
