"""Public keys of attestation signers: loading them (a PEM file or inline PEM text), naming them, and
checking one signature the way cosign and sigstore-go make it with each kind of key.

How each kind signs (sigstore/sigstore ``pkg/signature``, as cosign v3 loads a key): ECDSA with the
curve's own hash (P-256 SHA-256, P-384 SHA-384, P-521 SHA-512), RSA PKCS#1 v1.5 with SHA-256, Ed25519
over the message itself. cosign v3.1.3 signs with the curve's hash but ``verify --key`` checks with
SHA-256 unless given ``--signature-digest-algorithm``: both are accepted for P-384 and P-521 (a
signature under one hash is no signature of another message under the other). cosign v3.1.3 signs with
an Ed25519 key in the pre-hashed Ed25519ph form, which its own ``verify --key`` refuses too: those are
refused here as well. A signer is named by ``sha256:<hex>`` of its DER SubjectPublicKeyInfo.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from gate.errors import InputError
from gate.files import read_capped

MAX_KEY_FILE_BYTES = 64 * 1024
MIN_RSA_BITS = 2048
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.DOTALL)
_CURVE_HASHES: dict[str, tuple[type[hashes.HashAlgorithm], ...]] = {
    "secp256r1": (hashes.SHA256,),
    "secp384r1": (hashes.SHA384, hashes.SHA256),
    "secp521r1": (hashes.SHA512, hashes.SHA256),
}
_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}

VerifyingKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey


@dataclass(frozen=True)
class PublicKey:
    """A signer's public key, its fingerprint and where it came from (a path, or "inline key N")."""

    fingerprint: str
    kind: str  # "ECDSA P-256", "RSA 4096", "Ed25519"
    source: str
    key: VerifyingKey = field(compare=False, repr=False)


def load_public_keys(entry: str, position: int = 1) -> tuple[PublicKey, ...]:
    """The public keys of one ``--attestation-key`` value: a path to a PEM file, or PEM text itself.

    ``position`` numbers an inline key in messages. A file may hold several PEM public keys (a keyring).
    """
    if "-----BEGIN" in entry:
        return parse_public_keys(entry.encode("utf-8", "replace"), f"inline key {position}")
    path = entry.strip()
    if not path:
        raise InputError(f"attestation key {position} is empty: give a path to a PEM public key or the PEM text")
    return parse_public_keys(read_capped(path, MAX_KEY_FILE_BYTES, "the attestation public key"), path)


def parse_public_keys(pem: bytes, source: str) -> tuple[PublicKey, ...]:
    """Every public key in ``pem``; an ``InputError`` naming ``source`` when there is none or one is unusable."""
    blocks = [match for match in _PEM_BLOCK.finditer(pem)]
    if not blocks:
        raise InputError(f"{source}: no PEM block found; expected a public key (-----BEGIN PUBLIC KEY-----)")
    keys = []
    for number, block in enumerate(blocks, 1):
        label = block.group(1).decode()
        where = source if len(blocks) == 1 else f"{source} (PEM block {number})"
        if "PRIVATE" in label:
            raise InputError(f"{where}: this is a private key ({label}); give the signer's public key")
        if label not in ("PUBLIC KEY", "RSA PUBLIC KEY"):
            raise InputError(f"{where}: a {label} block is not a public key (-----BEGIN PUBLIC KEY-----)")
        try:
            loaded = serialization.load_pem_public_key(block.group(0))
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise InputError(f"{where}: not a readable PEM public key ({exc})") from None
        keys.append(_checked(loaded, where))
    return tuple(keys)


def fingerprint(key: VerifyingKey) -> str:
    """``sha256:<hex>`` of the key's DER SubjectPublicKeyInfo."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def signature_is_valid(key: PublicKey, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` over ``message`` was made with ``key``'s private key (cosign's algorithms)."""
    if isinstance(key.key, ec.EllipticCurvePublicKey):
        return any(
            _ecdsa_is_valid(key.key, signature, message, hash_type) for hash_type in _CURVE_HASHES[key.key.curve.name]
        )
    try:
        if isinstance(key.key, rsa.RSAPublicKey):
            key.key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        else:
            key.key.verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _ecdsa_is_valid(
    key: ec.EllipticCurvePublicKey, signature: bytes, message: bytes, hash_type: type[hashes.HashAlgorithm]
) -> bool:
    try:
        key.verify(signature, message, ec.ECDSA(hash_type()))
    except (InvalidSignature, ValueError):
        return False
    return True


def _checked(loaded: object, where: str) -> PublicKey:
    if isinstance(loaded, ec.EllipticCurvePublicKey):
        curve = loaded.curve.name
        if curve not in _CURVE_HASHES:
            raise InputError(f"{where}: ECDSA curve {curve} is not supported (P-256, P-384 or P-521)")
        return PublicKey(fingerprint(loaded), f"ECDSA {_CURVE_NAMES[curve]}", where, loaded)
    if isinstance(loaded, rsa.RSAPublicKey):
        if loaded.key_size < MIN_RSA_BITS:
            raise InputError(f"{where}: RSA key of {loaded.key_size} bits is too short (at least {MIN_RSA_BITS})")
        return PublicKey(fingerprint(loaded), f"RSA {loaded.key_size}", where, loaded)
    if isinstance(loaded, ed25519.Ed25519PublicKey):
        return PublicKey(fingerprint(loaded), "Ed25519", where, loaded)
    kind = type(loaded).__name__.removeprefix("_").replace("PublicKey", "") or "unknown"
    raise InputError(f"{where}: {kind} public keys are not supported (ECDSA P-256/P-384, Ed25519 or RSA)")
