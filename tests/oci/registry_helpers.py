"""Small helpers for the registry-client tests: pools over the test registries and content to push."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from gate.oci.auth import Credential, CredentialStore
from gate.oci.http import RetryPolicy
from gate.oci.pool import RegistryPool
from gate.oci.reference import parse_reference
from gate.oci.registry import RegistryTarget
from gate.oci.target import OCI_EMPTY_CONFIG, OCI_MANIFEST, BlobSource, Descriptor, Manifest
from tests.support.registries import Registry, require_tool

FAST = RetryPolicy(attempts=4, initial_wait=0.01, max_wait=0.05, jitter=0.01, retry_after_cap=1.0)
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG = "application/vnd.oci.image.config.v1+json"
SBOM = "application/vnd.cyclonedx+json"
SIG = "application/vnd.dev.cosign.artifact.sig.v1+json"


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def credentials_for(registry: Registry) -> CredentialStore:
    if registry.username is None or registry.password is None:
        return CredentialStore()
    return CredentialStore({registry.host: Credential(registry.username, registry.password)})


def make_pool(
    registry: Registry, *, logs: list[str] | None = None, masked: list[str] | None = None, **kwargs: Any
) -> RegistryPool:
    return RegistryPool(
        kwargs.pop("credentials", None) or credentials_for(registry),
        retry=kwargs.pop("retry", FAST),
        log=logs.append if logs is not None else (lambda _: None),
        mask=masked.append if masked is not None else (lambda _: None),
        **kwargs,
    )


def open_target(pool: RegistryPool, registry: Registry, repo: str) -> RegistryTarget:
    return pool.target(parse_reference(registry.ref(repo)))


def source_of(data: bytes, opened: list[int] | None = None, chunk: int = 65536) -> BlobSource:
    @contextmanager
    def opener() -> Iterator[Iterator[bytes]]:
        if opened is not None:
            opened.append(1)
        yield iter([data[i : i + chunk] for i in range(0, len(data), chunk)])

    return opener


def blob(target: RegistryTarget, data: bytes, media_type: str = LAYER) -> Descriptor:
    descriptor = Descriptor(media_type, digest(data), len(data))
    target.push_blob(descriptor, source_of(data))
    return descriptor


def desc_json(descriptor: Descriptor) -> dict[str, Any]:
    entry: dict[str, Any] = {"mediaType": descriptor.media_type, "digest": descriptor.digest, "size": descriptor.size}
    if descriptor.artifact_type:
        entry["artifactType"] = descriptor.artifact_type
    if descriptor.annotations:
        entry["annotations"] = dict(descriptor.annotations)
    return entry


def manifest(document: dict[str, Any]) -> Manifest:
    data = json.dumps(document, indent=1).encode()
    return Manifest(Descriptor(document["mediaType"], digest(data), len(data)), data)


def push_image(target: RegistryTarget, tag: str | None = "v1", layers: int = 2, size: int = 3000) -> Manifest:
    config = blob(
        target, json.dumps({"os": "linux", "architecture": "amd64", "n": os.urandom(4).hex()}).encode(), CONFIG
    )
    layer_descs = [blob(target, os.urandom(size)) for _ in range(layers)]
    image = manifest(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": desc_json(config),
            "layers": [desc_json(d) for d in layer_descs],
        }
    )
    target.push_manifest(image, tag)
    return image


def artifact(target: RegistryTarget, subject: Descriptor, artifact_type: str, text: str) -> Manifest:
    empty = blob(target, b"{}", OCI_EMPTY_CONFIG)
    layer = blob(target, text.encode(), "application/json")
    return manifest(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": desc_json(empty),
            "layers": [desc_json(layer)],
            "subject": desc_json(subject),
            "annotations": {"org.example.text": text},
        }
    )


def attach(target: RegistryTarget, subject: Descriptor, artifact_type: str, text: str) -> Manifest:
    referrer = artifact(target, subject, artifact_type, text)
    target.push_manifest(referrer)
    target.add_referrer(subject, referrer)
    return referrer


def tool(name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require_tool(name), *args], capture_output=True, text=True, check=check, timeout=60)


def regctl(registry: Registry, *args: str) -> str:
    """regctl with its own config dir, the test registry set to plain HTTP."""
    env_args = ("--host", registry.regctl_host())
    return tool("regctl", *env_args, *args).stdout


Opener = Callable[[], Any]
