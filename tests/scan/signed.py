"""Images whose SBOMs cosign v3.1.3 signed, and what an attacker who can push adds to them: unsigned, forged
and moved attestations. cosign writes; the forgeries are made from its real output with the support client
and regctl (never gate.oci)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from gate.attest.verify.policy import VerificationPolicy
from tests.attest.verify.cosign_tool import Artifact, CosignKeys, attest, signed_artifacts
from tests.attest.verify.signing import BUNDLE_V03
from tests.support.client import RegistryClient, sha256_digest
from tests.support.images import (
    CYCLONEDX,
    IN_TOTO,
    OCI_MANIFEST,
    PREDICATE_ANNOTATION,
    Referrer,
    attach_referrer,
    cyclonedx_sbom,
    dsse_envelope,
    in_toto_statement,
)
from tests.support.registries import Registry

NEWEST = "9999-12-31T00:00:00Z"
"""A creation date newer than anything cosign writes: "newest wins" would pick what carries it."""
LEFT_PAD = "pkg:npm/left-pad@1.3.0"


def clean_sbom() -> dict[str, Any]:
    """A CycloneDX SBOM whose one npm package has no advisory in the test database: a pass."""
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "components": [{"type": "library", "name": "left-pad", "version": "1.3.0", "purl": LEFT_PAD}],
    }


def empty_sbom() -> dict[str, Any]:
    return {"bomFormat": "CycloneDX", "specVersion": "1.5", "components": []}


def predicate_file(folder: Path, name: str, document: dict[str, Any]) -> Path:
    path = folder / f"{name}.cdx.json"
    path.write_text(json.dumps(document))
    return path


def key_policy(keys: CosignKeys, kind: str = "p256") -> VerificationPolicy:
    """``--attestation-key <kind>.pub --insecure-ignore-tlog`` (cosign signs here without a transparency log)."""
    return VerificationPolicy.build(keys=[str(keys.public(kind))], insecure_ignore_tlog=True)


def cosign_attest(
    registry: Registry, repo: str, digest: str, keys: CosignKeys, predicate: Path, *, legacy: bool, kind: str = "p256"
) -> None:
    attest(keys, kind, registry.ref(repo, digest=digest), predicate, legacy=legacy)


def attach_unsigned_sbom(
    registry: Registry, repo: str, subject: str, sbom: dict[str, Any], *, about: str | None = None
) -> Referrer:
    """An unsigned SBOM referrer (a DSSE envelope whose signature is no signature), newer than anything else."""
    statement = in_toto_statement(f"{registry.host}/{repo}", about or subject, CYCLONEDX, sbom)
    return attach_referrer(
        registry, repo, subject, artifact_type=IN_TOTO, payload=json.dumps(dsse_envelope(statement)).encode(),
        layer_media_type=IN_TOTO, annotations={PREDICATE_ANNOTATION: CYCLONEDX, "org.opencontainers.image.created": NEWEST},
        layer_annotations={PREDICATE_ANNOTATION: CYCLONEDX},
    )  # fmt: skip


def bundle_of(registry: Registry, repo: str, digest: str) -> tuple[Artifact, dict[str, Any]]:
    """The one cosign bundle referrer (new format) of ``digest``: the artifact and its bundle JSON."""
    (artifact,) = [a for a in signed_artifacts(registry, repo, digest, "att") if a.source == "referrer"]
    layer = json.loads(artifact.manifest)["layers"][0]
    return artifact, json.loads(artifact.blobs[layer["digest"]])


def attach_bundle(registry: Registry, repo: str, subject: str, bundle: dict[str, Any]) -> Referrer:
    """A sigstore bundle referrer of ``subject``, shaped as cosign writes them (and newer than any)."""
    return attach_referrer(
        registry, repo, subject, artifact_type=BUNDLE_V03, payload=json.dumps(bundle).encode(),
        layer_media_type=BUNDLE_V03,
        annotations={"dev.sigstore.bundle.content": "dsse-envelope", "dev.sigstore.bundle.predicateType": CYCLONEDX,
                     "org.opencontainers.image.created": NEWEST},
    )  # fmt: skip


def with_payload(bundle: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """The bundle with its signed statement's predicate replaced after signing (the signature kept)."""
    forged = json.loads(json.dumps(bundle))
    envelope = forged["dsseEnvelope"]
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"] = change
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    return forged


def without_signatures(bundle: dict[str, Any]) -> dict[str, Any]:
    forged = json.loads(json.dumps(bundle))
    forged["dsseEnvelope"]["signatures"] = []
    return forged


def att_layers(registry: Registry, repo: str, digest: str) -> list[tuple[dict[str, Any], bytes]]:
    """The layers (descriptor, content) of cosign's ``sha256-<hex>.att`` manifest of ``digest``."""
    client = RegistryClient(registry)
    body, _ = client.get_manifest(repo, f"{digest.replace(':', '-')}.att")
    layers = json.loads(body)["layers"]
    return [(layer, client.get_blob(repo, layer["digest"])) for layer in layers]


def add_att_layer(registry: Registry, repo: str, digest: str, layer: dict[str, Any], blob: bytes) -> None:
    """Append a layer to ``digest``'s cosign ``.att`` manifest (as a second ``cosign attest`` would)."""
    client = RegistryClient(registry)
    tag = f"{digest.replace(':', '-')}.att"
    manifest = json.loads(client.get_manifest(repo, tag)[0])
    client.push_blob(repo, blob)
    manifest["layers"].append({**layer, "digest": sha256_digest(blob), "size": len(blob)})
    client.push_manifest(repo, tag, json.dumps(manifest).encode(), OCI_MANIFEST)


def vulnerable_sbom() -> dict[str, Any]:
    """The test SBOM: lodash 4.17.20 has CVE-2021-23337 (CVSS 7.2, the one HIGH in the test database)."""
    return cyclonedx_sbom()
