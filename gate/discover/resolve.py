"""The ``outdated`` resolver over the registry client (``gate.oci.pool.RegistryPool``).

``RegistryResolver(pool)`` answers a tag or a digest with the manifest's digest and the image
config's ``created``:
- the manifest is fetched with GET and its digest computed from the bytes (and, by digest,
  verified); the pool brings the credentials, insecure-registry and retry rules of mirror;
- for an image manifest, ``created`` is read from its config blob (capped, digest-verified);
- for an index, from the config of its FIRST platform manifest: the first child that is an image
  manifest and not a BuildKit attestation (platform ``unknown/unknown``), in the index's order;
- ``created`` is None when there is no such config, it is not an image config, or its
  ``created`` is not an RFC 3339 time with a time zone. Failing to read it is not an error.

``read_created=False`` resolves with HEAD alone (no ``created``): Docker Hub counts manifest GETs
against its pull rate limit, HEADs not.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from gate.discover.outdated import ResolvedTag
from gate.errors import GateError
from gate.oci.manifest import MAX_CONFIG_BYTES, is_attestation_child, parse
from gate.oci.pool import RegistryPool
from gate.oci.reference import ImageReference
from gate.oci.registry import RegistryTarget
from gate.oci.target import MANIFEST_TYPES, Descriptor, Manifest, read_blob

IMAGE_CONFIG_TYPES = frozenset(
    {"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"}
)
MAX_TIME_TEXT = 64


def parse_created(value: Any) -> dt.datetime | None:
    """An image config's ``created`` as an aware datetime, or None when it is not RFC 3339 with a zone."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_TIME_TEXT or "T" not in value.upper():
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


class RegistryResolver:
    """A ``gate.discover.outdated.Resolver`` over one registry pool (thread-safe, as the pool is)."""

    def __init__(self, pool: RegistryPool, *, read_created: bool = True) -> None:
        self.pool = pool
        self.read_created = read_created

    def __call__(self, reference: ImageReference) -> ResolvedTag:
        target = self.pool.target(reference)
        if not self.read_created:
            return ResolvedTag(target.resolve(reference.reference).digest)
        manifest = target.fetch_manifest(reference.reference)
        try:
            created = _created(target, manifest)
        except GateError:
            created = None
        return ResolvedTag(manifest.descriptor.digest, created)


def _first_platform(descriptor: Descriptor) -> bool:
    platform = descriptor.platform
    return (
        descriptor.media_type in MANIFEST_TYPES
        and not is_attestation_child(descriptor)
        and (platform is None or platform.os != "unknown")
    )


def _created(target: RegistryTarget, manifest: Manifest) -> dt.datetime | None:
    parsed = parse(manifest)
    if parsed.is_index:
        child = next((d for d in parsed.manifests if _first_platform(d)), None)
        if child is None:
            return None
        parsed = parse(target.fetch_manifest(child.digest))
    config = parsed.config
    if config is None or config.media_type not in IMAGE_CONFIG_TYPES or config.size > MAX_CONFIG_BYTES:
        return None
    return _config_created(read_blob(target, config, MAX_CONFIG_BYTES))


def _config_created(data: bytes) -> dt.datetime | None:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return parse_created(document.get("created")) if isinstance(document, dict) else None
