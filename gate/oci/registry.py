"""A registry repository as a ``gate.oci.target.Target`` (OCI distribution API v2).

``RegistryPool`` holds what repositories on the same host share: the HTTP session, the
authenticator (token cache), a semaphore bounding parallel transfers per host (the copy
engine acquires ``target.semaphore``; the target itself never does), per-repository
knowledge of the referrers API, and the locks serialising fallback referrer updates.
Open source and destination through ONE pool so same-host targets share all of that.

Referrers: the OCI 1.1 API (``GET /v2/<name>/referrers/<digest>``, ``Link`` pagination,
``artifactType`` filtered client-side unless ``OCI-Filters-Applied`` says the registry did),
else the tag schema fallback (an OCI index tagged ``sha256-<hex>``). Support is detected per
repository and cached: an ``OCI-Subject`` header on a manifest PUT or a 200 from the API
means supported; a 404 that is not ``NAME_UNKNOWN`` means fallback.

Deleting a tag: the OCI spec allows ``DELETE /v2/<name>/manifests/<tag>``, but distribution
2.8 deletes by digest only (it answers 400 ``DIGEST_INVALID``), and deleting the digest would
remove every other tag on it too. A registry answering 405 or ``UNSUPPORTED`` (GHCR,
distribution without deletes) raises ``TagDeletionRefused`` at once, pushing nothing.
On distribution's answer, ``delete_tag`` points the tag at a unique
throw-away manifest (empty config, one annotation) and deletes that digest: exactly the
one tag disappears and the image it pointed to is untouched. Deletion by digest is probed
first with an untagged throw-away, so a registry with deletes disabled leaves the tag as
it was and the error says so.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import quote, urljoin, urlsplit

import requests

from gate.errors import GateError, InputError
from gate.oci.auth import Authenticator, CredentialStore, repository_scope
from gate.oci.http import (
    RETRY_STATUSES,
    AnswerTooSlow,
    BadRequest,
    Denied,
    HttpClient,
    NotFound,
    ReadClock,
    RegistryFailure,
    RetryPolicy,
    Unreachable,
    blob_read_budget,
    describe_answer,
    raise_for_answer,
    read_capped,
    scheme_for,
    timed_chunks,
)
from gate.oci.target import (
    ALL_MANIFEST_TYPES,
    CHUNK_SIZE,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    INDEX_TYPES,
    MAX_MANIFEST_BYTES,
    OCI_EMPTY_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    BlobSource,
    Descriptor,
    DigestMismatch,
    Manifest,
    Platform,
    PushResult,
)
from gate.reference import ImageReference

MANIFEST_ACCEPT = ", ".join([OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST])
MAX_LIST_PAGE = 4 * 1024 * 1024
MAX_PAGES = 1000
MAX_REFERRERS = 10_000  # per subject, over all pages (and in a fallback index)
MAX_TAGS = 100_000
DEFAULT_UPLOAD_CHUNK = 8 * 1024 * 1024
MAX_UPLOAD_CHUNK = 64 * 1024 * 1024
REFERRER_UPDATE_ATTEMPTS = 5
ABSENT_MEMO_SECONDS = 60.0
_HASHES = {"sha256": 64, "sha512": 128}
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
EMPTY_CONFIG_DATA = b"{}"
EMPTY_CONFIG = Descriptor(OCI_EMPTY_CONFIG, "sha256:" + hashlib.sha256(EMPTY_CONFIG_DATA).hexdigest(), 2)


def _ignore(_: str) -> None:
    return None


def _hasher(digest: str) -> Any:
    algorithm, sep, hexpart = digest.partition(":")
    if not sep or _HASHES.get(algorithm) != len(hexpart) or hexpart.strip("0123456789abcdef"):
        raise InputError(
            f"invalid digest {digest!r}: expected sha256: and 64 lowercase hex digits (or sha512: and 128)"
        )
    return hashlib.new(algorithm)


def _checked_reference(reference: str) -> str:
    """``reference`` when it is a valid digest or tag: checked before it becomes part of a URL."""
    if ":" in reference:
        _hasher(reference)
    elif not _TAG.fullmatch(reference):
        raise InputError(f"invalid tag {reference[:200]!r}: expected [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}")
    return reference


def _valid_digest(digest: str) -> bool:
    try:
        _hasher(digest)
    except InputError:
        return False
    return True


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def fallback_tag(digest: str) -> str:
    """The referrers tag schema: ``sha256:abc...`` -> ``sha256-abc...`` (algorithm <= 32, hex <= 64 chars)."""
    algorithm, _, hexpart = digest.partition(":")
    return f"{algorithm[:32]}-{hexpart[:64]}"


@dataclass
class RegistryHost:
    """What every repository on one registry host shares."""

    registry: str  # as in references (docker.io for Docker Hub)
    api_host: str  # where the API answers (registry-1.docker.io for Docker Hub)
    base_url: str
    http: HttpClient
    auth: Authenticator
    semaphore: threading.BoundedSemaphore
    referrers_api: dict[str, bool] = field(default_factory=dict)  # repository -> supported
    chunked_upload: dict[str, int] = field(default_factory=dict)  # repository -> chunk size when required
    _locks: dict[tuple[str, str], threading.Lock] = field(default_factory=dict)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)

    def subject_lock(self, repository: str, digest: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault((repository, digest), threading.Lock())


class RegistryPool:
    """Registry hosts by name, built lazily from one credential store and one set of settings."""

    def __init__(
        self,
        credentials: CredentialStore,
        *,
        insecure_registries: Iterable[str] = (),
        concurrency: int = 4,
        mask: Callable[[str], None] = _ignore,
        log: Callable[[str], None] = _ignore,
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = (10.0, 120.0),
        read_deadline: float | None = None,
        force_chunked_upload: int | None = None,
    ) -> None:
        if concurrency < 1:
            raise InputError(f"concurrency must be at least 1, got {concurrency}")
        self.credentials = credentials
        self.insecure_registries = tuple(insecure_registries)
        self.concurrency = concurrency
        self.mask = mask
        self.log = log
        self.force_chunked_upload = force_chunked_upload
        self.http = HttpClient(
            retry=retry, timeout=timeout, read_deadline=read_deadline, pool_size=max(16, concurrency * 4), log=log
        )
        self._hosts: dict[str, RegistryHost] = {}
        self._guard = threading.Lock()

    def host(self, ref: ImageReference) -> RegistryHost:
        with self._guard:
            found = self._hosts.get(ref.registry)
            if found is None:
                api_host = ref.api_host
                insecure = self.insecure_registries
                base_url = f"{scheme_for(api_host, insecure)}://{api_host}"
                auth = Authenticator(
                    ref.registry,
                    self.credentials.get(ref.registry),
                    self.http,
                    allow_http=lambda netloc: scheme_for(netloc, insecure) == "http",
                    mask=self.mask,
                    log=self.log,
                )
                found = RegistryHost(
                    ref.registry, api_host, base_url, self.http, auth, threading.BoundedSemaphore(self.concurrency)
                )
                self._hosts[ref.registry] = found
            return found

    def target(self, ref: ImageReference) -> RegistryTarget:
        return RegistryTarget(ref, self.host(ref), log=self.log, force_chunked_upload=self.force_chunked_upload)

    def close(self) -> None:
        self.http.close()


def open_registry_target(
    ref: ImageReference,
    credentials: CredentialStore,
    *,
    insecure_registries: Iterable[str] = (),
    concurrency: int = 4,
    mask: Callable[[str], None] = _ignore,
    log: Callable[[str], None] = _ignore,
    pool: RegistryPool | None = None,
) -> RegistryTarget:
    """A target for ``ref``'s repository. Pass the same ``pool`` for every target of one run
    (then the other settings are the pool's); without one, a new pool is made."""
    if pool is None:
        pool = RegistryPool(
            credentials, insecure_registries=insecure_registries, concurrency=concurrency, mask=mask, log=log
        )
    return pool.target(ref)


class _SizedStream:
    """An upload body of known length: requests sends ``Content-Length`` instead of chunked encoding."""

    def __init__(self, chunks: Iterator[bytes], length: int) -> None:
        self._chunks = chunks
        self._length = length

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks


class _Retryable(Exception):
    """An upload attempt failed in a way a fresh attempt (re-reading the source) may fix."""

    def __init__(self, error: GateError) -> None:
        super().__init__(error.message)
        self.error = error


class RegistryTarget:
    """One repository of a registry. Thread-safe: the copy engine may call it from many threads."""

    def __init__(
        self,
        ref: ImageReference,
        host: RegistryHost,
        *,
        log: Callable[[str], None] = _ignore,
        force_chunked_upload: int | None = None,
    ) -> None:
        self.ref = ref
        self.repository = ref.repository
        self.host = host
        self.log = log
        self.force_chunked_upload = force_chunked_upload
        self.retry = host.http.retry
        self.tag_page_size = 1000
        self._absent_blobs: dict[str, float] = {}  # digest -> when has_blob found it absent

    # --- identity ---------------------------------------------------------------------------

    @property
    def display_name(self) -> str:
        return f"{self.ref.registry}/{self.repository}"

    @property
    def semaphore(self) -> threading.BoundedSemaphore:
        """Bounds parallel transfers to this host (shared by every target of the pool on it)."""
        return self.host.semaphore

    def _url(self, kind: str, reference: str = "") -> str:
        path = f"/v2/{self.repository}/{kind}"
        if reference:
            path += "/" + quote(_checked_reference(reference), safe=":")
        return self.host.base_url + path

    def _where(self, reference: str) -> str:
        sep = "@" if ":" in reference else ":"
        return f"{self.display_name}{sep}{reference}"

    # --- one authenticated request ----------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        *,
        scopes: Iterable[str] | None = None,
        what: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | list[str]] | None = None,
        data: bytes | Iterable[bytes] | None = None,
        stream: bool = False,
        transient_not_found: bool = False,
    ) -> requests.Response:
        scope_list = list(scopes) if scopes is not None else [repository_scope(self.repository, "pull")]
        same_host = urlsplit(url).netloc == urlsplit(self.host.base_url).netloc
        auth = self.host.auth.header(scope_list) if same_host else None
        response = self.host.http.request(
            method,
            url,
            headers=headers,
            params=params,
            data=data,
            stream=stream,
            authorization=auth,
            transient_not_found=transient_not_found,
            what=what,
        )
        replayable = data is None or isinstance(data, bytes)
        # A streamed body is spent: learn the challenge anyway so the caller's retry has a token.
        learned = response.status_code == 401 and same_host and self.host.auth.on_unauthorized(response, scope_list)
        if learned and replayable:
            response.close()
            response = self.host.http.request(
                method,
                url,
                headers=headers,
                params=params,
                data=data,
                stream=stream,
                authorization=self.host.auth.header(scope_list),
                transient_not_found=transient_not_found,
                what=what,
            )
        return response

    def _read_capped(self, response: requests.Response, limit: int, what: str) -> bytes:
        return read_capped(response, limit, what, deadline=self.host.http.read_deadline)

    def _check_next(self, next_url: str | None, kind: str, what: str) -> None:
        """A ``Link`` to the next page stays on this host and under this repository's ``kind`` path."""
        if next_url is None:
            return
        parts, base = urlsplit(next_url), urlsplit(self.host.base_url)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            raise RegistryFailure(f"cannot {what}: the registry's next page is on another host")
        if not parts.path.startswith(f"/v2/{self.repository}/{kind}") or "/../" in f"{parts.path}/":
            raise RegistryFailure(f"cannot {what}: the registry's next page is outside /v2/{self.repository}/{kind}")

    def _push_scopes(self, *extra: str) -> list[str]:
        return [repository_scope(self.repository, "pull", "push"), *extra]

    # --- manifests --------------------------------------------------------------------------

    def resolve(self, reference: str) -> Descriptor:
        what = f"resolve {self._where(reference)}"
        response = self._send("HEAD", self._url("manifests", reference), headers={"Accept": MANIFEST_ACCEPT}, what=what)
        if response.status_code != 200:
            response.close()
            if response.status_code in (404, 401, 403):
                # HEAD answers have no body: ask again with GET for the registry's words.
                return self.fetch_manifest(reference).descriptor
            raise_for_answer(response, what, self.ref.registry)
        digest = response.headers.get("Docker-Content-Digest", "")
        media_type = _media_type(response.headers.get("Content-Type", ""))
        length = response.headers.get("Content-Length", "")
        response.close()
        trusted = _valid_digest(digest)
        if trusted and media_type in ALL_MANIFEST_TYPES and length.isdigit() and int(length) <= MAX_MANIFEST_BYTES:
            if ":" in reference and digest != reference:
                raise DigestMismatch(f"{self._where(reference)}: the registry answered digest {digest}")
            return Descriptor(media_type, digest, int(length))
        return self.fetch_manifest(reference).descriptor

    def fetch_manifest(self, reference: str) -> Manifest:
        what = f"fetch manifest {self._where(reference)}"
        response = self._send(
            "GET", self._url("manifests", reference), headers={"Accept": MANIFEST_ACCEPT}, stream=True, what=what
        )
        if response.status_code != 200:
            raise_for_answer(response, what, self.ref.registry)
        header_digest = response.headers.get("Docker-Content-Digest", "")
        content_type = _media_type(response.headers.get("Content-Type", ""))
        data = self._read_capped(response, MAX_MANIFEST_BYTES, f"manifest {self._where(reference)}")
        if ":" in reference:
            _hasher(reference)  # validates the digest text
            algorithm = reference.partition(":")[0]
            actual = digest_of(data, algorithm)
            if actual != reference:
                raise DigestMismatch(
                    f"manifest {self._where(reference)}: the registry sent bytes whose digest is {actual}"
                )
            digest = reference
        else:
            digest = digest_of(data)
        if header_digest and header_digest != digest:
            algorithm = header_digest.partition(":")[0]
            if algorithm not in _HASHES or digest_of(data, algorithm) != header_digest:
                raise DigestMismatch(
                    f"manifest {self._where(reference)}: Docker-Content-Digest says {header_digest} "
                    f"but the bytes hash to {digest}"
                )
        media_type = _manifest_media_type(data, content_type, self._where(reference))
        return Manifest(Descriptor(media_type, digest, len(data)), data)

    def has_manifest(self, digest: str) -> bool:
        return self._exists("manifests", digest, {"Accept": MANIFEST_ACCEPT})

    def has_blob(self, digest: str) -> bool:
        present = self._exists("blobs", digest, None)
        if not present:
            self._absent_blobs[digest] = time.monotonic()
        return present

    def _exists(
        self, kind: str, digest: str, headers: Mapping[str, str] | None, scopes: list[str] | None = None
    ) -> bool:
        what = f"check {kind[:-1]} {self._where(digest)}"
        response = self._send("HEAD", self._url(kind, digest), headers=headers, scopes=scopes, what=what)
        response.close()
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        if response.status_code in (401, 403) and kind == "blobs":
            # Some registries answer a HEAD on a missing blob in a repository we may
            # only push to with a denial; a push will tell the truth.
            return False
        raise_for_answer(response, what, self.ref.registry)

    def push_manifest(self, manifest: Manifest, tag: str | None = None) -> PushResult:
        descriptor = manifest.descriptor
        if len(manifest.data) > MAX_MANIFEST_BYTES:
            raise InputError(f"manifest {descriptor.digest} is {len(manifest.data)} bytes, over the 4 MiB limit")
        algorithm = descriptor.digest.partition(":")[0]
        _hasher(descriptor.digest)
        if digest_of(manifest.data, algorithm) != descriptor.digest:
            raise DigestMismatch(
                f"manifest {descriptor.digest}: its bytes hash to {digest_of(manifest.data, algorithm)}"
            )
        reference = tag or descriptor.digest
        what = f"push manifest {self._where(reference)}"
        response = self._send(
            "PUT",
            self._url("manifests", reference),
            scopes=self._push_scopes(),
            headers={"Content-Type": descriptor.media_type},
            data=manifest.data,
            what=what,
        )
        if response.status_code not in (200, 201, 202):
            raise_for_answer(response, what, self.ref.registry)
        answered = response.headers.get("Docker-Content-Digest")
        subject_header = response.headers.get("OCI-Subject")
        response.close()
        if answered and answered != descriptor.digest and answered.partition(":")[0] == algorithm:
            raise DigestMismatch(f"{what}: the registry stored it as {answered}, not {descriptor.digest}")
        subject_supported: bool | None = None
        if subject_header:
            subject_supported = True
            self.host.referrers_api[self.repository] = True
        elif _subject_of(manifest.data, descriptor.digest) is not None:
            subject_supported = False
        return PushResult(descriptor.digest, subject_supported)

    # --- blobs ------------------------------------------------------------------------------

    def open_blob(self, descriptor: Descriptor) -> AbstractContextManager[Iterator[bytes]]:
        return self._open_blob(descriptor)

    @contextmanager
    def _open_blob(self, descriptor: Descriptor) -> Iterator[Iterator[bytes]]:
        stream = VerifyingStream(descriptor)
        stream.start(self._blob_chunks(descriptor, stream))
        try:
            yield stream
        finally:
            stream.close()

    def _blob_chunks(self, descriptor: Descriptor, stream: VerifyingStream) -> Generator[bytes, None, None]:
        """GET the blob; on a broken or short stream resume with ``Range`` (or skip what we have).
        Sets ``stream.verified`` once the digest and size have been checked."""
        hasher = _hasher(descriptor.digest)
        where = self._where(descriptor.digest)
        what = f"fetch blob {where}"
        offset = 0
        breaks = 0
        http = self.host.http
        # The stall guard (each chunk within the read timeout) and the budget (the whole blob)
        # count only time spent waiting for the registry, across resumed attempts.
        clock = ReadClock(blob_read_budget(descriptor.size, http.read_deadline), http.timeout[1])
        while True:
            # Blobs are stored compressed already: no transfer gzip to undo (and hash) on top.
            headers = {"Accept-Encoding": "identity", **({"Range": f"bytes={offset}-"} if offset else {})}
            response = self._send(
                "GET", self._url("blobs", descriptor.digest), headers=headers, stream=True,
                transient_not_found=True, what=what,
            )  # fmt: skip
            try:
                if response.status_code not in (200, 206) or (response.status_code == 206 and not offset):
                    raise_for_answer(response, what, self.ref.registry)
                skip = offset if response.status_code == 200 else 0
                if response.status_code == 206 and not response.headers.get("Content-Range", "").startswith(
                    f"bytes {offset}-"
                ):
                    raise RegistryFailure(f"{what}: the registry answered a range that does not start at {offset}")
                for chunk in timed_chunks(response, CHUNK_SIZE, clock, what):
                    if skip:
                        if len(chunk) <= skip:
                            skip -= len(chunk)
                            continue
                        chunk = chunk[skip:]
                        skip = 0
                    if offset + len(chunk) > descriptor.size:
                        raise DigestMismatch(
                            f"blob {where}: the registry sent more than the expected {descriptor.size} bytes"
                        )
                    hasher.update(chunk)
                    offset += len(chunk)
                    yield chunk
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError, requests.Timeout) as exc:
                breaks += 1
                if breaks >= self.retry.attempts:
                    raise Unreachable(
                        f"{what}: the download broke {breaks} times (last at byte {offset}: {type(exc).__name__})"
                    ) from exc
                self.log(f"{what}: the stream broke at byte {offset}; resuming")
                time.sleep(self.retry.backoff(breaks))
                continue
            except AnswerTooSlow as exc:
                breaks += 1
                if not exc.stalled or breaks >= self.retry.attempts:
                    raise
                self.log(f"{what}: the stream stalled at byte {offset}; resuming")
                time.sleep(self.retry.backoff(breaks))
                continue
            finally:
                response.close()
            if offset < descriptor.size:
                breaks += 1
                if breaks >= self.retry.attempts:
                    raise RegistryFailure(f"{what}: the registry sent {offset} of {descriptor.size} bytes")
                self.log(f"{what}: the body ended at byte {offset} of {descriptor.size}; resuming")
                time.sleep(self.retry.backoff(breaks))
                continue
            break
        actual = f"{descriptor.digest.partition(':')[0]}:{hasher.hexdigest()}"
        if actual != descriptor.digest:
            raise DigestMismatch(f"blob {where}: the bytes received hash to {actual}")
        stream.verified = True

    def push_blob(self, descriptor: Descriptor, source: BlobSource) -> None:
        _hasher(descriptor.digest)
        # Skip uploading present content, but not with a second HEAD when has_blob has just said
        # "absent" (the copy engine's order): at worst a blob pushed meanwhile is uploaded again.
        # The HEAD asks for the push scope already: one token serves the whole upload.
        checked = self._absent_blobs.pop(descriptor.digest, None)
        fresh = checked is not None and time.monotonic() - checked < ABSENT_MEMO_SECONDS
        if not fresh and self._exists("blobs", descriptor.digest, None, self._push_scopes()):
            return
        attempts = self.retry.attempts
        for attempt in range(1, attempts + 1):
            try:
                self._upload(descriptor, source)
                return
            except _Retryable as exc:
                if attempt == attempts:
                    raise exc.error from None
                self.log(
                    f"push blob {self._where(descriptor.digest)}: {exc.error.message}; retry {attempt}/{attempts - 1}"
                )
                time.sleep(self.retry.backoff(attempt))

    def _start_upload(self, what: str) -> tuple[str, int | None]:
        response = self._send(
            "POST", self._url("blobs", "uploads") + "/", scopes=self._push_scopes(), data=b"", what=what
        )
        if response.status_code != 202:
            _raise_retryable(response, what, self.ref.registry)
        location = response.headers.get("Location")
        min_chunk = response.headers.get("OCI-Chunk-Min-Length", "")
        response.close()
        if not location:
            raise RegistryFailure(f"cannot {what}: {self.ref.registry} started an upload without a Location")
        return urljoin(self.host.base_url + "/", location), int(min_chunk) if min_chunk.isdigit() else None

    def _upload(self, descriptor: Descriptor, source: BlobSource) -> None:
        what = f"push blob {self._where(descriptor.digest)}"
        location, min_chunk = self._start_upload(what)
        chunk_size = self.force_chunked_upload or self.host.chunked_upload.get(self.repository)
        if min_chunk:
            chunk_size = max(chunk_size or DEFAULT_UPLOAD_CHUNK, min(min_chunk, MAX_UPLOAD_CHUNK))
        committed = False
        try:
            with source() as chunks:
                verified = _verified(chunks, descriptor)
                if chunk_size:
                    location = self._patch_chunks(location, verified, chunk_size, what)
                    body: bytes | _SizedStream = b""
                else:
                    body = _SizedStream(verified, descriptor.size)
                try:
                    response = self._send(
                        "PUT", location, scopes=self._push_scopes(), params={"digest": descriptor.digest},
                        headers={"Content-Type": "application/octet-stream"}, data=body, what=what,
                    )  # fmt: skip
                except Unreachable as exc:
                    raise _Retryable(exc) from exc
                except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError, requests.Timeout) as exc:
                    raise _Retryable(Unreachable(f"cannot {what}: the upload broke ({type(exc).__name__})")) from exc
            if response.status_code in (413, 416) and not chunk_size:
                response.close()
                self.host.chunked_upload[self.repository] = DEFAULT_UPLOAD_CHUNK
                raise _Retryable(RegistryFailure(f"cannot {what}: the registry wants a chunked upload"))
            if response.status_code != 201:
                _raise_retryable(response, what, self.ref.registry)
            response.close()
            committed = True
        finally:
            if not committed:
                self._cancel_upload(location)

    def _patch_chunks(self, location: str, chunks: Iterator[bytes], chunk_size: int, what: str) -> str:
        offset = 0
        buffer = bytearray()

        def send(block: bytes) -> str:
            nonlocal offset
            end = offset + len(block) - 1
            try:
                response = self._send(
                    "PATCH", location, scopes=self._push_scopes(), data=block, what=what,
                    headers={"Content-Type": "application/octet-stream", "Content-Range": f"{offset}-{end}"},
                )  # fmt: skip
            except Unreachable as exc:
                raise _Retryable(exc) from exc
            if response.status_code != 202:
                _raise_retryable(response, what, self.ref.registry)
            offset += len(block)
            following = response.headers.get("Location") or location
            response.close()
            return urljoin(self.host.base_url + "/", following)

        for chunk in chunks:
            buffer += chunk
            while len(buffer) >= chunk_size:
                location = send(bytes(buffer[:chunk_size]))
                del buffer[:chunk_size]
        if buffer:
            location = send(bytes(buffer))
        return location

    def _cancel_upload(self, location: str) -> None:
        try:
            response = self._send("DELETE", location, scopes=self._push_scopes(), what="cancel an upload")
            response.close()
        except GateError:
            pass

    def mount_blob(self, descriptor: Descriptor, from_repository: str) -> bool:
        _hasher(descriptor.digest)
        what = f"mount blob {descriptor.digest} from {from_repository} into {self.display_name}"
        scopes = self._push_scopes(repository_scope(from_repository, "pull"))
        response = self._send(
            "POST",
            self._url("blobs", "uploads") + "/",
            scopes=scopes,
            params={"mount": descriptor.digest, "from": from_repository},
            data=b"",
            what=what,
        )
        if response.status_code == 201:
            response.close()
            return True
        if response.status_code == 202:
            location = response.headers.get("Location")
            response.close()
            if location:
                self._cancel_upload(urljoin(self.host.base_url + "/", location))
            return False
        if response.status_code in (401, 403, 404):
            # No pull right on the source, or it is gone: not a mount, the caller uploads.
            self.log(f"{what}: not mounted ({describe_answer(response)})")
            response.close()
            return False
        raise_for_answer(response, what, self.ref.registry)

    # --- referrers --------------------------------------------------------------------------

    def referrers(self, digest: str, artifact_type: str | None = None) -> list[Descriptor]:
        _hasher(digest)
        if self.host.referrers_api.get(self.repository) is not False:
            found = self._referrers_api(digest, artifact_type)
            if found is not None:
                return found
        descriptors = self._fallback_referrers(digest)[1]
        return [d for d in descriptors if artifact_type is None or d.artifact_type == artifact_type]

    def referrers_supported(self, probe_digest: str | None = None) -> bool | None:
        """Known support for the referrers API in this repository (probing with a digest when unknown)."""
        known = self.host.referrers_api.get(self.repository)
        if known is None and probe_digest is not None:
            self._referrers_api(probe_digest, None)
            known = self.host.referrers_api.get(self.repository)
        return known

    def _referrers_api(self, digest: str, artifact_type: str | None) -> list[Descriptor] | None:
        """The API answer, or None when the registry has no referrers API (cached)."""
        what = f"list referrers of {self._where(digest)}"
        url: str | None = self._url("referrers", digest)
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
            response = self._send("GET", url, params=params, headers={"Accept": OCI_INDEX}, stream=True, what=what)
            if response.status_code == 404 and pages == 1:
                answer = describe_answer(response)
                response.close()
                if "NAME_UNKNOWN" in answer:
                    return []  # the repository does not exist (yet): nothing refers to anything
                self.host.referrers_api[self.repository] = False
                return None
            if (
                response.status_code in (400, 405, 406, 501)
                and pages == 1
                and self.repository not in self.host.referrers_api
            ):
                response.close()
                self.host.referrers_api[self.repository] = False
                return None
            if response.status_code != 200:
                raise_for_answer(response, what, self.ref.registry)
            applied = {f.strip() for f in response.headers.get("OCI-Filters-Applied", "").split(",")}
            next_url = _next_link(response, url)
            data = self._read_capped(response, MAX_LIST_PAGE, what)
            index = _json_object(data, f"cannot {what}")
            if index is None or not isinstance(index.get("manifests"), list):
                raise RegistryFailure(f"cannot {what}: the registry's referrers answer is not an image index")
            self.host.referrers_api[self.repository] = True
            received += len(index["manifests"])
            if received > MAX_REFERRERS:
                raise RegistryFailure(
                    f"cannot {what}: the registry lists more than {MAX_REFERRERS} referrers (the cap per subject)"
                )
            for entry in index["manifests"]:
                descriptor = _descriptor(entry, f"the referrers of {self._where(digest)}", self.log)
                if descriptor is None:
                    continue
                if artifact_type and "artifactType" not in applied and descriptor.artifact_type != artifact_type:
                    continue
                result.append(descriptor)
            self._check_next(next_url, "referrers", what)
            url, params = next_url, None
        return result

    def _fallback_referrers(self, digest: str) -> tuple[Manifest | None, list[Descriptor]]:
        """The ``sha256-<hex>`` tag index and its entries; a non-index there is ignored with a warning."""
        tag = fallback_tag(digest)
        try:
            manifest = self.fetch_manifest(tag)
        except NotFound:
            return None, []
        where = self._where(tag)
        index = _json_object(manifest.data, f"referrers index {where}")
        if (
            manifest.descriptor.media_type not in INDEX_TYPES
            or manifest.descriptor.digest == digest
            or index is None
            or not isinstance(index.get("manifests"), list)
        ):
            self.log(f"warning: {where} is a {manifest.descriptor.media_type}, not a referrers index; ignored")
            return None, []
        if len(index["manifests"]) > MAX_REFERRERS:
            raise RegistryFailure(
                f"referrers index {where} lists more than {MAX_REFERRERS} referrers (the cap per subject)"
            )
        descriptors = [
            d for d in (_descriptor(entry, where, self.log) for entry in index["manifests"]) if d is not None
        ]
        return manifest, descriptors

    def add_referrer(self, subject: Descriptor, referrer: Manifest) -> None:
        self.add_referrers(subject, [referrer])

    def add_referrers(self, subject: Descriptor, referrers: Sequence[Manifest]) -> None:
        """``add_referrer`` for several referrers of one subject: on a fallback registry one
        read-modify-write of the ``sha256-<hex>`` index (and one read-back) for all of them."""
        _hasher(subject.digest)
        if not referrers:
            return
        if self.host.referrers_api.get(self.repository) is not True:
            self.referrers_supported(probe_digest=subject.digest)
        if self.host.referrers_api.get(self.repository) is True:
            return  # the registry indexes subjects itself
        tag = fallback_tag(subject.digest)
        wanted = {referrer.descriptor.digest for referrer in referrers}
        with self.host.subject_lock(self.repository, subject.digest):
            current, entries = self._fallback_referrers(subject.digest)
            for attempt in range(1, REFERRER_UPDATE_ATTEMPTS + 1):
                listed = {d.digest for d in entries}
                missing = [r for r in referrers if r.descriptor.digest not in listed]
                if not missing:
                    return
                document: dict[str, Any] = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
                if current is not None:
                    existing = _json_object(current.data, f"referrers index {self._where(tag)}") or {}
                    document = {**existing, "mediaType": OCI_INDEX, "schemaVersion": 2}
                    document["manifests"] = [m for m in existing.get("manifests", []) if isinstance(m, dict)]
                added: set[str] = set()
                for referrer in missing:
                    if referrer.descriptor.digest not in added:
                        document["manifests"].append(_referrer_entry(referrer))
                        added.add(referrer.descriptor.digest)
                data = json.dumps(document, separators=(",", ":")).encode()
                self.push_manifest(Manifest(Descriptor(OCI_INDEX, digest_of(data), len(data)), data), tag)
                current, entries = self._fallback_referrers(subject.digest)
                if wanted <= {d.digest for d in entries}:
                    return
                self.log(f"{self._where(tag)}: the referrers index lost an update; retry {attempt}")
                time.sleep(self.retry.backoff(attempt))
                current, entries = self._fallback_referrers(subject.digest)
        what = f"referrer {referrers[0].descriptor.digest}" if len(referrers) == 1 else f"{len(referrers)} referrers"
        raise RegistryFailure(
            f"cannot add {what} to {self._where(tag)}: "
            f"other writers kept replacing the index ({REFERRER_UPDATE_ATTEMPTS} attempts)"
        )

    # --- tags -------------------------------------------------------------------------------

    def list_tags(self) -> list[str]:
        """Every tag, following ``Link`` pages; a full page without ``Link`` continues with ``last=``
        (registries that honour ``n`` but send no ``Link``). An absent repository has no tags."""
        what = f"list tags of {self.display_name}"
        url: str | None = self._url("tags", "list")
        params: dict[str, str | list[str]] | None = {"n": str(self.tag_page_size)}
        tags: list[str] = []
        known: set[str] = set()
        seen: set[str] = set()
        while url is not None:
            key = f"{url}?{params}"
            if len(seen) >= MAX_PAGES or key in seen:
                raise RegistryFailure(f"cannot {what}: the registry's pagination does not end")
            seen.add(key)
            response = self._send("GET", url, params=params, stream=True, what=what)
            if response.status_code == 404 and not tags:
                response.close()
                return []
            if response.status_code != 200:
                raise_for_answer(response, what, self.ref.registry)
            next_url = _next_link(response, url)
            document = _json_object(self._read_capped(response, MAX_LIST_PAGE, what), f"cannot {what}") or {}
            page = document.get("tags") or []
            if not isinstance(page, list):
                raise RegistryFailure(f"cannot {what}: the registry's answer has no tag list")
            fresh = [t for t in page if isinstance(t, str) and t not in known]
            tags.extend(fresh)
            known.update(fresh)
            if len(tags) > MAX_TAGS:
                raise RegistryFailure(f"cannot {what}: the repository has more than {MAX_TAGS} tags (the cap)")
            self._check_next(next_url, "tags", what)
            if next_url is not None:
                url, params = next_url, None
            elif fresh and len(page) >= self.tag_page_size:
                url, params = self._url("tags", "list"), {"n": str(self.tag_page_size), "last": fresh[-1]}
            else:
                url = None
        return tags

    def delete_tag(self, tag: str) -> None:
        """Remove exactly ``tag``; the manifest it named stays (see the module docstring)."""
        what = f"delete tag {self._where(tag)}"
        scopes = [repository_scope(self.repository, "pull", "push", "delete")]
        if ":" in tag or "@" in tag:
            raise InputError(f"cannot {what}: {tag!r} is not a tag")
        self.resolve(tag)  # NotFound with the registry's words when the tag is absent
        response = self._send("DELETE", self._url("manifests", tag), scopes=scopes, what=what)
        if response.status_code in (200, 202, 204):
            response.close()
            return
        answer = describe_answer(response)
        response.close()
        if response.status_code == 405 or "UNSUPPORTED" in answer:
            raise TagDeletionRefused(
                f"cannot {what}: {self.ref.registry} does not allow deletes of tags ({answer}); nothing was changed",
                hint="the registry may offer another way (GitHub Packages: its API); "
                "distribution needs storage.delete.enabled: true",
            )
        if response.status_code != 400 or "DIGEST_INVALID" not in answer:
            _raise_described(response.status_code, f"cannot {what}: {self.ref.registry} answered {answer}")
        # Distribution's answer when it deletes by digest only: probe that deletes work at all,
        # then retag to a unique throw-away manifest and delete it.
        self.push_blob(EMPTY_CONFIG, _bytes_source(EMPTY_CONFIG_DATA))
        probe = _throwaway_manifest("probe")
        self.push_manifest(probe)
        self._delete_digest(probe.descriptor.digest, what, scopes)
        placeholder = _throwaway_manifest(tag)
        self.push_manifest(placeholder, tag)
        self._delete_digest(placeholder.descriptor.digest, what, scopes)

    def _delete_digest(self, digest: str, what: str, scopes: list[str]) -> None:
        response = self._send("DELETE", self._url("manifests", digest), scopes=scopes, what=what)
        if response.status_code in (200, 202, 204):
            response.close()
            return
        if response.status_code == 405:
            answer = describe_answer(response)
            raise TagDeletionRefused(
                f"cannot {what}: {self.ref.registry} does not allow deletes ({answer})",
                hint="distribution needs storage.delete.enabled: true",
            )
        raise_for_answer(response, what, self.ref.registry)


