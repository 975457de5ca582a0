#!/usr/bin/env python3
"""Build the demo's example image into a registry (or an OCI layout) with image-gate's own OCI client.

    python3 scripts/demo_image.py 127.0.0.1:5000/upstream/app:1.4.2 [--data examples/demo] [--seed 1]

What it pushes, shaped like a real multi-platform release of a Node.js service on Alpine:

- an OCI index with two platforms (linux/amd64, linux/arm64), each an OCI image manifest with a
  config and two gzip-compressed tar layers of random (incompressible) content;
- per platform, a CycloneDX SBOM attestation: an in-toto v1 statement about that platform's manifest
  whose predicate is ``examples/demo/sbom-linux-<arch>.cdx.json``, DSSE-wrapped, as an OCI referrer
  (``artifactType`` and layer ``application/vnd.in-toto+json``, ``in-toto.io/predicate-type``);
- on the index: SLSA v1 provenance (``provenance.json``, DSSE), the OpenVEX document
  (``openvex.json``, its product pinned to the index digest) and a cosign-style signature.

Referrers use the registry's referrers API when it has one, else the ``sha256-<hex>`` tag fallback.
Prints one JSON document on stdout: the root digest, the platform digests and every referrer.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import json
import random
import sys
import tarfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gate.oci.auth import CredentialStore  # noqa: E402
from gate.oci.layout import LayoutTarget  # noqa: E402
from gate.oci.pool import RegistryPool  # noqa: E402
from gate.oci.reference import LayoutReference, compute_digest, parse_target_reference  # noqa: E402
from gate.oci.target import Descriptor, Manifest, Target  # noqa: E402

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
IN_TOTO = "application/vnd.in-toto+json"
OPENVEX_TYPE = "application/vnd.openvex+json"
COSIGN_SIG = "application/vnd.dev.cosign.artifact.sig.v1+json"
COSIGN_SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
CYCLONEDX = "https://cyclonedx.org/bom"
SLSA_V1 = "https://slsa.dev/provenance/v1"
OPENVEX = "https://openvex.dev/ns/v0.2.0"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
PREDICATE = "in-toto.io/predicate-type"
CREATED = "2026-03-10T10:55:58Z"
EMPTY = b"{}"
PLATFORMS = (("linux", "amd64", None), ("linux", "arm64", "v8"))
LAYER_SIZES = (768 * 1024, 192 * 1024)  # "base" and "app" layers, per platform


def canonical(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def descriptor_json(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": compute_digest(data), "size": len(data), **extra}


class Pusher:
    """Pushes blobs and manifests into one target, remembering descriptors by digest."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def blob(self, media_type: str, data: bytes) -> dict[str, Any]:
        found = descriptor_json(media_type, data)
        descriptor = Descriptor(media_type, found["digest"], len(data))
        if not self.target.has_blob(descriptor.digest):

            @contextmanager
            def source() -> Iterator[Iterator[bytes]]:
                yield iter((data,))

            self.target.push_blob(descriptor, source)
        return found

    def manifest(self, document: Mapping[str, Any], tag: str | None = None) -> Manifest:
        data = canonical(document)
        media_type = str(document["mediaType"])
        manifest = Manifest(Descriptor(media_type, compute_digest(data), len(data)), data)
        self.target.push_manifest(manifest, tag)
        return manifest


def random_layer(rng: random.Random, size: int, name: str) -> tuple[bytes, str]:
    """A gzip'd tar with one file of random bytes: (layer blob, diff_id of the uncompressed tar)."""
    payload = rng.randbytes(size)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        info.mtime = 1773140158
        info.mode = 0o644
        archive.addfile(info, io.BytesIO(payload))
    tar = raw.getvalue()
    return gzip.compress(tar, compresslevel=1, mtime=0), "sha256:" + hashlib.sha256(tar).hexdigest()


def platform_image(pusher: Pusher, rng: random.Random, os_name: str, arch: str, variant: str | None) -> Manifest:
    layers = []
    diff_ids = []
    for number, size in enumerate(LAYER_SIZES):
        where = "usr/lib/base.bin" if number == 0 else "app/dist/server.bin"
        blob, diff_id = random_layer(rng, size, where)
        layers.append(pusher.blob(OCI_LAYER, blob))
        diff_ids.append(diff_id)
    config: dict[str, Any] = {
        "created": CREATED,
        "architecture": arch,
        "os": os_name,
        "config": {
            "User": "node",
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NODE_VERSION=22.14.0"],
            "Entrypoint": ["docker-entrypoint.sh"],
            "Cmd": ["node", "dist/server.js"],
            "WorkingDir": "/app",
            "Labels": {"org.opencontainers.image.source": "https://github.com/example/demo-app"},
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {"created": CREATED, "created_by": "ADD alpine-minirootfs-3.23.3.tar.gz / # node:22.14.0-alpine3.23"},
            {"created": CREATED, "created_by": "COPY --chown=node:node dist/ /app/dist/ # buildkit"},
        ],
    }
    if variant:
        config["variant"] = variant
    config_descriptor = pusher.blob(OCI_CONFIG, canonical(config))
    return pusher.manifest(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config_descriptor,
            "layers": layers,
            "annotations": {"org.opencontainers.image.created": CREATED},
        }
    )


def subject_json(manifest: Manifest) -> dict[str, Any]:
    d = manifest.descriptor
    return {"mediaType": d.media_type, "digest": d.digest, "size": d.size}


