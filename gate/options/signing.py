"""The report signing key option (``promote`` and ``pipeline`` sign the scan report with it, ``mirror
--provenance`` each acquisition provenance statement), declared here so that a command taking it does not
load the promote stage's options; the key itself is read by ``gate.promote.signing``, on demand."""

from __future__ import annotations

import contextlib

from gate.errors import GateError
from gate.options.base import Option

REPORT_SIGNING_KEY = Option(
    "report_signing_key",
    "sign the scan report with this PEM private key (ECDSA, RSA or Ed25519; unencrypted): the vuln report "
    "becomes a sigstore bundle referrer that cosign verify-attestation --type vuln verifies (no tlog entry). "
    "The input may hold the PEM text itself; it is masked",
    {"type": "string"},
    default="",
    flag="--report-signing-key",
    metavar="FILE",
)


def signing_key_secrets(value: str) -> tuple[str, ...]:
    """What to mask of a ``--report-signing-key`` value: the PEM text given inline, else the file's (nothing
    when it is empty or unreadable: loading it says why, and nothing read is left to mask)."""
    if not value.strip():
        return ()
    from gate.promote.signing import signing_key_text  # cryptography: only when a key is given

    with contextlib.suppress(GateError):
        return (signing_key_text(value),)
    return ()
