"""Builders of the attestation wrappers, written from the specs (DSSE, in-toto, sigstore bundle)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

REAL_WORLD = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "real-world"
CDX_PREDICATE = "https://cyclonedx.org/bom"
SPDX_PREDICATE = "https://spdx.dev/Document"


def statement(
    predicate: Any,
    predicate_type: str = CDX_PREDICATE,
    *,
    version: str = "v1",
    subject_digest: str = "sha256:" + "a" * 64,
) -> dict[str, Any]:
    algorithm, _, hex_value = subject_digest.partition(":")
    return {
        "_type": f"https://in-toto.io/Statement/{version}",
        "subject": [{"name": "pkg:docker/example/app@1", "digest": {algorithm: hex_value}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def dsse(payload: dict[str, Any], *, urlsafe: bool = False) -> dict[str, Any]:
    raw = json.dumps(payload).encode()
    encoded = (base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)).decode()
    return {
        "payloadType": "application/vnd.in-toto+json",
        "payload": encoded,
        "signatures": [{"keyid": "", "sig": base64.b64encode(b"not-a-real-signature").decode()}],
    }


def bundle(envelope: dict[str, Any], version: str = "0.3") -> dict[str, Any]:
    media_type = (
        "application/vnd.dev.sigstore.bundle.v0.3+json"
        if version == "0.3"
        else f"application/vnd.dev.sigstore.bundle+json;version={version}"
    )
    return {
        "mediaType": media_type,
        "verificationMaterial": {"publicKey": {"hint": "test"}, "tlogEntries": []},
        "dsseEnvelope": envelope,
    }


def cosign_legacy(document: dict[str, Any], *, as_string: bool = True) -> dict[str, Any]:
    return {"Data": json.dumps(document) if as_string else document, "Timestamp": "2024-01-01T00:00:00Z"}


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()
