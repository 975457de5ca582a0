"""Loading signer public keys: files or inline PEM, every supported kind, clear errors for the rest."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

from gate.attest.verify.keys import fingerprint, load_public_keys, parse_public_keys, signature_is_valid
from gate.errors import InputError
from tests.attest.verify.signing import KEY_KINDS, fingerprint_of, private_key, private_pem, public_pem, sign


@pytest.mark.parametrize("kind", [*KEY_KINDS, "p521"])
def test_each_kind_loads_from_a_file_and_checks_its_signatures(tmp_path: Path, kind: str) -> None:
    key = private_key(kind)
    path = tmp_path / "key.pub"
    path.write_bytes(public_pem(key))
    (loaded,) = load_public_keys(str(path))
    assert loaded.source == str(path)
    assert loaded.fingerprint == fingerprint_of(key)
    assert signature_is_valid(loaded, sign(key, b"message"), b"message")
    assert not signature_is_valid(loaded, sign(key, b"message"), b"messagf")
    assert not signature_is_valid(loaded, b"\x00" * 8, b"message")


def test_an_inline_pem_block_is_a_key_too() -> None:
    key = private_key()
    (loaded,) = load_public_keys("  " + public_pem(key).decode() + "\n", position=3)
    assert loaded.source == "inline key 3" and loaded.kind == "ECDSA P-256"


def test_a_keyring_file_holds_several_keys(tmp_path: Path) -> None:
    keys = [private_key("p256"), private_key("ed25519")]
    path = tmp_path / "ring.pem"
    path.write_bytes(b"\n".join(public_pem(k) for k in keys))
    assert [k.fingerprint for k in load_public_keys(str(path))] == [fingerprint_of(k) for k in keys]


def test_the_fingerprint_is_the_sha256_of_the_der_spki() -> None:
    key = private_key().public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert fingerprint(key) == "sha256:" + hashlib.sha256(der).hexdigest()


@pytest.mark.parametrize(
    ("kind", "accepted"), [("p256", ("sha256",)), ("p384", ("sha384", "sha256")), ("p521", ("sha512", "sha256"))]
)
def test_ecdsa_signatures_use_the_curve_hash_or_cosigns_verification_default(
    kind: str, accepted: tuple[str, ...]
) -> None:
    key = private_key(kind)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    (loaded,) = parse_public_keys(public_pem(key), "k")
    for name in ("sha256", "sha384", "sha512", "sha224"):
        signature = key.sign(b"m", ec.ECDSA(hashes.__dict__[name.upper()]()))
        assert signature_is_valid(loaded, signature, b"m") is (name in accepted), name


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing\.pub"):
        load_public_keys(str(tmp_path / "missing.pub"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a key at all", "no PEM block"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "not a readable PEM public key"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "is not a public key"),
    ],
)
def test_unreadable_keys_name_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.pub"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as caught:
        load_public_keys(str(path))
    assert str(path) in caught.value.message


def test_a_private_key_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = tmp_path / "cosign.key"
    pem = private_pem(private_key())
    path.write_bytes(pem)
    with pytest.raises(InputError, match="private key") as caught:
        load_public_keys(str(path))
    assert pem.decode().splitlines()[1] not in caught.value.message


def test_unsupported_kinds_are_named(tmp_path: Path) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    curve = ec.generate_private_key(ec.SECP256K1()).public_key()
    other = dsa.generate_private_key(2048).public_key()
    for key, message in ((weak, "1024 bits is too short"), (curve, "secp256k1"), (other, "DSA")):
        pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        with pytest.raises(InputError, match=message):
            parse_public_keys(pem, "key.pub")


def test_an_empty_entry_is_an_input_error() -> None:
    with pytest.raises(InputError, match="attestation key 2 is empty"):
        load_public_keys("   ", position=2)