class TagDeletionRefused(InputError):
    """The registry refuses to delete a tag through the registry API (405 / ``UNSUPPORTED``, as
    GHCR and distribution without deletes answer); nothing was pushed or changed. A caller may
    try another way (GitHub Packages: its REST API)."""


# --- helpers ----------------------------------------------------------------------------------


def _raise_described(status: int, message: str) -> NoReturn:
    if status == 404:
        raise NotFound(message)
    if status in (401, 403):
        raise Denied(message, hint="check the credentials for this registry and their access to the repository")
    if 400 <= status < 500 and status not in RETRY_STATUSES:
        raise BadRequest(message)
    raise RegistryFailure(message)


def _raise_retryable(response: requests.Response, what: str, registry: str) -> None:
    try:
        raise_for_answer(response, what, registry)
    except (RegistryFailure, Denied) as exc:
        if isinstance(exc, RegistryFailure) or response.status_code == 401:
            raise _Retryable(exc) from exc
        raise


class VerifyingStream(Iterator[bytes]):
    """A blob's chunks whose producer (a registry download, a layout file) checks the digest and
    size itself, before it ends; ``verified`` says it did. The upload of a GET -> PUT copy trusts such a stream of the same
    descriptor instead of hashing every byte a second time (``_verified``)."""

    def __init__(self, descriptor: Descriptor) -> None:
        self.descriptor = descriptor
        self.verified = False
        self._chunks: Generator[bytes, None, None] | None = None

    def start(self, chunks: Generator[bytes, None, None]) -> None:
        self._chunks = chunks

    def __next__(self) -> bytes:
        if self._chunks is None:
            raise StopIteration
        return next(self._chunks)

    def close(self) -> None:
        if self._chunks is not None:
            self._chunks.close()


