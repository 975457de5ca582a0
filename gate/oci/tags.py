"""Tags in a registry repository: list them (paged, capped) and delete exactly one.

Deleting a tag: the OCI spec allows ``DELETE /v2/<name>/manifests/<tag>``, but distribution
2.8 deletes by digest only (it answers 400 ``DIGEST_INVALID``), and deleting the digest would
remove every other tag on it too. A registry answering 405 or ``UNSUPPORTED`` (GHCR,
distribution without deletes) raises ``TagDeletionRefused`` at once, pushing nothing.
On distribution's answer, the tag is pointed at a unique throw-away manifest (empty config,
one annotation) and that digest is deleted: exactly the one tag disappears and the image it
pointed to is untouched. Deletion by digest is probed first with an untagged throw-away, so
a registry with deletes disabled leaves the tag as it was and the error says so.
"""

from __future__ import annotations

import json

from gate.errors import InputError
from gate.oci.auth import repository_scope
from gate.oci.blobs import Blobs, bytes_source
from gate.oci.http import RegistryFailure, describe_answer, raise_for_status
from gate.oci.manifests import Manifests
from gate.oci.reference import compute_digest, split_digest
from gate.oci.repository import MAX_LIST_PAGE, MAX_PAGES, RepositoryClient, json_object, next_link
from gate.oci.target import OCI_EMPTY_CONFIG, OCI_MANIFEST, Descriptor, Manifest

MAX_TAGS = 100_000
EMPTY_CONFIG_DATA = b"{}"
EMPTY_CONFIG = Descriptor(OCI_EMPTY_CONFIG, compute_digest(EMPTY_CONFIG_DATA), len(EMPTY_CONFIG_DATA))


class TagDeletionRefused(InputError):
    """The registry refuses to delete a tag through the registry API (405 / ``UNSUPPORTED``, as
    GHCR and distribution without deletes answer); nothing was pushed or changed. A caller may
    try another way (GitHub Packages: its REST API)."""


