"""Real test content in real registries, written and read by INDEPENDENT tools (never gate.oci).

Blobs and image manifests go through the small support client (``tests.support.client``); referrers
go through ``regctl`` (``regctl manifest put`` / ``regctl artifact put --subject``), which uses the
referrers API when the registry has it and maintains the ``sha256-<hex>`` tag fallback otherwise.
``read_graph`` reads back with ``regctl`` to verify what a copy produced.
"""

from __future__ import annotations

import atexit
import base64
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.client import RegistryClient, sha256_digest
from tests.support.registries import REPO_ROOT, Registry, require_tool

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
EMPTY_JSON = b"{}"

IN_TOTO = "application/vnd.in-toto+json"
DSSE = "application/vnd.dsse.envelope.v1+json"
COSIGN_SBOM = "application/vnd.dev.cosign.artifact.sbom.v1+json"
COSIGN_SIG = "application/vnd.dev.cosign.artifact.sig.v1+json"
COSIGN_SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
OPENVEX_TYPE = "application/vnd.openvex+json"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
STATEMENT_V01 = "https://in-toto.io/Statement/v0.1"
CYCLONEDX = "https://cyclonedx.org/bom"
SPDX = "https://spdx.dev/Document"
SLSA_V1 = "https://slsa.dev/provenance/v1"
OPENVEX = "https://openvex.dev/ns/v0.2.0"
PREDICATE_ANNOTATION = "in-toto.io/predicate-type"
REF_TYPE = "vnd.docker.reference.type"
REF_DIGEST = "vnd.docker.reference.digest"
CREATED = "2024-01-01T00:00:00Z"
REAL_WORLD = REPO_ROOT / ".." / "shared" / "fixtures" / "real-world"


def _canonical(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=False).encode()


def descriptor(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha256_digest(data), "size": len(data), **extra}


def parse_platform(text: str) -> dict[str, str]:
    parts = text.split("/")
    platform = {"os": parts[0], "architecture": parts[1]}
    if len(parts) > 2:
        platform["variant"] = parts[2]
    return platform


# --------------------------------------------------------------------------------------------------
# regctl
_HOME = tempfile.mkdtemp(prefix="image-gate-regctl-")
atexit.register(shutil.rmtree, _HOME, True)


