"""Manifests in a registry repository: resolve, fetch (digest-verified, size-capped), check, push.

A manifest is kept as the exact bytes the registry holds. Fetched by digest, the bytes must
hash to it; fetched by tag, to the ``Docker-Content-Digest`` the registry names (when it names
one we can check). A push that the registry answers with an ``OCI-Subject`` header teaches the
host that this repository has the referrers API.
"""

from __future__ import annotations

from gate.errors import GateError, InputError
from gate.oci.http import BadRequest, RegistryFailure, describe_answer, raise_for_status
from gate.oci.manifest import parse
from gate.oci.reference import DIGEST_ALGORITHMS, compute_digest, is_valid_digest, split_digest
from gate.oci.repository import RepositoryClient, bare_media_type, json_object
from gate.oci.target import (
    ALL_MANIFEST_TYPES,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    MAX_MANIFEST_BYTES,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    DigestMismatch,
    Manifest,
    PushResult,
)

MANIFEST_ACCEPT = ", ".join([OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST])

# A push refused for unknown content the repository does hold is tried again, this many times in all:
# distribution's filesystem store rewrites a manifest's or blob's link file in place on every push or
# mount, so a push that reads it meanwhile (two matrix jobs mirroring tags of one digest) finds it empty.
UNKNOWN_CONTENT_ATTEMPTS = 3


