"""DSSE envelopes: the pre-authentication encoding (PAE) and their signatures under the policy's keys.

A bare DSSE envelope (a referrer whose layer is ``application/vnd.dsse.envelope.v1+json``) carries no
certificate and no transparency-log entry: only a key verifies it, and only with
``--insecure-ignore-tlog`` (like cosign, a key-signed attestation needs a tlog entry otherwise).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gate.attest.unwrap import DSSE_INTOTO_PAYLOAD, STATEMENT_TYPES
from gate.attest.verify.keys import PublicKey, signature_is_valid
from gate.attest.verify.policy import Reason, Refused, Verification, VerificationPolicy

MAX_SIGNATURES = 16
MAX_ENVELOPE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Envelope:
    """A parsed DSSE envelope: what was signed, and each signature (raw bytes) with its ``keyid``."""

    payload_type: str
    payload: bytes
    signatures: tuple[bytes, ...]
    keyids: tuple[str, ...]

    @property
    def pae(self) -> bytes:
        return pae(self.payload_type, self.payload)


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what a DSSE signature signs."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def verify_envelope(data: bytes, policy: VerificationPolicy) -> Verification:
    """A bare DSSE envelope (JSON bytes) checked against the policy's keys."""
    try:
        envelope = parse_envelope(load_json(data, "DSSE envelope"))
        if not envelope.signatures:
            raise Refused(Reason.UNSIGNED, "the DSSE envelope has no signature")
        if not policy.keys:
            raise Refused(
                Reason.UNTRUSTED_KEY,
                "a bare DSSE envelope carries no certificate: only --attestation-key can verify it",
            )
        key = signing_key(envelope, policy.keys)
        if not policy.insecure_ignore_tlog:
            raise Refused(
                Reason.NO_TLOG_ENTRY,
                "a bare DSSE envelope has no transparency-log entry (accept it with --insecure-ignore-tlog)",
                key.fingerprint,
            )
        return attested(key.fingerprint, envelope.payload_type, envelope.payload)
    except Refused as refusal:
        return refusal.verification


def parse_envelope(document: Any) -> Envelope:
    """A DSSE envelope from its JSON form (also a sigstore bundle's ``dsseEnvelope``), else ``Refused``."""
    if not isinstance(document, Mapping):
        raise Refused(Reason.MALFORMED, "the DSSE envelope is not a JSON object")
    payload_type, payload, signatures = document.get("payloadType"), document.get("payload"), document.get("signatures")
    if not isinstance(payload_type, str) or not isinstance(payload, str):
        raise Refused(Reason.MALFORMED, "the DSSE envelope needs a string payloadType and payload")
    if signatures is None:
        signatures = []
    if not isinstance(signatures, list):
        raise Refused(Reason.MALFORMED, "the DSSE envelope's signatures is not a list")
    if len(signatures) > MAX_SIGNATURES:
        raise Refused(
            Reason.MALFORMED, f"the DSSE envelope has {len(signatures)} signatures (at most {MAX_SIGNATURES})"
        )
    raw, keyids = [], []
    for number, item in enumerate(signatures):
        if not isinstance(item, Mapping) or not isinstance(item.get("sig"), str):
            raise Refused(Reason.MALFORMED, f"DSSE signature {number} has no string sig")
        keyid = item.get("keyid", "")
        raw.append(decode_base64(item["sig"], f"DSSE signature {number}"))
        keyids.append(keyid if isinstance(keyid, str) else "")
    signed = tuple(sig for sig in raw if sig)
    return Envelope(payload_type, decode_base64(payload, "DSSE payload"), signed, tuple(keyids))


def signing_key(envelope: Envelope, keys: Sequence[PublicKey]) -> PublicKey:
    """The first policy key one of the envelope's signatures verifies under, else ``Refused``."""
    message = envelope.pae
    for key in keys:
        if any(signature_is_valid(key, signature, message) for signature in envelope.signatures):
            return key
    count = f"{len(keys)} key" + ("s" if len(keys) != 1 else "")
    raise Refused(
        Reason.UNTRUSTED_KEY,
        f"no signature of the DSSE envelope verifies under the policy's {count} "
        "(signed by another key, or changed after signing)",
    )


def attested(signer: str, payload_type: str, payload: bytes) -> Verification:
    """The accepted ``Verification`` of a verified in-toto statement, or ``Refused`` when it is not one."""
    return Verification.accepted(signer, payload_type, payload, statement_of(payload_type, payload))


def statement_of(payload_type: str, payload: bytes) -> Mapping[str, Any]:
    """The in-toto statement a verified payload is; ``Refused`` (malformed) for any other payload."""
    if payload_type != DSSE_INTOTO_PAYLOAD:
        raise Refused(Reason.MALFORMED, f"the signed payload type {payload_type[:100]!r} is not {DSSE_INTOTO_PAYLOAD}")
    statement = load_json(payload, "signed in-toto statement")
    if not isinstance(statement, Mapping) or statement.get("_type") not in STATEMENT_TYPES:
        raise Refused(Reason.MALFORMED, "the signed payload is not an in-toto statement (v0.1 or v1)")
    return statement


def load_json(data: bytes | str, what: str) -> Any:
    """Parsed JSON, or ``Refused`` (malformed) naming ``what``."""
    if len(data) > MAX_ENVELOPE_BYTES:
        raise Refused(Reason.MALFORMED, f"the {what} is larger than {MAX_ENVELOPE_BYTES} bytes")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise Refused(Reason.MALFORMED, f"the {what} is not JSON ({str(exc)[:200]})") from None


def decode_base64(text: str, what: str) -> bytes:
    """Standard or URL-safe base64 (DSSE allows both), padding optional; ``Refused`` when it is not."""
    cleaned = text.strip()
    padded = cleaned + "=" * (-len(cleaned) % 4)
    altchars = b"-_" if ("-" in cleaned or "_" in cleaned) else None
    try:
        return base64.b64decode(padded, altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        raise Refused(Reason.MALFORMED, f"the {what} is not valid base64") from None
