"""sigstore-python's view of the trusted root, built once per root and imported only when needed
(sigstore-python takes about a second to import)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pydantic import ValidationError
from sigstore.errors import Error as SigstoreError
from sigstore.models import TrustedRoot
from sigstore.verify import Verifier
from sigstore_models.trustroot import v1 as trustroot_v1

from gate.errors import InputError


@dataclass(frozen=True)
class Trust:
    """A parsed trusted root and its keyless verifier (None when the root cannot verify keyless:
    ``problem`` then says why, e.g. no Fulcio certificate authority)."""

    root: TrustedRoot
    verifier: Verifier | None
    problem: str


def parse_trusted_root(data: bytes, source: str) -> TrustedRoot:
    """A ``trusted_root.json`` as sigstore-python reads it, or an ``InputError`` naming ``source``."""
    try:
        return TrustedRoot(trustroot_v1.TrustedRoot.from_json(data))
    except (ValidationError, ValueError, SigstoreError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{source}: not a Sigstore trusted root (trusted_root.json): {first[:300]}") from None


@lru_cache(maxsize=8)
def trust_of(root_json: bytes) -> Trust:
    """The ``Trust`` of a trusted root the policy already checked (cached: one per root per process)."""
    root = parse_trusted_root(root_json, "the trusted root")
    try:
        return Trust(root, Verifier(trusted_root=root), "")
    except SigstoreError as exc:
        return Trust(root, None, str(exc))
