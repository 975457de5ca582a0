"""A repository with many tags, written by the independent support client (never gate.oci): each tag an
index of two platforms whose base layers every tag shares (one small layer of its own per platform),
some tags aliases of another's digest; plus what ``tags`` must never keep: cosign tags, a referrers
fallback index (a referrer attached with regctl on a registry without the referrers API) and a
``mirror-history`` tag."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tests.support.client import RegistryClient, sha256_digest
from tests.support.images import (
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    SPDX,
    attach_sbom,
    descriptor,
    push_cosign_tags,
    random_layer,
)
from tests.support.registries import Registry

PLATFORMS = ("linux/amd64", "linux/arm64")


@dataclass(frozen=True)
class TaggedRepo:
    registry: Registry
    repo: str
    images: Mapping[str, str]  # image tag -> index digest
    children: Mapping[str, tuple[str, ...]]  # index digest -> its platform manifests
    reserved: tuple[str, ...]  # cosign, fallback and history tags present in the repository
    shared_blobs: tuple[str, ...]  # the base layers every tag uses

    @property
    def name(self) -> str:
        return self.registry.ref(self.repo)


def _canonical(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def push_tagged_repo(
    registry: Registry,
    repo: str,
    tags: Sequence[str],
    *,
    aliases: Mapping[str, str] | None = None,
    base_layers: int = 2,
    base_size: int = 64 * 1024,
    own_size: int = 1024,
    reserved: bool = True,
    seed: int = 0,
) -> TaggedRepo:
    """Push an image per tag (``aliases``: alias tag -> tag whose digest it gets too)."""
    client = RegistryClient(registry)
    rng = random.Random(seed)
    base: dict[str, list[dict[str, Any]]] = {}
    diff_ids: dict[str, list[str]] = {}
    shared: list[str] = []
    for platform in PLATFORMS:
        base[platform], diff_ids[platform] = [], []
        for number in range(base_layers):
            blob, diff_id = random_layer(rng, base_size, f"base{number}.bin")
            shared.append(client.push_blob(repo, blob))
            base[platform].append(descriptor(OCI_LAYER, blob))
            diff_ids[platform].append(diff_id)
    images: dict[str, str] = {}
    children: dict[str, tuple[str, ...]] = {}
    for tag in tags:
        entries = []
        for platform in PLATFORMS:
            own, own_diff = random_layer(rng, own_size, f"{tag}.bin")
            client.push_blob(repo, own)
            os_name, architecture = platform.split("/")
            config = _canonical(
                {
                    "os": os_name,
                    "architecture": architecture,
                    "config": {"Env": [f"TAG={tag}"]},
                    "rootfs": {"type": "layers", "diff_ids": [*diff_ids[platform], own_diff]},
                }
            )
            client.push_blob(repo, config)
            body = _canonical(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_MANIFEST,
                    "config": descriptor(OCI_CONFIG, config),
                    "layers": [*base[platform], descriptor(OCI_LAYER, own)],
                }
            )
            client.push_manifest(repo, sha256_digest(body), body, OCI_MANIFEST)
            entries.append(descriptor(OCI_MANIFEST, body, platform={"os": os_name, "architecture": architecture}))
        index = _canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
        client.push_manifest(repo, tag, index, OCI_INDEX)
        images[tag] = sha256_digest(index)
        children[images[tag]] = tuple(entry["digest"] for entry in entries)
    for alias, target in (aliases or {}).items():
        body, media_type = client.get_manifest(repo, target)
        client.push_manifest(repo, alias, body, media_type)
        images[alias] = images[target]
    found_reserved: list[str] = []
    if reserved:
        first = images[tags[0]]
        kinds = push_cosign_tags(registry, repo, first, ("sig", "att", "sbom"))
        found_reserved += [f"{first.replace(':', '-')}.{kind}" for kind in kinds]
        # Without the referrers API, a sha256-<hex> fallback tag.
        attach_sbom(registry, repo, first, predicate_type=SPDX)
        if not registry.referrers_api:
            found_reserved.append(first.replace(":", "-"))
        history = _canonical({"schemaVersion": 1, "image": "elsewhere", "source": "elsewhere", "entries": []})
        client.push_blob(repo, history)
        body = _canonical(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "artifactType": "application/vnd.toddysm.mirror-history.v1+json",
                "config": descriptor("application/vnd.toddysm.mirror-history.v1+json", history),
                "layers": [descriptor("application/vnd.toddysm.mirror-history.v1+json", history)],
            }
        )
        client.push_manifest(repo, "mirror-history", body, OCI_MANIFEST)
        found_reserved.append("mirror-history")
    return TaggedRepo(registry, repo, images, children, tuple(found_reserved), tuple(shared))