class Tags:
    """The tags of one repository. ``page_size`` is the ``n`` asked for per page."""

    def __init__(self, client: RepositoryClient, manifests: Manifests, blobs: Blobs) -> None:
        self.client = client
        self.manifests = manifests
        self.blobs = blobs
        self.page_size = 1000

    def names(self) -> list[str]:
        """Every tag, following ``Link`` pages; a full page without ``Link`` continues with ``last=``
        (registries that honour ``n`` but send no ``Link``). An absent repository has no tags."""
        client = self.client
        what = f"list tags of {client.display_name}"
        url: str | None = client.url("tags", "list")
        params: dict[str, str | list[str]] | None = {"n": str(self.page_size)}
        tags: list[str] = []
        known: set[str] = set()
        seen: set[str] = set()
        while url is not None:
            key = f"{url}?{params}"
            if len(seen) >= MAX_PAGES or key in seen:
                raise RegistryFailure(f"cannot {what}: the registry's pagination does not end")
            seen.add(key)
            response = client.send("GET", url, params=params, stream=True, what=what)
            if response.status_code == 404 and not tags:
                response.close()
                return []
            if response.status_code != 200:
                client.fail(response, what)
            following = next_link(response, url)
            document = json_object(client.read_capped(response, MAX_LIST_PAGE, what), f"cannot {what}") or {}
            page = document.get("tags") or []
            if not isinstance(page, list):
                raise RegistryFailure(f"cannot {what}: the registry's answer has no tag list")
            fresh = [t for t in page if isinstance(t, str) and t not in known]
            tags.extend(fresh)
            known.update(fresh)
            if len(tags) > MAX_TAGS:
                raise RegistryFailure(f"cannot {what}: the repository has more than {MAX_TAGS} tags (the cap)")
            client.check_next(following, "tags", what)
            if following is not None:
                url, params = following, None
            elif fresh and len(page) >= self.page_size:
                url, params = client.url("tags", "list"), {"n": str(self.page_size), "last": fresh[-1]}
            else:
                url = None
        return tags

    def delete(self, tag: str) -> None:
        """Remove exactly ``tag``; the manifest it named stays (see the module docstring)."""
        client = self.client
        what = f"delete tag {client.where(tag)}"
        scopes = [repository_scope(client.repository, "pull", "push", "delete")]
        if ":" in tag or "@" in tag:
            raise InputError(f"cannot {what}: {tag!r} is not a tag")
        self.manifests.resolve(tag)  # NotFound with the registry's words when the tag is absent
        response = client.send("DELETE", client.url("manifests", tag), scopes=scopes, what=what)
        if response.status_code in (200, 202, 204):
            response.close()
            return
        answer = describe_answer(response)
        response.close()
        registry = client.ref.registry
        if response.status_code == 405 or "UNSUPPORTED" in answer:
            raise TagDeletionRefused(
                f"cannot {what}: {registry} does not allow deletes of tags ({answer}); nothing was changed",
                hint="the registry may offer another way (GitHub Packages: its API); "
                "distribution needs storage.delete.enabled: true",
            )
        if response.status_code != 400 or "DIGEST_INVALID" not in answer:
            raise_for_status(response.status_code, f"cannot {what}: {registry} answered {answer}")
        # Distribution's answer when it deletes by digest only: probe that deletes work at all,
        # then retag to a unique throw-away manifest and delete it.
        self.blobs.push(EMPTY_CONFIG, bytes_source(EMPTY_CONFIG_DATA))
        probe = _throwaway_manifest("probe")
        self.manifests.push(probe)
        self._delete_digest(probe.descriptor.digest, what, scopes)
        placeholder = _throwaway_manifest(tag)
        self.manifests.push(placeholder, tag)
        self._delete_digest(placeholder.descriptor.digest, what, scopes)

    def delete_manifest(self, digest: str) -> None:
        """Delete the manifest ``digest`` (``DELETE /v2/<name>/manifests/<digest>``): on distribution every tag
        on it goes too, on others the tags may stay (check them). ``NotFound`` when it is absent,
        ``TagDeletionRefused`` when the registry refuses deletes (405 / ``UNSUPPORTED``)."""
        client = self.client
        split_digest(digest)
        scopes = [repository_scope(client.repository, "pull", "push", "delete")]
        self._delete_digest(digest, f"delete manifest {client.where(digest)}", scopes)

    def _delete_digest(self, digest: str, what: str, scopes: list[str]) -> None:
        client = self.client
        response = client.send("DELETE", client.url("manifests", digest), scopes=scopes, what=what)
        if response.status_code in (200, 202, 204):
            response.close()
            return
        answer = describe_answer(response)
        response.close()
        if response.status_code == 405 or "UNSUPPORTED" in answer:
            raise TagDeletionRefused(
                f"cannot {what}: {client.ref.registry} does not allow deletes ({answer})",
                hint="distribution needs storage.delete.enabled: true",
            )
        raise_for_status(response.status_code, f"cannot {what}: {client.ref.registry} answered {answer}")


def _throwaway_manifest(label: str) -> Manifest:
    import uuid  # only when a tag is deleted (uuid loads the platform module: not on every start)

    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.image-gate.deleted-tag.v1",
        "config": {"mediaType": EMPTY_CONFIG.media_type, "digest": EMPTY_CONFIG.digest, "size": EMPTY_CONFIG.size},
        "layers": [{"mediaType": EMPTY_CONFIG.media_type, "digest": EMPTY_CONFIG.digest, "size": EMPTY_CONFIG.size}],
        "annotations": {"vnd.image-gate.placeholder": f"{label} {uuid.uuid4()}"},
    }
    data = json.dumps(document, separators=(",", ":")).encode()
    return Manifest(Descriptor(OCI_MANIFEST, compute_digest(data), len(data)), data)
