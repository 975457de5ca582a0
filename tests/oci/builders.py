"""Build real OCI content (multi-platform images, referrers, BuildKit attestations) into any Target."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from gate.oci.reference import compute_digest, descriptor_to_json
from gate.oci.target import OCI_INDEX, OCI_MANIFEST, Descriptor, Manifest, Platform, Target

LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG = "application/vnd.oci.image.config.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"
SBOM_TYPE = "application/vnd.cyclonedx+json"
SIG_TYPE = "application/vnd.dev.cosign.artifact.sig.v1+json"
INTOTO = "application/vnd.in-toto+json"


def blob_source(data: bytes) -> Any:
    @contextmanager
    def opener() -> Iterator[Iterator[bytes]]:
        yield iter([data[i : i + 65536] for i in range(0, len(data), 65536)] or [b""])

    return opener


def push_blob(target: Target, data: bytes, media_type: str) -> Descriptor:
    descriptor = Descriptor(media_type, compute_digest(data), len(data))
    target.push_blob(descriptor, blob_source(data))
    return descriptor


def manifest_of(document: dict[str, Any]) -> Manifest:
    data = json.dumps(document, indent=2).encode()
    return Manifest(Descriptor(document["mediaType"], compute_digest(data), len(data)), data)


def push_image(target: Target, platform: Platform, layers: int = 2, layer_size: int = 1000) -> Manifest:
    config = json.dumps(
        {"architecture": platform.architecture, "os": platform.os, "variant": platform.variant}
    ).encode()
    config_desc = push_blob(target, config, CONFIG)
    layer_descs = [push_blob(target, os.urandom(layer_size), LAYER) for _ in range(layers)]
    manifest = manifest_of(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor_to_json(config_desc),
            "layers": [descriptor_to_json(d) for d in layer_descs],
        }
    )
    target.push_manifest(manifest)
    return manifest


def with_platform(manifest: Manifest, platform: Platform) -> Descriptor:
    d = manifest.descriptor
    return Descriptor(d.media_type, d.digest, d.size, platform=platform)


def attestation_for(target: Target, image: Manifest) -> tuple[Manifest, Descriptor]:
    """A BuildKit in-index attestation manifest and its index descriptor."""
    statement = json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": "https://spdx.dev/Document",
            "subject": [{"digest": {"sha256": image.descriptor.digest.split(":")[1]}}],
        }
    )
    layer = push_blob(target, statement.encode(), INTOTO)
    layer = Descriptor(
        layer.media_type,
        layer.digest,
        layer.size,
        annotations={"in-toto.io/predicate-type": "https://spdx.dev/Document"},
    )
    config = push_blob(target, b'{"architecture":"unknown","os":"unknown"}', CONFIG)
    manifest = manifest_of(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor_to_json(config),
            "layers": [descriptor_to_json(layer)],
        }
    )
    target.push_manifest(manifest)
    descriptor = Descriptor(
        OCI_MANIFEST,
        manifest.descriptor.digest,
        manifest.descriptor.size,
        annotations={
            "vnd.docker.reference.type": "attestation-manifest",
            "vnd.docker.reference.digest": image.descriptor.digest,
        },
        platform=Platform("unknown", "unknown"),
    )
    return manifest, descriptor


def push_index(target: Target, children: list[Descriptor], tag: str | None = None) -> Manifest:
    manifest = manifest_of(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [descriptor_to_json(c) for c in children]}
    )
    target.push_manifest(manifest, tag)
    return manifest


def referrer_manifest(
    target: Target, subject: Manifest, artifact_type: str, payload: bytes, annotations: dict[str, str] | None = None
) -> Manifest:
    """A referrer of ``subject`` whose blobs are in ``target`` (the manifest itself is not pushed)."""
    empty = push_blob(target, b"{}", EMPTY)
    layer = push_blob(target, payload, artifact_type)
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": descriptor_to_json(empty),
        "layers": [descriptor_to_json(layer)],
        "subject": {
            "mediaType": subject.descriptor.media_type,
            "digest": subject.descriptor.digest,
            "size": subject.descriptor.size,
        },
    }
    if annotations:
        document["annotations"] = annotations
    return manifest_of(document)


def push_referrer(
    target: Target, subject: Manifest, artifact_type: str, payload: bytes, annotations: dict[str, str] | None = None
) -> Manifest:
    manifest = referrer_manifest(target, subject, artifact_type, payload, annotations)
    target.push_manifest(manifest)
    target.add_referrer(subject.descriptor, manifest)
    return manifest


@dataclass(frozen=True)
class BuiltImage:
    index: Manifest
    images: tuple[Manifest, ...]
    attestations: tuple[Manifest, ...]
    referrers: tuple[Manifest, ...]


AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64", "v8")


def build_image(target: Target, tag: str = "v1", *, referrers: bool = True, layer_size: int = 1000) -> BuiltImage:
    """A 2-platform index with BuildKit attestations, an SBOM referrer per platform, a signature on
    the index and a signature on the first SBOM (a referrer of a referrer)."""
    amd = push_image(target, AMD64, layer_size=layer_size)
    arm = push_image(target, ARM64, layer_size=layer_size)
    att_amd, att_amd_desc = attestation_for(target, amd)
    att_arm, att_arm_desc = attestation_for(target, arm)
    index = push_index(target, [with_platform(amd, AMD64), with_platform(arm, ARM64), att_amd_desc, att_arm_desc], tag)
    found: list[Manifest] = []
    if referrers:
        sbom_amd = push_referrer(
            target,
            amd,
            SBOM_TYPE,
            b'{"bomFormat":"CycloneDX","n":1}',
            {"in-toto.io/predicate-type": "https://cyclonedx.org/bom"},
        )
        sbom_arm = push_referrer(target, arm, SBOM_TYPE, b'{"bomFormat":"CycloneDX","n":2}')
        sig_index = push_referrer(target, index, SIG_TYPE, b"signature-of-index")
        sig_sbom = push_referrer(target, sbom_amd, SIG_TYPE, b"signature-of-sbom")
        found = [sbom_amd, sbom_arm, sig_index, sig_sbom]
    return BuiltImage(index, (amd, arm), (att_amd, att_arm), tuple(found))
