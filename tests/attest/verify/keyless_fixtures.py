"""The real GitHub keyless bundles of ../shared/fixtures/real-world/sigstore (see its SOURCES.md)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from gate.attest.verify.policy import VerificationPolicy
from tests.support.images import real_world_path

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
REUSABLE = "reusable-workflow-attestation.sigstore.json"
REUSABLE_IDENTITY = (
    "https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml"
    "@09b495c3f12c7881b3cc17209a327792065c1a1d"
)
CUSTOM = "custom-issuer.sigstore.json"
CUSTOM_IDENTITY = "https://github.com/too-legit/attest/.github/workflows/integration.yml@refs/heads/main"
CUSTOM_ISSUER = "https://token.actions.githubusercontent.com/hammer-time"
SIGSTORE_JS = "sigstore-js-2.1.0-bundle.json"
INVALID_SIGNATURE = "sigstoreBundle-invalid-signature.json"


def fixture(name: str) -> Path:
    return real_world_path(f"sigstore/{name}")


def fixture_bytes(name: str) -> bytes:
    return fixture(name).read_bytes()


def fixture_json(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(fixture_bytes(name))
    return loaded


def trusted_root() -> str:
    return str(fixture("trusted_root.json"))


def github_policy(identity: str = REUSABLE_IDENTITY, issuer: str = GITHUB_ISSUER, **extra: Any) -> VerificationPolicy:
    return VerificationPolicy.build(identity=identity, issuer=issuer, trusted_root=trusted_root(), **extra)


def statement_of(bundle: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    return loaded
