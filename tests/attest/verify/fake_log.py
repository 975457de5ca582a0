"""A one-entry transparency log of our own (Rekor's formats: Merkle leaf, signed checkpoint note, SET),
and a trusted root naming its key, to test tlog checks of key-signed bundles offline."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.attest.verify.signing import PrivateKey, pae, public_pem, sign

ORIGIN = "image-gate.test - 1"
KEY_NAME = "image-gate.test"  # a note signature line names the key, without spaces
INTEGRATED_TIME = 1_700_000_000


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass
class FakeLog:
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    @property
    def der(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def log_id(self) -> bytes:
        return hashlib.sha256(self.der).digest()

    def trusted_root(self, base: dict[str, Any], folder: Path) -> Path:
        """``base`` (a real trusted root) with this log as its only Rekor instance."""
        root = json.loads(json.dumps(base))
        root["tlogs"] = [
            {
                "baseUrl": "https://log.invalid",
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": _b64(self.der),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": "2020-01-01T00:00:00Z"},
                },
                "logId": {"keyId": _b64(self.log_id)},
            }
        ]
        path = folder / "trusted_root.json"
        path.write_text(json.dumps(root))
        return path

    def dsse_entry(self, envelope: dict[str, Any], signer: PrivateKey) -> dict[str, Any]:
        """A Rekor v1 ``dsse`` 0.0.1 entry of ``envelope`` signed by ``signer``, with proof and SET."""
        payload = base64.b64decode(envelope["payload"])
        body = {
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {
                    "algorithm": "sha256",
                    "value": hashlib.sha256(json.dumps(envelope).encode()).hexdigest(),
                },
                "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
                "signatures": [
                    {"signature": item["sig"], "verifier": _b64(public_pem(signer))} for item in envelope["signatures"]
                ],
            },
        }
        return self.entry(json.dumps(body).encode(), "dsse", "0.0.1", promise=True)

    def hashedrekord_entry(self, envelope: dict[str, Any], signer: PrivateKey) -> dict[str, Any]:
        """A Rekor v2 ``hashedrekord`` 0.0.2 entry of ``envelope`` (digest of its PAE), no SET."""
        payload = base64.b64decode(envelope["payload"])
        der = signer.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        body = {
            "apiVersion": "0.0.2",
            "kind": "hashedrekord",
            "spec": {
                "hashedRekordV002": {
                    "data": {
                        "algorithm": "SHA2_256",
                        "digest": _b64(hashlib.sha256(pae(envelope["payloadType"], payload)).digest()),
                    },
                    "signature": {
                        "content": envelope["signatures"][0]["sig"],
                        "verifier": {"publicKey": {"rawBytes": _b64(der)}, "keyDetails": "PKIX_ECDSA_P256_SHA_256"},
                    },
                }
            },
        }
        return self.entry(json.dumps(body).encode(), "hashedrekord", "0.0.2", promise=False)

    def entry(self, body: bytes, kind: str, version: str, *, promise: bool) -> dict[str, Any]:
        root = hashlib.sha256(b"\x00" + body).digest()  # a tree of one leaf: its root is the leaf hash
        note = f"{ORIGIN}\n1\n{_b64(root)}\n"
        note_signature = self.key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        checkpoint = f"{note}\n\u2014 {KEY_NAME} {_b64(self.log_id[:4] + note_signature)}\n"
        entry: dict[str, Any] = {
            "logIndex": "0",
            "logId": {"keyId": _b64(self.log_id)},
            "kindVersion": {"kind": kind, "version": version},
            "inclusionProof": {
                "logIndex": "0",
                "rootHash": _b64(root),
                "treeSize": "1",
                "hashes": [],
                "checkpoint": {"envelope": checkpoint},
            },
            "canonicalizedBody": _b64(body),
        }
        if promise:
            signed = rfc8785.dumps(
                {"body": _b64(body), "integratedTime": INTEGRATED_TIME, "logID": self.log_id.hex(), "logIndex": 0}
            )
            entry["integratedTime"] = str(INTEGRATED_TIME)
            entry["inclusionPromise"] = {"signedEntryTimestamp": _b64(sign(self.key, signed))}
        return entry
