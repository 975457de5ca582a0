"""cosign v3 as signer and referee for the verifier tests, and an independent reader of what it wrote.

cosign writes on the test registries (plain HTTP, no tlog, no network); artifacts are read back with
regctl (referrers, with the tag fallback) and the support client (bytes), never with gate.oci.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.attest.verify.signing import private_key, private_pem
from tests.support.client import RegistryClient
from tests.support.images import regctl
from tests.support.registries import Registry, require_tool

REGISTRY_FLAGS = ("--allow-http-registry", "--allow-insecure-registry")
SIGN_FLAGS = ("--tlog-upload=false", "--use-signing-config=false", "-y", *REGISTRY_FLAGS)
# cosign v3.1.3 signs with the curve's hash but verifies with SHA-256 unless told (see gate/attest/verify/keys.py)
DIGEST_FLAGS = {"p384": ("--signature-digest-algorithm", "sha384"), "p521": ("--signature-digest-algorithm", "sha512")}


@dataclass(frozen=True)
class Artifact:
    """One signed artifact as stored: its manifest and the content of each of its layers."""

    manifest: bytes
    blobs: Mapping[str, bytes]
    source: str  # "referrer" or "tag"


@dataclass(frozen=True)
class CosignKeys:
    """Key pairs made or imported by cosign, by kind ("p256" from generate-key-pair; others imported)."""

    folder: Path

    def private(self, kind: str) -> Path:
        return self.folder / f"{kind}.key"

    def public(self, kind: str) -> Path:
        return self.folder / f"{kind}.pub"


def cosign(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(cwd), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COSIGN_PASSWORD": ""}
    return subprocess.run(
        [require_tool("cosign"), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120, check=False
    )


def make_keys(folder: Path, kinds: tuple[str, ...]) -> CosignKeys:
    """``p256`` and ``other`` from ``cosign generate-key-pair``; the rest generated here and imported."""
    for kind in kinds:
        if kind in ("p256", "other"):
            done = cosign("generate-key-pair", "--output-key-prefix", kind, cwd=folder)
        else:
            (folder / f"{kind}.pem").write_bytes(private_pem(private_key(kind)))
            done = cosign("import-key-pair", "--key", f"{kind}.pem", "--output-key-prefix", kind, cwd=folder)
        assert done.returncode == 0, done.stderr
    return CosignKeys(folder)


def attest(keys: CosignKeys, kind: str, reference: str, predicate: Path, *, legacy: bool) -> None:
    flags = ("--new-bundle-format=false",) if legacy else ()
    done = cosign(
        "attest", "--key", str(keys.private(kind)), "--type", "cyclonedx", "--predicate", str(predicate),
        *SIGN_FLAGS, *flags, reference, cwd=keys.folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def sign(keys: CosignKeys, kind: str, reference: str, *, legacy: bool) -> None:
    flags = ("--new-bundle-format=false",) if legacy else ()
    done = cosign("sign", "--key", str(keys.private(kind)), *SIGN_FLAGS, *flags, reference, cwd=keys.folder)
    assert done.returncode == 0, done.stderr


def cosign_accepts_attestation(keys: CosignKeys, kind: str, reference: str, *extra: str) -> bool:
    """``cosign verify-attestation --key --type cyclonedx`` (``--insecure-ignore-tlog`` unless ``extra`` says)."""
    tlog = () if "--trusted-root" in extra else ("--insecure-ignore-tlog",)
    done = cosign(
        "verify-attestation", "--key", str(keys.public(kind)), "--type", "cyclonedx", *tlog,
        *DIGEST_FLAGS.get(kind, ()), *REGISTRY_FLAGS, *extra, reference, cwd=keys.folder,
    )  # fmt: skip
    return done.returncode == 0


def cosign_accepts_signature(keys: CosignKeys, kind: str, reference: str) -> bool:
    done = cosign(
        "verify", "--key", str(keys.public(kind)), "--insecure-ignore-tlog", *DIGEST_FLAGS.get(kind, ()),
        *REGISTRY_FLAGS, reference, cwd=keys.folder,
    )  # fmt: skip
    return done.returncode == 0


def signed_artifacts(registry: Registry, repo: str, digest: str, suffix: str) -> list[Artifact]:
    """Every referrer of ``digest`` and the cosign ``sha256-<hex>.<suffix>`` tag, as stored."""
    client = RegistryClient(registry)
    listing = json.loads(
        regctl(registry, "artifact", "list", "--format", "{{json .}}", registry.ref(repo, digest=digest))
    )
    found = [(d["digest"], "referrer") for d in listing.get("descriptors") or ()]
    tag = f"{digest.replace(':', '-')}.{suffix}"
    if tag in client.tags(repo):
        found.append((tag, "tag"))
    artifacts = []
    for reference, source in found:
        manifest, _ = client.get_manifest(repo, reference)
        layers = json.loads(manifest).get("layers", [])
        artifacts.append(
            Artifact(manifest, {item["digest"]: client.get_blob(repo, item["digest"]) for item in layers}, source)
        )
    return artifacts
