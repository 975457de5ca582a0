"""Transparency-log entries of key-signed bundles, checked with sigstore-python's log machinery.

sigstore-python's ``Verifier`` only takes keyless bundles, but its ``TransparencyLogEntry`` verifies
any entry's Merkle inclusion proof, signed checkpoint and inclusion promise (SET) against the trusted
root's Rekor keys. The entry must then describe this envelope and key: for ``dsse`` 0.0.1 (Rekor v1)
the payload hash and the signature with its verifier key; for ``hashedrekord`` 0.0.2 (Rekor v2) the
digest of the PAE and the signature with its verifier key. Any other kind (``intoto``...) is refused as
``unsupported-tlog``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives import serialization
from sigstore._internal.trust import KeyringPurpose
from sigstore.errors import Error as SigstoreError
from sigstore.models import InvalidBundle, TransparencyLogEntry
from sigstore_models.rekor import v1 as rekor_v1

from gate.attest.verify.dsse import Envelope, load_json
from gate.attest.verify.keys import PublicKey, fingerprint
from gate.attest.verify.policy import Reason, Refused, VerificationPolicy
from gate.attest.verify.sigstore_trust import trust_of

SUPPORTED_KINDS = frozenset({("dsse", "0.0.1"), ("hashedrekord", "0.0.2")})
MAX_ENTRIES = 8


def check_key_entries(entries: Sequence[Any], envelope: Envelope, key: PublicKey, policy: VerificationPolicy) -> None:
    """Returns when one entry is a valid log entry of this envelope signed by ``key``, else ``Refused``."""
    if len(entries) > MAX_ENTRIES:
        raise Refused(Reason.MALFORMED, f"the bundle has {len(entries)} tlog entries (at most {MAX_ENTRIES})")
    refusals = []
    for entry in entries:
        try:
            _check_entry(entry, envelope, key, policy)
            return
        except Refused as refusal:
            refusals.append(refusal)
    raise refusals[0]


def _check_entry(entry: Any, envelope: Envelope, key: PublicKey, policy: VerificationPolicy) -> None:
    signer = key.fingerprint
    try:
        inner = rekor_v1.TransparencyLogEntry.from_dict(entry)
    except Exception as exc:  # pydantic's ValidationError and friends on hostile input
        raise Refused(Reason.MALFORMED, f"unreadable tlog entry ({_first_line(exc)})", signer) from None
    kind = (inner.kind_version.kind, inner.kind_version.version)
    if kind not in SUPPORTED_KINDS:
        raise Refused(
            Reason.UNSUPPORTED_TLOG,
            f"tlog entry kind {kind[0]}/{kind[1]} is not checked for key-signed bundles",
            signer,
        )
    trust = trust_of(policy.trusted_root_json)
    try:
        log_entry = TransparencyLogEntry(inner)
        log_entry._verify(trust.root.rekor_keyring(KeyringPurpose.VERIFY))
    except InvalidBundle as exc:
        raise Refused(Reason.UNSUPPORTED_TLOG, f"tlog entry without a usable inclusion proof ({exc})", signer) from None
    except SigstoreError as exc:
        raise Refused(
            Reason.INVALID_TLOG_ENTRY, f"tlog entry does not verify under {policy.trusted_root_name} ({exc})", signer
        ) from None
    except Exception as exc:
        raise Refused(Reason.MALFORMED, f"unreadable tlog entry ({_first_line(exc)})", signer) from None
    body = load_json(inner.canonicalized_body, "tlog entry body")
    if not isinstance(body, Mapping) or not isinstance(body.get("spec"), Mapping):
        raise Refused(Reason.MALFORMED, "the tlog entry body has no spec", signer)
    matches = _dsse_entry_matches if kind[0] == "dsse" else _hashedrekord_entry_matches
    if not matches(body["spec"], envelope, key):
        raise Refused(Reason.INVALID_TLOG_ENTRY, "the tlog entry records another payload, signature or key", signer)


def _dsse_entry_matches(spec: Mapping[str, Any], envelope: Envelope, key: PublicKey) -> bool:
    payload_hash = spec.get("payloadHash")
    if not isinstance(payload_hash, Mapping) or payload_hash.get("algorithm") != "sha256":
        return False
    if payload_hash.get("value") != hashlib.sha256(envelope.payload).hexdigest():
        return False
    recorded = spec.get("signatures")
    if not isinstance(recorded, list):
        return False
    for item in recorded:
        if not isinstance(item, Mapping):
            continue
        signature, verifier = _b64(item.get("signature")), _b64(item.get("verifier"))
        if signature in envelope.signatures and _pem_fingerprint(verifier) == key.fingerprint:
            return True
    return False


def _hashedrekord_entry_matches(spec: Mapping[str, Any], envelope: Envelope, key: PublicKey) -> bool:
    record = spec.get("hashedRekordV002")
    if not isinstance(record, Mapping):
        return False
    data, signature = record.get("data"), record.get("signature")
    if not isinstance(data, Mapping) or not isinstance(signature, Mapping):
        return False
    algorithms = {"SHA2_256": hashlib.sha256, "SHA2_384": hashlib.sha384, "SHA2_512": hashlib.sha512}
    hasher = algorithms.get(str(data.get("algorithm")))
    if hasher is None or _b64(data.get("digest")) != hasher(envelope.pae).digest():
        return False
    verifier = signature.get("verifier")
    public = verifier.get("publicKey") if isinstance(verifier, Mapping) else None
    raw = _b64(public.get("rawBytes")) if isinstance(public, Mapping) else None
    return _b64(signature.get("content")) in envelope.signatures and _der_fingerprint(raw) == key.fingerprint


def _b64(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _pem_fingerprint(pem: bytes | None) -> str | None:
    if not pem:
        return None
    try:
        return fingerprint(serialization.load_pem_public_key(pem))  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return None


def _der_fingerprint(der: bytes | None) -> str | None:
    if not der:
        return None
    try:
        return fingerprint(serialization.load_der_public_key(der))  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]