def attach(
    pusher: Pusher,
    subject: Manifest,
    *,
    artifact_type: str,
    payload: bytes,
    layer_media_type: str,
    annotations: Mapping[str, str] | None = None,
    layer_annotations: Mapping[str, str] | None = None,
) -> Manifest:
    """An OCI 1.1 artifact referring to ``subject``, made findable (referrers API or tag fallback)."""
    layer = pusher.blob(layer_media_type, payload)
    if layer_annotations:
        layer["annotations"] = dict(layer_annotations)
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": pusher.blob(OCI_EMPTY, EMPTY),
        "layers": [layer],
        "subject": subject_json(subject),
        "annotations": {"org.opencontainers.image.created": CREATED, **(annotations or {})},
    }
    manifest = pusher.manifest(document)
    pusher.target.add_referrer(subject.descriptor, manifest)
    return manifest


def dsse(statement: Mapping[str, Any]) -> bytes:
    """A DSSE envelope around an in-toto statement (the signature is a placeholder nobody verifies)."""
    payload = canonical(statement)
    signature = base64.b64encode(hashlib.sha512(payload).digest()[:64]).decode()
    return canonical(
        {
            "payloadType": IN_TOTO,
            "payload": base64.b64encode(payload).decode(),
            "signatures": [{"keyid": "demo-release-key", "sig": signature}],
        }
    )


def statement(name: str, digest: str, predicate_type: str, predicate: Any) -> dict[str, Any]:
    algorithm, _, hexdigest = digest.partition(":")
    return {
        "_type": STATEMENT_V1,
        "subject": [{"name": name, "digest": {algorithm: hexdigest}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def build(target: Target, name: str, tag: str | None, data: Path, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    pusher = Pusher(target)
    children: list[tuple[str, Manifest]] = []
    for os_name, arch, variant in PLATFORMS:
        manifest = platform_image(pusher, rng, os_name, arch, variant)
        children.append((f"{os_name}/{arch}" + (f"/{variant}" if variant else ""), manifest))
    index = pusher.manifest(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{**subject_json(m), "platform": _platform(p)} for p, m in children],
            "annotations": {
                "org.opencontainers.image.created": CREATED,
                "org.opencontainers.image.source": "https://github.com/example/demo-app",
                "org.opencontainers.image.version": "1.4.2",
            },
        },
        tag,
    )
    referrers: list[dict[str, str]] = []

    def record(subject: Manifest, kind: str, manifest: Manifest) -> None:
        referrers.append({"kind": kind, "subject": subject.descriptor.digest, "digest": manifest.descriptor.digest})

    marker = {PREDICATE: CYCLONEDX}
    for platform, manifest in children:
        arch = platform.split("/")[1]
        sbom = json.loads((data / f"sbom-linux-{arch}.cdx.json").read_text(encoding="utf-8"))
        sbom["metadata"]["component"]["version"] = manifest.descriptor.digest
        envelope = dsse(statement(name, manifest.descriptor.digest, CYCLONEDX, sbom))
        record(manifest, f"sbom {platform}", attach(
            pusher, manifest, artifact_type=IN_TOTO, payload=envelope, layer_media_type=IN_TOTO,
            annotations=marker, layer_annotations=marker,
        ))  # fmt: skip

    provenance = json.loads((data / "provenance.json").read_text(encoding="utf-8"))
    subjects = [statement(name, index.descriptor.digest, SLSA_V1, provenance)]
    slsa = {PREDICATE: SLSA_V1}
    record(index, "provenance", attach(
        pusher, index, artifact_type=IN_TOTO, payload=dsse(subjects[0]), layer_media_type=IN_TOTO,
        annotations=slsa, layer_annotations=slsa,
    ))  # fmt: skip

    vex = json.loads((data / "openvex.json").read_text(encoding="utf-8"))
    pinned = f"pkg:oci/{name.rsplit('/', 1)[-1]}@{index.descriptor.digest}"
    for entry in vex["statements"]:
        for product in entry["products"]:
            if str(product.get("@id", "")).startswith("pkg:oci/"):
                product["@id"] = pinned
    record(index, "openvex", attach(
        pusher, index, artifact_type=OPENVEX_TYPE, payload=canonical(vex), layer_media_type=OPENVEX_TYPE,
        annotations={PREDICATE: OPENVEX},
    ))  # fmt: skip

    simple = canonical(
        {
            "critical": {
                "identity": {"docker-reference": name},
                "image": {"docker-manifest-digest": index.descriptor.digest},
                "type": "cosign container image signature",
            },
            "optional": {"creator": "image-gate demo"},
        }
    )
    signature = base64.b64encode(hashlib.sha512(simple).digest()).decode()
    record(index, "signature", attach(
        pusher, index, artifact_type=COSIGN_SIG, payload=simple, layer_media_type=COSIGN_SIMPLESIGNING,
        layer_annotations={"dev.cosignproject.cosign/signature": signature},
    ))  # fmt: skip
    return {
        "image": f"{name}:{tag}" if tag else f"{name}@{index.descriptor.digest}",
        "digest": index.descriptor.digest,
        "platforms": {p: m.descriptor.digest for p, m in children},
        "referrers": referrers,
    }


def _platform(text: str) -> dict[str, str]:
    parts = text.split("/")
    found = {"os": parts[0], "architecture": parts[1]}
    if len(parts) > 2:
        found["variant"] = parts[2]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("image", help="where to push: host[:port]/repo[:tag] or oci:PATH[:tag]")
    parser.add_argument("--data", type=Path, default=ROOT / "examples" / "demo", help="the demo data directory")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random layer content")
    args = parser.parse_args(argv)
    ref = parse_target_reference(args.image)
    pool = RegistryPool(CredentialStore.load(docker_config=True))
    try:
        if isinstance(ref, LayoutReference):
            target: Target = LayoutTarget(ref.path, create=True)
            name = ref.path.name or "app"
        else:
            target = pool.target(ref)
            name = ref.name
        result = build(target, name, ref.tag, args.data, args.seed)
    finally:
        pool.close()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
