"""The verification policy: cosign's rules for its options, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.attest.verify.policy import Reason, Verification, VerificationPolicy
from gate.errors import InputError
from tests.attest.verify.keyless_fixtures import GITHUB_ISSUER, REUSABLE_IDENTITY, trusted_root
from tests.attest.verify.signing import write_public_key


def test_no_key_and_no_identity_is_not_verified_mode() -> None:
    policy = VerificationPolicy.build()
    assert not policy.enabled and not policy.keyless and policy.trusted_root_json == b""


def test_a_key_turns_verified_mode_on(tmp_path: Path) -> None:
    policy = VerificationPolicy.build(keys=[str(write_public_key(tmp_path))], insecure_ignore_tlog=True)
    assert policy.enabled and not policy.keyless and len(policy.keys) == 1
    assert policy.trusted_root_json == b""  # nothing needs a root: no tlog is checked


def test_an_identity_and_issuer_turn_keyless_on_with_the_bundled_root() -> None:
    policy = VerificationPolicy.build(identity=REUSABLE_IDENTITY, issuer=GITHUB_ISSUER)
    assert policy.enabled and policy.keyless
    assert json.loads(policy.trusted_root_json)["mediaType"].startswith("application/vnd.dev.sigstore.trustedroot")
    assert "public-good" in policy.trusted_root_name


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"identity": "x"}, "needs an identity and an issuer"),
        ({"identity_regexp": "x"}, "needs an identity and an issuer"),
        ({"issuer": "x"}, "without --certificate-identity"),
        ({"identity": "x", "identity_regexp": "y", "issuer": "z"}, "not both"),
        ({"identity": "x", "issuer": "y", "issuer_regexp": "z"}, "not both"),
        ({"identity_regexp": "(", "issuer": "z"}, r"--certificate-identity-regexp '\(' is not a valid regular"),
        ({"identity": "x", "issuer_regexp": "[a-"}, "--certificate-oidc-issuer-regexp"),
        ({"insecure_ignore_tlog": True}, "give --attestation-key"),
        ({"trusted_root": "root.json"}, "give --attestation-key"),
    ],
)
def test_cosign_rules_for_the_options(options: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        VerificationPolicy.build(**options)  # type: ignore[arg-type]


def test_blank_values_count_as_not_given() -> None:
    assert not VerificationPolicy.build(identity=" ", issuer="", keys=[]).enabled


def test_a_trusted_root_that_is_not_one_is_named(tmp_path: Path) -> None:
    path = tmp_path / "root.json"
    path.write_text('{"mediaType": "something else"}')
    with pytest.raises(InputError, match=r"root\.json: not a Sigstore trusted root"):
        VerificationPolicy.build(identity="x", issuer="y", trusted_root=str(path))
    with pytest.raises(InputError, match=r"missing\.json"):
        VerificationPolicy.build(identity="x", issuer="y", trusted_root=str(tmp_path / "missing.json"))


def test_a_given_trusted_root_is_used(tmp_path: Path) -> None:
    policy = VerificationPolicy.build(identity="x", issuer="y", trusted_root=trusted_root())
    assert policy.trusted_root_json == Path(trusted_root()).read_bytes()
    assert policy.trusted_root_name == trusted_root()


def test_a_bad_key_stops_the_policy(tmp_path: Path) -> None:
    good = write_public_key(tmp_path)
    with pytest.raises(InputError, match=r"nope\.pub"):
        VerificationPolicy.build(keys=[str(good), str(tmp_path / "nope.pub")], insecure_ignore_tlog=True)


def test_a_verification_describes_itself() -> None:
    refused = Verification.refused(Reason.UNSIGNED, "no signature")
    assert refused.describe() == "unsigned: no signature" and not refused.verified and refused.payload == b""
    accepted = Verification.accepted("sha256:ab", "application/vnd.in-toto+json", b"{}", {})
    assert accepted.describe() == "verified, signed by sha256:ab" and accepted.reason is None
