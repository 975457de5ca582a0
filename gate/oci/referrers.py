"""Referrers in a registry repository: the OCI 1.1 API, else the ``sha256-<hex>`` tag fallback.

The API (``GET /v2/<name>/referrers/<digest>``) is paged by ``Link``; ``artifactType`` is
filtered here unless ``OCI-Filters-Applied`` says the registry did. Without the API, the
referrers of a subject are the entries of an OCI index tagged ``sha256-<hex>``, updated by
read-modify-write (serialised per subject within a pool, re-read to catch lost updates).
Support is detected per repository and cached on the host: an ``OCI-Subject`` header on a
manifest PUT or a 200 from the API means supported; a 404 that is not ``NAME_UNKNOWN`` means
fallback. A listed entry that is not a valid descriptor of a manifest is skipped with a warning.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from gate.oci.http import NotFound, RegistryFailure, describe_answer
from gate.oci.manifests import Manifests
from gate.oci.reference import compute_digest, fallback_tag, parse_descriptor_or_skip, split_digest
from gate.oci.repository import MAX_LIST_PAGE, MAX_PAGES, RepositoryClient, json_object, next_link
from gate.oci.target import INDEX_TYPES, MAX_MANIFEST_BYTES, OCI_INDEX, Descriptor, Manifest

MAX_REFERRERS = 10_000  # per subject, over all pages (and in a fallback index)
REFERRER_UPDATE_ATTEMPTS = 5


class Referrers:
    """The referrers of subjects in one repository."""

    def __init__(self, client: RepositoryClient, manifests: Manifests) -> None:
        self.client = client
        self.manifests = manifests

    def find(self, digest: str, artifact_type: str | None = None) -> list[Descriptor]:
        split_digest(digest)
        if self.client.host.referrers_api.get(self.client.repository) is not False:
            found = self._from_api(digest, artifact_type)
            if found is not None:
                return found
        descriptors = self._fallback_index(digest)[1]
        return [d for d in descriptors if artifact_type is None or d.artifact_type == artifact_type]

    def supported(self, probe_digest: str | None = None) -> bool | None:
        """Known support for the referrers API in this repository (probing with a digest when unknown)."""
        known = self.client.host.referrers_api.get(self.client.repository)
        if known is None and probe_digest is not None:
            self._from_api(probe_digest, None)
            known = self.client.host.referrers_api.get(self.client.repository)
        return known

    def _from_api(self, digest: str, artifact_type: str | None) -> list[Descriptor] | None:
        """The API answer, or None when the registry has no referrers API (cached)."""
        client = self.client
        known = client.host.referrers_api
        what = f"list referrers of {client.where(digest)}"
        url: str | None = client.url("referrers", digest)
        params: dict[str, str | list[str]] | None = {"artifactType": artifact_type} if artifact_type else None
        result: list[Descriptor] = []
        seen: set[str] = set()
        pages = 0
        received = 0
        while url is not None:
            pages += 1
            if pages > MAX_PAGES or url in seen:
                raise RegistryFailure(f"cannot {what}: the registry's Link pagination does not end")
            seen.add(url)
            response = client.send("GET", url, params=params, headers={"Accept": OCI_INDEX}, stream=True, what=what)
            if response.status_code == 404 and pages == 1:
                answer = describe_answer(response)
                response.close()
                if "NAME_UNKNOWN" in answer:
                    return []  # the repository does not exist (yet): nothing refers to anything
                known[client.repository] = False
                return None
            if response.status_code in (400, 405, 406, 501) and pages == 1 and client.repository not in known:
                response.close()
                known[client.repository] = False
                return None
            if response.status_code != 200:
                client.fail(response, what)
            applied = {f.strip() for f in response.headers.get("OCI-Filters-Applied", "").split(",")}
            following = next_link(response, url)
            index = json_object(client.read_capped(response, MAX_LIST_PAGE, what), f"cannot {what}")
            if index is None or not isinstance(index.get("manifests"), list):
                raise RegistryFailure(f"cannot {what}: the registry's referrers answer is not an image index")
            known[client.repository] = True
            received += len(index["manifests"])
            if received > MAX_REFERRERS:
                raise RegistryFailure(
                    f"cannot {what}: the registry lists more than {MAX_REFERRERS} referrers (the cap per subject)"
                )
            for descriptor in self._entries(index["manifests"], f"the referrers of {client.where(digest)}"):
                if artifact_type and "artifactType" not in applied and descriptor.artifact_type != artifact_type:
                    continue
                result.append(descriptor)
            client.check_next(following, "referrers", what)
            url, params = following, None
        return result

    def _fallback_index(self, digest: str) -> tuple[Manifest | None, list[Descriptor]]:
        """The ``sha256-<hex>`` tag index and its entries; a non-index there is ignored with a warning."""
        tag = fallback_tag(digest)
        try:
            manifest = self.manifests.fetch(tag)
        except NotFound:
            return None, []
        where = self.client.where(tag)
        index = json_object(manifest.data, f"referrers index {where}")
        if (
            manifest.descriptor.media_type not in INDEX_TYPES
            or manifest.descriptor.digest == digest
            or index is None
            or not isinstance(index.get("manifests"), list)
        ):
            self.client.log(f"warning: {where} is a {manifest.descriptor.media_type}, not a referrers index; ignored")
            return None, []
        if len(index["manifests"]) > MAX_REFERRERS:
            raise RegistryFailure(
                f"referrers index {where} lists more than {MAX_REFERRERS} referrers (the cap per subject)"
            )
        return manifest, self._entries(index["manifests"], where)

    def _entries(self, entries: Sequence[object], where: str) -> list[Descriptor]:
        """The valid descriptors of a referrers list; the others are skipped with a warning (one
        registry's bad entry must not hide the good ones, nor build a request path)."""
        found: list[Descriptor] = []
        for i, entry in enumerate(entries):
            descriptor = parse_descriptor_or_skip(entry, f"{where}: referrer [{i}]", self.client.log)
            if descriptor is None:
                continue
            if descriptor.size > MAX_MANIFEST_BYTES:
                size = descriptor.size
                self.client.log(
                    f"warning: {where}: referrer {descriptor.digest} has an impossible size {size}; skipped"
                )
                continue
            found.append(descriptor)
        return found

    def add(self, subject: Descriptor, referrers: Sequence[Manifest]) -> set[str]:
        """Make ``referrers`` (pushed already) findable from ``subject``; return the digests that were
        not (none where the registry indexes subjects itself); else one read-modify-write of the
        ``sha256-<hex>`` index (and one read-back) for all of them."""
        client = self.client
        split_digest(subject.digest)
        if not referrers:
            return set()
        if client.host.referrers_api.get(client.repository) is not True:
            self.supported(probe_digest=subject.digest)
        if client.host.referrers_api.get(client.repository) is True:
            return set()
        tag = fallback_tag(subject.digest)
        wanted = {referrer.descriptor.digest for referrer in referrers}
        added: set[str] = set()
        with client.host.subject_lock(client.repository, subject.digest):
            current, entries = self._fallback_index(subject.digest)
            for attempt in range(1, REFERRER_UPDATE_ATTEMPTS + 1):
                listed = {d.digest for d in entries}
                missing = [r for r in referrers if r.descriptor.digest not in listed]
                if not missing:
                    return added
                data = self._index_with(current, missing, tag)
                self.manifests.push(Manifest(Descriptor(OCI_INDEX, compute_digest(data), len(data)), data), tag)
                added |= {r.descriptor.digest for r in missing}
                current, entries = self._fallback_index(subject.digest)
                if wanted <= {d.digest for d in entries}:
                    return added
                client.log(f"{client.where(tag)}: the referrers index lost an update; retry {attempt}")
                time.sleep(client.retry.backoff(attempt))
                current, entries = self._fallback_index(subject.digest)
        what = f"referrer {referrers[0].descriptor.digest}" if len(referrers) == 1 else f"{len(referrers)} referrers"
        raise RegistryFailure(
            f"cannot add {what} to {client.where(tag)}: "
            f"other writers kept replacing the index ({REFERRER_UPDATE_ATTEMPTS} attempts)"
        )

    def remove(self, subject: str, digests: Sequence[str]) -> tuple[str | None, int]:
        """Drop ``digests`` from ``subject``'s ``sha256-<hex>`` fallback index (a registry with the API drops a
        referrer itself when it is deleted). Returns the index's digest and how many entries it keeps: the
        rewritten index when some remain; the unchanged one with 0 when none would (the caller deletes the
        tag, so a referrer is never left listed but gone); ``(None, 0)`` when there is no index."""
        split_digest(subject)
        client = self.client
        tag = fallback_tag(subject)
        dropped = set(digests)
        with client.host.subject_lock(client.repository, subject):
            current, entries = self._fallback_index(subject)
            if current is None:
                return None, 0
            kept = [d for d in entries if d.digest not in dropped]
            if not kept or len(kept) == len(entries):
                return current.descriptor.digest, len(kept)
            document = json_object(current.data, f"referrers index {client.where(tag)}") or {}
            document["manifests"] = [
                m for m in document.get("manifests", []) if isinstance(m, dict) and m.get("digest") not in dropped
            ]
            data = json.dumps(document, separators=(",", ":")).encode()
            self.manifests.push(Manifest(Descriptor(OCI_INDEX, compute_digest(data), len(data)), data), tag)
            return compute_digest(data), len(kept)

    def _index_with(self, current: Manifest | None, missing: Sequence[Manifest], tag: str) -> bytes:
        """The fallback index ``current`` (or a new one) with entries for ``missing`` added."""
        document: dict[str, Any] = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
        if current is not None:
            existing = json_object(current.data, f"referrers index {self.client.where(tag)}") or {}
            document = {**existing, "mediaType": OCI_INDEX, "schemaVersion": 2}
            document["manifests"] = [m for m in existing.get("manifests", []) if isinstance(m, dict)]
        added: set[str] = set()
        for referrer in missing:
            if referrer.descriptor.digest not in added:
                document["manifests"].append(_referrer_entry(referrer))
                added.add(referrer.descriptor.digest)
        return json.dumps(document, separators=(",", ":")).encode()


def _referrer_entry(referrer: Manifest) -> dict[str, Any]:
    """The index entry for a referrer: its descriptor, artifact type and annotations."""
    document = json_object(referrer.data, f"referrer {referrer.descriptor.digest}") or {}
    entry: dict[str, Any] = {
        "mediaType": referrer.descriptor.media_type,
        "digest": referrer.descriptor.digest,
        "size": referrer.descriptor.size,
    }
    artifact_type = document.get("artifactType")
    config = document.get("config")
    if not isinstance(artifact_type, str) or not artifact_type:
        artifact_type = config.get("mediaType") if isinstance(config, dict) else None
    if isinstance(artifact_type, str) and artifact_type:
        entry["artifactType"] = artifact_type
    annotations = document.get("annotations")
    if isinstance(annotations, dict) and annotations:
        entry["annotations"] = annotations
    return entry