def regctl(registry: Registry, *args: str, input: bytes | None = None) -> str:
    """Run ``regctl`` against ``registry`` (plain HTTP, its credentials); stdout, or a failure with stderr."""
    tool = require_tool("regctl")
    env = {"HOME": _HOME, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    done = subprocess.run(
        [tool, "--host", registry.regctl_host(), *args], input=input, capture_output=True, env=env, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"regctl {' '.join(args)} failed ({done.returncode}): {done.stderr.decode(errors='replace')}"
        )
    return done.stdout.decode()


def crane(registry: Registry, *args: str, input: bytes | None = None) -> str:
    """Run ``crane --insecure`` with ``registry``'s credentials in a private Docker config; stdout.

    crane 0.22 refuses a token realm on an IP literal in private/loopback ranges, so it cannot log in to
    ``token_auth_registry`` (realm http://127.0.0.1:...); use ``regctl`` there.
    """
    tool = require_tool("crane")
    config_dir = Path(tempfile.mkdtemp(prefix="crane-", dir=_HOME))
    auths: dict[str, Any] = {}
    if registry.username is not None:
        token = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
        auths[registry.host] = {"auth": token}
    (config_dir / "config.json").write_text(json.dumps({"auths": auths}))
    env = {"HOME": _HOME, "DOCKER_CONFIG": str(config_dir), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    done = subprocess.run([tool, "--insecure", *args], input=input, capture_output=True, env=env, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"crane {' '.join(args)} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    return done.stdout.decode()


# --------------------------------------------------------------------------------------------------
# images
@dataclass(frozen=True)
class PushedManifest:
    digest: str
    media_type: str
    size: int
    platform: str | None  # "linux/amd64"; None for the index; "unknown/unknown" for attestations
    config: str
    layers: tuple[str, ...]


@dataclass(frozen=True)
class BuiltImage:
    registry: Registry
    repo: str
    tag: str | None
    digest: str  # the root: the index, or the lone manifest
    media_type: str
    size: int
    children: Mapping[str, str]  # platform -> manifest digest (the lone manifest too)
    manifests: tuple[PushedManifest, ...]  # every manifest except the root index
    blobs: tuple[str, ...]  # every config and layer digest, attestation blobs included
    attestations: Mapping[str, str] = field(default_factory=dict)  # platform -> in-index attestation manifest

    @property
    def ref(self) -> str:
        return self.registry.ref(self.repo, self.tag) if self.tag else self.by_digest

    @property
    def by_digest(self) -> str:
        return self.registry.ref(self.repo, digest=self.digest)

    def child(self, platform: str) -> str:
        return self.children[platform]


def random_layer(rng: random.Random, size: int, name: str = "data.bin") -> tuple[bytes, str]:
    """A gzip'd tar with one file of ``size`` random bytes; returns (blob, diff_id)."""
    payload = rng.randbytes(size)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(payload), 0, 0o644
        tar.addfile(info, io.BytesIO(payload))
    uncompressed = raw.getvalue()
    return gzip.compress(uncompressed, mtime=0), sha256_digest(uncompressed)


def build_image(
    registry: Registry,
    repo: str,
    tag: str | None = "latest",
    platforms: Sequence[str] = ("linux/amd64", "linux/arm64"),
    layers: int = 2,
    layer_size: int = 2048,
    seed: int = 0,
    *,
    index: bool = True,
    docker: bool = False,
    buildkit_attestations: bool = False,
    sbom_predicate: str = SPDX,
    sbom: dict[str, Any] | None = None,
) -> BuiltImage:
    """Push a multi-platform image (an index; ``index=False`` with one platform: a lone manifest).

    ``docker=True`` uses Docker schema 2 media types. ``buildkit_attestations=True`` adds, per platform,
    a BuildKit in-index attestation manifest (platform unknown/unknown) holding a bare in-toto SBOM
    statement (``sbom_predicate``; ``sbom``, else the support SBOM of that format) and SLSA provenance, each
    layer annotated with its predicate type.
    """
    if not index and len(platforms) != 1:
        raise ValueError("a lone manifest has exactly one platform")
    client = RegistryClient(registry)
    rng = random.Random(seed)
    manifest_type, list_type = (DOCKER_MANIFEST, DOCKER_LIST) if docker else (OCI_MANIFEST, OCI_INDEX)
    config_type, layer_type = (DOCKER_CONFIG, DOCKER_LAYER) if docker else (OCI_CONFIG, OCI_LAYER)
    pushed: list[PushedManifest] = []
    blobs: list[str] = []
    entries: list[dict[str, Any]] = []
    children: dict[str, str] = {}
    attestations: dict[str, str] = {}
    for platform in platforms:
        layer_descriptors, diff_ids = [], []
        for number in range(layers):
            blob, diff_id = random_layer(rng, layer_size, f"layer{number}.bin")
            client.push_blob(repo, blob)
            layer_descriptors.append(descriptor(layer_type, blob))
            diff_ids.append(diff_id)
        config = _canonical(
            {
                **parse_platform(platform),
                "created": CREATED,
                "config": {"Env": [f"SEED={seed}"]},
                "rootfs": {"type": "layers", "diff_ids": diff_ids},
                "history": [{"created": CREATED, "created_by": f"test layer {i}"} for i in range(layers)],
            }
        )
        client.push_blob(repo, config)
        body = _canonical(
            {
                "schemaVersion": 2,
                "mediaType": manifest_type,
                "config": descriptor(config_type, config),
                "layers": layer_descriptors,
            }
        )
        digest = sha256_digest(body)
        client.push_manifest(repo, digest if index or tag is None else tag, body, manifest_type)
        layer_digests = tuple(d["digest"] for d in layer_descriptors)
        pushed.append(PushedManifest(digest, manifest_type, len(body), platform, sha256_digest(config), layer_digests))
        blobs += [sha256_digest(config), *layer_digests]
        children[platform] = digest
        entries.append(descriptor(manifest_type, body, platform=parse_platform(platform)))
    if buildkit_attestations:
        for platform, child in list(children.items()):
            attestation = _buildkit_attestation(client, repo, platform, child, sbom_predicate, seed, sbom)
            pushed.append(attestation[0])
            blobs += [attestation[0].config, *attestation[0].layers]
            attestations[platform] = attestation[0].digest
            entries.append(attestation[1])
    if not index:
        only = pushed[0]
        return BuiltImage(registry, repo, tag, only.digest, only.media_type, only.size, children, (), tuple(blobs))
    root = _canonical({"schemaVersion": 2, "mediaType": list_type, "manifests": entries})
    client.push_manifest(repo, tag or sha256_digest(root), root, list_type)
    return BuiltImage(
        registry,
        repo,
        tag,
        sha256_digest(root),
        list_type,
        len(root),
        children,
        tuple(pushed),
        tuple(blobs),
        attestations,
    )


def _buildkit_attestation(
    client: RegistryClient,
    repo: str,
    platform: str,
    subject: str,
    sbom_predicate: str,
    seed: int,
    sbom: dict[str, Any] | None = None,
) -> tuple[PushedManifest, dict[str, Any]]:
    subject_name = f"pkg:docker/{repo}?platform={platform.replace('/', '%2F')}"
    if sbom is None:
        sbom = cyclonedx_sbom(seed) if sbom_predicate.startswith(CYCLONEDX) else spdx_sbom(seed)
    statements = [
        (sbom_predicate, in_toto_statement(subject_name, subject, sbom_predicate, sbom, version="v0.1")),
        (SLSA_V1, in_toto_statement(subject_name, subject, SLSA_V1, provenance_predicate(), version="v0.1")),
    ]
    layer_descriptors, diff_ids = [], []
    for predicate_type, statement in statements:
        data = _canonical(statement)
        client.push_blob(repo, data)
        layer_descriptors.append(descriptor(IN_TOTO, data, annotations={PREDICATE_ANNOTATION: predicate_type}))
        diff_ids.append(sha256_digest(data))
    config = _canonical(
        {"architecture": "unknown", "os": "unknown", "config": {}, "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    )
    client.push_blob(repo, config)
    body = _canonical(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(OCI_CONFIG, config),
            "layers": layer_descriptors,
        }
    )
    digest = sha256_digest(body)
    client.push_manifest(repo, digest, body, OCI_MANIFEST)
    entry = descriptor(
        OCI_MANIFEST,
        body,
        annotations={REF_DIGEST: subject, REF_TYPE: "attestation-manifest"},
        platform={"architecture": "unknown", "os": "unknown"},
    )
    layers = tuple(d["digest"] for d in layer_descriptors)
    return PushedManifest(digest, OCI_MANIFEST, len(body), "unknown/unknown", sha256_digest(config), layers), entry


# --------------------------------------------------------------------------------------------------
# documents
_PACKAGES = [
    ("apk", "pkg:apk/alpine/busybox@1.36.1-r2?arch=x86_64&distro=alpine-3.18.4", "busybox", "1.36.1-r2"),
    ("apk", "pkg:apk/alpine/libcrypto3@3.1.2-r0?arch=x86_64&distro=alpine-3.18.4", "libcrypto3", "3.1.2-r0"),
    ("npm", "pkg:npm/express@4.17.1", "express", "4.17.1"),
    ("npm", "pkg:npm/lodash@4.17.20", "lodash", "4.17.20"),
    ("deb", "pkg:deb/debian/openssl@3.0.11-1~deb12u1?arch=amd64&distro=debian-12", "openssl", "3.0.11-1~deb12u1"),
    ("pypi", "pkg:pypi/requests@2.25.0", "requests", "2.25.0"),
    ("pypi", "pkg:pypi/urllib3@1.26.4", "urllib3", "1.26.4"),
]


def cyclonedx_sbom(seed: int = 0) -> dict[str, Any]:
    """A small CycloneDX 1.5 JSON BOM with purls (apk, npm, deb, pypi)."""
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:00000000-0000-4000-8000-{seed:012d}",
        "version": 1,
        "metadata": {
            "timestamp": CREATED,
            "tools": {"components": [{"type": "application", "name": "image-gate-tests"}]},
        },
        "components": [
            {"type": "library", "bom-ref": purl, "name": name, "version": version, "purl": purl}
            for _kind, purl, name, version in _PACKAGES
        ],
    }


def spdx_sbom(seed: int = 0) -> dict[str, Any]:
    """A small SPDX 2.3 JSON document with purls as external references."""
    packages = [
        {
            "SPDXID": f"SPDXRef-Package-{number}",
            "name": name,
            "versionInfo": version,
            "downloadLocation": "NOASSERTION",
            "externalRefs": [
                {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}
            ],
        }
        for number, (_kind, purl, name, version) in enumerate(_PACKAGES)
    ]
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"image-gate-test-{seed}",
        "documentNamespace": f"https://image-gate.invalid/spdx/{seed}",
        "creationInfo": {"created": CREATED, "creators": ["Tool: image-gate-tests"]},
        "packages": packages,
        "relationships": [
            {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": p["SPDXID"]}
            for p in packages
        ],
    }


def provenance_predicate() -> dict[str, Any]:
    return {
        "buildDefinition": {"buildType": "https://image-gate.invalid/test-build/v1", "externalParameters": {}},
        "runDetails": {"builder": {"id": "https://image-gate.invalid/builder"}},
    }


def openvex_document(
    subject: str, vulnerability: str = "CVE-2023-0001", status: str = "not_affected"
) -> dict[str, Any]:
    return {
        "@context": OPENVEX,
        "@id": "https://image-gate.invalid/vex/1",
        "author": "image-gate tests",
        "timestamp": CREATED,
        "version": 1,
        "statements": [
            {
                "vulnerability": {"name": vulnerability},
                "products": [{"@id": subject}],
                "status": status,
                "justification": "vulnerable_code_not_present",
            }
        ],
    }


def in_toto_statement(
    subject_name: str, subject_digest: str, predicate_type: str, predicate: Any, *, version: str = "v1"
) -> dict[str, Any]:
    """An in-toto Statement ``v1`` or ``v0.1`` about one subject."""
    algorithm, _, hexdigest = subject_digest.partition(":")
    return {
        "_type": STATEMENT_V1 if version == "v1" else STATEMENT_V01,
        "subject": [{"name": subject_name, "digest": {algorithm: hexdigest}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def dsse_envelope(statement: Mapping[str, Any]) -> dict[str, Any]:
    """A DSSE envelope around a statement (the signature is random bytes: nobody verifies it here)."""
    payload = _canonical(statement)
    return {
        "payloadType": IN_TOTO,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [
            {"keyid": "image-gate-test", "sig": base64.b64encode(hashlib.sha256(payload).digest()).decode()}
        ],
    }


def real_world_path(name: str) -> Path:
    """A file from ../shared/fixtures/real-world; the test is skipped when the folder is absent."""
    path = REAL_WORLD / name
    if not path.is_file():
        pytest.skip(f"real-world fixture {name} not available at {REAL_WORLD}")
    return path


def real_world_sbom(kind: str = "cyclonedx") -> dict[str, Any]:
    """The real CycloneDX (node-alpine image) or SPDX (node app) SBOM; skips when absent."""
    name = "node-alpine-image.cdx.json" if kind == "cyclonedx" else "node-app-dir.spdx.json"
    loaded: dict[str, Any] = json.loads(real_world_path(name).read_text())
    return loaded


# --------------------------------------------------------------------------------------------------
# referrers
@dataclass(frozen=True)
class Referrer:
    digest: str
    subject: str
    artifact_type: str
    media_type: str
    size: int
    predicate_type: str | None
    layers: tuple[str, ...]
    annotations: Mapping[str, str]


def _subject_descriptor(client: RegistryClient, repo: str, subject: str) -> dict[str, Any]:
    body, media_type = client.get_manifest(repo, subject)
    return {"mediaType": media_type, "digest": subject, "size": len(body)}


def attach_referrer(
    registry: Registry,
    repo: str,
    subject: str,
    *,
    artifact_type: str,
    payload: bytes,
    layer_media_type: str,
    annotations: Mapping[str, str] | None = None,
    layer_annotations: Mapping[str, str] | None = None,
    config_media_type: str = OCI_EMPTY,
) -> Referrer:
    """Push an OCI 1.1 artifact manifest whose ``subject`` is ``subject`` (a manifest digest in ``repo``).

    Blobs go through the support client; the manifest through ``regctl manifest put``, which updates the
    ``sha256-<hex>`` fallback tag when the registry has no referrers API.
    """
    client = RegistryClient(registry)
    client.push_blob(repo, EMPTY_JSON)
    client.push_blob(repo, payload)
    layer = descriptor(layer_media_type, payload)
    if layer_annotations:
        layer["annotations"] = dict(layer_annotations)
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": descriptor(config_media_type, EMPTY_JSON),
        "layers": [layer],
        "subject": _subject_descriptor(client, repo, subject),
    }
    if annotations:
        manifest["annotations"] = dict(annotations)
    body = _canonical(manifest)
    regctl(registry, "manifest", "put", "--by-digest", "--content-type", OCI_MANIFEST, registry.ref(repo), input=body)
    predicate = (layer_annotations or {}).get(PREDICATE_ANNOTATION) or (annotations or {}).get(PREDICATE_ANNOTATION)
    return Referrer(
        sha256_digest(body),
        subject,
        artifact_type,
        OCI_MANIFEST,
        len(body),
        predicate,
        (layer["digest"],),
        annotations or {},
    )


def attach_sbom(
    registry: Registry,
    repo: str,
    subject: str,
    *,
    sbom: Mapping[str, Any] | None = None,
    predicate_type: str = CYCLONEDX,
    statement_version: str = "v1",
    envelope: bool = True,
    artifact_type: str = IN_TOTO,
    annotate_layer: bool = True,
    annotate_manifest: bool = True,
) -> Referrer:
    """An SBOM attestation referrer: an in-toto statement (``v1``/``v0.1``) with the SBOM as predicate,
    DSSE-wrapped (``envelope=True``) or bare, in one layer of type ``application/vnd.in-toto+json``;
    the predicate type in the layer and/or manifest ``in-toto.io/predicate-type`` annotation.
    ``artifact_type``: ``application/vnd.in-toto+json`` or e.g. ``COSIGN_SBOM``."""
    document = sbom if sbom is not None else (cyclonedx_sbom() if predicate_type.startswith(CYCLONEDX) else spdx_sbom())
    statement = in_toto_statement(
        f"{registry.host}/{repo}", subject, predicate_type, document, version=statement_version
    )
    payload = _canonical(dsse_envelope(statement) if envelope else statement)
    marker = {PREDICATE_ANNOTATION: predicate_type}
    return attach_referrer(
        registry,
        repo,
        subject,
        artifact_type=artifact_type,
        payload=payload,
        layer_media_type=IN_TOTO,
        annotations={**marker, "org.opencontainers.image.created": CREATED} if annotate_manifest else None,
        layer_annotations=marker if annotate_layer else None,
    )


def attach_sbom_with_regctl_artifact(
    registry: Registry, repo: str, subject: str, *, predicate_type: str = CYCLONEDX, envelope: bool = True
) -> str:
    """The same through ``regctl artifact put --subject`` (manifest annotation only); returns its digest."""
    document = cyclonedx_sbom() if predicate_type.startswith(CYCLONEDX) else spdx_sbom()
    statement = in_toto_statement(f"{registry.host}/{repo}", subject, predicate_type, document)
    payload = _canonical(dsse_envelope(statement) if envelope else statement)
    output = regctl(
        registry,
        "artifact",
        "put",
        "--artifact-type",
        IN_TOTO,
        "--file-media-type",
        IN_TOTO,
        "--annotation",
        f"{PREDICATE_ANNOTATION}={predicate_type}",
        "--subject",
        registry.ref(repo, digest=subject),
        "--format",
        "{{.Manifest.GetDescriptor.Digest}}",
        registry.ref(repo),
        input=payload,
    )
    return output.strip()


def attach_provenance(registry: Registry, repo: str, subject: str) -> Referrer:
    statement = in_toto_statement(f"{registry.host}/{repo}", subject, SLSA_V1, provenance_predicate())
    marker = {PREDICATE_ANNOTATION: SLSA_V1}
    return attach_referrer(
        registry, repo, subject, artifact_type=IN_TOTO, payload=_canonical(dsse_envelope(statement)),
        layer_media_type=IN_TOTO, annotations=marker, layer_annotations=marker,
    )  # fmt: skip


def attach_vex(registry: Registry, repo: str, subject: str, vulnerability: str = "CVE-2023-0001") -> Referrer:
    document = openvex_document(registry.ref(repo, digest=subject), vulnerability)
    return attach_referrer(
        registry, repo, subject, artifact_type=OPENVEX_TYPE, payload=_canonical(document),
        layer_media_type=OPENVEX_TYPE, annotations={PREDICATE_ANNOTATION: OPENVEX},
    )  # fmt: skip


def attach_signature(registry: Registry, repo: str, subject: str) -> Referrer:
    """A cosign-style signature artifact (``application/vnd.dev.cosign.artifact.sig.v1+json``)."""
    simple = _canonical(
        {"critical": {"image": {"docker-manifest-digest": subject}, "type": "cosign container image signature"}}
    )
    return attach_referrer(
        registry, repo, subject, artifact_type=COSIGN_SIG, payload=simple, layer_media_type=COSIGN_SIMPLESIGNING,
        layer_annotations={"dev.cosignproject.cosign/signature": base64.b64encode(hashlib.sha256(simple).digest()).decode()},
    )  # fmt: skip


def push_cosign_tags(
    registry: Registry, repo: str, subject: str, kinds: Sequence[str] = ("sig", "att")
) -> dict[str, str]:
    """cosign's tag schema: manifests tagged ``sha256-<hex>.sig`` / ``.att`` / ``.sbom``; returns kind -> digest."""
    client = RegistryClient(registry)
    client.push_blob(repo, EMPTY_JSON)
    pushed: dict[str, str] = {}
    for kind in kinds:
        if kind == "sig":
            payload = _canonical(
                {"critical": {"image": {"docker-manifest-digest": subject}, "type": "cosign container image signature"}}
            )
            layer = descriptor(
                COSIGN_SIMPLESIGNING, payload, annotations={"dev.cosignproject.cosign/signature": "MEUCIQ=="}
            )
        elif kind == "att":
            statement = in_toto_statement(f"{registry.host}/{repo}", subject, CYCLONEDX, cyclonedx_sbom())
            payload = _canonical(dsse_envelope(statement))
            layer = descriptor(DSSE, payload, annotations={PREDICATE_ANNOTATION: CYCLONEDX})
        else:
            payload = _canonical(cyclonedx_sbom())
            layer = descriptor("application/vnd.cyclonedx+json", payload)
        client.push_blob(repo, payload)
        body = _canonical(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": descriptor(OCI_EMPTY, EMPTY_JSON),
                "layers": [layer],
            }
        )
        client.push_manifest(repo, f"{subject.replace(':', '-')}.{kind}", body, OCI_MANIFEST)
        pushed[kind] = sha256_digest(body)
    return pushed


@dataclass(frozen=True)
class AttestedImage:
    image: BuiltImage
    sboms: Mapping[str, Referrer]  # platform -> SBOM referrer of that platform manifest
    root_referrers: tuple[Referrer, ...]  # provenance, VEX, signature of the root
    nested: Referrer  # a signature of the first SBOM (a referrer of a referrer)
    cosign_tags: Mapping[str, str]  # "sig"/"att" -> digest, tagged sha256-<root hex>.<kind>

    @property
    def all_referrers(self) -> tuple[Referrer, ...]:
        return (*self.sboms.values(), *self.root_referrers, self.nested)


def build_attested_image(
    registry: Registry,
    repo: str,
    tag: str = "latest",
    platforms: Sequence[str] = ("linux/amd64", "linux/arm64"),
    seed: int = 0,
    *,
    predicate_type: str = CYCLONEDX,
    buildkit_attestations: bool = False,
    cosign_tags: bool = True,
) -> AttestedImage:
    """The realistic graph the mirror/scan/promote tests need: a multi-platform image, a DSSE SBOM per
    platform, provenance + OpenVEX + a signature on the root, a signature of the first SBOM, cosign tags."""
    image = build_image(registry, repo, tag, platforms, seed=seed, buildkit_attestations=buildkit_attestations)
    sboms = {p: attach_sbom(registry, repo, d, predicate_type=predicate_type) for p, d in image.children.items()}
    root = (
        attach_provenance(registry, repo, image.digest),
        attach_vex(registry, repo, image.digest),
        attach_signature(registry, repo, image.digest),
    )
    nested = attach_signature(registry, repo, next(iter(sboms.values())).digest)
    tags = push_cosign_tags(registry, repo, image.digest) if cosign_tags else {}
    return AttestedImage(image, sboms, root, nested, tags)


# --------------------------------------------------------------------------------------------------
# reading back, independently
@dataclass(frozen=True)
class Graph:
    """What ``read_graph`` found: every manifest (raw bytes, digest-verified) reachable from the root
    through index children and referrers (recursively), and every blob they name."""

    root: str
    manifests: Mapping[str, bytes]
    media_types: Mapping[str, str]
    referrers: Mapping[str, tuple[dict[str, Any], ...]]  # subject digest -> descriptors (regctl artifact list)
    blobs: frozenset[str]
    tags: tuple[str, ...]

    def parsed(self, digest: str) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.manifests[digest])
        return value

    @property
    def referrer_digests(self) -> frozenset[str]:
        return frozenset(d["digest"] for found in self.referrers.values() for d in found)


def read_graph(registry: Registry, repo: str, reference: str, *, check_blobs: bool = True) -> Graph:
    """Walk the graph under ``repo:reference`` with regctl (``manifest get --format raw-body``, ``artifact
    list``); with ``check_blobs`` every config/layer is HEAD-checked. Fails on a missing piece."""
    client = RegistryClient(registry)
    ref = registry.ref(repo, digest=reference) if reference.startswith("sha256:") else registry.ref(repo, reference)
    root = regctl(registry, "manifest", "head", ref).strip()
    manifests: dict[str, bytes] = {}
    media_types: dict[str, str] = {}
    referrers: dict[str, tuple[dict[str, Any], ...]] = {}
    blobs: set[str] = set()
    pending = [root]
    while pending:
        digest = pending.pop()
        if digest in manifests:
            continue
        raw = regctl(registry, "manifest", "get", "--format", "raw-body", registry.ref(repo, digest=digest)).encode()
        if sha256_digest(raw) != digest:
            raise RuntimeError(f"manifest {digest} in {repo} has digest {sha256_digest(raw)}")
        manifests[digest] = raw
        parsed = json.loads(raw)
        media_types[digest] = parsed.get("mediaType", "")
        pending += [child["digest"] for child in parsed.get("manifests", [])]
        for item in [parsed.get("config"), *parsed.get("layers", [])]:
            if item and item.get("digest"):
                blobs.add(item["digest"])
        listing = json.loads(
            regctl(registry, "artifact", "list", "--format", "{{json .}}", registry.ref(repo, digest=digest))
        )
        found = tuple(listing.get("descriptors") or ())
        if found:
            referrers[digest] = found
            pending += [d["digest"] for d in found]
    if check_blobs:
        missing = sorted(b for b in blobs if not client.has_blob(repo, b))
        if missing:
            raise RuntimeError(f"{repo}: blobs missing: {missing}")
    return Graph(root, manifests, media_types, referrers, frozenset(blobs), tuple(client.tags(repo)))