def _verified(chunks: Iterable[bytes], descriptor: Descriptor) -> Iterator[bytes]:
    """Pass chunks through, holding the last one back until size and digest are verified, so
    a registry never receives a complete body with the wrong content. The bytes are hashed
    here unless they come from a stream that verifies this very descriptor itself (then the
    last chunk waits until that stream has ended, that is, verified)."""
    if (
        isinstance(chunks, VerifyingStream)
        and chunks.descriptor.digest == descriptor.digest
        and chunks.descriptor.size == descriptor.size
    ):
        yield from _held_until_verified(chunks, descriptor)
        return
    hasher = _hasher(descriptor.digest)
    size = 0
    held: bytes | None = None
    for chunk in chunks:
        if not chunk:
            continue
        size += len(chunk)
        if size > descriptor.size:
            raise DigestMismatch(f"blob {descriptor.digest}: the source has more than {descriptor.size} bytes")
        hasher.update(chunk)
        if held is not None:
            yield held
        held = chunk
    if size != descriptor.size:
        raise DigestMismatch(f"blob {descriptor.digest}: the source has {size} bytes, expected {descriptor.size}")
    actual = f"{descriptor.digest.partition(':')[0]}:{hasher.hexdigest()}"
    if actual != descriptor.digest:
        raise DigestMismatch(f"blob {descriptor.digest}: the source bytes hash to {actual}")
    if held is not None:
        yield held


