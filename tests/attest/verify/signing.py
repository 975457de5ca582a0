"""Test-side signers (``cryptography``), written from the DSSE, sigstore bundle and cosign specs,
independently of gate.attest.verify: keys of every supported kind, DSSE envelopes, key-signed
sigstore bundles, cosign legacy layers, and a one-entry Rekor-like log for tlog checks."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

from tests.support.images import CYCLONEDX, IN_TOTO, STATEMENT_V1, cyclonedx_sbom

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
KEY_KINDS = ("p256", "p384", "ed25519", "rsa")
BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"


def private_key(kind: str = "p256") -> PrivateKey:
    if kind == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "p384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "p521":
        return ec.generate_private_key(ec.SECP521R1())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(kind)


def public_pem(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def private_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def fingerprint_of(key: PrivateKey) -> str:
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def write_public_key(folder: Path, key: PrivateKey | None = None, name: str = "signer.pub") -> Path:
    path = folder / name
    path.write_bytes(public_pem(key or private_key()))
    return path


def sign(key: PrivateKey, message: bytes) -> bytes:
    """How cosign/sigstore-go sign with each key kind."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        digest = {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}[key.curve.key_size]
        return key.sign(message, ec.ECDSA(digest))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(message)


def pae(payload_type: str, payload: bytes) -> bytes:
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type.encode(), len(payload), payload)


def statement(subject_digest: str, predicate_type: str = CYCLONEDX, name: str = "example/app") -> dict[str, Any]:
    return {
        "_type": STATEMENT_V1,
        "subject": [{"name": name, "digest": {"sha256": subject_digest.removeprefix("sha256:")}}],
        "predicateType": predicate_type,
        "predicate": cyclonedx_sbom(),
    }


def envelope(key: PrivateKey | None, payload: bytes, payload_type: str = IN_TOTO) -> dict[str, Any]:
    signatures = (
        [] if key is None else [{"keyid": "", "sig": base64.b64encode(sign(key, pae(payload_type, payload))).decode()}]
    )
    return {"payloadType": payload_type, "payload": base64.b64encode(payload).decode(), "signatures": signatures}


def key_bundle(
    key: PrivateKey | None, payload: bytes, *, tlog_entries: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "mediaType": BUNDLE_V03,
        "verificationMaterial": {"publicKey": {"hint": ""}, "tlogEntries": tlog_entries or []},
        "dsseEnvelope": envelope(key, payload),
    }


def to_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def self_signed_ca_der() -> bytes:
    """A CA certificate nobody trusts (to stand in for the real Fulcio CA)."""
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigstore.dev"),
            x509.NameAttribute(NameOID.COMMON_NAME, "sigstore"),
        ]
    )
    now = datetime.datetime(2021, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650 * 3))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA384())
    )
    return cert.public_bytes(serialization.Encoding.DER)


# cosign's legacy layers ------------------------------------------------------------------------
SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE_LAYER = "application/vnd.dsse.envelope.v1+json"


def simple_signing_payload(digest: str, reference: str = "127.0.0.1:5000/example/app") -> bytes:
    return json.dumps(
        {
            "critical": {
                "identity": {"docker-reference": reference},
                "image": {"docker-manifest-digest": digest},
                "type": "cosign container image signature",
            },
            "optional": None,
        }
    ).encode()


def layer(media_type: str, blob: bytes, annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "mediaType": media_type,
        "size": len(blob),
        "digest": "sha256:" + hashlib.sha256(blob).hexdigest(),
        "annotations": annotations,
    }


def legacy_manifest(layers: list[dict[str, Any]]) -> bytes:
    config = {
        "mediaType": "application/vnd.oci.image.config.v1+json",
        "size": 2,
        "digest": "sha256:" + hashlib.sha256(b"{}").hexdigest(),
    }
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config,
            "layers": layers,
        }
    ).encode()


def legacy_signature(key: PrivateKey | None, digest: str) -> tuple[dict[str, Any], bytes]:
    """A ``.sig`` layer: the simple-signing payload and its signature annotation."""
    payload = simple_signing_payload(digest)
    signature = base64.b64encode(sign(key, payload)).decode() if key is not None else ""
    return layer(SIMPLE_SIGNING, payload, {"dev.cosignproject.cosign/signature": signature}), payload


def legacy_attestation(key: PrivateKey | None, payload: bytes, **annotations: str) -> tuple[dict[str, Any], bytes]:
    """A ``.att`` layer: a DSSE envelope of ``payload``."""
    blob = json.dumps(envelope(key, payload)).encode()
    return layer(
        DSSE_LAYER, blob, {"dev.cosignproject.cosign/signature": "", "predicateType": CYCLONEDX, **annotations}
    ), blob
