"""The report signing key and what it signs: the scan report's in-toto statement as a sigstore bundle.

``load_signing_key(value)``: ``--report-signing-key FILE`` (the ``report_signing_key`` input may hold the
PEM text itself): one unencrypted PEM private key, ECDSA P-256/P-384/P-521, RSA of 2048 bits or more,
or Ed25519. ``sign_statement(statement, key)``: a sigstore bundle v0.3 (what cosign v3 attaches) holding
a DSSE envelope of the statement, signed over its pre-authentication encoding
(``gate.attest.verify.dsse.pae``) the way ``cosign verify-attestation --key`` checks each kind by
default: ECDSA over SHA-256 whatever the curve, RSA PKCS#1 v1.5 over SHA-256, Ed25519 over the message.
The bundle names its key as cosign does (``verificationMaterial.publicKey.hint``: the base64 SHA-256 of
the DER public key) and carries no transparency-log entry: verify it with ``--insecure-ignore-tlog``.
Every bundle is checked by the project's own verifier (``gate.attest.verify.bundle``) before it leaves.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from gate.attest.unwrap import DSSE_INTOTO_PAYLOAD
from gate.attest.verify.bundle import verify_bundle
from gate.attest.verify.dsse import pae
from gate.attest.verify.keys import MAX_KEY_FILE_BYTES, PublicKey, parse_public_keys
from gate.attest.verify.policy import VerificationPolicy
from gate.errors import InputError, RuntimeFailure
from gate.files import read_capped

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
INLINE_SOURCE = "input report_signing_key (inline PEM)"
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.DOTALL)
_PRIVATE_LABELS = frozenset({"PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"})
_GENERATE_HINT = (
    "make one with openssl: openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt "
    "-out report-signing.pem; its public key (openssl ec -in report-signing.pem -pubout) verifies the report"
)

SigningPrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class SigningKey:
    """A report signing key: the private key and its public half (fingerprint, kind, PEM)."""

    public: PublicKey
    public_pem: bytes
    private: SigningPrivateKey = field(compare=False, repr=False)

    @property
    def fingerprint(self) -> str:
        return self.public.fingerprint

    @property
    def hint(self) -> str:
        """cosign's key hint: the base64 SHA-256 of the DER public key."""
        return base64.b64encode(bytes.fromhex(self.fingerprint.removeprefix("sha256:"))).decode()

    def sign(self, message: bytes) -> bytes:
        if isinstance(self.private, ec.EllipticCurvePrivateKey):
            return self.private.sign(message, ec.ECDSA(hashes.SHA256()))
        if isinstance(self.private, rsa.RSAPrivateKey):
            return self.private.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return self.private.sign(message)

    def policy(self) -> VerificationPolicy:
        """The verification policy that accepts exactly this key's bundles (no tlog entry needed)."""
        return VerificationPolicy(keys=(self.public,), insecure_ignore_tlog=True)


def load_signing_key(value: str) -> SigningKey:
    """The key of ``--report-signing-key``: a path to a PEM file, or the PEM text itself.

    An ``InputError`` names the file (never the key's text) when it is not one usable private key."""
    if not value.strip():
        raise InputError("the report signing key is empty: give a path to a PEM private key or the PEM text")
    source = INLINE_SOURCE if "-----BEGIN" in value else value.strip()
    return parse_signing_key(signing_key_text(value).encode("utf-8", "replace"), source)


def signing_key_text(value: str) -> str:
    """The PEM text of a ``--report-signing-key`` value: the value itself, or the file it names (to mask
    it, and to load it)."""
    if "-----BEGIN" in value:
        return value
    return read_capped(value.strip(), MAX_KEY_FILE_BYTES, "the report signing key").decode("utf-8", "replace")


def parse_signing_key(pem: bytes, source: str) -> SigningKey:
    blocks = list(_PEM_BLOCK.finditer(pem))
    if len(blocks) != 1:
        found = "no PEM block" if not blocks else f"{len(blocks)} PEM blocks"
        raise InputError(
            f"{source}: {found}; expected one private key (-----BEGIN PRIVATE KEY-----)", hint=_GENERATE_HINT
        )
    label = blocks[0].group(1).decode()
    if "ENCRYPTED" in label:
        raise InputError(
            f"{source}: an encrypted key ({label}): give it unencrypted (a cosign.key is encrypted with its "
            "password and cannot be read here)",
            hint=_GENERATE_HINT,
        )
    if label not in _PRIVATE_LABELS:
        raise InputError(f"{source}: a {label} block is not a private key", hint=_GENERATE_HINT)
    try:
        loaded = serialization.load_pem_private_key(blocks[0].group(0), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise InputError(f"{source}: not a readable unencrypted PEM private key", hint=_GENERATE_HINT) from None
    if not isinstance(loaded, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        kind = type(loaded).__name__.removeprefix("_").replace("PrivateKey", "") or "unknown"
        raise InputError(f"{source}: {kind} keys are not supported (ECDSA P-256/P-384/P-521, RSA or Ed25519)")
    public_pem = loaded.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    [public] = parse_public_keys(public_pem, source)  # the same curves and RSA sizes the verifier accepts
    return SigningKey(public, public_pem, loaded)


def sign_statement(statement: bytes, key: SigningKey) -> bytes:
    """The sigstore bundle (JSON bytes) of ``statement`` (an in-toto statement's bytes) signed with ``key``."""
    signature = key.sign(pae(DSSE_INTOTO_PAYLOAD, statement))
    bundle = {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {"publicKey": {"hint": key.hint}},
        "dsseEnvelope": {
            "payload": base64.b64encode(statement).decode(),
            "payloadType": DSSE_INTOTO_PAYLOAD,
            "signatures": [{"sig": base64.b64encode(signature).decode()}],
        },
    }
    data = json.dumps(bundle, separators=(",", ":")).encode()
    checked = verify_bundle(data, key.policy())
    if not checked.verified or checked.payload != statement:
        raise RuntimeFailure(f"the signed scan report does not verify under its own key: {checked.describe()}")
    return data