def _held_until_verified(stream: VerifyingStream, descriptor: Descriptor) -> Iterator[bytes]:
    size = 0
    held: bytes | None = None
    for chunk in stream:
        if not chunk:
            continue
        size += len(chunk)
        if held is not None:
            yield held
        held = chunk
    if not stream.verified or size != descriptor.size:
        raise DigestMismatch(f"blob {descriptor.digest}: the source stream ended at {size} bytes without verifying")
    if held is not None:
        yield held


def _bytes_source(data: bytes) -> BlobSource:
    @contextmanager
    def opener() -> Iterator[Iterator[bytes]]:
        yield iter([data])

    return opener


def _throwaway_manifest(label: str) -> Manifest:
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.image-gate.deleted-tag.v1",
        "config": {"mediaType": EMPTY_CONFIG.media_type, "digest": EMPTY_CONFIG.digest, "size": EMPTY_CONFIG.size},
        "layers": [{"mediaType": EMPTY_CONFIG.media_type, "digest": EMPTY_CONFIG.digest, "size": EMPTY_CONFIG.size}],
        "annotations": {"vnd.image-gate.placeholder": f"{label} {uuid.uuid4()}"},
    }
    data = json.dumps(document, separators=(",", ":")).encode()
    return Manifest(Descriptor(OCI_MANIFEST, digest_of(data), len(data)), data)


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _json_object(data: bytes, what: str) -> dict[str, Any] | None:
    """The JSON object in ``data``; None for other JSON or none. Nesting too deep for the parser
    (a hostile document) is a ``RegistryFailure`` naming ``what``, not an internal error."""
    try:
        document = json.loads(data)
    except ValueError:
        return None
    except RecursionError:
        raise RegistryFailure(f"{what}: the JSON document is nested too deeply to read") from None
    return document if isinstance(document, dict) else None


