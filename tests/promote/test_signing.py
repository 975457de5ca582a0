"""The report signing key and the sigstore bundle it signs, checked by the project's verifier (the cosign referee
is in tests/commands/test_promote.py, on real registries)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec

from gate.attest.verify.bundle import BUNDLE_MEDIA_TYPES, verify_bundle
from gate.attest.verify.policy import Reason, VerificationPolicy
from gate.errors import InputError
from gate.promote.signing import BUNDLE_MEDIA_TYPE, load_signing_key, parse_signing_key, sign_statement
from tests.attest.verify.signing import fingerprint_of, private_key, private_pem, public_pem

STATEMENT = json.dumps(
    {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "registry.test/app", "digest": {"sha256": "a" * 64}}],
        "predicateType": "https://cosign.sigstore.dev/attestation/vuln/v1",
        "predicate": {"scanner": {"uri": "pkg:generic/osv"}},
    }
).encode()


def policy_of(public: bytes) -> VerificationPolicy:
    return VerificationPolicy.build(keys=[public.decode()], insecure_ignore_tlog=True)


@pytest.mark.parametrize("kind", ["p256", "p384", "p521", "rsa", "ed25519"])
def test_each_key_kind_signs_a_bundle_the_verifier_accepts(kind: str, tmp_path: Path) -> None:
    secret = private_key(kind)
    path = tmp_path / "signing.pem"
    path.write_bytes(private_pem(secret))
    key = load_signing_key(str(path))
    assert key.fingerprint == fingerprint_of(secret) and key.public_pem == public_pem(secret)
    bundle = json.loads(sign_statement(STATEMENT, key))
    assert bundle["mediaType"] == BUNDLE_MEDIA_TYPE and BUNDLE_MEDIA_TYPE in BUNDLE_MEDIA_TYPES
    # cosign's key hint: the base64 SHA-256 of the DER public key; no tlog entry
    assert base64.b64decode(bundle["verificationMaterial"]["publicKey"]["hint"]).hex() == key.fingerprint[7:]
    assert "tlogEntries" not in bundle["verificationMaterial"]
    assert base64.b64decode(bundle["dsseEnvelope"]["payload"]) == STATEMENT
    checked = verify_bundle(json.dumps(bundle).encode(), policy_of(public_pem(secret)))
    assert checked.verified and checked.signer == key.fingerprint and checked.payload == STATEMENT
    assert checked.statement is not None and checked.statement["predicateType"].endswith("/vuln/v1")


def test_another_key_or_a_changed_statement_does_not_verify() -> None:
    key = parse_signing_key(private_pem(private_key()), "test")
    bundle = json.loads(sign_statement(STATEMENT, key))
    other = verify_bundle(json.dumps(bundle).encode(), policy_of(public_pem(private_key())))
    assert not other.verified and other.reason == Reason.UNTRUSTED_KEY
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(STATEMENT.replace(b"osv", b"xyz")).decode()
    changed = verify_bundle(json.dumps(bundle).encode(), policy_of(key.public_pem))
    assert not changed.verified and changed.reason == Reason.INVALID_SIGNATURE


def test_the_key_may_be_the_pem_text_itself() -> None:
    secret = private_key("p256")
    key = load_signing_key(private_pem(secret).decode())
    assert key.fingerprint == fingerprint_of(secret) and key.public.source == "input report_signing_key (inline PEM)"


def _encrypted(secret: ec.EllipticCurvePrivateKey) -> bytes:
    return secret.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"password"),
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "no PEM block"),
        (b"not a key", "no PEM block"),
        (public_pem(private_key()), "a PUBLIC KEY block is not a private key"),
        (private_pem(private_key()) * 2, "2 PEM blocks"),
        (_encrypted(ec.generate_private_key(ec.SECP256R1())), "an encrypted key"),
        (b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nabc\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
         "cosign.key is encrypted"),
        (b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n", "not a readable"),
        (ec.generate_private_key(ec.SECP256K1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
         "ECDSA curve secp256k1 is not supported"),
        (dsa.generate_private_key(2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
         "DSA keys are not supported"),
    ],
)  # fmt: skip
def test_a_file_that_is_not_one_usable_private_key_is_bad_input_naming_it(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(content)
    with pytest.raises(InputError, match=expected) as refused:
        load_signing_key(str(path))
    assert refused.value.exit_code == 2
    assert refused.value.message.startswith(str(path))
    assert "bm90IGEga2V5" not in refused.value.diagnostics()  # never the key's text


def test_a_missing_or_empty_key_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"absent\.pem"):
        load_signing_key(str(tmp_path / "absent.pem"))
    with pytest.raises(InputError, match="is empty"):
        load_signing_key("  ")


def test_a_short_rsa_key_is_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    short = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    path = tmp_path / "short.pem"
    path.write_bytes(private_pem(short))
    with pytest.raises(InputError, match="too short"):
        load_signing_key(str(path))
