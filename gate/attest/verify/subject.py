"""Whether a verified in-toto statement is about a given manifest (the subject rule's test).

The verifier does not decide what a statement may be used for: the caller asks, for the digest it is
about to use the statement for (a platform manifest, or the index for an index-level document).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gate.attest.unwrap import unwrap_document
from gate.errors import InputError


def subject_matches(statement: Mapping[str, Any], digest: str) -> bool:
    """True when one of the statement's subjects has ``sha256`` equal to ``digest`` (``sha256:<hex>``)."""
    algorithm, _, value = digest.lower().partition(":")
    if algorithm != "sha256" or not value:
        return False
    try:
        attestation = unwrap_document(statement, "signed statement")
    except InputError:
        return False
    return f"sha256:{value}" in attestation.subject_digests