def _manifest_media_type(data: bytes, content_type: str, where: str) -> str:
    document = _json_object(data, f"manifest {where}")
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
    document = _json_object(data, f"manifest {where}") or {}
    subject = document.get("subject")
    if isinstance(subject, dict) and isinstance(subject.get("digest"), str):
        return str(subject["digest"])
    return None


def _descriptor(entry: object, where: str, log: Callable[[str], None]) -> Descriptor | None:
    """A referrer entry's descriptor; None (with a warning) for one we must not act on: a digest
    that is not ``sha256:``/``sha512:`` lowercase hex, a size that no manifest can have."""
    if not isinstance(entry, dict):
        return None
    media_type, digest, size = entry.get("mediaType"), entry.get("digest"), entry.get("size")
    if not isinstance(media_type, str) or not isinstance(digest, str):
        return None
    try:
        _hasher(digest)
    except InputError:
        log(f"warning: {where}: a referrer with the invalid digest {digest[:100]!r} skipped")
        return None
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_MANIFEST_BYTES:
        log(f"warning: {where}: referrer {digest} has an impossible size {str(size)[:40]!r}; skipped")
        return None
    annotations = entry.get("annotations")
    artifact_type = entry.get("artifactType")
    platform = entry.get("platform")
    return Descriptor(
        media_type,
        digest,
        size,
        annotations={str(k): str(v) for k, v in annotations.items()} if isinstance(annotations, dict) else {},
        artifact_type=artifact_type if isinstance(artifact_type, str) and artifact_type else None,
        platform=Platform(
            str(platform.get("os", "")),
            str(platform.get("architecture", "")),
            platform.get("variant") if isinstance(platform.get("variant"), str) else None,
            platform.get("os.version") if isinstance(platform.get("os.version"), str) else None,
        )
        if isinstance(platform, dict)
        else None,
    )


def _referrer_entry(referrer: Manifest) -> dict[str, Any]:
    """The index entry for a referrer: its descriptor, artifact type and annotations."""
    document = _json_object(referrer.data, f"referrer {referrer.descriptor.digest}") or {}
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


def _next_link(response: requests.Response, current: str) -> str | None:
    link = response.links.get("next")
    if not link or not link.get("url"):
        return None
    return urljoin(current, link["url"])