class Manifests:
    """The manifests of one repository."""

    def __init__(self, client: RepositoryClient) -> None:
        self.client = client

    def resolve(self, reference: str) -> Descriptor:
        client = self.client
        what = f"resolve {client.where(reference)}"
        response = client.send(
            "HEAD", client.url("manifests", reference), headers={"Accept": MANIFEST_ACCEPT}, what=what
        )
        if response.status_code != 200:
            response.close()
            if response.status_code in (404, 401, 403):
                # HEAD answers have no body: ask again with GET for the registry's words.
                return self.fetch(reference).descriptor
            client.fail(response, what)
        digest = response.headers.get("Docker-Content-Digest", "")
        media_type = bare_media_type(response.headers.get("Content-Type", ""))
        length = response.headers.get("Content-Length", "")
        response.close()
        trusted = is_valid_digest(digest)
        if trusted and media_type in ALL_MANIFEST_TYPES and length.isdigit() and int(length) <= MAX_MANIFEST_BYTES:
            if ":" in reference and digest != reference:
                raise DigestMismatch(f"{client.where(reference)}: the registry answered digest {digest}")
            return Descriptor(media_type, digest, int(length))
        return self.fetch(reference).descriptor

    def fetch(self, reference: str) -> Manifest:
        client = self.client
        where = client.where(reference)
        what = f"fetch manifest {where}"
        response = client.send(
            "GET", client.url("manifests", reference), headers={"Accept": MANIFEST_ACCEPT}, stream=True, what=what
        )
        if response.status_code != 200:
            client.fail(response, what)
        header_digest = response.headers.get("Docker-Content-Digest", "")
        content_type = bare_media_type(response.headers.get("Content-Type", ""))
        data = client.read_capped(response, MAX_MANIFEST_BYTES, f"manifest {where}")
        if ":" in reference:
            algorithm, _ = split_digest(reference)
            actual = compute_digest(data, algorithm)
            if actual != reference:
                raise DigestMismatch(f"manifest {where}: the registry sent bytes whose digest is {actual}")
            digest = reference
        else:
            digest = compute_digest(data)
        if header_digest and header_digest != digest:
            algorithm = header_digest.partition(":")[0]
            if algorithm not in DIGEST_ALGORITHMS or compute_digest(data, algorithm) != header_digest:
                raise DigestMismatch(
                    f"manifest {where}: Docker-Content-Digest says {header_digest} but the bytes hash to {digest}"
                )
        media_type = _manifest_media_type(data, content_type, where)
        return Manifest(Descriptor(media_type, digest, len(data)), data)

    def exists(self, digest: str) -> bool:
        return self.client.exists("manifests", digest, {"Accept": MANIFEST_ACCEPT})

    def _holds_all(self, manifest: Manifest) -> bool:
        """The repository holds every manifest and blob ``manifest`` names (False when it cannot tell)."""
        client = self.client
        try:
            parsed = parse(manifest)
            return all(self.exists(child.digest) for child in parsed.manifests) and all(
                client.exists("blobs", blob.digest, None) for blob in parsed.blobs
            )
        except GateError:
            return False

    def push(self, manifest: Manifest, tag: str | None = None) -> PushResult:
        client = self.client
        descriptor = manifest.descriptor
        if len(manifest.data) > MAX_MANIFEST_BYTES:
            raise InputError(f"manifest {descriptor.digest} is {len(manifest.data)} bytes, over the 4 MiB limit")
        algorithm, _ = split_digest(descriptor.digest)
        if compute_digest(manifest.data, algorithm) != descriptor.digest:
            raise DigestMismatch(
                f"manifest {descriptor.digest}: its bytes hash to {compute_digest(manifest.data, algorithm)}"
            )
        reference = tag or descriptor.digest
        what = f"push manifest {client.where(reference)}"
        attempt = 0
        while True:
            attempt += 1
            response = client.send(
                "PUT",
                client.url("manifests", reference),
                scopes=client.push_scopes(),
                headers={"Content-Type": descriptor.media_type},
                data=manifest.data,
                what=what,
            )
            if response.status_code in (200, 201, 202):
                break
            if response.status_code != 400:
                client.fail(response, what)
            answer = describe_answer(response)
            response.close()
            refused = f"cannot {what}: {client.ref.registry} answered {answer}"
            if "BLOB_UNKNOWN" not in answer or attempt >= UNKNOWN_CONTENT_ATTEMPTS or not self._holds_all(manifest):
                raise_for_status(400, refused)
            # It holds all of it: another writer was rewriting its record of a piece (see UNKNOWN_CONTENT_ATTEMPTS).
            client.host.http.log(f"{refused}; but it holds everything the manifest names; retry {attempt}")
            client.host.http.sleep(client.retry.backoff(attempt))
        answered = response.headers.get("Docker-Content-Digest")
        subject_header = response.headers.get("OCI-Subject")
        response.close()
        if answered and answered != descriptor.digest and answered.partition(":")[0] == algorithm:
            raise DigestMismatch(f"{what}: the registry stored it as {answered}, not {descriptor.digest}")
        subject_supported: bool | None = None
        if subject_header:
            subject_supported = True
            client.host.referrers_api[client.repository] = True
        elif _subject_of(manifest.data, descriptor.digest) is not None:
            subject_supported = False
        return PushResult(descriptor.digest, subject_supported)


def _manifest_media_type(data: bytes, content_type: str, where: str) -> str:
    document = json_object(data, f"manifest {where}")
    if document is None:
        raise RegistryFailure(f"manifest {where}: the registry sent something that is not a JSON object")
    declared = document.get("mediaType")
    if document.get("schemaVersion") == 1:
        raise BadRequest(f"manifest {where}: Docker schema 1 manifests are not supported")
    if isinstance(declared, str) and declared in ALL_MANIFEST_TYPES:
        return declared
    if content_type in ALL_MANIFEST_TYPES:
        return content_type
    if isinstance(document.get("manifests"), list):
        return OCI_INDEX
    if isinstance(document.get("config"), dict):
        return OCI_MANIFEST
    raise BadRequest(f"manifest {where}: unsupported media type {declared or content_type or 'unknown'}")


def _subject_of(data: bytes, where: str) -> str | None:
    document = json_object(data, f"manifest {where}") or {}
    subject = document.get("subject")
    if isinstance(subject, dict) and isinstance(subject.get("digest"), str):
        return str(subject["digest"])
    return None
